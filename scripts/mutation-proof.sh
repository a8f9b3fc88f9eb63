#!/usr/bin/env bash
# Shows that test/concurrent_jobs.property.test.ts can fail: plants each bug it
# must catch in a temporary copy of the sources, runs the test there, and
# expects it to fail (printing fast-check's shrunk counterexample and message).
# The working tree is never touched. Exit status 0 when every plant was caught.
#
#   bash scripts/mutation-proof.sh            # every plant
#   bash scripts/mutation-proof.sh lifo       # one plant: off-by-one-slot | lifo | no-fencing
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/src" "$root/machines" "$root/test" "$root/package.json" "$root/tsconfig.json" "$root/vitest.config.ts" "$work/"
ln -s "$root/node_modules" "$work/node_modules"
test_file="test/concurrent_jobs.property.test.ts"

# name | file | sed expressions (each must change the file)
plants=(
  "off-by-one-slot|src/env/JobScheduler.ts|s/?? 0) >= limit) break;/?? 0) > limit) break;/"
  "lifo|src/env/JobScheduler.ts|s/this.items.push(item);/this.items.splice(this.head, 0, item);/"
  "no-fencing|src/worker/processorOutput.ts|/^      attempt.assertLive();\$/d;s/stream.write(data, attempt)/stream.write(data)/"
)

missed=0
for plant in "${plants[@]}"; do
  IFS='|' read -r name file expressions <<<"$plant"
  if [ $# -gt 0 ] && [ "$1" != "$name" ]; then continue; fi
  cp "$work/$file" "$work/$file.orig"
  sed -i "$expressions" "$work/$file"
  if cmp -s "$work/$file" "$work/$file.orig"; then
    echo "!! plant $name no longer applies to $file: update this script" >&2
    exit 2
  fi
  echo "== plant $name ($file):"
  diff -u "$work/$file.orig" "$work/$file" | sed -n '3,$p' | grep '^[-+]' || true
  if output="$(cd "$work" && NO_COLOR=1 npx vitest run "$test_file" 2>&1)"; then
    echo "!! NOT caught: the test passed with plant $name" >&2
    missed=$((missed + 1))
  else
    echo "-- caught:"
    printf '%s\n' "$output" | sed -n '/Property failed/,/^Hint:/p;/Caused by/,/^ *❯\|^⎯/p' | grep -v '❯\|⎯' || printf '%s\n' "$output" | tail -30
  fi
  mv "$work/$file.orig" "$work/$file"
done
exit "$missed"

#!/usr/bin/env bash
# Runs before `npm test`: the viewer's browser test (test/viewer.browser.test.ts)
# drives Debian's chromium through playwright-core. Installs it when missing and
# this machine can (root with apt-get); otherwise says what to run.
set -u
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "== chromium is missing: installing Debian's chromium for the browser test"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && exit 0
  echo "!! apt-get could not install chromium; the browser test will fail" >&2
  exit 0
fi
echo "!! chromium is missing: the browser test will fail. Install it with: sudo apt-get install -y chromium" >&2
exit 0

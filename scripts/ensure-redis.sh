#!/usr/bin/env bash
# Makes sure a Redis answers and prints its URL (redis://host:port) on stdout;
# every other message goes to stderr, so a caller can write
#
#   LW_REDIS_URL="$(bash scripts/ensure-redis.sh)"; export LW_REDIS_URL
#
# (not `export LW_REDIS_URL="$(…)"`: export hides the script's exit status).
# The first Redis that answers PING wins:
#   1. LW_REDIS_URL, when set (a warning when it does not answer);
#   2. 127.0.0.1:$LW_REDIS_DEFAULT_PORT (default 6379);
#   3. a redis-server this script started earlier that still runs;
#   4. a new redis-server on a free port of 127.0.0.1: no persistence (--save '',
#      --appendonly no), daemonized, with its pidfile and log in
#      ${TMPDIR:-/tmp}/liveworker-redis
#      (redis-<port>.pid / redis-<port>.log). redis-server is installed with
#      apt-get first when missing (as root, or through sudo).
# So running it twice in a row starts at most one server, and is quick when a
# Redis already answers. It never stops a server; the caller stops the one it
# started, by the pid in its pidfile:
#
#   LW_REDIS_STARTED_FILE  when set and this run starts a server, the path of
#                          that server's pidfile is written to this file (which
#                          is left untouched otherwise).
#   LW_REDIS_DEFAULT_PORT  the port of step 2 (default 6379). Point it at an
#                          unused port to exercise steps 3 and 4 on a machine
#                          whose 6379 answers.
#   TMPDIR                 where $state_dir lives (default /tmp).
#
# PING uses redis-cli when installed (credentials in the URL are honoured),
# else a raw RESP PING over bash's /dev/tcp (host and port only). rediss://
# URLs are not supported. Exit status 1, with the reason on stderr, when no
# Redis answers and none could be started within ~10 s.
set -uo pipefail

default_port="${LW_REDIS_DEFAULT_PORT:-6379}"
state_dir="${TMPDIR:-/tmp}/liveworker-redis"
start_timeout_s=10

say() { echo "ensure-redis: $*" >&2; }

# Runs "$@" with a time limit (seconds in $1) when coreutils' timeout exists.
bounded() {
  local seconds="$1"; shift
  if command -v timeout >/dev/null 2>&1; then timeout "$seconds" "$@"; else "$@"; fi
}

# host and port of a redis:// URL, as "host port" (port 6379 when absent).
host_port_of() {
  local rest="${1#redis://}"
  rest="${rest%%/*}"
  rest="${rest##*@}"
  case "$rest" in
    *:*) echo "${rest%%:*} ${rest##*:}" ;;
    *) echo "${rest:-127.0.0.1} 6379" ;;
  esac
}

# Status 0 when the Redis at the URL answers PING with PONG (within 3 s).
answers() {
  local url="$1" host port reply
  if command -v redis-cli >/dev/null 2>&1; then
    reply="$(bounded 3 redis-cli -u "$url" ping 2>/dev/null)" || return 1
  else
    read -r host port <<<"$(host_port_of "$url")"
    reply="$(bounded 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
      printf "*1\r\n\$4\r\nPING\r\n" >&3 && IFS= read -r line <&3 && printf "%s" "$line"' \
      "$host" "$port" 2>/dev/null)" || return 1
    reply="${reply%$'\r'}"
    reply="${reply#+}"
  fi
  [ "$reply" = "PONG" ]
}

# A TCP port of 127.0.0.1 that nothing listens on right now.
free_port() {
  if command -v node >/dev/null 2>&1; then
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
  else
    local port
    for _ in $(seq 50); do
      port=$((20000 + RANDOM % 40000))
      if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
    done
    return 1
  fi
}

# Status 0 when the pid runs a redis-server listening on the port.
is_redis_on() {
  local pid="$1" port="$2"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  case "$(ps -o args= -p "$pid" 2>/dev/null)" in
    redis-server*":$port"*) return 0 ;;
    *) return 1 ;;
  esac
}

install_redis_server() {
  local -a as_root=()
  if [ "$(id -u)" != "0" ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      say "redis-server is missing and this user is not root (no sudo): install it with apt-get install -y redis-server"
      return 1
    fi
    as_root=(sudo)
    [ -t 0 ] || as_root=(sudo -n)
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    say "redis-server is missing and apt-get is not available: install Redis (redis-server) and run again"
    return 1
  fi
  say "redis-server is missing: installing it with apt-get"
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2 && return 0
  "${as_root[@]}" apt-get update -qq >&2 &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >&2 && return 0
  say "apt-get could not install redis-server"
  return 1
}

# Starts a redis-server on the port; status 0 once it answers PING.
start_on() {
  local port="$1" pidfile="$state_dir/redis-$1.pid" logfile="$state_dir/redis-$1.log" waited=0
  rm -f "$pidfile"
  : >"$logfile"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$state_dir" \
    --daemonize yes --pidfile "$pidfile" --logfile "$logfile" >&2 || return 1
  while [ "$waited" -lt $((start_timeout_s * 10)) ]; do
    # Ours only: its pidfile is written once it listens (a PONG alone could
    # come from another server that took the port meanwhile).
    if is_redis_on "$(cat "$pidfile" 2>/dev/null)" "$port" && answers "redis://127.0.0.1:$port"; then
      if [ -n "${LW_REDIS_STARTED_FILE:-}" ]; then printf '%s\n' "$pidfile" >"$LW_REDIS_STARTED_FILE"; fi
      say "started redis-server on 127.0.0.1:$port (pid $(cat "$pidfile" 2>/dev/null), pidfile $pidfile)"
      return 0
    fi
    # The daemon gave up (e.g. the port was taken meanwhile): no point waiting.
    if grep -qE "aborting|Fatal|FATAL" "$logfile" 2>/dev/null; then break; fi
    sleep 0.1
    waited=$((waited + 1))
  done
  return 1
}

# 1. LW_REDIS_URL
if [ -n "${LW_REDIS_URL:-}" ]; then
  if answers "$LW_REDIS_URL"; then echo "$LW_REDIS_URL"; exit 0; fi
  say "LW_REDIS_URL=$LW_REDIS_URL does not answer PING; looking for another Redis"
fi

# 2. the default port
if answers "redis://127.0.0.1:$default_port"; then echo "redis://127.0.0.1:$default_port"; exit 0; fi

# 3. a server this script started earlier
mkdir -p "$state_dir" || { say "cannot create $state_dir"; exit 1; }
for pidfile in "$state_dir"/redis-*.pid; do
  [ -f "$pidfile" ] || continue
  port="${pidfile##*/redis-}"
  port="${port%.pid}"
  if is_redis_on "$(cat "$pidfile" 2>/dev/null)" "$port" && answers "redis://127.0.0.1:$port"; then
    say "reusing the redis-server started earlier on 127.0.0.1:$port (pidfile $pidfile)"
    echo "redis://127.0.0.1:$port"
    exit 0
  fi
  rm -f "$pidfile" # stale: its server is gone
done

# 4. a new server
if ! command -v redis-server >/dev/null 2>&1; then
  install_redis_server || exit 1
  # Debian's package may start its own service on 6379.
  if answers "redis://127.0.0.1:$default_port"; then echo "redis://127.0.0.1:$default_port"; exit 0; fi
fi
for attempt in 1 2 3; do
  port="$(free_port)" || { say "found no free port on 127.0.0.1"; exit 1; }
  if start_on "$port"; then echo "redis://127.0.0.1:$port"; exit 0; fi
  say "attempt $attempt: redis-server on 127.0.0.1:$port did not come up (no PING answer within ${start_timeout_s} s, or it aborted); its log ($state_dir/redis-$port.log) ends with:"
  tail -n 5 "$state_dir/redis-$port.log" >&2 2>/dev/null
  # Stop what that attempt left running (only the pid it wrote, only if it is that server).
  pid="$(cat "$state_dir/redis-$port.pid" 2>/dev/null)"
  if is_redis_on "$pid" "$port"; then kill -KILL "$pid" 2>/dev/null; fi
  rm -f "$state_dir/redis-$port.pid"
  grep -q "Address already in use" "$state_dir/redis-$port.log" 2>/dev/null || break
done
say "could not start redis-server"
exit 1

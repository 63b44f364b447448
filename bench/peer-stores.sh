#!/usr/bin/env bash
# Refresh rate on each session store through the team's peer driver, one Baton at a time:
# SQLite, Redis sessions (database on SQLite) and PostgreSQL, alternating for ROUNDS rounds so
# that the machine's drift falls on every store. Baton on CPU 1, the driver on CPU 0.
#
#   bash bench/peer-stores.sh <a copy of the team's peer harness, bench-peers, after npm ci> [ROUNDS]
#
# Runs packages/server/dist as it is: `npm run build` first. Needs Redis on 127.0.0.1:6379 (keys
# under a fresh prefix in DB 3) and PostgreSQL on 127.0.0.1:5432 with database test (a fresh
# schema; psql); every run starts on an empty store, and nothing is left behind.
# Prints one line per run and the median of each store with its ratio to SQLite.
set -euo pipefail
peers=${1:?usage: peer-stores.sh PEERS_DIR [ROUNDS]}
rounds=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-3300}
suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
schema="bench_$suffix"
prefix="bench-$suffix:"
work=$(mktemp -d)
server=''
reset() {
  rm -f "$work"/b.db*
  redis-cli -n 3 --scan --pattern "$prefix*" | xargs -r redis-cli -n 3 unlink >/dev/null
  psql -h 127.0.0.1 -U postgres test -qc "drop schema if exists $schema cascade" >/dev/null 2>&1
}
cleanup() {
  set +e
  if [ -n "$server" ]; then kill "$server" 2>/dev/null; fi
  reset
  rm -rf "$work"
}
trap cleanup EXIT

run() { # label, then the store variables
  local label=$1
  shift
  reset
  env "$@" BATON_PORT="$port" BATON_LOGIN_MAX_FAILURES=1000000 NODE_ENV=production \
    taskset -c 1 node "$root/packages/server/dist/cli/main.js" serve >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  # Not some other process that answers on the port: ours, alive and healthy.
  if ! kill -0 "$server" 2>/dev/null || ! curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then
    echo "$label: Baton did not start on port $port:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
  if ! (cd "$peers" && taskset -c 0 node driver.mjs --system baton --url "http://127.0.0.1:$port" \
    --scenario refresh --duration 10 --pid "$server" >"$work/driver.out" 2>"$work/driver.log"); then
    echo "$label: the driver failed:" >&2
    cat "$work/driver.log" >&2
    exit 1
  fi
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").pop())
    console.log([process.argv[2], Math.round(r.rps), r.failures, (1e6 * r.serverCpuS / r.ok).toFixed(0), r.serverCpuUtil].join(" "))' \
    "$work/driver.out" "$label" | tee -a "$work/results"
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=''
}

echo "store ok/s failures server-µs-CPU-per-refresh server-CPU-util"
for _ in $(seq "$rounds"); do
  run SQLite BATON_DATABASE_URL="sqlite:$work/b.db"
  run Redis BATON_DATABASE_URL="sqlite:$work/b.db" \
    BATON_SESSION_STORE_URL="redis://127.0.0.1:6379/3?prefix=$prefix"
  run PostgreSQL BATON_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test?schema=$schema"
done
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "))
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const of = (store) => rows.filter((r) => r[0] === store).map((r) => Number(r[1]))
const sqlite = median(of("SQLite"))
for (const store of ["SQLite", "Redis", "PostgreSQL"]) {
  const m = median(of(store))
  console.log(`${store}: rounds ${of(store).join(" · ")}, median ${m}, ${Math.round((100 * m) / sqlite)} % of SQLite`)
}' "$work/results"

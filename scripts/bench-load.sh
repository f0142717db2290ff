#!/usr/bin/env bash
# The load benchmarks of BENCHMARKS.md: realistic calls at 100, 1,000, 5,000
# and 10,000 concurrent calls against `callassist serve` (the 10,000 run held
# for the soak), the same 10,000 against the no-op `serve --echo` for the
# memory comparison, and the closed-loop burst (200 calls) against both.
# Loadgen and server run on this machine. Reports and charts go to
# target/bench-load/ (pass another directory as $1).
#
#   scripts/bench-load.sh [OUT_DIR]      # ~25 minutes
#
# Environment: HOLD (default 60s), SOAK (default 600s), BURST (default 20s),
# SIZES (default "100 1000 5000": the runs before the 10,000-call soak; empty for none).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/bench-load}"
mkdir -p "$out"
hold="${HOLD:-60s}"
soak="${SOAK:-600s}"
burst="${BURST:-20s}"
sizes="${SIZES-100 1000 5000}"
cargo build --release --quiet
bin=target/release/callassist
port=50099

server() { # server NAME ARGS... : starts a server, sets $pid
  local name=$1; shift
  "$bin" serve --listen "127.0.0.1:$port" --set log_level=warn --set max_calls=30000 "$@" >"$out/$name.log" 2>&1 &
  pid=$!
  sleep 1
}
stop() { kill -TERM "$pid"; wait "$pid" || true; }
load() { # load NAME ARGS...
  local name=$1; shift
  echo "== $name" >&2
  "$bin" loadgen --addr "http://127.0.0.1:$port" --server-pid "$pid" \
    --report "$out/$name.json" --plot "$out/$name.svg" "$@" | tee "$out/$name.txt"
}

for n in $sizes; do
  server serve
  load "realistic-$n" --calls "$n" --duration "$hold"
  stop
done
server serve
load "realistic-10000-soak" --calls 10000 --duration "$soak" --ramp 30s
stop
server echo --echo
load "echo-realistic-10000" --calls 10000 --duration "$hold" --ramp 30s
stop
server serve
load "burst-service" --calls 200 --duration "$burst" --ramp 1s --profile burst
stop
server echo --echo
load "burst-echo" --calls 200 --duration "$burst" --ramp 1s --profile burst
stop
python3 scripts/bench-table.py "$out"

#!/usr/bin/env bash
# The memory curve of long calls (BENCHMARKS.md, "Memory over real call
# lengths"): 10,000 concurrent realistic calls that each last CALL_LENGTH
# (default 10m; the recorded conversation repeats), first against the
# no-op `serve --echo` (a bare tonic server speaking the same contract),
# then against `callassist serve` (fast tier: the encoder's memory is
# measured separately), in one run. RSS is sampled every second
# (`--server-pid`); reports and charts go to target/bench-long/ (or $1).
#
#   scripts/bench-long-calls.sh [OUT_DIR]     # ~2 × (CALL_LENGTH + 1m)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/bench-long}"
length="${CALL_LENGTH:-10m}"
calls="${CALLS:-10000}"
mkdir -p "$out"
cargo build --release --quiet
bin=target/release/callassist
port=50098
run() { # run NAME SERVER-ARGS...
  local name=$1; shift
  "$bin" serve --listen "127.0.0.1:$port" --set log_level=warn --set max_calls=30000 \
    --set semantic_tier=off "$@" >"$out/$name.log" 2>&1 &
  local pid=$!
  sleep 1
  echo "== $name" >&2
  "$bin" loadgen --addr "http://127.0.0.1:$port" --server-pid "$pid" --quiet \
    --calls "$calls" --duration "$length" --ramp 30s --call-length "$length" \
    --report "$out/$name.json" --plot "$out/$name.svg" | tee "$out/$name.txt"
  kill -TERM "$pid"; wait "$pid" || true
}
run echo-long --echo
run serve-long

#!/usr/bin/env bash
# The semantic-tier load benchmarks of BENCHMARKS.md: realistic calls with the
# encoder on, at each size in $SIZES, with $THREADS encoder threads; after each
# run the server's own counters say which tier decided the customer finals and
# how many turns the encoder declined. Reports go to target/bench-semantic/
# (or $1). The weights must be cached (`callassist fetch-encoder`).
#
#   SIZES="500 1000 2000" THREADS=1 HOLD=60s scripts/bench-semantic.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/bench-semantic}"
mkdir -p "$out"
hold="${HOLD:-60s}"
sizes="${SIZES-500 1000 2000}"
threads="${THREADS:-1}"
budget="${BUDGET:-40ms}"
cargo build --release --quiet
bin=target/release/callassist
model="$("$bin" fetch-encoder 2>/dev/null)"
port=50098
metrics=19498

for n in $sizes; do
  "$bin" serve --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$metrics" \
    --set log_level=warn --set max_calls=30000 --set semantic_tier=cached \
    --set encoder_model="$model" --set encoder_threads="$threads" \
    --set encoder_budget="$budget" >"$out/serve-$n.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    "$bin" health --addr "http://127.0.0.1:$port" --service callassist.semantic >/dev/null 2>&1 && break
    sleep 0.2
  done
  echo "== semantic-$n (encoder_threads=$threads, encoder_budget=$budget)" >&2
  "$bin" loadgen --addr "http://127.0.0.1:$port" --server-pid "$pid" --calls "$n" \
    --duration "$hold" --report "$out/semantic-$n.json" | tee "$out/semantic-$n.txt"
  curl -s "http://127.0.0.1:$metrics/metrics" \
    | grep -E '^callassist_(tier_decisions_total|encoder_declined_total|encoder_batch_turns)' \
    | tee "$out/semantic-$n.metrics"
  kill -TERM "$pid"; wait "$pid" || true
done

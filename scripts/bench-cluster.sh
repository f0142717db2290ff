#!/usr/bin/env bash
# Cluster mode against single-node and the bare server, in one run
# (BENCHMARKS.md, "Cluster mode"). For each size in SIZES, realistic calls
# with one watcher per call:
#   echo-N     the no-op `serve --echo` (a bare tonic server speaking the
#              same contract; it has no WatchCall, so no watchers)
#   single-N   one `callassist serve`
#   cluster-N  two `callassist serve` replicas on one Redis, calls spread
#              over both, each call's watcher on the other replica
# Server CPU is summed over the replicas (Redis reported apart), Redis
# commands and bytes come from INFO, Redis memory is sampled mid-run.
# Then the reconnect storm: STORM calls over two replicas, one killed with
# -9 after 30 s of steady load; its calls reconnect to the other (after the
# lease lapses) — against STORM/2 calls opened within 3 s on the bare server.
# Reports and charts go to target/bench-cluster/ (or $1).
#
#   scripts/bench-cluster.sh [OUT_DIR]     # ~15 minutes
#
# Environment: SIZES (default "2000 5000"), HOLD (60s), STORM (4000; empty
# for none), LEASE (cluster_lease, 8s). Needs redis-server (apt-get install
# redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/bench-cluster}"
sizes="${SIZES-2000 5000}"
hold="${HOLD:-60s}"
storm="${STORM-4000}"
lease="${LEASE:-8s}"
mkdir -p "$out"
cargo build --release --quiet
bin=target/release/callassist
redis_port=6391
ports=(50081 50082)

redis_dir=$(mktemp -d)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$redis_dir" >"$out/redis.log" 2>&1 &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null || true; rm -rf "$redis_dir"' EXIT
sleep 1
rcli() { redis-cli -p "$redis_port" "$@"; }

pids=()
start() { # start NAME N-REPLICAS ARGS...: starts servers on ${ports[@]}, sets pids
  local name=$1 n=$2; shift 2
  pids=()
  for ((i = 0; i < n; i++)); do
    "$bin" serve --listen "127.0.0.1:${ports[$i]}" --metrics-listen 0 --set log_level=warn \
      --set max_calls=30000 --set semantic_tier=off "$@" >"$out/$name-$i.log" 2>&1 &
    pids+=($!)
  done
  sleep 1
}
stop() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait "${pids[@]}" 2>/dev/null || true; }
load() { # load NAME ARGS...: loadgen against the started servers
  local name=$1; shift
  local args=(--addr "http://127.0.0.1:${ports[0]}" --report "$out/$name.json" --plot "$out/$name.svg" --quiet)
  for ((i = 1; i < ${#pids[@]}; i++)); do args+=(--replica "http://127.0.0.1:${ports[$i]}"); done
  for p in "${pids[@]}"; do args+=(--server-pid "$p"); done
  echo "== $name" >&2
  "$bin" loadgen "${args[@]}" "$@" | tee "$out/$name.txt"
}
redis_stats() { # redis_stats FILE: commands by name, bytes, memory
  { rcli INFO commandstats; rcli INFO stats; rcli INFO memory; } | tr -d '\r' >"$1"
}
cluster=(--set "cluster_redis_url=redis://127.0.0.1:$redis_port" --set "cluster_lease=$lease")

for n in $sizes; do
  start "echo-$n" 1 --echo
  load "echo-$n" --calls "$n" --duration "$hold" --ramp 20s
  stop
  start "single-$n" 1
  load "single-$n" --calls "$n" --duration "$hold" --ramp 20s --watchers 1
  stop
  rcli FLUSHALL >/dev/null
  start "cluster-$n" 2 "${cluster[@]}"
  redis_stats "$out/cluster-$n.redis-before"
  redis_cpu_before=$(awk '{print $14 + $15}' "/proc/$redis_pid/stat")
  ( sleep 50; rcli INFO memory | tr -d '\r' >"$out/cluster-$n.redis-mid"; rcli DBSIZE >>"$out/cluster-$n.redis-mid" ) &
  load "cluster-$n" --calls "$n" --duration "$hold" --ramp 20s --watchers 1
  redis_stats "$out/cluster-$n.redis-after"
  echo "redis_cpu_ticks $(( $(awk '{print $14 + $15}' "/proc/$redis_pid/stat") - redis_cpu_before ))" >>"$out/cluster-$n.redis-after"
  stop
done

if [[ -n "$storm" ]]; then
  start "storm-echo" 1 --echo
  load "storm-echo" --calls $((storm / 2)) --duration 30s --ramp 3s
  stop
  rcli FLUSHALL >/dev/null
  start "storm-cluster" 2 "${cluster[@]}"
  victim=${pids[0]}
  ( sleep 45; echo "killing replica 0 (pid $victim) at $(date +%s.%N)" >&2; kill -9 "$victim" ) &
  load "storm-cluster" --calls "$storm" --duration 75s --ramp 15s || true
  stop
fi
python3 scripts/bench-cluster-table.py "$out"

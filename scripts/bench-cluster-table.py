"""Tables for BENCHMARKS.md from scripts/bench-cluster.sh's output directory.

Usage: bench-cluster-table.py OUT_DIR
"""
import json
import pathlib
import re
import sys

out = pathlib.Path(sys.argv[1])


def report(name):
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def info(path):
    """INFO output as {key: value} plus per-command calls."""
    values, calls = {}, {}
    if not path.exists():
        return values, calls
    for line in path.read_text().splitlines():
        m = re.match(r"cmdstat_(\w+):calls=(\d+)", line)
        if m:
            calls[m[1]] = int(m[2])
        elif ":" in line:
            key, _, value = line.partition(":")
            values[key] = value
        elif line.startswith("redis_cpu_ticks"):
            values["redis_cpu_ticks"] = line.split()[1]
    return values, calls


def ms(us):
    return f"{us / 1000:.2f}"


sizes = sorted({int(p.stem.split("-")[1]) for p in out.glob("single-*.json")})
print("| calls | server | analysis p50 ms | p99 ms | server CPU µs / segment msg | watcher events (dropped) | errors |")
print("|---|---|---|---|---|---|---|")
for n in sizes:
    for mode in ["echo", "single", "cluster"]:
        r = report(f"{mode}-{n}")
        if not r:
            continue
        a = r["analysis_latency_us"]
        cpu = r.get("server_cpu_s")
        per_msg = f"{1e6 * cpu / max(r['segments_sent'], 1):.0f}" if cpu else "n/a"
        errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "none"
        print(f"| {n} | {mode} | {ms(a['p50'])} | {ms(a['p99'])} | {per_msg} | "
              f"{r['watcher_events']} ({r['dropped_watcher_events']}) | {errors} |")

print()
print("| calls | Redis commands / segment msg (client + in-script) | script calls / segment msg | bytes in+out / segment msg | Redis CPU µs / segment msg | Redis memory / call (mid-run) |")
print("|---|---|---|---|---|---|")
for n in sizes:
    r = report(f"cluster-{n}")
    if not r:
        continue
    before, calls_before = info(out / f"cluster-{n}.redis-before")
    after, calls_after = info(out / f"cluster-{n}.redis-after")
    mid, _ = info(out / f"cluster-{n}.redis-mid")
    segments = max(r["segments_sent"], 1)
    commands = sum(calls_after.values()) - sum(calls_before.get(k, 0) for k in calls_after)
    scripts = sum(calls_after.get(k, 0) - calls_before.get(k, 0) for k in ["evalsha", "eval"])
    net = sum(int(after.get(k, 0)) - int(before.get(k, 0))
              for k in ["total_net_input_bytes", "total_net_output_bytes"])
    ticks = int(after.get("redis_cpu_ticks", 0))
    used = int(mid.get("used_memory", 0)) - int(before.get("used_memory", 0))
    print(f"| {n} | {commands / segments:.1f} | {scripts / segments:.2f} | {net / segments:.0f} | "
          f"{1e6 * ticks / 100 / segments:.0f} | {used / n / 1024:.1f} KiB |")
    top = sorted(((calls_after[k] - calls_before.get(k, 0), k) for k in calls_after), reverse=True)[:8]
    print(f"<!-- cluster-{n} commands: " + ", ".join(f"{k} {v}" for v, k in top) + " -->")

bare, cluster = report("storm-echo"), report("storm-cluster")
if bare and cluster:
    print()
    kill_at = 45.0
    window = [t for t in cluster["timeline"] if kill_at <= t["t"] <= kill_at + 30]
    p99s = sorted(t["analysis"]["p99"] for t in window if t["analysis"]["count"])
    steady = sorted(t["analysis"]["p99"] for t in cluster["timeline"]
                    if 20 <= t["t"] < kill_at and t["analysis"]["count"])
    take = cluster["takeover_us"]
    print("| storm | calls | p99 over the storm ms (per-second p99: median / max) | takeover ms p50 / p99 / max | reconnects | errors |")
    print("|---|---|---|---|---|---|")
    b = bare["analysis_latency_us"]
    print(f"| bare server, {bare['settings']['calls']} calls opened within 3 s | {bare['settings']['calls']} | "
          f"{ms(b['p99'])} (whole 30 s run) | — | — | "
          f"{', '.join(f'{k} {v}' for k, v in bare['errors'].items()) or 'none'} |")
    if p99s:
        print(f"| cluster, one of 2 replicas killed (-9) | {cluster['settings']['calls']} | "
              f"{ms(p99s[len(p99s) // 2])} / {ms(p99s[-1])} (steady before: {ms(steady[len(steady) // 2]) if steady else 'n/a'}) | "
              f"{ms(take['p50'])} / {ms(take['p99'])} / {ms(take['max'])} | {cluster['reconnects']} | "
              f"{', '.join(f'{k} {v}' for k, v in cluster['errors'].items()) or 'none'} |")

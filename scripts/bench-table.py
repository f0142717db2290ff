#!/usr/bin/env python3
"""Tabulates the reports of scripts/bench-load.sh for BENCHMARKS.md."""
import json, pathlib, sys

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-load")
def load(name):
    p = out / f"{name}.json"
    return json.loads(p.read_text()) if p.exists() else None

def rss(r, which):
    values = [t["server_rss_bytes"] for t in r["timeline"] if t.get("server_rss_bytes")]
    if not values:
        return 0
    held = [t["server_rss_bytes"] for t in r["timeline"] if t.get("server_rss_bytes") and t["live_calls"] >= 0.99 * r["settings"]["calls"]]
    return {"max": max(values), "held_first": held[0] if held else 0, "held_last": held[-1] if held else 0}[which]

print("| run | calls | finals/s | analysis p50 | p90 | p99 | p99.9 | max | suggestion p50 / p99 | errors | server RSS (held: first → last) | server CPU per segment message | loadgen CPU |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for name in ["realistic-100", "realistic-1000", "realistic-5000", "realistic-10000-soak", "echo-realistic-10000", "burst-service", "burst-echo"]:
    r = load(name)
    if not r:
        continue
    a, g = r["analysis_latency_us"], r["suggestion_latency_us"]
    ms = lambda us: f"{us / 1000:.2f} ms"
    errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "none"
    cpu = r.get("loadgen_cpu_s")
    cpu = f"{cpu:.0f} s ({100 * cpu / r['elapsed_s']:.0f}% of a core)" if cpu is not None else "n/a"
    server = r.get("server_cpu_s")
    server = f"{1e6 * server / max(1, r['segments_sent']):.0f} µs ({100 * server / r['elapsed_s']:.0f}% of a core)" if server is not None else "n/a"
    print(f"| {name} | {r['settings']['calls']} | {r['finals_per_s']:.0f} | {ms(a['p50'])} | {ms(a['p90'])} | {ms(a['p99'])} | {ms(a['p999'])} | {ms(a['max'])} | {ms(g['p50'])} / {ms(g['p99'])} | {errors} | {rss(r, 'held_first') >> 20} → {rss(r, 'held_last') >> 20} MB (max {rss(r, 'max') >> 20}) | {server} | {cpu} |")

s, e = load("burst-service"), load("burst-echo")
if s and e:
    print(f"\nburst: service {s['finals_per_s']:.0f} finals/s = {100 * s['finals_per_s'] / e['finals_per_s']:.0f}% of echo {e['finals_per_s']:.0f}/s")
s, e = load("realistic-10000-soak"), load("echo-realistic-10000")
if s and e:
    print(f"memory at 10,000 calls: service {rss(s, 'held_last') >> 20} MB = {rss(s, 'held_last') / max(1, rss(e, 'held_last')):.2f}x echo {rss(e, 'held_last') >> 20} MB")

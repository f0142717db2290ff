//! Per-segment latency of the whole analyze + policy step, with the call
//! context, over the recorded calls of `examples/calls/` (every interim and
//! final, both speakers), as a distribution: p50, p90, p99, p99.9, max.
//!
//! `cargo run --release --example segment_latency -- [ROUNDS]`
//!
//! Issue #4's budget is p99 ≤ 200 µs per segment. Wall-clock on a shared
//! machine: run it a few times and quote the median of the runs.

use callassist::{
    pipeline::{CallContext, Pipeline, Speaker, Timing, Utterance},
    replay::{self, Line},
};
use std::time::Instant;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(200, |s| s.parse().expect("a number of rounds"));
    let mut calls = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir("examples/calls")
        .expect("run from the repository root")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    for file in &files {
        calls.push(replay::load(file).expect("a valid recording"));
    }
    let pipeline = Pipeline::new();
    let mut samples: Vec<u32> = Vec::new();
    for round in 0..=rounds {
        for lines in &calls {
            let mut context = CallContext::default();
            for line in lines {
                let Line::Segment {
                    speaker,
                    text,
                    is_final,
                    start_ms,
                    end_ms,
                    ..
                } = line
                else {
                    continue;
                };
                let u = Utterance {
                    embedding: None,
                    text,
                    speaker: if speaker == "agent" {
                        Speaker::Agent
                    } else {
                        Speaker::Customer
                    },
                    language: None,
                    is_final: *is_final,
                };
                let timing = Timing {
                    start_ms: *start_ms,
                    end_ms: *end_ms,
                };
                let began = Instant::now();
                let p = pipeline.process(&u, timing, &context);
                if *is_final {
                    context.commit(
                        &p.analysis,
                        timing,
                        &p.advice.assists,
                        &p.advice.effects,
                        &p.playbook,
                    );
                }
                let ns = began.elapsed().as_nanos() as u32;
                // Round 0 warms the lazily built tables.
                if round > 0 {
                    samples.push(ns);
                }
            }
        }
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    println!(
        "segments {}  p50 {:.1} µs  p90 {:.1} µs  p99 {:.1} µs  p99.9 {:.1} µs  max {:.1} µs",
        samples.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(0.999),
        at(1.0)
    );
}

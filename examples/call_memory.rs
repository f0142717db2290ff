//! Measures what calls cost in the session layer, without gRPC: N calls each
//! play a whole realistic loadgen script (every interim and final, as the
//! load benchmarks send them) through the registry and the pipeline, then
//!
//! - `live`: stay open, holding their full event history (a call at its
//!   largest, just before `end`);
//! - `ended`: are ended, keeping what the registry retains for an ended call
//!   (summary, newest events, feedback).
//!
//! Prints the RSS growth per call, and how many events a watcher joining
//! then would replay (sampled on the first 1,000 calls). Calls are processed one after the other,
//! so memory freed by one call is reused by the next and the growth is what
//! the calls hold.
//!
//! A third argument makes every call that long (its recording repeats):
//! the memory of a call at 10 minutes should be that of a call at 1.
//!
//! `cargo run --release --example call_memory -- 10000 live`
//! `cargo run --release --example call_memory -- 2000 live 10m`

use callassist::{
    grpc::convert,
    loadgen::{self, script},
    pb::stream_call_request::Event,
    pipeline::Pipeline,
    rng::XorShift,
    session::{Limits, Registry},
};
use std::time::Instant;

/// Calls whose replay is counted.
const SAMPLE: usize = 1000;

fn rss_bytes() -> u64 {
    loadgen::rss_bytes(std::process::id()).expect("Linux /proc")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(10_000, |s| s.parse().expect("a number of calls"));
    let end = match args.next().as_deref() {
        None | Some("live") => false,
        Some("ended") => true,
        Some(other) => panic!("mode must be live or ended, not {other}"),
    };
    let length = args
        .next()
        .map(|s| humantime::parse_duration(&s).expect("a call length such as 10m"));
    let registry = Registry::new(Limits {
        max_calls: n + 1,
        summary_retention_count: n + 1,
        ..Limits::default()
    });
    let pipeline = Pipeline::new();
    let mut rng = XorShift::seeded(7);
    let mut attachments = Vec::with_capacity(n);
    let mut sampled = Vec::with_capacity(n.min(SAMPLE));
    let (mut segments, mut events) = (0usize, 0u64);
    let before = rss_bytes();
    for i in 0..n {
        let mut attachment = None;
        for step in script::realistic(&format!("call-{i:06}"), &mut rng, 1.0, length) {
            match step.request.event.expect("script messages have an event") {
                Event::Start(start) => {
                    let start = convert::call_start(start, Default::default()).unwrap();
                    if sampled.len() < SAMPLE {
                        sampled.push(start.call_id.clone());
                    }
                    attachment = Some(registry.attach(start).unwrap());
                }
                Event::Segment(segment) => {
                    let segment = convert::segment(segment, usize::MAX).unwrap();
                    let call = &attachment.as_ref().expect("start comes first").call;
                    segments += 1;
                    events += call
                        .process_segment(&pipeline, &segment, None, Instant::now())
                        .unwrap()
                        .len() as u64;
                }
                Event::End(_) => {
                    let attachment = attachment.take().expect("start comes first");
                    if end {
                        registry.finish(&attachment.call, "end");
                    } else {
                        attachments.push(attachment);
                    }
                }
            }
        }
    }
    let after = rss_bytes();
    let replayed: usize = sampled
        .iter()
        .map(|id| {
            let watch = registry.watch(&Default::default(), id.clone(), 0);
            watch.expect("the call is known").replay.len()
        })
        .sum();
    println!(
        "{n} {} calls ({:.1} segments, {:.1} events emitted, {:.1} replayed each): RSS +{:.1} MiB, {:.0} bytes per call",
        if end { "ended" } else { "live" },
        segments as f64 / n as f64,
        events as f64 / n as f64,
        replayed as f64 / sampled.len().max(1) as f64,
        (after - before) as f64 / (1 << 20) as f64,
        (after - before) as f64 / n as f64
    );
}

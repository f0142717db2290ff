//! Measures the memory of idle calls in the session layer: N calls started,
//! each with a short customer turn and an agent turn processed (so each holds
//! a typical small history), then left idle. Prints the RSS growth per call.
//!
//! `cargo run --release --example idle_call_memory -- 10000`

use callassist::{
    loadgen,
    pipeline::{Pipeline, Speaker},
    session::{CallId, CallStart, Limits, Registry, Segment},
};
use std::time::Instant;

fn rss_bytes() -> u64 {
    loadgen::rss_bytes(std::process::id()).expect("Linux /proc")
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(10_000, |s| s.parse().expect("a number of calls"));
    let registry = Registry::new(Limits {
        max_calls: n + 1,
        ..Limits::default()
    });
    let pipeline = Pipeline::new();
    let mut attachments = Vec::with_capacity(n);
    let before = rss_bytes();
    for i in 0..n {
        let start = CallStart {
            tenant: Default::default(),
            call_id: CallId::parse(&format!("call-{i:06}"), "call_id").unwrap(),
            agent_id: "agent-1".into(),
            language: None,
            metadata: Default::default(),
        };
        let attachment = registry.attach(start).unwrap();
        for (id, speaker, text) in [
            ("c1", Speaker::Customer, "我想查一下卡里的余额"),
            ("a1", Speaker::Agent, "好的，请您稍等"),
        ] {
            let segment = Segment {
                id: id.into(),
                speaker,
                text: text.into(),
                is_final: true,
                start_ms: 0,
                end_ms: 1000,
            };
            attachment
                .call
                .process_segment(&pipeline, &segment, Instant::now())
                .unwrap();
        }
        attachments.push(attachment);
    }
    let after = rss_bytes();
    println!(
        "{n} idle calls: RSS +{:.1} MiB, {:.0} bytes per call (session state incl. event history)",
        (after - before) as f64 / (1 << 20) as f64,
        (after - before) as f64 / n as f64
    );
}

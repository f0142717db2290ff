//! Runs typical customer turns through the whole pipeline N times, for
//! instruction counts that do not depend on machine load:
//! `valgrind --tool=callgrind target/release/examples/pipeline_instructions 200`
//! minus the same with 0 (start-up and model decoding), divided by 5 × N.
//! The Prometheus recorder is installed, as in the server.

use callassist::pipeline::{CallContext, Pipeline, Speaker, Timing, Utterance};

#[path = "../benches/support/turns.rs"]
mod turns;
use turns::TURNS;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100, |s| s.parse().expect("a count"));
    // As in the server: metrics are recorded (stage timings, counters).
    let _metrics = callassist::instruments::install();
    let pipeline = Pipeline::new();
    let context = CallContext::default();
    // Warm the lazily built tables, models and playbook once, in every run.
    let mut total = pipeline
        .process(
            &Utterance {
                embedding: None,
                text: "warm up",
                speaker: Speaker::Customer,
                language: None,
                is_final: true,
            },
            Timing::default(),
            &context,
        )
        .advice
        .assists
        .len();
    for _ in 0..n {
        for text in TURNS {
            let u = Utterance {
                embedding: None,
                text,
                speaker: Speaker::Customer,
                language: None,
                is_final: true,
            };
            total += pipeline
                .process(&u, Timing::default(), &context)
                .advice
                .assists
                .len();
        }
    }
    println!("{total}");
}

//! Runs typical customer turns through the whole pipeline N times, for
//! instruction counts that do not depend on machine load:
//! `valgrind --tool=callgrind target/release/examples/pipeline_instructions 200`
//! minus the same with 0 (start-up and model decoding), divided by 5 × N.

use callassist::pipeline::{CallContext, Pipeline, Speaker, Timing, Utterance};

const TURNS: &[&str] = &[
    "喂，我的卡好像丢了，尾号1234，我好担心被人盗刷",
    "我想看一下我卡里的余额，还有这个月的明细",
    "there's a charge on my card I don't recognize, $1,200 on the card ending in 4821, and this is ridiculous",
    "So what happens now?",
    "我要投訴，你們的年費莫名其妙又扣了，太過分了",
];

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100, |s| s.parse().expect("a count"));
    let pipeline = Pipeline::new();
    let context = CallContext::default();
    // Warm the lazily built tables and models once, in every run.
    let mut total = pipeline
        .analyze(
            &Utterance {
                text: "warm up",
                speaker: Speaker::Customer,
                language: None,
                is_final: true,
            },
            &context,
        )
        .emotions
        .len();
    for _ in 0..n {
        for text in TURNS {
            let u = Utterance {
                text,
                speaker: Speaker::Customer,
                language: None,
                is_final: true,
            };
            let a = pipeline.analyze(&u, &context);
            total += pipeline.assist(&a, Timing::default(), &context).len();
        }
    }
    println!("{total}");
}

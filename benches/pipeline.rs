//! Per-stage costs of the pipeline on typical customer turns:
//! `cargo bench --bench pipeline`.

use callassist::pipeline::{
    emotion::EmotionDetector, entities, intent::IntentClassifier, normalize::Normalized, policy,
    CallContext, Pipeline, Speaker, Timing, Utterance,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;

#[path = "support/turns.rs"]
mod turns;
use turns::TURNS;

fn stages(c: &mut Criterion) {
    let classifier = IntentClassifier::default();
    let pipeline = Pipeline::new();
    let context = CallContext::default();
    let detector = EmotionDetector::default();
    let normalized: Vec<Normalized<'_>> = TURNS.iter().map(|t| Normalized::new(t)).collect();
    let mut group = c.benchmark_group("per_turn");
    group.bench_function("normalize", |b| {
        b.iter(|| {
            TURNS
                .iter()
                .map(|t| Normalized::new(black_box(t)).text.len())
                .sum::<usize>()
        })
    });
    // Each iteration gets freshly normalized text (setup, not timed), since
    // a `Normalized` caches its features for the next model.
    let fresh = || TURNS.iter().map(|t| Normalized::new(t)).collect::<Vec<_>>();
    group.bench_function("classify", |b| {
        b.iter_batched(
            fresh,
            |normalized| {
                normalized
                    .iter()
                    .map(|n| classifier.classify(black_box(n)).confidence)
                    .sum::<f32>()
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("emotion", |b| {
        b.iter_batched(
            fresh,
            |normalized| {
                normalized
                    .iter()
                    .map(|n| detector.detect(black_box(n)).len())
                    .sum::<usize>()
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("entities", |b| {
        b.iter(|| {
            normalized
                .iter()
                .map(|n| entities::extract(black_box(n)).len())
                .sum::<usize>()
        })
    });
    let analyses: Vec<_> = TURNS
        .iter()
        .map(|t| {
            let u = Utterance {
                embedding: None,
                text: t,
                speaker: Speaker::Customer,
                language: None,
                is_final: true,
            };
            (Normalized::new(t), pipeline.analyze(&u, &context))
        })
        .collect();
    let playbook = pipeline.playbook();
    group.bench_function("policy", |b| {
        b.iter(|| {
            analyses
                .iter()
                .map(|(n, a)| {
                    policy::advise(&playbook, black_box(a), n, Timing::default(), &context)
                        .assists
                        .len()
                })
                .sum::<usize>()
        })
    });
    group.bench_function("whole_segment", |b| {
        b.iter(|| {
            TURNS
                .iter()
                .map(|t| {
                    let u = Utterance {
                        embedding: None,
                        text: black_box(t),
                        speaker: Speaker::Customer,
                        language: None,
                        is_final: true,
                    };
                    pipeline
                        .process(&u, Timing::default(), &context)
                        .advice
                        .assists
                        .len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);

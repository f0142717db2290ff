//! `callassist train-semantic`: trains the intent head of the semantic tier
//! on the encoder's embeddings of the same data as the n-gram model, with
//! the same deterministic hold-out (which neither model trains on) for the
//! mix and the out-of-scope threshold.

use super::{embeddings::embed_all, head};
use crate::{
    encoder::Encoder,
    model::{dataset, IntentModel},
    pipeline::normalize::Normalized,
    Error,
};
use std::{io::Write, path::PathBuf};

/// Arguments of `callassist train-semantic`.
#[derive(Debug, Clone)]
pub struct Args {
    /// Training data files (JSON Lines or Banking77 CSV).
    pub data: Vec<PathBuf>,
    /// Extra validation files (added to the hold-out).
    pub val: Vec<PathBuf>,
    /// Share of the training data held out.
    pub holdout: f64,
    /// The n-gram model the head is mixed with (trained on the same data
    /// with the same hold-out).
    pub base: IntentModel,
    /// The encoder's model file.
    pub encoder: PathBuf,
    /// Directory of the embedding cache.
    pub cache: PathBuf,
    /// L2 regularization of the head.
    pub l2: f32,
    /// Where to write the head.
    pub out: PathBuf,
}

/// Trains and writes a head; returns it.
pub fn train(
    args: &Args,
    out: &mut impl Write,
    progress: &mut impl Write,
) -> Result<head::IntentHead, Error> {
    let mut train = Vec::new();
    for path in &args.data {
        train.extend(dataset::load(path)?);
    }
    let mut held = Vec::new();
    for path in &args.val {
        held.extend(dataset::load(path)?);
    }
    let (h, kept): (Vec<_>, Vec<_>) = train
        .into_iter()
        .partition(|e| dataset::in_holdout(e, args.holdout));
    held.extend(h);
    let labels = args.base.linear.labels.clone();
    let index = |l: &str| labels.iter().position(|x| x == l);
    let encoder = Encoder::open(&args.encoder).map_err(|e| Error::Io(e.to_string()))?;
    let digest = super::weights::sha256_file(&args.encoder)?;
    std::fs::create_dir_all(&args.cache)?;
    let cache_file = args.cache.join(format!("embeddings-{}.bin", &digest[..16]));
    let texts: Vec<&str> = kept.iter().chain(&held).map(|e| e.text.as_str()).collect();
    let started = std::time::Instant::now();
    let vectors = embed_all(&encoder, &texts, &cache_file, 2, &mut |done, total| {
        let _ = write!(progress, "\r  embedding {done}/{total}");
        let _ = progress.flush();
    })?;
    let _ = writeln!(progress);
    let (train_vectors, held_vectors) = vectors.split_at(kept.len());
    let train_set: Vec<(Vec<f32>, usize)> = kept
        .iter()
        .zip(train_vectors)
        .filter_map(|(e, v)| index(&e.label).map(|y| (v.clone(), y)))
        .collect();
    let held_set: Vec<(Vec<f32>, usize, Vec<f32>)> = held
        .iter()
        .zip(held_vectors)
        .filter_map(|(e, v)| {
            let y = index(&e.label)?;
            Some((
                v.clone(),
                y,
                args.base.linear.probabilities(&Normalized::new(&e.text)),
            ))
        })
        .collect();
    if train_set.is_empty() || held_set.is_empty() {
        return Err(Error::Io(
            "no training or held-out examples with the base model's labels".into(),
        ));
    }
    let head = head::train(
        &head::TrainingSet {
            labels: &labels,
            train: &train_set,
            held_out: &held_set,
            out_of_scope: index(dataset::OUT_OF_SCOPE),
        },
        args.l2,
        300,
    );
    std::fs::write(&args.out, head.encode())
        .map_err(|e| Error::Io(format!("{}: {e}", args.out.display())))?;
    let _ = writeln!(
        out,
        "semantic head: {} in {:.1} s → {}",
        head.about,
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(head)
}

/// Evaluates the semantic tier (the head mixed with `base`) on data files,
/// with the same report as `callassist eval`, and the fast tier's in-scope
/// and overall accuracy beside it for comparison.
pub fn eval(
    base: &IntentModel,
    head: &head::IntentHead,
    encoder: &std::path::Path,
    cache: &std::path::Path,
    data: &[PathBuf],
    out: &mut impl Write,
) -> Result<(), Error> {
    use crate::model::{commands, eval::Evaluation};
    let examples = commands::load_all(data)?;
    let pairs = commands::pairs(&examples);
    let model = Encoder::open(encoder).map_err(|e| Error::Io(e.to_string()))?;
    let digest = super::weights::sha256_file(encoder)?;
    std::fs::create_dir_all(cache)?;
    let cache_file = cache.join(format!("embeddings-{}.bin", &digest[..16]));
    let texts: Vec<&str> = pairs.iter().map(|(t, _)| t.as_str()).collect();
    let vectors = embed_all(&model, &texts, &cache_file, 2, &mut |_, _| {})?;
    let evaluation = Evaluation::scored_by(base, &pairs, |i, text| {
        head.probabilities(
            &vectors[i],
            &base.linear.probabilities(&Normalized::new(text)),
        )
    });
    let fast = Evaluation::new(base, &pairs).report(base.linear.oos_threshold);
    let _ = writeln!(
        out,
        "fast tier           accuracy {:.2}%, in-scope {:.2}%",
        fast.accuracy * 100.0,
        fast.in_scope_accuracy.unwrap_or(0.0) * 100.0
    );
    let _ = writeln!(out, "semantic tier (mix {:.2}):", head.mix);
    commands::print_report(&evaluation, head.oos_threshold, 20, out);
    Ok(())
}

//! `callassist train-semantic`: trains the intent head of the semantic tier
//! on the encoder's embeddings of the same data as the n-gram model, with
//! the same deterministic hold-out (which neither model trains on) for the
//! mix and the out-of-scope threshold.

use super::{embeddings::embed_all, head};
use crate::{
    encoder::Encoder,
    model::{dataset, IntentModel},
    text::normalize::Normalized,
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
    let texts: Vec<&str> = kept.iter().chain(&held).map(|e| e.text.as_str()).collect();
    let started = std::time::Instant::now();
    let vectors = cached_embeddings(&args.encoder, &args.cache, &texts, progress)?;
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

/// Evaluates the semantic tier (the head mixed with `base`) on data files
/// (only their `holdout` share, as `train --holdout` left it out),
/// with the same report as `callassist eval`, and the fast tier's in-scope
/// and overall accuracy beside it for comparison.
pub fn eval(
    base: &IntentModel,
    head: &head::IntentHead,
    encoder: &std::path::Path,
    cache: &std::path::Path,
    data: &[PathBuf],
    holdout: Option<f64>,
    out: &mut impl Write,
) -> Result<(), Error> {
    use crate::model::{commands, eval::Evaluation};
    let mut examples = commands::load_all(data)?;
    if let Some(fraction) = holdout {
        examples.retain(|e| dataset::in_holdout(e, fraction));
    }
    let pairs = commands::pairs(&examples);
    let texts: Vec<&str> = pairs.iter().map(|(t, _)| t.as_str()).collect();
    let vectors = cached_embeddings(encoder, cache, &texts, &mut std::io::sink())?;
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

/// The embeddings of `texts` through the cache of the encoder at `encoder`.
pub fn cached_embeddings(
    encoder: &std::path::Path,
    cache: &std::path::Path,
    texts: &[&str],
    progress: &mut impl Write,
) -> Result<Vec<Vec<f32>>, Error> {
    let model = Encoder::open(encoder).map_err(|e| Error::Io(e.to_string()))?;
    let digest = super::weights::sha256_file(encoder)?;
    std::fs::create_dir_all(cache)?;
    let cache_file = cache.join(format!("embeddings-{}.bin", &digest[..16]));
    let vectors = embed_all(&model, texts, &cache_file, 2, &mut |done, total| {
        if done % 512 < 16 || done == total {
            let _ = write!(progress, "\r  embedding {done}/{total}");
            let _ = progress.flush();
        }
    })?;
    Ok(vectors)
}

/// Arguments of `callassist train-semantic-emotions`.
#[derive(Debug, Clone)]
pub struct EmotionArgs {
    /// GoEmotions train.tsv.
    pub goemotions: PathBuf,
    /// The project's own examples (`{"text","cues","lang"}` lines).
    pub own: PathBuf,
    /// The encoder's model file.
    pub encoder: PathBuf,
    /// Directory of the embedding cache.
    pub cache: PathBuf,
    /// L2 penalty.
    pub l2: f32,
    /// Where to write the head.
    pub out: PathBuf,
}

/// `callassist train-semantic-emotions`: the emotion head on GoEmotions
/// (mapped to our cues) and the project's own bilingual examples; English
/// thresholds on a 10% hold-out of GoEmotions and half of the own English
/// examples, Mandarin thresholds on half of the own Mandarin examples.
pub fn train_emotions(
    args: &EmotionArgs,
    out: &mut impl Write,
    progress: &mut impl Write,
) -> Result<super::emotion_head::EmotionHead, Error> {
    let EmotionArgs {
        goemotions,
        own,
        encoder,
        cache,
        l2,
        out: out_file,
    } = args;
    let l2 = *l2;
    use crate::domain::Emotion;
    use crate::model::emotion_eval::{self, Format};
    #[derive(serde::Deserialize)]
    struct Own {
        text: String,
        cues: Vec<Emotion>,
        lang: String,
    }
    let go = emotion_eval::load(Format::GoEmotions, goemotions)?;
    let own_text =
        std::fs::read_to_string(own).map_err(|e| Error::Io(format!("{}: {e}", own.display())))?;
    let own: Vec<Own> = own_text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| Error::Io(format!("{}: {e}", own.display()))))
        .collect::<Result<_, _>>()?;
    let held = |text: &str, fraction: f64| {
        dataset::in_holdout(
            &dataset::Example {
                text: text.to_string(),
                label: String::new(),
            },
            fraction,
        )
    };
    let texts: Vec<&str> = go
        .iter()
        .map(|(t, _)| t.as_str())
        .chain(own.iter().map(|o| o.text.as_str()))
        .collect();
    let vectors = cached_embeddings(encoder, cache, &texts, progress)?;
    let _ = writeln!(progress);
    let (go_vectors, own_vectors) = vectors.split_at(go.len());
    // What the detector finds without the head (the head adds to it).
    let detector = crate::pipeline::emotion::EmotionDetector::default().with_head(None);
    let floor = |text: &str| -> Vec<Emotion> {
        detector
            .detect(&Normalized::new(text))
            .into_iter()
            .map(|c| c.emotion)
            .collect()
    };
    let (mut train, mut tune_en, mut tune_zh) = (Vec::new(), Vec::new(), Vec::new());
    for ((text, gold), v) in go.iter().zip(go_vectors) {
        let example = (v.clone(), gold.iter().copied().collect(), 1.0);
        if held(text, 0.1) {
            tune_en.push((example, floor(text)));
        } else {
            train.push(example);
        }
    }
    // The own examples are few and close to real calls: each counts as
    // much as 20 Reddit comments in training.
    for (o, v) in own.iter().zip(own_vectors) {
        let example = (v.clone(), o.cues.clone(), 20.0);
        match (held(&o.text, 0.5), o.lang.as_str()) {
            (true, "zh") => tune_zh.push((example, floor(&o.text))),
            (true, _) => tune_en.push((example, floor(&o.text))),
            (false, _) => train.push(example),
        }
    }
    let cues = crate::model::emotion_model::TRAINED_CUES;
    let started = std::time::Instant::now();
    let head = super::emotion_head::train(&cues, &train, &tune_en, &tune_zh, l2, 300);
    std::fs::write(out_file, head.encode())
        .map_err(|e| Error::Io(format!("{}: {e}", out_file.display())))?;
    let _ = writeln!(
        out,
        "emotion head: {}; thresholds en {:?}, zh {:?}; trained in {:.1} s → {}",
        head.about,
        head.thresholds_en,
        head.thresholds_zh,
        started.elapsed().as_secs_f64(),
        out_file.display()
    );
    Ok(head)
}

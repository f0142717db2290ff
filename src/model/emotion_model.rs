//! A trained English emotion-cue model, used beside the lexicon: one
//! sigmoid (one-vs-rest logistic regression) per cue GoEmotions can teach
//! (frustration, anxiety, confusion, sadness, satisfaction), so a text may
//! show several cues or none, each decided by its own threshold tuned for F1
//! on a hold-out of the training data.
//! Evidence is the word or word pair of the text that speaks most for the
//! cue.

use super::{
    dataset::{in_holdout, Example},
    emotion_eval::{self, Format},
    format, LinearModel, TrainConfig,
};
use crate::{domain::Emotion, text::normalize::Normalized, Error};
use std::{collections::BTreeSet, io::Write, ops::Range, path::Path};

/// The cues the trained emotion models (the English n-gram model and the
/// semantic tier's head) learn: those GoEmotions maps to (urgency is the
/// lexicon's alone).
pub const TRAINED_CUES: [Emotion; 5] = [
    Emotion::Frustration,
    Emotion::Anxiety,
    Emotion::Confusion,
    Emotion::Sadness,
    Emotion::Satisfaction,
];

/// The cue of a label name.
fn emotion_of(label: &str) -> Option<Emotion> {
    Some(match label {
        "frustration" => Emotion::Frustration,
        "anxiety" => Emotion::Anxiety,
        "confusion" => Emotion::Confusion,
        "urgency" => Emotion::Urgency,
        "sadness" => Emotion::Sadness,
        "satisfaction" => Emotion::Satisfaction,
        _ => return None,
    })
}

fn name_of(e: Emotion) -> String {
    format!("{e:?}").to_lowercase()
}

/// A trained cue model.
#[derive(Debug, Clone)]
pub struct EmotionModel {
    /// The classifier, with per-label thresholds.
    linear: LinearModel,
    /// The cue of each label (`None` for a label that names no cue).
    cues: Vec<Option<Emotion>>,
}

/// One cue the model found.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelCue {
    /// The emotion.
    pub emotion: Emotion,
    /// Its calibrated probability.
    pub probability: f32,
    /// Byte range, in the normalized text, of the word that speaks most for it.
    pub evidence: Range<usize>,
}

impl EmotionModel {
    /// Reads a model file's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Ok(Self::from_linear(format::decode(bytes)?))
    }

    fn from_linear(linear: LinearModel) -> Self {
        let cues = linear.labels.iter().map(|l| emotion_of(l)).collect();
        EmotionModel { linear, cues }
    }

    /// The cues whose probability reaches their threshold.
    pub fn detect(&self, text: &Normalized<'_>) -> Vec<ModelCue> {
        let p = self.linear.probabilities(text);
        let mut out = Vec::new();
        for (label, &probability) in p.iter().enumerate() {
            let (Some(emotion), Some(&threshold)) =
                (self.cues[label], self.linear.label_thresholds.get(label))
            else {
                continue;
            };
            if probability >= threshold {
                if let Some(evidence) = self.evidence(text, label) {
                    out.push(ModelCue {
                        emotion,
                        probability,
                        evidence,
                    });
                }
            }
        }
        out
    }

    /// The word or pair of words (Latin) or character pair (CJK) of `text`
    /// with the largest positive contribution to `label`: a pair quotes
    /// "not sure" where the word alone would quote "sure".
    fn evidence(&self, text: &Normalized<'_>, label: usize) -> Option<Range<usize>> {
        let s = text.text.as_str();
        let featurizer = self.linear.featurizer;
        let mut best: Option<(f32, Range<usize>)> = None;
        let mut consider = |bucket: u32, range: Range<usize>| {
            if let Some(c) = self.linear.contribution(bucket, label) {
                if c > 0.0 && best.as_ref().is_none_or(|b| c > b.0) {
                    best = Some((c, range));
                }
            }
        };
        // As the featurizer reads words: a pair never spans punctuation.
        let mut start = None;
        let mut previous: Option<Range<usize>> = None;
        for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
            let wordy = c.is_alphanumeric() && c.is_ascii() || c == '\'';
            match (wordy, start) {
                (true, None) => start = Some(i),
                (false, Some(st)) => {
                    consider(featurizer.word_bucket(&s[st..i]), st..i);
                    if let Some(p) = previous {
                        consider(
                            featurizer.bigram_bucket(&s[p.clone()], &s[st..i]),
                            p.start..i,
                        );
                    }
                    previous = Some(st..i);
                    start = None;
                }
                _ => {}
            }
            if !wordy && !c.is_whitespace() {
                previous = None;
            }
        }
        let cjk: Vec<(usize, char)> = s
            .char_indices()
            .filter(|(_, c)| crate::text::normalize::is_cjk(*c))
            .collect();
        for w in cjk.windows(2) {
            let end = w[1].0 + w[1].1.len_utf8();
            if w[0].0 + w[0].1.len_utf8() == w[1].0 {
                consider(featurizer.cjk_bucket(&s[w[0].0..end]), w[0].0..end);
            }
        }
        best.map(|b| b.1)
    }
}

/// Trains a cue model on GoEmotions `train.tsv` (mapped as in
/// [`emotion_eval`]), drops the rows whose weights all stay below
/// `min_weight` ([`LinearModel::prune`]), tunes the per-cue thresholds on a
/// 10% hold-out, writes it to `out` and returns it.
pub fn train(
    data: &Path,
    out: &Path,
    config: TrainConfig,
    min_weight: f32,
    progress: &mut impl Write,
) -> Result<EmotionModel, Error> {
    let rows = emotion_eval::load(Format::GoEmotions, data)?;
    let holdout = |text: &str| {
        in_holdout(
            &Example {
                text: text.to_string(),
                label: String::new(),
            },
            0.1,
        )
    };
    let cues = TRAINED_CUES;
    let labels: Vec<String> = cues.map(name_of).to_vec();
    let index = |e: &Emotion| cues.iter().position(|c| c == e);
    // One example per text with all its cues (none for most texts): one
    // sigmoid per cue learns each cue against everything else.
    let examples: Vec<(String, Vec<usize>)> = rows
        .iter()
        .filter(|(t, _)| !holdout(t))
        .map(|(text, gold)| (text.clone(), gold.iter().filter_map(index).collect()))
        .collect();
    let epochs = config.epochs;
    let mut linear =
        LinearModel::train_multilabel(&examples, labels.clone(), config, |epoch, loss| {
            let _ = write!(
                progress,
                "\r  training epoch {epoch}/{epochs}, loss {loss:.4}"
            );
        });
    let _ = writeln!(progress);
    // Most rows are rare n-grams the L2 penalty left near zero.
    linear.prune(min_weight);
    let held: Vec<&(String, BTreeSet<Emotion>)> = rows.iter().filter(|(t, _)| holdout(t)).collect();
    let probabilities: Vec<Vec<f32>> = held
        .iter()
        .map(|(t, _)| linear.probabilities(&Normalized::new(t)))
        .collect();
    // The detector fires a cue when the lexicon finds it or the model is
    // confident enough: tune each threshold for that union, so the model
    // adds what the lexicon misses instead of repeating what it found.
    let lexicon = crate::pipeline::emotion::EmotionDetector::lexicon_only();
    let found: Vec<BTreeSet<Emotion>> = held
        .iter()
        .map(|(t, _)| {
            lexicon
                .detect(&Normalized::new(t))
                .into_iter()
                .map(|c| c.emotion)
                .collect()
        })
        .collect();
    linear.label_thresholds = cues
        .iter()
        .enumerate()
        .map(|(k, &emotion)| {
            let f1 = |t: f32| {
                let (mut tp, mut fp, mut fne) = (0, 0, 0);
                for ((p, (_, gold)), found) in probabilities.iter().zip(&held).zip(&found) {
                    match (
                        p[k] >= t || found.contains(&emotion),
                        gold.contains(&emotion),
                    ) {
                        (true, true) => tp += 1,
                        (true, false) => fp += 1,
                        (false, true) => fne += 1,
                        _ => {}
                    }
                }
                super::eval::prf(tp, fp, fne).2
            };
            (2..95)
                .map(|i| i as f32 / 100.0)
                .max_by(|a, b| f1(*a).total_cmp(&f1(*b)))
                .unwrap_or(0.5)
        })
        .collect();
    let bytes = format::encode(
        &linear,
        &format!(
            "GoEmotions train (mapped cues), {} examples; {config:?}, rows pruned below {min_weight}",
            examples.len()
        ),
        &crate::pipeline::emotion::lexicon_fingerprint(),
    );
    std::fs::write(out, &bytes).map_err(|e| Error::Io(format!("{}: {e}", out.display())))?;
    let _ = writeln!(
        progress,
        "emotion model: {} rows, {:.1} MB, thresholds {:?} → {}",
        linear.rows(),
        bytes.len() as f64 / 1e6,
        linear.label_thresholds,
        out.display()
    );
    EmotionModel::decode(&bytes)
}

//! The emotion head of the semantic tier: one sigmoid per cue on the
//! encoder's embedding, with a threshold per cue *and language*.
//!
//! The encoder is multilingual, so a head trained mostly on English
//! (GoEmotions mapped to our cues) also ranks Mandarin feelings; what does
//! not carry over is where to cut, so Mandarin thresholds are tuned on the
//! project's own bilingual examples (`data/emotions/own_bilingual.jsonl`).
//! The head adds cues the lexicon missed; the lexicon stays the floor and
//! supplies evidence words wherever it finds a cue.

use super::head::LinearLayer;
use crate::domain::{Emotion, Language};
use serde::{Deserialize, Serialize};

/// A trained emotion head (JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmotionHead {
    /// The cues, in output order.
    pub cues: Vec<Emotion>,
    /// The linear layer on the standardized embedding (one score per cue).
    #[serde(flatten)]
    pub layer: LinearLayer,
    /// Per-cue probability thresholds for English text.
    pub thresholds_en: Vec<f32>,
    /// Per-cue probability thresholds for Mandarin text.
    pub thresholds_zh: Vec<f32>,
    /// How it was trained.
    pub about: String,
}

impl EmotionHead {
    /// Embedding size the head expects.
    pub fn dim(&self) -> usize {
        self.layer.dim()
    }

    /// The probability of every cue.
    pub fn probabilities(&self, embedding: &[f32]) -> Vec<f32> {
        self.layer
            .scores(embedding)
            .into_iter()
            .map(sigmoid)
            .collect()
    }

    /// The cues above their threshold for `language`, with probabilities.
    pub fn detect(&self, embedding: &[f32], language: Language) -> Vec<(Emotion, f32)> {
        let thresholds = match language {
            Language::EnUs => &self.thresholds_en,
            _ => &self.thresholds_zh,
        };
        self.probabilities(embedding)
            .into_iter()
            .zip(&self.cues)
            .zip(thresholds)
            .filter(|((p, _), t)| p >= t)
            .map(|((p, c), _)| (*c, p))
            .collect()
    }

    /// Reads a head from its JSON.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let head: EmotionHead = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        head.layer.check(head.cues.len())?;
        let c = head.cues.len();
        if head.thresholds_en.len() != c || head.thresholds_zh.len() != c {
            return Err("inconsistent sizes".into());
        }
        Ok(head)
    }

    /// The head as JSON.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a head serializes")
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// One labelled embedding: the vector, its gold cues, its weight.
pub type Labelled = (Vec<f32>, Vec<Emotion>, f32);

/// A tuning example: the labelled embedding and the cues the detector
/// finds without the head (lexicon and English model), since the head only
/// adds to those.
pub type Tuning = (Labelled, Vec<Emotion>);

/// The threshold per cue that maximizes the F1 of what the detector then
/// outputs (the cues found without the head, or the head's probability at
/// least the threshold) on `examples`; 0.5 when a cue has no positive
/// example there.
fn tune(head: &EmotionHead, examples: &[Tuning]) -> Vec<f32> {
    let probs: Vec<Vec<f32>> = examples
        .iter()
        .map(|((e, _, _), _)| head.probabilities(e))
        .collect();
    head.cues
        .iter()
        .enumerate()
        .map(|(c, cue)| {
            if !examples.iter().any(|((_, g, _), _)| g.contains(cue)) {
                return 0.5;
            }
            (1..40)
                .map(|i| i as f32 / 40.0)
                .map(|t| {
                    let (mut tp, mut fp, mut fne) = (0, 0, 0);
                    for (p, ((_, gold, _), floor)) in probs.iter().zip(examples) {
                        match (p[c] >= t || floor.contains(cue), gold.contains(cue)) {
                            (true, true) => tp += 1,
                            (true, false) => fp += 1,
                            (false, true) => fne += 1,
                            _ => {}
                        }
                    }
                    (crate::model::eval::prf(tp, fp, fne).2, t)
                })
                .fold((-1.0, 0.5), |b, c| if c.0 > b.0 { c } else { b })
                .1
        })
        .collect()
}

/// Trains a head on `train`, then tunes English thresholds on `tune_en`
/// and Mandarin ones on `tune_zh`. Deterministic.
pub fn train(
    cues: &[Emotion],
    train: &[Labelled],
    tune_en: &[Tuning],
    tune_zh: &[Tuning],
    l2: f32,
    iterations: usize,
) -> EmotionHead {
    let vectors: Vec<&[f32]> = train.iter().map(|(e, _, _)| e.as_slice()).collect();
    let mut layer = LinearLayer::for_embeddings(&vectors, cues.len());
    let x: Vec<Vec<f32>> = vectors.iter().map(|e| layer.standardize(e)).collect();
    // Logistic loss of one sigmoid per cue, each example weighted (own
    // examples count more than Reddit comments), averaged by total weight.
    let total: f32 = train.iter().map(|(_, _, w)| *w).sum();
    layer.fit(&x, l2, iterations, f64::from(total), |i, scores, loss| {
        let (_, gold, weight) = &train[i];
        for (s, cue) in scores.iter_mut().zip(cues) {
            let p = sigmoid(*s);
            let positive = gold.contains(cue);
            let target = f32::from(u8::from(positive));
            *loss -= f64::from(*weight)
                * f64::from(if positive {
                    p.max(1e-7).ln()
                } else {
                    (1.0 - p).max(1e-7).ln()
                });
            *s = weight * (p - target) / total;
        }
    });
    let mut head = EmotionHead {
        cues: cues.to_vec(),
        layer,
        thresholds_en: vec![0.5; cues.len()],
        thresholds_zh: vec![0.5; cues.len()],
        about: String::new(),
    };
    head.thresholds_en = tune(&head, tune_en);
    head.thresholds_zh = tune(&head, tune_zh);
    head.about = format!(
        "{} training embeddings, thresholds on {} English and {} Mandarin held-out ones, l2 {l2}",
        train.len(),
        tune_en.len(),
        tune_zh.len()
    );
    head
}

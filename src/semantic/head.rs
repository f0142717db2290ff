//! The intent head of the semantic tier: a softmax regression on the
//! encoder's embedding, mixed with the n-gram model's probabilities.
//!
//! The n-gram model is sharp on the phrasings it was trained on; the
//! encoder generalizes to paraphrases it never saw. The head's output is
//! `(1 − mix) · p_ngram + mix · p_embedding`, with `mix` and the
//! out-of-scope threshold chosen on held-out examples that neither model
//! was trained on ([`train`]). The labels are the n-gram model's, in its
//! order, so one ranking code serves both tiers.

use crate::model::lbfgs::{self, Objective};
use serde::{Deserialize, Serialize};

/// A trained head. Serialized as JSON (a few hundred KB).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IntentHead {
    /// Label names, in the n-gram model's order (checked at load).
    pub labels: Vec<String>,
    /// The linear layer on the standardized embedding.
    #[serde(flatten)]
    pub layer: LinearLayer,
    /// Weight of the embedding's probabilities in the mix, in [0, 1].
    pub mix: f32,
    /// Temperature of the mix: served probabilities are the mixed ones
    /// raised to `1 / temperature` and renormalized, fitted on held-out
    /// data so that confidences match how often the head is right.
    #[serde(default = "one")]
    pub temperature: f32,
    /// Below this best (calibrated) probability an utterance is out of
    /// scope.
    pub oos_threshold: f32,
    /// How it was trained (data, sizes, held-out accuracy).
    pub about: String,
}

impl IntentHead {
    /// Embedding size the head expects.
    pub fn dim(&self) -> usize {
        self.layer.dim()
    }

    /// The embedding-only probabilities of every label.
    pub fn embedding_probabilities(&self, embedding: &[f32]) -> Vec<f32> {
        let mut scores = self.layer.scores(embedding);
        softmax(&mut scores);
        scores
    }

    /// The calibrated mixed probabilities of every label, given the
    /// n-gram model's.
    pub fn probabilities(&self, embedding: &[f32], ngram: &[f32]) -> Vec<f32> {
        let embedded = self.embedding_probabilities(embedding);
        calibrated_mix(&embedded, ngram, self.mix, self.temperature)
    }

    /// Reads a head from its JSON.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let head: IntentHead = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        head.layer.check(head.labels.len())?;
        Ok(head)
    }

    /// The head as JSON.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a head serializes")
    }
}

/// A linear layer on the standardized embedding: what the intent and the
/// emotion heads share (serialized flat into each head's JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinearLayer {
    /// Per-dimension mean of the training embeddings (standardization).
    pub mean: Vec<f32>,
    /// Per-dimension 1 / standard deviation of the training embeddings.
    pub inv_std: Vec<f32>,
    /// `outputs × dim` weights, row-major.
    pub weights: Vec<f32>,
    /// Per-output bias.
    pub bias: Vec<f32>,
}

impl LinearLayer {
    /// A layer standardized by the moments of `embeddings`, weights zero.
    pub fn for_embeddings(embeddings: &[&[f32]], outputs: usize) -> Self {
        let (mean, inv_std) = moments(embeddings);
        LinearLayer {
            weights: vec![0.0; outputs * mean.len()],
            bias: vec![0.0; outputs],
            mean,
            inv_std,
        }
    }

    /// Embedding size.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// The standardized embedding.
    pub fn standardize(&self, embedding: &[f32]) -> Vec<f32> {
        standardize(embedding, &self.mean, &self.inv_std)
    }

    /// The raw scores (logits) of every output.
    pub fn scores(&self, embedding: &[f32]) -> Vec<f32> {
        logits(&self.weights, &self.bias, &self.standardize(embedding))
    }

    /// Fits the weights and biases by L-BFGS (from zero, deterministic) to
    /// the standardized embeddings `x`: see [`Fit`] for `example` and
    /// `scale`.
    pub(super) fn fit(
        &mut self,
        x: &[Vec<f32>],
        l2: f32,
        iterations: usize,
        scale: f64,
        example: impl FnMut(usize, &mut [f32], &mut f64),
    ) {
        let outputs = self.bias.len();
        let mut params = vec![0f32; outputs * (self.dim() + 1)];
        let mut objective = Fit {
            x,
            outputs,
            l2,
            scale,
            example,
        };
        let settings = lbfgs::Settings {
            max_iterations: iterations,
            memory: 10,
            tolerance: 1e-7,
        };
        lbfgs::minimize(&mut objective, &mut params, settings, |_, _| {});
        self.bias = params.split_off(self.weights.len());
        self.weights = params;
    }

    /// Checks the sizes against `outputs` (for decoding).
    pub fn check(&self, outputs: usize) -> Result<(), String> {
        let d = self.dim();
        if self.inv_std.len() != d
            || self.weights.len() != outputs * d
            || self.bias.len() != outputs
        {
            return Err("inconsistent sizes".into());
        }
        Ok(())
    }
}

fn one() -> f32 {
    1.0
}

/// `(mix · e + (1 − mix) · n)^(1/t)`, renormalized.
fn calibrated_mix(embedded: &[f32], ngram: &[f32], mix: f32, temperature: f32) -> Vec<f32> {
    let mut p: Vec<f32> = embedded
        .iter()
        .zip(ngram)
        .map(|(e, n)| {
            (mix * e + (1.0 - mix) * n)
                .max(1e-12)
                .powf(1.0 / temperature)
        })
        .collect();
    let sum: f32 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= sum);
    p
}

fn logits(weights: &[f32], bias: &[f32], z: &[f32]) -> Vec<f32> {
    let d = z.len();
    bias.iter()
        .zip(weights.chunks_exact(d))
        .map(|(b, w)| b + dot(w, z))
        .collect()
}

/// `(e − mean) · inv_std` per dimension.
pub(super) fn standardize(embedding: &[f32], mean: &[f32], inv_std: &[f32]) -> Vec<f32> {
    embedding
        .iter()
        .zip(mean)
        .zip(inv_std)
        .map(|((e, m), s)| (e - m) * s)
        .collect()
}

/// Per-dimension mean and 1 / standard deviation of embeddings.
pub(super) fn moments(embeddings: &[&[f32]]) -> (Vec<f32>, Vec<f32>) {
    let d = embeddings.first().map_or(0, |e| e.len());
    let n = embeddings.len().max(1) as f32;
    let mut mean = vec![0f32; d];
    for e in embeddings {
        mean.iter_mut().zip(*e).for_each(|(m, v)| *m += v / n);
    }
    let mut var = vec![0f32; d];
    for e in embeddings {
        var.iter_mut()
            .zip(e.iter().zip(&mean))
            .for_each(|(s, (v, m))| *s += (v - m) * (v - m) / n);
    }
    (mean, var.iter().map(|v| 1.0 / v.sqrt().max(1e-6)).collect())
}

/// A dot product in eight lanes (so it vectorizes).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    scores.iter_mut().for_each(|s| *s /= sum);
}

/// The regularized objective of a [`LinearLayer`] on standardized
/// embeddings: `example(i, scores, loss)` adds example `i`'s loss to
/// `loss` and turns its scores into the gradient with respect to them
/// (already divided by `scale`); this sums the parameter gradients, divides
/// the loss by `scale` and adds L2 on the weights.
struct Fit<'a, F> {
    x: &'a [Vec<f32>],
    outputs: usize,
    l2: f32,
    scale: f64,
    example: F,
}

impl<F: FnMut(usize, &mut [f32], &mut f64)> Objective for Fit<'_, F> {
    fn evaluate(&mut self, params: &[f32], grad: &mut [f32]) -> f64 {
        let d = self.x[0].len();
        let (w, b) = params.split_at(self.outputs * d);
        grad.fill(0.0);
        let mut loss = 0.0f64;
        for (i, x) in self.x.iter().enumerate() {
            let mut scores = logits(w, b, x);
            (self.example)(i, &mut scores, &mut loss);
            let (gw, gb) = grad.split_at_mut(self.outputs * d);
            for (c, &g) in scores.iter().enumerate() {
                gb[c] += g;
                for (gw, x) in gw[c * d..(c + 1) * d].iter_mut().zip(x) {
                    *gw += g * x;
                }
            }
        }
        loss /= self.scale;
        let (gw, _) = grad.split_at_mut(self.outputs * d);
        for (g, w) in gw.iter_mut().zip(w) {
            *g += self.l2 * w;
            loss += 0.5 * f64::from(self.l2 * w * w);
        }
        loss
    }
}

/// What [`train`] needs: embeddings with label indices, for training and
/// for choosing the mix, and the n-gram probabilities of the held-out ones.
pub struct TrainingSet<'a> {
    /// Label names (the n-gram model's, in order).
    pub labels: &'a [String],
    /// Training embeddings and labels.
    pub train: &'a [(Vec<f32>, usize)],
    /// Held-out embeddings, labels and n-gram probabilities.
    pub held_out: &'a [(Vec<f32>, usize, Vec<f32>)],
    /// The index of the out-of-scope label, if the labels have one.
    pub out_of_scope: Option<usize>,
}

/// Trains a head: L-BFGS on standardized embeddings, then the mix and the
/// out-of-scope threshold that maximize held-out accuracy (an out-of-scope
/// example counts as right when it is rejected). Deterministic.
pub fn train(set: &TrainingSet<'_>, l2: f32, iterations: usize) -> IntentHead {
    let classes = set.labels.len();
    let vectors: Vec<&[f32]> = set.train.iter().map(|(e, _)| e.as_slice()).collect();
    let mut head = IntentHead {
        labels: set.labels.to_vec(),
        layer: LinearLayer::for_embeddings(&vectors, classes),
        mix: 0.5,
        temperature: 1.0,
        oos_threshold: 0.0,
        about: String::new(),
    };
    let x: Vec<Vec<f32>> = vectors.iter().map(|e| head.layer.standardize(e)).collect();
    // Softmax cross-entropy, averaged over the examples.
    let n = set.train.len() as f32;
    head.layer
        .fit(&x, l2, iterations, f64::from(n), |i, scores, loss| {
            let y = set.train[i].1;
            softmax(scores);
            *loss -= f64::from(scores[y].max(1e-12).ln());
            scores[y] -= 1.0;
            scores.iter_mut().for_each(|g| *g /= n);
        });

    // The mix and threshold, on held-out data.
    let embedded: Vec<Vec<f32>> = set
        .held_out
        .iter()
        .map(|(e, _, _)| head.embedding_probabilities(e))
        .collect();
    // The mix: best held-out accuracy (top label), among equals the
    // lowest log-loss of the gold label (accuracy saturates on held-out
    // data like the training data; the loss still tells how much to trust
    // each model). Then the temperature that minimizes the log-loss, and
    // the out-of-scope threshold with the best held-out accuracy.
    let score = |mix: f32, temperature: f32| {
        let mut loss = 0.0f64;
        let scored: Vec<(usize, f32, usize)> = set
            .held_out
            .iter()
            .zip(&embedded)
            .map(|((_, y, ngram), pe)| {
                let p = calibrated_mix(pe, ngram, mix, temperature);
                loss -= f64::from(p[*y].max(1e-9).ln());
                let (top, best) = p
                    .iter()
                    .copied()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .unwrap_or((0, 0.0));
                (top, best, *y)
            })
            .collect();
        (scored, loss / set.held_out.len().max(1) as f64)
    };
    let accuracy = |scored: &[(usize, f32, usize)], threshold: f32| {
        let right = scored
            .iter()
            .filter(|&&(top, p, y)| {
                let rejected = Some(top) == set.out_of_scope || p < threshold;
                if Some(y) == set.out_of_scope {
                    rejected
                } else {
                    !rejected && top == y
                }
            })
            .count();
        right as f64 / scored.len().max(1) as f64
    };
    let mut best = (-1.0f64, f64::INFINITY, 0.0f32);
    for mix in (0..=20).map(|i| i as f32 / 20.0) {
        let (scored, loss) = score(mix, 1.0);
        let a = accuracy(&scored, 0.0);
        if a > best.0 + 1e-9 || (a > best.0 - 1e-9 && loss < best.1 - 1e-9) {
            best = (a, loss, mix);
        }
    }
    head.mix = best.2;
    head.temperature = (1..=60)
        .map(|i| i as f32 / 20.0)
        .map(|t| (t, score(head.mix, t).1))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(1.0, |(t, _)| t);
    let (scored, loss) = score(head.mix, head.temperature);
    let (held_out_accuracy, threshold) = (0..=40)
        .map(|i| i as f32 / 50.0)
        .map(|t| (accuracy(&scored, t), t))
        .fold((-1.0, 0.0), |b, c| if c.0 > b.0 + 1e-9 { c } else { b });
    head.oos_threshold = threshold;
    let best = (held_out_accuracy, loss, head.mix, threshold);
    head.about = format!(
        "{} training and {} held-out embeddings, {classes} labels, l2 {l2}; held-out accuracy {:.2}%, log-loss {:.3} at mix {:.2}, temperature {:.2}, threshold {:.2}",
        set.train.len(),
        set.held_out.len(),
        best.0 * 100.0,
        best.1,
        best.2,
        head.temperature,
        best.3
    );
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two clusters the n-gram model confuses: the head must separate them
    /// and the mix must lean on the embedding.
    #[test]
    fn the_head_learns_what_the_ngram_model_misses_and_the_mix_leans_on_it() {
        let labels = vec!["a".to_string(), "b".to_string()];
        let point = |i: usize, y: usize| {
            let mut e = vec![0.01 * (i % 7) as f32; 8];
            e[y] += 1.0;
            (e, y)
        };
        let examples: Vec<_> = (0..40).map(|i| point(i, i % 2)).collect();
        let held_out: Vec<_> = (0..20)
            .map(|i| {
                let (e, y) = point(i + 3, i % 2);
                (e, y, vec![0.6, 0.4]) // the n-gram model always says "a"
            })
            .collect();
        let head = train(
            &TrainingSet {
                labels: &labels,
                train: &examples,
                held_out: &held_out,
                out_of_scope: None,
            },
            1e-3,
            100,
        );
        assert!(head.mix > 0.5, "{}", head.about);
        for (e, y, n) in &held_out {
            let p = head.probabilities(e, n);
            assert!(p[*y] > 0.5, "{p:?}");
        }
        assert_eq!(IntentHead::decode(&head.encode()).unwrap(), head);
    }
}

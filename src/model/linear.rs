//! A linear classifier over hashed n-gram features (TF-IDF weighted,
//! L2-normalized): trained on a one-vs-rest squared hinge or a log loss
//! ([`Loss`]) by AdaGrad or L-BFGS ([`Optimizer`]), its scores turned into
//! probabilities by a softmax or per-label sigmoids ([`Output`]) calibrated
//! by temperature scaling, with an out-of-scope threshold.
//!
//! Only buckets seen in training carry weights (sparse SGD never touches the
//! others), so the model stores one row per seen bucket: its IDF and one
//! weight per label.

use super::{
    features::{block, Featurizer, BLOCKS},
    lbfgs,
};
use crate::{rng::XorShift, text::normalize::Normalized};

/// Marks a bucket with no row.
const NO_ROW: u32 = u32::MAX;

/// Bucket → row: an open-addressing hash table at most half full. A dense
/// `Vec` over all 2^20 buckets would be 4 MB of mostly empty entries whose
/// cache misses dominated classification (measured: see BENCHMARKS.md);
/// this table is 8 bytes per slot, ~0.5 MB for the default model.
#[derive(Debug, Clone)]
struct RowIndex {
    /// (bucket, row) slots; `NO_ROW` rows are empty.
    slots: Vec<(u32, u32)>,
    /// `slots.len() - 1` (a power of two minus one).
    mask: usize,
}

impl RowIndex {
    fn new(buckets: &[u32]) -> Self {
        let capacity = (buckets.len() * 2).next_power_of_two().max(16);
        let mut index = RowIndex {
            slots: vec![(0, NO_ROW); capacity],
            mask: capacity - 1,
        };
        for (row, &b) in buckets.iter().enumerate() {
            let mut i = index.slot(b);
            while index.slots[i].1 != NO_ROW {
                i = (i + 1) & index.mask;
            }
            index.slots[i] = (b, row as u32);
        }
        index
    }

    fn slot(&self, bucket: u32) -> usize {
        (bucket.wrapping_mul(0x9E37_79B9) as usize >> 7) & self.mask
    }

    /// The row of `bucket`, or `NO_ROW`.
    fn get(&self, bucket: u32) -> u32 {
        let mut i = self.slot(bucket);
        loop {
            let (b, row) = self.slots[i];
            if row == NO_ROW || b == bucket {
                return row;
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// A trained linear classifier.
#[derive(Debug, Clone)]
pub struct LinearModel {
    /// The labels, in weight-column order.
    pub labels: Vec<String>,
    /// How text becomes features.
    pub featurizer: Featurizer,
    /// Bucket → row for the buckets seen in training.
    index: RowIndex,
    /// The bucket of each row (inverse of `index`, for serialization).
    pub(super) buckets: Vec<u32>,
    /// Inverse document frequency per row, for training (a model read from a
    /// file has it in `packed`).
    pub(super) idf: Vec<f32>,
    /// Row-major weights, `rows × labels`, for training (empty in a model
    /// read from a file).
    pub(super) weights: Vec<f32>,
    /// The rows as inference reads them (see [`Packed`]).
    pub(super) packed: Packed,
    /// One bias per label.
    pub(super) bias: Vec<f32>,
    /// Softmax temperature fitted on validation data (1 if none).
    pub temperature: f32,
    /// Below this probability the best in-scope label is rejected as out of
    /// scope (0 disables the threshold).
    pub oos_threshold: f32,
    /// Per-label decision thresholds for multi-label use (empty when the
    /// model is used by argmax).
    pub label_thresholds: Vec<f32>,
    /// How scores become probabilities: one label per text, or each label
    /// on its own.
    pub output: Output,
}

/// How a model's scores become probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// Softmax over the labels: exactly one label per text (intents).
    #[default]
    Softmax,
    /// An independent sigmoid per label (one-vs-rest): a text may carry
    /// several labels or none (emotion cues), each decided by its own
    /// threshold.
    Sigmoid,
}

/// The stored parts of a model (see the fields of [`LinearModel`]).
pub(super) struct Parts {
    /// Inference rows: read from a model file, or empty until training
    /// packs its weights.
    pub packed: Packed,
    pub labels: Vec<String>,
    pub featurizer: Featurizer,
    pub buckets: Vec<u32>,
    pub idf: Vec<f32>,
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub temperature: f32,
    pub oos_threshold: f32,
    pub label_thresholds: Vec<f32>,
    pub output: Output,
}

/// Hyper-parameters of training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// log2 of the number of hash buckets.
    pub bits: u8,
    /// Passes over the data.
    pub epochs: usize,
    /// AdaGrad learning rate.
    pub learning_rate: f32,
    /// L2 penalty, applied to the rows an example touches.
    pub l2: f32,
    /// Shuffling seed: training is deterministic given the seed.
    pub seed: u64,
    /// How the weights are fitted.
    pub optimizer: Optimizer,
    /// What training minimizes.
    pub loss: Loss,
}

/// What training minimizes. Either way a served model turns its scores into
/// probabilities by its [`Output`] (for intents a softmax whose temperature
/// is fitted on validation data, so the confidences stay calibrated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Loss {
    /// The log loss of the model's output (logistic regression).
    #[value(name = "log")]
    Log,
    /// One-vs-rest squared hinge, `max(0, 1 − t·s)²` per label with t = ±1
    /// (a linear SVM): only examples near a label's boundary move its
    /// weights.
    #[value(name = "squared-hinge")]
    SquaredHinge,
}

/// How a model's weights are fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Optimizer {
    /// Stochastic AdaGrad for `epochs` passes: stops short of the
    /// regularized optimum, which on the intent sets generalizes better
    /// (CLINC150, log loss: 93.30% against 93.00% for L-BFGS at its best
    /// L2; squared hinge: 93.37% against 93.17%).
    #[default]
    #[value(name = "adagrad")]
    AdaGrad,
    /// Full-batch L-BFGS for at most `epochs` iterations, to the
    /// regularized optimum: on noisy multi-label data (GoEmotions cues) it
    /// beats AdaGrad clearly (macro-F1 of the model alone 0.553 against
    /// 0.487).
    Lbfgs,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            bits: 20,
            epochs: 40,
            learning_rate: 0.03,
            l2: 1e-6,
            seed: 7,
            optimizer: Optimizer::AdaGrad,
            loss: Loss::SquaredHinge,
        }
    }
}

/// A vectorized example: (row, value) pairs and its label.
type Sparse = Vec<(u32, f32)>;

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn softmax_in_place(scores: &mut [f32], temperature: f32) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = ((*s - max) / temperature).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}

/// The rows as inference reads them: per row one record of its IDF (f32),
/// its weight scale (f32) and one i8 weight per label (weight = scale ×
/// i8 / 127), the row layout of the model file. A feature then costs one
/// index probe and one record (30 bytes for 22 labels, one cache line)
/// instead of reads from three arrays and 88 bytes of f32 weights. Under
/// load, with the caches full of call state, those misses were most of what
/// classification cost (BENCHMARKS.md, "Where the time goes").
#[derive(Debug, Clone, Default)]
pub(super) struct Packed {
    /// Bytes per row: 8 + one per label.
    stride: usize,
    /// The records, row after row.
    bytes: Vec<u8>,
}

impl Packed {
    /// Quantizes f32 weights (`classes` per row) with their IDFs.
    fn new(idf: &[f32], weights: &[f32], classes: usize) -> Self {
        let stride = 8 + classes;
        let mut bytes = Vec::with_capacity(idf.len() * stride);
        for (row, idf) in idf.iter().enumerate() {
            let w = &weights[row * classes..(row + 1) * classes];
            let scale = w.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-12);
            bytes.extend(idf.to_le_bytes());
            bytes.extend(scale.to_le_bytes());
            bytes.extend(
                w.iter()
                    .map(|x| (x / scale * 127.0).round().clamp(-127.0, 127.0) as i8 as u8),
            );
        }
        Packed { stride, bytes }
    }

    /// Records read from a model file (each `classes + 8` bytes).
    pub(super) fn from_records(bytes: Vec<u8>, classes: usize) -> Self {
        Packed {
            stride: 8 + classes,
            bytes,
        }
    }

    /// The record of `row`: as stored in the model file after the bucket.
    pub(super) fn record(&self, row: usize) -> &[u8] {
        &self.bytes[row * self.stride..(row + 1) * self.stride]
    }

    /// IDF, weight scale and quantized weights of `row`.
    #[inline]
    fn row(&self, row: u32) -> (f32, f32, &[u8]) {
        let start = row as usize * self.stride;
        let r = &self.bytes[start..start + self.stride];
        let (head, q) = r.split_at(8);
        let f = |i: usize| f32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        (f(0), f(4), q)
    }
}

impl LinearModel {
    /// A model from its stored parts; builds the bucket → row index.
    pub(super) fn from_parts(parts: Parts) -> Self {
        let index = RowIndex::new(&parts.buckets);
        LinearModel {
            packed: parts.packed,
            labels: parts.labels,
            featurizer: parts.featurizer,
            index,
            buckets: parts.buckets,
            idf: parts.idf,
            weights: parts.weights,
            bias: parts.bias,
            temperature: parts.temperature,
            oos_threshold: parts.oos_threshold,
            label_thresholds: parts.label_thresholds,
            output: parts.output,
        }
    }

    /// Number of labels.
    pub fn classes(&self) -> usize {
        self.labels.len()
    }

    /// Rows (seen buckets) in the model.
    pub fn rows(&self) -> usize {
        self.buckets.len()
    }

    /// Sublinear TF × IDF of the known buckets, each block L2-normalized
    /// separately and the blocks weighted equally.
    fn weigh(&self, features: &[(u32, f32)]) -> Sparse {
        let mut norms = [0.0f32; BLOCKS];
        let mut v: Sparse = Vec::with_capacity(features.len());
        for &(b, n) in features {
            let row = self.index.get(b);
            if row != NO_ROW {
                let tf = if n == 1.0 { 1.0 } else { 1.0 + n.ln() };
                let x = tf * self.idf[row as usize];
                norms[block(b)] += x * x;
                v.push((row, x));
            }
        }
        let active = norms.iter().filter(|n| **n > 0.0).count().max(1) as f32;
        let scale = norms.map(|n| {
            if n > 0.0 {
                1.0 / (n * active).sqrt()
            } else {
                0.0
            }
        });
        for (row, x) in v.iter_mut() {
            *x *= scale[block(self.buckets[*row as usize])];
        }
        v
    }

    /// The TF-IDF weight of `bucket` times the model weight of `label`, as
    /// if the feature occurred once: how much the feature speaks for the
    /// label (before normalization). `None` for buckets never seen.
    pub fn contribution(&self, bucket: u32, label: usize) -> Option<f32> {
        let row = self.index.get(bucket);
        (row != NO_ROW).then(|| {
            let (idf, scale, q) = self.packed.row(row);
            idf * f32::from(q[label] as i8) / 127.0 * scale
        })
    }

    /// Calibrated probabilities of every label for `text`.
    pub fn probabilities(&self, text: &Normalized<'_>) -> Vec<f32> {
        let mut scores = self.scores(text);
        match self.output {
            Output::Softmax => softmax_in_place(&mut scores, self.temperature),
            Output::Sigmoid => {
                for s in scores.iter_mut() {
                    *s = sigmoid(*s / self.temperature);
                }
            }
        }
        scores
    }

    /// Raw scores of every label for `text`, from the packed rows: the TF-IDF
    /// weighting of [`LinearModel::weigh`] and the dot products of
    /// [`raw_scores`] in two passes over one record per feature.
    fn scores(&self, text: &Normalized<'_>) -> Vec<f32> {
        let features = self.featurizer.features_of(text);
        let mut norms = [0.0f32; BLOCKS];
        // (x × weight scale, block, quantized weights) per known feature.
        let mut active: Vec<(f32, usize, &[u8])> = Vec::with_capacity(features.len());
        for &(b, n) in features.iter() {
            let row = self.index.get(b);
            if row != NO_ROW {
                let (idf, weight_scale, q) = self.packed.row(row);
                let tf = if n == 1.0 { 1.0 } else { 1.0 + n.ln() };
                let x = tf * idf;
                norms[block(b)] += x * x;
                active.push((x * weight_scale / 127.0, block(b), q));
            }
        }
        let blocks = norms.iter().filter(|n| **n > 0.0).count().max(1) as f32;
        let scale = norms.map(|n| {
            if n > 0.0 {
                1.0 / (n * blocks).sqrt()
            } else {
                0.0
            }
        });
        let mut scores = self.bias.clone();
        for (x, blk, q) in active {
            let k = x * scale[blk];
            for (s, &q) in scores.iter_mut().zip(q) {
                *s += k * f32::from(q as i8);
            }
        }
        scores
    }

    /// Trains a softmax model on `(text, label index)` examples.
    pub fn train(
        examples: &[(String, usize)],
        labels: Vec<String>,
        config: TrainConfig,
        progress: impl FnMut(usize, f32),
    ) -> LinearModel {
        let texts: Vec<&str> = examples.iter().map(|(t, _)| t.as_str()).collect();
        let targets: Vec<&[usize]> = examples
            .iter()
            .map(|(_, y)| std::slice::from_ref(y))
            .collect();
        Self::fit(&texts, &targets, labels, config, Output::Softmax, progress)
    }

    /// Trains a one-vs-rest model ([`Output::Sigmoid`]) on `(text, label
    /// indices)` examples, where a text may have several labels or none.
    pub fn train_multilabel(
        examples: &[(String, Vec<usize>)],
        labels: Vec<String>,
        config: TrainConfig,
        progress: impl FnMut(usize, f32),
    ) -> LinearModel {
        let texts: Vec<&str> = examples.iter().map(|(t, _)| t.as_str()).collect();
        let targets: Vec<&[usize]> = examples.iter().map(|(_, y)| y.as_slice()).collect();
        Self::fit(&texts, &targets, labels, config, Output::Sigmoid, progress)
    }

    /// Fits `config.loss` with `config.optimizer`: `targets[i]`
    /// holds the labels of `texts[i]` (exactly one for softmax).
    fn fit(
        texts: &[&str],
        targets: &[&[usize]],
        labels: Vec<String>,
        config: TrainConfig,
        output: Output,
        progress: impl FnMut(usize, f32),
    ) -> LinearModel {
        let featurizer = Featurizer { bits: config.bits };
        let c = labels.len();
        // Features and document frequencies.
        let raw: Vec<Vec<(u32, f32)>> = texts
            .iter()
            .map(|t| featurizer.features(&Normalized::new(t)))
            .collect();
        let mut df = std::collections::HashMap::<u32, u32>::new();
        for f in &raw {
            for (b, _) in f {
                *df.entry(*b).or_default() += 1;
            }
        }
        let mut buckets: Vec<u32> = df.keys().copied().collect();
        buckets.sort_unstable();
        let n = texts.len() as f32;
        let idf: Vec<f32> = buckets
            .iter()
            .map(|b| ((1.0 + n) / (1.0 + df[b] as f32)).ln() + 1.0)
            .collect();
        let mut model = LinearModel::from_parts(Parts {
            packed: Packed::default(), // packed once trained
            labels,
            featurizer,
            buckets,
            idf,
            weights: Vec::new(),
            bias: vec![0.0; c],
            temperature: 1.0,
            oos_threshold: 0.0,
            label_thresholds: Vec::new(),
            output,
        });
        model.weights = vec![0.0; model.rows() * c];
        let data: Vec<(Sparse, &[usize])> = raw
            .into_iter()
            .zip(targets)
            .map(|(f, y)| (model.weigh(&f), *y))
            .collect();
        match config.optimizer {
            Optimizer::AdaGrad => model.adagrad(&data, config, progress),
            Optimizer::Lbfgs => model.lbfgs(&data, config, progress),
        }
        model.packed = Packed::new(&model.idf, &model.weights, model.classes());
        model
    }

    /// Stochastic AdaGrad, `config.epochs` shuffled passes; the L2 penalty
    /// acts on the rows an example touches.
    fn adagrad(
        &mut self,
        data: &[(Sparse, &[usize])],
        config: TrainConfig,
        mut progress: impl FnMut(usize, f32),
    ) {
        let c = self.classes();
        let mut g2 = vec![1e-8f32; self.weights.len()];
        let mut gb2 = vec![1e-8f32; c];
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut rng = XorShift::from_state(config.seed);
        let mut scores = vec![0.0f32; c];
        for epoch in 0..config.epochs {
            rng.shuffle(&mut order);
            let mut loss = 0.0f64;
            for &i in &order {
                let (v, y) = &data[i];
                raw_scores(&self.weights, &self.bias, v, &mut scores);
                loss += score_gradient(self.output, config.loss, &mut scores, y);
                for (k, g) in scores.iter().enumerate() {
                    gb2[k] += g * g;
                    self.bias[k] -= config.learning_rate * g / gb2[k].sqrt();
                }
                for &(row, x) in v {
                    let base = row as usize * c;
                    for (k, g) in scores.iter().enumerate() {
                        let w = &mut self.weights[base + k];
                        let grad = g * x + config.l2 * *w;
                        g2[base + k] += grad * grad;
                        *w -= config.learning_rate * grad / g2[base + k].sqrt();
                    }
                }
            }
            progress(epoch + 1, (loss / data.len().max(1) as f64) as f32);
        }
    }

    /// Full-batch L-BFGS to the optimum of the mean `config.loss` plus
    /// `config.l2 / 2 · ‖w‖²`, at most `config.epochs` iterations.
    fn lbfgs(
        &mut self,
        data: &[(Sparse, &[usize])],
        config: TrainConfig,
        mut progress: impl FnMut(usize, f32),
    ) {
        let c = self.classes();
        let weights = self.weights.len();
        let mut x = std::mem::take(&mut self.weights);
        x.extend_from_slice(&self.bias);
        let mut objective = Regularized {
            data,
            classes: c,
            output: self.output,
            loss: config.loss,
            l2: config.l2,
        };
        let settings = lbfgs::Settings {
            max_iterations: config.epochs,
            memory: 10,
            tolerance: 1e-7,
        };
        lbfgs::minimize(&mut objective, &mut x, settings, |i, loss| {
            progress(i, loss as f32)
        });
        self.bias.copy_from_slice(&x[weights..]);
        x.truncate(weights);
        self.weights = x;
    }

    /// Drops the rows whose every weight is smaller than `min_weight` in
    /// magnitude: a smaller model whose rows stay in cache. A dropped
    /// feature no longer counts in its block's norm either, so measure the
    /// pruned model (and tune thresholds on it), not the full one.
    pub fn prune(&mut self, min_weight: f32) {
        let c = self.classes();
        let keep: Vec<usize> = (0..self.rows())
            .filter(|&r| {
                self.weights[r * c..(r + 1) * c]
                    .iter()
                    .any(|w| w.abs() >= min_weight)
            })
            .collect();
        self.buckets = keep.iter().map(|&r| self.buckets[r]).collect();
        self.idf = keep.iter().map(|&r| self.idf[r]).collect();
        self.weights = keep
            .iter()
            .flat_map(|&r| self.weights[r * c..(r + 1) * c].iter().copied())
            .collect();
        self.index = RowIndex::new(&self.buckets);
        self.packed = Packed::new(&self.idf, &self.weights, c);
    }

    /// Fits the softmax temperature minimizing the negative log-likelihood
    /// of `(text, label)` validation examples.
    pub fn calibrate(&mut self, validation: &[(String, usize)]) {
        if validation.is_empty() {
            return;
        }
        let scored: Vec<(Vec<f32>, usize)> = validation
            .iter()
            .map(|(t, y)| (self.scores(&Normalized::new(t)), *y))
            .collect();
        let nll = |t: f32| -> f64 {
            scored
                .iter()
                .map(|(s, y)| {
                    let mut p = s.clone();
                    softmax_in_place(&mut p, t);
                    -f64::from(p[*y].max(1e-12).ln())
                })
                .sum()
        };
        let mut best = (f64::INFINITY, 1.0);
        let mut t = 0.05f32;
        while t <= 3.0 {
            let l = nll(t);
            if l < best.0 {
                best = (l, t);
            }
            t *= 1.08;
        }
        self.temperature = best.1;
    }
}

/// The mean loss of a linear model over weighted examples plus
/// `l2 / 2 · ‖w‖²` (biases unpenalized), as a function of the weights
/// (`rows × classes`, then the biases) for [`lbfgs`].
struct Regularized<'d> {
    data: &'d [(Sparse, &'d [usize])],
    classes: usize,
    output: Output,
    loss: Loss,
    l2: f32,
}

impl lbfgs::Objective for Regularized<'_> {
    fn evaluate(&mut self, x: &[f32], grad: &mut [f32]) -> f64 {
        let c = self.classes;
        let (weights, bias) = x.split_at(x.len() - c);
        let (weight_grad, bias_grad) = grad.split_at_mut(x.len() - c);
        let n = self.data.len().max(1) as f32;
        let mut loss = 0.0f64;
        for (g, w) in weight_grad.iter_mut().zip(weights) {
            *g = self.l2 * w;
        }
        bias_grad.fill(0.0);
        let mut scores = vec![0.0f32; c];
        for (v, y) in self.data {
            raw_scores(weights, bias, v, &mut scores);
            loss += score_gradient(self.output, self.loss, &mut scores, y);
            for (b, g) in bias_grad.iter_mut().zip(&scores) {
                *b += g / n;
            }
            for &(row, x) in v {
                let g = &mut weight_grad[row as usize * c..(row as usize + 1) * c];
                for (g, s) in g.iter_mut().zip(&scores) {
                    *g += s * x / n;
                }
            }
        }
        let penalty: f64 =
            weights.iter().map(|w| f64::from(w * w)).sum::<f64>() * f64::from(self.l2) / 2.0;
        loss / f64::from(n) + penalty
    }
}

/// `bias + W·v` for a vectorized example, from f32 training weights
/// (`rows × bias.len()`, row-major).
fn raw_scores(weights: &[f32], bias: &[f32], v: &Sparse, scores: &mut [f32]) {
    let c = bias.len();
    scores.copy_from_slice(bias);
    for &(row, x) in v {
        let w = &weights[row as usize * c..(row as usize + 1) * c];
        for (s, w) in scores.iter_mut().zip(w) {
            *s += w * x;
        }
    }
}

/// Turns `scores` into the gradient of `loss` with respect to them (for an
/// example with labels `y`) and returns the loss.
fn score_gradient(output: Output, loss: Loss, scores: &mut [f32], y: &[usize]) -> f64 {
    match (loss, output) {
        (Loss::SquaredHinge, _) => {
            let mut loss = 0.0;
            for (k, s) in scores.iter_mut().enumerate() {
                let t = if y.contains(&k) { 1.0 } else { -1.0 };
                let slack = (1.0 - t * *s).max(0.0);
                loss += f64::from(slack * slack);
                *s = -2.0 * t * slack;
            }
            loss
        }
        (Loss::Log, Output::Softmax) => {
            softmax_in_place(scores, 1.0);
            let loss = -f64::from(scores[y[0]].max(1e-12).ln());
            scores[y[0]] -= 1.0;
            loss
        }
        (Loss::Log, Output::Sigmoid) => {
            let mut loss = 0.0;
            for (k, s) in scores.iter_mut().enumerate() {
                let p = sigmoid(*s);
                let truth = y.contains(&k);
                loss -= f64::from(if truth { p } else { 1.0 - p }.max(1e-12).ln());
                *s = p - f32::from(u8::from(truth));
            }
            loss
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_small_bilingual_task_deterministically() {
        let labels = vec!["balance".to_string(), "history".to_string()];
        let examples: Vec<(String, usize)> = [
            ("what's my balance", 0),
            ("how much money do i have", 0),
            ("查一下余额", 0),
            ("我卡里还有多少钱", 0),
            ("show my recent transactions", 1),
            ("list my transactions from last week", 1),
            ("查一下交易明细", 1),
            ("这个月的流水", 1),
        ]
        .iter()
        .map(|(t, y)| (t.to_string(), *y))
        .collect();
        for loss in [Loss::Log, Loss::SquaredHinge] {
            let config = TrainConfig {
                bits: 16,
                epochs: 30,
                loss,
                ..TrainConfig::default()
            };
            let a = LinearModel::train(&examples, labels.clone(), config, |_, _| {});
            let b = LinearModel::train(&examples, labels.clone(), config, |_, _| {});
            assert_eq!(a.weights, b.weights, "{loss:?}: same seed, same model");
            let p = a.probabilities(&Normalized::new("余额多少"));
            assert!(p[0] > p[1], "{loss:?} {p:?}");
            let p = a.probabilities(&Normalized::new("my transactions please"));
            assert!(p[1] > p[0], "{loss:?} {p:?}");
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
            if loss == Loss::Log {
                assert!(p[1] > 0.6, "{p:?}");
            }
        }
    }

    #[test]
    fn one_vs_rest_learns_labels_that_occur_together_or_not_at_all() {
        let labels = vec!["angry".to_string(), "confused".to_string()];
        let examples: Vec<(String, Vec<usize>)> = [
            ("this is outrageous", vec![0]),
            ("i am furious", vec![0]),
            ("i don't understand", vec![1]),
            ("what does that mean", vec![1]),
            ("i'm furious and i don't understand", vec![0, 1]),
            ("my balance please", vec![]),
            ("a transfer to my savings", vec![]),
        ]
        .iter()
        .map(|(t, y)| (t.to_string(), y.clone()))
        .collect();
        for optimizer in [Optimizer::AdaGrad, Optimizer::Lbfgs] {
            let config = TrainConfig {
                bits: 16,
                epochs: 100,
                l2: 1e-4,
                optimizer,
                loss: Loss::Log,
                ..TrainConfig::default()
            };
            let model = LinearModel::train_multilabel(&examples, labels.clone(), config, |_, _| {});
            let p = |t: &str| model.probabilities(&Normalized::new(t));
            let both = p("furious, and i don't understand it");
            assert!(both[0] > 0.5 && both[1] > 0.5, "{optimizer:?} {both:?}");
            let neither = p("balance of my savings");
            assert!(
                neither[0] < 0.5 && neither[1] < 0.5,
                "{optimizer:?} {neither:?}"
            );
        }
    }
}

//! The trainable intent classifier: hashed n-gram features, a linear model
//! (a one-vs-rest squared hinge or a logistic regression), calibrated
//! confidences, an out-of-scope threshold,
//! training and evaluation. Pure Rust, no model download.

pub mod commands;
pub mod dataset;
pub mod emotion_eval;
pub mod emotion_model;
pub mod eval;
pub mod features;
pub mod format;
pub mod lbfgs;
pub mod linear;

pub use linear::{LinearModel, Loss, Optimizer, Output, TrainConfig};

use crate::{text::normalize::Normalized, Error};
use dataset::OUT_OF_SCOPE;

/// An intent model as the pipeline uses it.
#[derive(Debug, Clone)]
pub struct IntentModel {
    /// The classifier.
    pub linear: LinearModel,
}

/// One ranked answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// Label index.
    pub label: usize,
    /// Calibrated probability.
    pub probability: f32,
}

impl IntentModel {
    /// Reads a model file's bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Ok(IntentModel {
            linear: format::decode(bytes)?,
        })
    }

    /// The label of index `i`.
    pub fn label(&self, i: usize) -> &str {
        &self.linear.labels[i]
    }

    /// Whether the model has examples of what to reject.
    pub fn knows_out_of_scope(&self) -> bool {
        self.linear.labels.iter().any(|l| l == OUT_OF_SCOPE)
    }

    /// The in-scope labels ranked by probability, and whether the best one is
    /// rejected as out of scope (the out-of-scope label wins, or the best
    /// probability is below the threshold).
    pub fn rank(&self, text: &Normalized<'_>, k: usize) -> (Vec<Ranked>, bool) {
        let p = self.linear.probabilities(text);
        self.rank_probabilities(&p, self.linear.oos_threshold, k)
    }

    /// [`IntentModel::rank`] for given probabilities of the model's labels
    /// (the semantic tier's mix) and out-of-scope threshold.
    pub fn rank_probabilities(&self, p: &[f32], threshold: f32, k: usize) -> (Vec<Ranked>, bool) {
        let mut ranked: Vec<Ranked> = p
            .iter()
            .enumerate()
            .map(|(label, &probability)| Ranked { label, probability })
            .collect();
        ranked.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        let rejected =
            self.label(ranked[0].label) == OUT_OF_SCOPE || ranked[0].probability < threshold;
        ranked.retain(|r| self.label(r.label) != OUT_OF_SCOPE);
        ranked.truncate(k);
        (ranked, rejected)
    }
}

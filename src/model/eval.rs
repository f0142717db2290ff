//! Evaluation: accuracy, macro-F1, a per-label table, the most-confused
//! pairs, and the out-of-scope operating points.

use super::{dataset::OUT_OF_SCOPE, IntentModel};
use crate::text::normalize::Normalized;
use std::collections::BTreeMap;

/// What the model said for one example, before any threshold.
#[derive(Debug, Clone)]
struct Scored {
    gold: String,
    best: usize,
    best_prob: f32,
}

/// Precision, recall and F1 from true positives, false positives and false
/// negatives (0 where undefined).
pub fn prf(tp: usize, fp: usize, fne: usize) -> (f64, f64, f64) {
    let share = |a: usize, b: usize| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let (precision, recall) = (share(tp, tp + fp), share(tp, tp + fne));
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (precision, recall, f1)
}

/// Expected calibration error: the `(confidence, correct)` pairs grouped
/// into `bins` equal-width bins of confidence, and the gap between each
/// bin's mean confidence and its accuracy averaged, weighted by the bin's
/// share. 0 for a model whose "80% sure" is right 80% of the time.
pub fn calibration_error(predictions: &[(f32, bool)], bins: usize) -> f64 {
    let mut sums = vec![(0usize, 0.0f64, 0usize); bins.max(1)]; // n, confidence, correct
    for &(confidence, correct) in predictions {
        let bin = ((f64::from(confidence) * bins as f64) as usize).min(sums.len() - 1);
        sums[bin].0 += 1;
        sums[bin].1 += f64::from(confidence);
        sums[bin].2 += usize::from(correct);
    }
    let total = predictions.len().max(1) as f64;
    sums.iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|&(_, confidence, correct)| (confidence - correct as f64).abs() / total)
        .sum()
}

/// Per-label quality.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore {
    /// The label.
    pub label: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Gold examples.
    pub support: usize,
}

/// The result of evaluating a model on labelled data.
#[derive(Debug, Clone)]
pub struct Report {
    /// Examples evaluated.
    pub examples: usize,
    /// Share of all examples predicted correctly.
    pub accuracy: f64,
    /// Share of in-scope examples predicted correctly (rejections count as
    /// errors); `None` without in-scope examples.
    pub in_scope_accuracy: Option<f64>,
    /// Share of out-of-scope examples rejected; `None` without them.
    pub oos_recall: Option<f64>,
    /// Mean F1 over the labels present in the data.
    pub macro_f1: f64,
    /// Per-label scores, worst F1 first.
    pub labels: Vec<LabelScore>,
    /// (gold, predicted, count), most frequent first.
    pub confusions: Vec<(String, String, usize)>,
    /// The threshold used.
    pub threshold: f32,
    /// Expected calibration error of the top label's probability (10
    /// bins), before any threshold: how far the confidences the agent sees
    /// are from how often they are right.
    pub calibration_error: f64,
}

/// Scores examples once so thresholds can be swept cheaply.
pub struct Evaluation<'m> {
    model: &'m IntentModel,
    scored: Vec<Scored>,
}

impl<'m> Evaluation<'m> {
    /// Runs the model over `(text, gold label)` pairs.
    pub fn new(model: &'m IntentModel, examples: &[(String, String)]) -> Self {
        Self::scored_by(model, examples, |_, text| {
            model.linear.probabilities(&Normalized::new(text))
        })
    }

    /// Scores `(text, gold label)` pairs with other probabilities of the
    /// model's labels (`probabilities(index, text)`, e.g. the semantic
    /// tier's mix).
    pub fn scored_by(
        model: &'m IntentModel,
        examples: &[(String, String)],
        mut probabilities: impl FnMut(usize, &str) -> Vec<f32>,
    ) -> Self {
        let scored = examples
            .iter()
            .enumerate()
            .map(|(i, (text, gold))| {
                let p = probabilities(i, text);
                let (best, best_prob) =
                    p.iter().enumerate().fold(
                        (0, f32::MIN),
                        |acc, (i, &x)| if x > acc.1 { (i, x) } else { acc },
                    );
                Scored {
                    gold: gold.clone(),
                    best,
                    best_prob,
                }
            })
            .collect();
        Evaluation { model, scored }
    }

    fn predict(&self, s: &Scored, threshold: f32) -> &str {
        let label = self.model.linear.labels[s.best].as_str();
        if label == OUT_OF_SCOPE || s.best_prob < threshold {
            OUT_OF_SCOPE
        } else {
            label
        }
    }

    fn rates(&self, threshold: f32) -> (Option<f64>, Option<f64>) {
        let (mut ins, mut ins_ok, mut oos, mut oos_ok) = (0usize, 0usize, 0usize, 0usize);
        for s in &self.scored {
            let p = self.predict(s, threshold);
            if s.gold == OUT_OF_SCOPE {
                oos += 1;
                oos_ok += usize::from(p == OUT_OF_SCOPE);
            } else {
                ins += 1;
                ins_ok += usize::from(p == s.gold);
            }
        }
        let share = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        (share(ins_ok, ins), share(oos_ok, oos))
    }

    /// The candidate thresholds: 0 and the midpoints between consecutive
    /// distinct best probabilities. Never a probability itself, so a model
    /// whose probabilities move a little (8-bit weights) decides the same.
    fn candidates(&self) -> Vec<f32> {
        let mut p: Vec<f32> = self.scored.iter().map(|s| s.best_prob).collect();
        p.sort_by(f32::total_cmp);
        p.dedup();
        std::iter::once(0.0)
            .chain(p.windows(2).map(|w| (w[0] + w[1]) / 2.0))
            .collect()
    }

    /// The threshold with the best out-of-scope recall among those keeping
    /// in-scope accuracy at least `min_in_scope_accuracy`; returns
    /// (threshold, in-scope accuracy, oos recall).
    pub fn best_oos_recall(&self, min_in_scope_accuracy: f64) -> Option<(f32, f64, f64)> {
        self.candidates()
            .into_iter()
            .filter_map(|t| match self.rates(t) {
                (Some(a), Some(r)) if a >= min_in_scope_accuracy => Some((t, a, r)),
                _ => None,
            })
            .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.total_cmp(&a.0)))
    }

    /// The product's operating point: the most out-of-scope recall that costs
    /// at most `max_accuracy_loss` of in-scope accuracy against no threshold.
    pub fn choose_threshold(&self, max_accuracy_loss: f64) -> f32 {
        let Some(base) = self.rates(0.0).0 else {
            return 0.0;
        };
        self.best_oos_recall(base - max_accuracy_loss)
            .map_or(0.0, |(t, _, _)| t)
    }

    /// The full report at `threshold`.
    pub fn report(&self, threshold: f32) -> Report {
        let mut counts: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new(); // tp, fp, fn
        let mut confusions: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut correct = 0;
        for s in &self.scored {
            let p = self.predict(s, threshold);
            if p == s.gold {
                correct += 1;
                counts.entry(p).or_default().0 += 1;
            } else {
                counts.entry(p).or_default().1 += 1;
                counts.entry(&s.gold).or_default().2 += 1;
                *confusions
                    .entry((s.gold.clone(), p.to_string()))
                    .or_default() += 1;
            }
        }
        let golds: std::collections::BTreeSet<&str> =
            self.scored.iter().map(|s| s.gold.as_str()).collect();
        let mut labels: Vec<LabelScore> = golds
            .iter()
            .map(|&label| {
                let (tp, fp, fne) = counts.get(label).copied().unwrap_or_default();
                let (precision, recall, f1) = prf(tp, fp, fne);
                LabelScore {
                    label: label.to_string(),
                    precision,
                    recall,
                    f1,
                    support: tp + fne,
                }
            })
            .collect();
        let macro_f1 = labels.iter().map(|l| l.f1).sum::<f64>() / labels.len().max(1) as f64;
        labels.sort_by(|a, b| a.f1.total_cmp(&b.f1).then(a.label.cmp(&b.label)));
        let mut confusions: Vec<(String, String, usize)> = confusions
            .into_iter()
            .map(|((g, p), n)| (g, p, n))
            .collect();
        confusions.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        let (in_scope_accuracy, oos_recall) = self.rates(threshold);
        let confidences: Vec<(f32, bool)> = self
            .scored
            .iter()
            .map(|s| (s.best_prob, self.model.linear.labels[s.best] == s.gold))
            .collect();
        Report {
            examples: self.scored.len(),
            accuracy: correct as f64 / self.scored.len().max(1) as f64,
            in_scope_accuracy,
            oos_recall,
            macro_f1,
            labels,
            confusions,
            threshold,
            calibration_error: calibration_error(&confidences, 10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_error_is_the_weighted_gap_between_confidence_and_accuracy() {
        // Right as often as it says: 0.
        let honest = [(0.75, true), (0.75, true), (0.75, true), (0.75, false)];
        assert!(calibration_error(&honest, 10) < 1e-9);
        // Always 90% sure, right half the time: 0.4.
        let proud = [(0.9, true), (0.9, false)];
        assert!((calibration_error(&proud, 10) - 0.4).abs() < 1e-6);
        // A bin of four at 0.3 right three times, a bin of one at 1.0 right.
        let mixed = [
            (0.3, true),
            (0.3, true),
            (0.3, false),
            (0.3, true),
            (1.0, true),
        ];
        let expected = (0.3f64 - 0.75).abs() * 4.0 / 5.0;
        assert!((calibration_error(&mixed, 10) - expected).abs() < 1e-6);
        assert_eq!(calibration_error(&[], 10), 0.0);
    }
}

//! Intent classification with the trained model (see [`crate::model`]).
//!
//! The embedded default model covers the bank contact-center taxonomy in
//! Mandarin and English; `callassist serve --model FILE` serves another one
//! trained with `callassist train`.

use super::{normalize::Normalized, IntentId, IntentPrediction, Tier};
use crate::{model::IntentModel, semantic::head::IntentHead};
use std::sync::{Arc, OnceLock};

/// The intent id returned when nothing fits.
pub use crate::domain::OUT_OF_SCOPE;

/// Confidence reported for an intent carried over from earlier turns.
pub const CARRIED_OVER_CONFIDENCE: f32 = 0.5;

/// A customer turn whose best intent is less likely than this names no
/// need of its own: the call's current intent is carried over.
pub const CARRY_OVER_BELOW: f32 = 0.4;

/// How many alternatives a prediction lists at most.
const MAX_ALTERNATIVES: usize = 3;

/// The embedded default model (`models/bank-default.model`, built by
/// `scripts/train-default-model.sh`).
const DEFAULT_MODEL: &[u8] = include_bytes!("../../models/bank-default.model");

/// The files the default model is trained on, in order (see
/// `scripts/train-default-model.sh`).
pub const DEFAULT_TRAINING_DATA: [&str; 3] = [
    "data/intents/bank_zh.jsonl",
    "data/intents/bank_en.jsonl",
    "data/intents/public_en.jsonl",
];

/// The embedded default model, decoded once and shared.
pub fn default_model() -> Arc<IntentModel> {
    static MODEL: OnceLock<Arc<IntentModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            Arc::new(IntentModel::decode(DEFAULT_MODEL).expect("the embedded model is valid"))
        })
        .clone()
}

/// Classifies normalized utterances with an intent model.
#[derive(Debug, Clone)]
pub struct IntentClassifier {
    /// The model.
    model: Arc<IntentModel>,
    /// The model's labels as shared ids, in label order.
    ids: Vec<IntentId>,
    /// The id returned for rejected utterances.
    out_of_scope: IntentId,
    /// The semantic tier's head for this model (same labels), if any.
    head: Option<Arc<IntentHead>>,
}

impl Default for IntentClassifier {
    fn default() -> Self {
        IntentClassifier::new(default_model())
    }
}

impl IntentClassifier {
    /// A classifier over `model`.
    pub fn new(model: Arc<IntentModel>) -> Self {
        let ids = model
            .linear
            .labels
            .iter()
            .map(|l| IntentId::from(l.as_str()))
            .collect();
        // The embedded head serves the embedded model (same labels).
        let head =
            Some(crate::semantic::default_head()).filter(|h| h.labels == model.linear.labels);
        IntentClassifier {
            model,
            ids,
            out_of_scope: IntentId::from(OUT_OF_SCOPE),
            head,
        }
    }

    /// Uses `head` (or none) for turns that carry an embedding; a head
    /// for other labels is refused.
    pub fn with_head(mut self, head: Option<Arc<IntentHead>>) -> Result<Self, String> {
        if let Some(h) = &head {
            if h.labels != self.model.linear.labels {
                return Err(
                    "the semantic head was trained for another intent model (labels differ)".into(),
                );
            }
        }
        self.head = head;
        Ok(self)
    }

    /// Whether turns with an embedding can be decided by the semantic tier.
    pub fn has_head(&self) -> bool {
        self.head.is_some()
    }

    /// The intent ids the model knows, `out_of_scope` excluded.
    pub fn intents(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(|i| &**i).filter(|i| *i != OUT_OF_SCOPE)
    }

    /// Classifies one utterance: the best intent with its calibrated
    /// confidence and the next ones, or `out_of_scope` (with the best
    /// in-scope candidates as alternatives) when the model rejects it.
    pub fn classify(&self, text: &Normalized<'_>) -> IntentPrediction {
        self.classify_with(text, None).0
    }

    /// [`IntentClassifier::classify`] with the turn's embedding: when
    /// there is one and a head, the semantic tier decides.
    pub fn classify_with(
        &self,
        text: &Normalized<'_>,
        embedding: Option<&[f32]>,
    ) -> (IntentPrediction, Tier) {
        let ngram = self.model.linear.probabilities(text);
        let (p, threshold, tier) = match (embedding, &self.head) {
            (Some(e), Some(head)) if e.len() == head.dim() => (
                head.probabilities(e, &ngram),
                head.oos_threshold,
                Tier::Semantic,
            ),
            _ => (ngram, self.model.linear.oos_threshold, Tier::Fast),
        };
        let (ranked, rejected) = self
            .model
            .rank_probabilities(&p, threshold, MAX_ALTERNATIVES + 1);
        (self.prediction(&ranked, rejected), tier)
    }

    fn prediction(&self, ranked: &[crate::model::Ranked], rejected: bool) -> IntentPrediction {
        let mut scored = ranked
            .iter()
            .map(|r| (self.ids[r.label].clone(), r.probability));
        if rejected || ranked.is_empty() {
            let confidence = 1.0 - ranked.first().map_or(0.0, |r| r.probability);
            return IntentPrediction {
                intent: self.out_of_scope.clone(),
                confidence,
                alternatives: scored.take(MAX_ALTERNATIVES).collect(),
            };
        }
        let (intent, confidence) = scored.next().expect("at least one ranked intent");
        IntentPrediction {
            intent,
            confidence,
            alternatives: scored.collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(text: &str) -> IntentPrediction {
        IntentClassifier::default().classify(&Normalized::new(text))
    }

    #[test]
    fn balance_and_history_are_told_apart() {
        for (text, want) in [
            ("我想查一下余额", "check_balance"),
            ("我想看一下交易明细", "transaction_history"),
            ("what's my balance", "check_balance"),
            ("show me my recent transactions", "transaction_history"),
            ("我想查詢帳戶餘額", "check_balance"),
        ] {
            let p = classify(text);
            assert_eq!(&*p.intent, want, "{text}: {p:?}");
            assert!(p.confidence > 0.5, "{text}: {p:?}");
        }
    }

    #[test]
    fn acknowledgements_and_chit_chat_are_out_of_scope() {
        for text in [
            "好的，谢谢",
            "今天天气怎么样",
            "okay thanks",
            "tell me a joke",
        ] {
            assert_eq!(&*classify(text).intent, OUT_OF_SCOPE, "{text}");
        }
    }

    #[test]
    fn the_embedded_model_was_trained_on_the_current_data() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let files: Vec<Vec<u8>> = DEFAULT_TRAINING_DATA
            .iter()
            .map(|f| std::fs::read(root.join(f)).expect("training data present"))
            .collect();
        assert_eq!(
            crate::model::format::data_fingerprint(DEFAULT_MODEL),
            Some(crate::model::format::fingerprint(
                files.iter().map(Vec::as_slice)
            )),
            "data/intents changed: run scripts/train-default-model.sh"
        );
    }

    #[test]
    fn every_default_intent_is_known() {
        let c = IntentClassifier::default();
        assert_eq!(c.intents().count(), 21);
        assert!(c.intents().any(|i| i == "check_balance"));
    }
}

//! The analysis pipeline: plain, synchronous, allocation-light code that turns
//! one utterance into an [`Analysis`] and the playbook's [`Assist`]s.
//!
//! Stages, one concept per file:
//! 1. [`normalize`]: canonical text (half-width, Simplified, lower-case, no
//!    fillers) with a map back to the original for evidence quotes, and the
//!    language.
//! 2. [`intent`], [`emotion`], [`entities`]: what the customer needs, how they
//!    feel, which facts they named.
//! 3. [`policy`]: the service playbook turning an analysis and the call's
//!    [`CallContext`] into suggestions and alerts.
//!
//! The session layer owns the emit stage (event ids, history, watchers). No
//! code here knows about gRPC.

pub mod context;
pub mod emotion;
pub mod entities;
pub mod intent;
pub mod normalize;
pub mod numbers;
pub mod policy;
pub mod types;

pub use context::CallContext;
pub use types::*;

use normalize::Normalized;

/// The whole pipeline, built once at start-up and shared by every call.
#[derive(Debug, Default)]
pub struct Pipeline {
    /// Maps normalized text to intents.
    classifier: intent::IntentClassifier,
    /// Finds emotion cues with their evidence.
    emotions: emotion::EmotionDetector,
    /// The service playbook.
    playbook: policy::Playbook,
}

impl Pipeline {
    /// Builds the pipeline with the embedded default classifier and playbook.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the pipeline with another intent model (`serve --model`).
    pub fn with_model(model: std::sync::Arc<crate::model::IntentModel>) -> Self {
        Pipeline {
            classifier: intent::IntentClassifier::new(model),
            ..Self::default()
        }
    }

    /// Analyzes one utterance. `context` supplies the call's current intent so
    /// that a short follow-up turn that names no new need can carry it over.
    pub fn analyze(&self, utterance: &Utterance<'_>, context: &CallContext) -> Analysis {
        let normalized = Normalized::new(utterance.text);
        let language = utterance.language.unwrap_or(normalized.language);
        let mut intent = self.classifier.classify(&normalized);
        let mut intent_carried_over = false;
        // A turn that names no need of its own (out of scope, or no intent
        // the model is sure of) keeps the call's current need.
        let names_no_need =
            intent.is_out_of_scope() || intent.confidence < intent::CARRY_OVER_BELOW;
        if names_no_need && utterance.speaker == Speaker::Customer {
            if let Some(current) = context.current_intent() {
                intent = IntentPrediction {
                    intent: current,
                    confidence: intent::CARRIED_OVER_CONFIDENCE,
                    alternatives: Vec::new(),
                };
                intent_carried_over = true;
            }
        }
        Analysis {
            speaker: utterance.speaker,
            language,
            intent,
            emotions: self.emotions.detect(&normalized),
            entities: entities::extract(&normalized),
            is_final: utterance.is_final,
            intent_carried_over,
            asks_what_next: intent::asks_what_next(&normalized),
        }
    }

    /// What the playbook advises after `analysis`, most urgent first.
    pub fn assist(
        &self,
        analysis: &Analysis,
        timing: Timing,
        context: &CallContext,
    ) -> Vec<Assist> {
        self.playbook.advise(analysis, timing, context)
    }
}

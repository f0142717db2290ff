//! The analysis pipeline: plain, synchronous, allocation-light code that turns
//! one utterance into an [`Analysis`] and the playbook's [`Advice`].
//!
//! Stages, one concept per file:
//! 1. [`normalize`]: canonical text (half-width, Simplified, lower-case, no
//!    fillers) with a map back to the original for evidence quotes, and the
//!    language.
//! 2. [`intent`], [`emotion`], [`entities`]: what the customer needs, how they
//!    feel, which facts they named.
//! 3. [`policy`]: the service [`Playbook`] applied to the analysis and the
//!    call's [`CallContext`]: suggestions, alerts, and what the turn changes.
//!
//! The session layer owns the emit stage (event ids, history, watchers). No
//! code here knows about gRPC.

pub mod context;
pub mod emotion;
pub mod entities;
pub mod intent;
pub mod pii;
pub mod policy;

pub use crate::domain::*;
pub use crate::text::{normalize, numbers};
pub use context::CallContext;
pub use policy::{Advice, Effects};

use crate::{instruments::Stage, playbook::Playbook};
use arc_swap::ArcSwap;
use normalize::Normalized;
use std::{sync::Arc, time::Instant};

/// The whole pipeline, built once at start-up and shared by every call.
#[derive(Debug)]
pub struct Pipeline {
    /// Maps normalized text to intents.
    classifier: intent::IntentClassifier,
    /// Finds emotion cues with their evidence.
    emotions: emotion::EmotionDetector,
    /// The playbook in force; swapped whole by a reload while calls go on
    /// (each segment uses the one it started with).
    playbook: ArcSwap<Playbook>,
    /// Whether personal numbers and e-mail addresses are masked in what
    /// leaves the pipeline (entity quotes, evidence, suggestion and alert
    /// text, follow-ups). On unless `console_raw_personal_data` is set for
    /// deployments where every console is trusted.
    mask_personal_data: bool,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            classifier: intent::IntentClassifier::default(),
            emotions: emotion::EmotionDetector::default(),
            playbook: ArcSwap::new(Playbook::embedded()),
            mask_personal_data: true,
        }
    }
}

/// One segment through the pipeline.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The understanding of the segment.
    pub analysis: Analysis,
    /// What the playbook advises.
    pub advice: Advice,
    /// The playbook that advised (committed with the segment).
    pub playbook: Arc<Playbook>,
}

/// Runs one stage and records its time (see [`crate::instruments`]).
fn timed<T>(stage: Stage, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    crate::instruments::stage(stage, started.elapsed());
    out
}

impl Processed {
    /// Masks personal data in every text that quotes the caller or was
    /// filled from what they said (see [`pii`]). Entity values are already
    /// safe (personal numbers keep only their last four digits).
    fn mask_personal_data(&mut self) {
        let analysis = &mut self.analysis;
        let texts = std::iter::once(&mut analysis.text)
            .chain(analysis.entities.iter_mut().map(|e| &mut e.text))
            .chain(analysis.emotions.iter_mut().map(|c| &mut c.evidence))
            .chain(self.advice.effects.follow_ups.iter_mut());
        for text in texts {
            pii::mask_in_place(text);
        }
        for assist in &mut self.advice.assists {
            let (text, rationale) = match assist {
                Assist::Suggestion(s) => (&mut s.text, &mut s.rationale),
                Assist::Alert(a) => (&mut a.text, &mut a.rationale),
            };
            pii::mask_in_place(text);
            pii::mask_in_place(rationale);
        }
    }
}

impl Pipeline {
    /// Builds the pipeline with the embedded default classifier and playbook.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the pipeline with another intent model (`serve --model`).
    pub fn with_model(model: Arc<crate::model::IntentModel>) -> Self {
        Pipeline {
            classifier: intent::IntentClassifier::new(model),
            ..Self::default()
        }
    }

    /// Whether turns with an embedding are decided by the semantic tier
    /// (the intent model has a head).
    pub fn has_semantic_head(&self) -> bool {
        self.classifier.has_head()
    }

    /// Leaves personal data unmasked in the pipeline's output (for consoles
    /// that are all trusted); summaries and logs are masked regardless.
    pub fn with_raw_personal_data(mut self) -> Self {
        self.mask_personal_data = false;
        self
    }

    /// The playbook in force.
    pub fn playbook(&self) -> Arc<Playbook> {
        self.playbook.load_full()
    }

    /// Puts `playbook` in force from the next segment on.
    pub fn set_playbook(&self, playbook: Arc<Playbook>) {
        self.playbook.store(playbook);
    }

    /// Analyzes one utterance and applies the playbook. `context` supplies
    /// the call's memory: the current intent (a short follow-up turn that
    /// names no need of its own carries it over) and what was already shown.
    pub fn process(
        &self,
        utterance: &Utterance<'_>,
        timing: Timing,
        context: &CallContext,
    ) -> Processed {
        let normalized = timed(Stage::Normalize, || Normalized::new(utterance.text));
        let analysis = self.analyze_normalized(utterance, &normalized, context);
        let playbook = self.playbook.load_full();
        let advice = timed(Stage::Policy, || {
            policy::advise(&playbook, &analysis, &normalized, timing, context)
        });
        let mut processed = Processed {
            analysis,
            advice,
            playbook,
        };
        // Personal data in the output can only come from the utterance, and
        // the entity extractor has already looked for it there.
        let personal = |e: &Entity| pii::KINDS.contains(&e.kind);
        if self.mask_personal_data && processed.analysis.entities.iter().any(personal) {
            processed.mask_personal_data();
        }
        processed
    }

    /// Analyzes one utterance (no playbook).
    pub fn analyze(&self, utterance: &Utterance<'_>, context: &CallContext) -> Analysis {
        self.analyze_normalized(utterance, &Normalized::new(utterance.text), context)
    }

    fn analyze_normalized(
        &self,
        utterance: &Utterance<'_>,
        normalized: &Normalized<'_>,
        context: &CallContext,
    ) -> Analysis {
        let language = utterance.language.unwrap_or(normalized.language);
        let (mut intent, tier) = timed(Stage::Classify, || {
            self.classifier
                .classify_with(normalized, utterance.embedding)
        });
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
            emotions: timed(Stage::Emotion, || {
                self.emotions.detect_with(normalized, utterance.embedding)
            }),
            entities: timed(Stage::Entities, || entities::extract(normalized)),
            is_final: utterance.is_final,
            intent_carried_over,
            tier,
            text: utterance.text.to_string(),
        }
    }
}

//! What the pipeline remembers about a call between turns.

use super::{AlertKind, Analysis, Emotion, IntentId, Speaker, Timing};

/// The call's memory as far as analysis and policy are concerned. Only final
/// segments are committed; interim hypotheses are analyzed against it but
/// never change it.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// The customer's current need, carried over to short follow-up turns.
    current_intent: Option<IntentId>,
    /// Customer turns in a row showing frustration, for escalation alerts.
    frustrated_turns: u32,
    /// When the customer's last final segment ended, for interruption coaching.
    last_customer_end_ms: Option<u32>,
    /// Alert kinds already raised: each is raised once per call.
    alerts_raised: Vec<AlertKind>,
}

impl CallContext {
    /// The customer's current need, if one is known.
    pub fn current_intent(&self) -> Option<IntentId> {
        self.current_intent.clone()
    }

    /// Customer turns in a row showing frustration (before this one).
    pub fn frustrated_turns(&self) -> u32 {
        self.frustrated_turns
    }

    /// When the customer's last final segment ended.
    pub fn last_customer_end_ms(&self) -> Option<u32> {
        self.last_customer_end_ms
    }

    /// Whether an alert of this kind was already raised in the call.
    pub fn alert_raised(&self, kind: AlertKind) -> bool {
        self.alerts_raised.contains(&kind)
    }

    /// Records that an alert was raised.
    pub fn record_alert(&mut self, kind: AlertKind) {
        if !self.alert_raised(kind) {
            self.alerts_raised.push(kind);
        }
    }

    /// Commits the analysis of a final segment.
    pub fn commit(&mut self, analysis: &Analysis, timing: Timing) {
        if analysis.speaker != Speaker::Customer {
            return;
        }
        if !analysis.intent.is_out_of_scope() {
            self.current_intent = Some(analysis.intent.intent.clone());
        }
        let frustrated = analysis
            .emotions
            .iter()
            .any(|c| c.emotion == Emotion::Frustration);
        self.frustrated_turns = if frustrated {
            self.frustrated_turns + 1
        } else {
            0
        };
        self.last_customer_end_ms = Some(timing.end_ms);
    }
}

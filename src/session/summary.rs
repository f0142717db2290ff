//! The call summary and the running statistics it is built from.

use super::{CallId, FeedbackAction, Segment};
use crate::pipeline::{
    intent::OUT_OF_SCOPE, AlertKind, Analysis, Emotion, IntentId, Language, Speaker,
};

/// At most this many points are kept in a call's emotion timeline; later
/// cues are counted in the statistics but not listed.
const MAX_TIMELINE_POINTS: usize = 256;

/// What a call was about and how it went.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallSummary {
    /// The call.
    pub call_id: String,
    /// The intent of most customer turns (`out_of_scope` if none).
    pub primary_intent: String,
    /// Every intent of the customer's final turns, first seen first.
    pub intents: Vec<String>,
    /// The agent.
    pub agent_id: String,
    /// The call's language code.
    pub language_code: String,
    /// Why the call ended; empty while live.
    pub end_reason: String,
    /// Whether the call has ended.
    pub ended: bool,
    /// Length from the transcript timestamps, ms.
    pub duration_ms: u32,
    /// The customer's emotion cues in order.
    pub emotion_timeline: Vec<EmotionPoint>,
    /// Suggestions shown and not retracted.
    pub suggestions_shown: u32,
    /// Suggestions the agent used.
    pub suggestions_accepted: u32,
    /// Suggestions dismissed or marked not helpful.
    pub suggestions_dismissed: u32,
    /// Alerts raised.
    pub alerts_raised: u32,
    /// What needs a follow-up after the call.
    pub follow_ups: Vec<String>,
    /// The agent's speech.
    pub agent_stats: SpeechStats,
    /// The customer's speech.
    pub customer_stats: SpeechStats,
    /// A short readable summary in the call's language.
    pub text: String,
}

/// One emotion cue at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct EmotionPoint {
    /// The segment.
    pub segment_id: String,
    /// When it started, ms.
    pub start_ms: u32,
    /// The emotion.
    pub emotion: Emotion,
    /// Strength in [0, 1].
    pub intensity: f32,
}

/// One side's speech.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpeechStats {
    /// Final segments.
    pub turns: u32,
    /// Speaking time, ms.
    pub talk_ms: u32,
    /// Segments started before the other side's previous segment ended.
    pub interruptions: u32,
}

/// Running statistics of a call, updated with every final segment.
#[derive(Debug, Default)]
pub(super) struct CallStats {
    /// Customer turns per intent, in first-seen order.
    intents: Vec<(IntentId, u32)>,
    /// Customer emotion cues.
    timeline: Vec<EmotionPoint>,
    /// Agent speech.
    agent: SpeechStats,
    /// Customer speech.
    customer: SpeechStats,
    /// End of each side's last segment, for interruptions: [customer, agent].
    last_end_ms: [Option<u32>; 2],
    /// Latest end timestamp seen.
    max_end_ms: u32,
    /// Segments per detected language, for calls started without one.
    languages: [u32; 3],
    /// Alerts raised, in order.
    pub(super) alerts: Vec<AlertKind>,
    /// Suggestions emitted.
    pub(super) shown: u32,
    /// Suggestions retracted.
    pub(super) retracted: u32,
}

fn side(speaker: Speaker) -> usize {
    match speaker {
        Speaker::Customer => 0,
        Speaker::Agent => 1,
    }
}

impl CallStats {
    /// Records a final segment and its analysis.
    pub(super) fn record(&mut self, segment: &Segment, analysis: &Analysis) {
        let me = side(segment.speaker);
        let other = self.last_end_ms[1 - me];
        let stats = match segment.speaker {
            Speaker::Customer => &mut self.customer,
            Speaker::Agent => &mut self.agent,
        };
        stats.turns += 1;
        stats.talk_ms = stats
            .talk_ms
            .saturating_add(segment.end_ms - segment.start_ms);
        if other.is_some_and(|end| segment.start_ms < end) {
            stats.interruptions += 1;
        }
        self.last_end_ms[me] = Some(segment.end_ms);
        self.max_end_ms = self.max_end_ms.max(segment.end_ms);
        self.languages[analysis.language as usize] += 1;
        if segment.speaker != Speaker::Customer {
            return;
        }
        if !analysis.intent.is_out_of_scope() {
            match self
                .intents
                .iter_mut()
                .find(|(i, _)| *i == analysis.intent.intent)
            {
                Some((_, n)) => *n += 1,
                None => self.intents.push((analysis.intent.intent.clone(), 1)),
            }
        }
        for cue in &analysis.emotions {
            if self.timeline.len() < MAX_TIMELINE_POINTS {
                self.timeline.push(EmotionPoint {
                    segment_id: segment.id.clone(),
                    start_ms: segment.start_ms,
                    emotion: cue.emotion,
                    intensity: cue.intensity,
                });
            }
        }
    }

    /// The most frequent detected language.
    fn detected_language(&self) -> Language {
        let langs = [Language::ZhCn, Language::ZhTw, Language::EnUs];
        let best = (0..3)
            .max_by_key(|&i| (self.languages[i], 3 - i))
            .unwrap_or(0);
        langs[best]
    }

    /// Builds the summary.
    pub(super) fn summarize(
        &self,
        call_id: &CallId,
        agent_id: &str,
        language: Option<Language>,
        end_reason: Option<&str>,
        feedback: impl Iterator<Item = FeedbackAction>,
    ) -> CallSummary {
        let language = language.unwrap_or_else(|| self.detected_language());
        let primary = self
            .intents
            .iter()
            .rev()
            .max_by_key(|(_, n)| *n)
            .map_or(OUT_OF_SCOPE, |(i, _)| &**i);
        let (mut accepted, mut dismissed) = (0, 0);
        for action in feedback {
            match action {
                FeedbackAction::Accepted => accepted += 1,
                FeedbackAction::Dismissed | FeedbackAction::NotHelpful => dismissed += 1,
            }
        }
        let zh = language.is_chinese();
        let follow_ups: Vec<String> = self
            .alerts
            .iter()
            .filter_map(|kind| match (kind, zh) {
                (AlertKind::Complaint, true) => Some("客户投诉：登记投诉并在时限内回访"),
                (AlertKind::Complaint, false) => {
                    Some("Complaint: log it and call the customer back within the handling time")
                }
                (AlertKind::SupervisorRequest, true) => Some("客户要求主管：确认主管已回复客户"),
                (AlertKind::SupervisorRequest, false) => {
                    Some("Supervisor requested: make sure a supervisor got back to the customer")
                }
                (AlertKind::VulnerableCustomer, true) => Some("客户可能处于困难中：按关怀流程跟进"),
                (AlertKind::VulnerableCustomer, false) => {
                    Some("Possibly vulnerable customer: follow up per the care procedure")
                }
                (AlertKind::EscalationRisk, _) => None,
            })
            .map(str::to_string)
            .collect();
        let shown = self.shown - self.retracted;
        let text = if zh {
            format!(
                "客户来电主要诉求：{primary}。客户发言{}次，坐席发言{}次；展示建议{shown}条，采纳{accepted}条；告警{}次。",
                self.customer.turns, self.agent.turns, self.alerts.len()
            )
        } else {
            format!(
                "Customer called about {primary}. {} customer and {} agent turns; {shown} suggestions shown, {accepted} used; {} alerts.",
                self.customer.turns, self.agent.turns, self.alerts.len()
            )
        };
        CallSummary {
            call_id: call_id.to_string(),
            primary_intent: primary.to_string(),
            intents: self.intents.iter().map(|(i, _)| i.to_string()).collect(),
            agent_id: agent_id.to_string(),
            language_code: language.code().to_string(),
            end_reason: end_reason.unwrap_or_default().to_string(),
            ended: end_reason.is_some(),
            duration_ms: self.max_end_ms,
            emotion_timeline: self.timeline.clone(),
            suggestions_shown: shown,
            suggestions_accepted: accepted,
            suggestions_dismissed: dismissed,
            alerts_raised: self.alerts.len() as u32,
            follow_ups,
            agent_stats: self.agent,
            customer_stats: self.customer,
            text,
        }
    }
}

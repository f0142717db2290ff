//! The call summary and the running statistics it is built from.

use super::{
    feedback::{FeedbackCounts, FeedbackLedger},
    CallId, FeedbackAction, Segment,
};
use crate::{
    pipeline::{
        context::ChecklistResult, intent::OUT_OF_SCOPE, pii, AlertKind, Analysis, CallContext,
        Emotion, IntentId, Language, Speaker,
    },
    playbook::Lang,
};
use std::collections::BTreeMap;

/// At most this many points are kept in a call's emotion timeline; later
/// cues are counted in the statistics but not listed.
const MAX_TIMELINE_POINTS: usize = 256;

/// What a call was about and how it went.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
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
    /// The strongest customer emotion cue of the call.
    pub peak_emotion: Option<EmotionPoint>,
    /// The compliance checklist with what the agent said.
    pub checklist: Vec<ChecklistResult>,
    /// The agent's share of the talk time, in [0, 1].
    pub agent_talk_ratio: f32,
}

/// One emotion cue at one moment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EmotionPoint {
    /// The segment.
    pub segment_id: std::sync::Arc<str>,
    /// When it started, ms.
    pub start_ms: u32,
    /// The emotion.
    pub emotion: Emotion,
    /// Strength in [0, 1].
    pub intensity: f32,
}

/// One side's speech.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct SpeechStats {
    /// Final segments.
    pub turns: u32,
    /// Speaking time, ms.
    pub talk_ms: u32,
    /// Segments started before the other side's previous segment ended.
    pub interruptions: u32,
    /// Characters (Mandarin) or words (English) per second over the
    /// segments long enough to judge; 0 when not measured (customers).
    pub speaking_rate: f32,
    /// Negative or commanding phrasings (agents).
    pub negative_phrasings: u32,
}

/// Running statistics of a call, updated with every final segment.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
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
    /// Suggestions retracted.
    pub(super) retracted: u32,
}

impl CallStats {
    /// Records a final segment and its analysis.
    pub(super) fn record(&mut self, segment: &Segment, analysis: &Analysis) {
        let me = segment.speaker.side();
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

    /// Builds the summary; `context` supplies what the policy tracked
    /// (follow-ups, checklist, the agent's pace and phrasing).
    pub(super) fn summarize(
        &self,
        call_id: &CallId,
        agent_id: &str,
        language: Option<Language>,
        end_reason: Option<&str>,
        feedback: FeedbackCounts,
        context: &CallContext,
    ) -> CallSummary {
        let language = language.unwrap_or_else(|| self.detected_language());
        let lang = Lang::of(language);
        let primary = self
            .intents
            .iter()
            .rev()
            .max_by_key(|(_, n)| *n)
            .map_or(OUT_OF_SCOPE, |(i, _)| &**i);
        let FeedbackCounts {
            accepted,
            dismissed,
            ..
        } = feedback;
        let peak_emotion = self
            .timeline
            .iter()
            .filter(|p| p.emotion != Emotion::Satisfaction)
            .max_by(|a, b| a.intensity.total_cmp(&b.intensity))
            .cloned();
        let checklist = context.checklist(lang);
        let agent = SpeechStats {
            speaking_rate: context.agent_rate().unwrap_or(0.0),
            negative_phrasings: context.negative_phrasings(),
            ..self.agent
        };
        let talk = self.agent.talk_ms as f32 + self.customer.talk_ms as f32;
        let agent_talk_ratio = if talk > 0.0 {
            self.agent.talk_ms as f32 / talk
        } else {
            0.0
        };
        let shown = feedback.shown - self.retracted;
        // The summary is kept and written to disk: personal data is masked
        // whatever the consoles are allowed to see.
        let follow_ups: Vec<String> = context
            .follow_ups()
            .iter()
            .map(|f| pii::mask(f).into_owned())
            .collect();
        let label = |intent: &str| {
            context
                .playbook()
                .and_then(|p| p.intent(intent, lang))
                .map_or_else(|| intent.to_string(), |t| t.label.clone())
        };
        let mut summary = CallSummary {
            call_id: call_id.to_string(),
            primary_intent: primary.to_string(),
            intents: self.intents.iter().map(|(i, _)| i.to_string()).collect(),
            agent_id: agent_id.to_string(),
            language_code: language.code().to_string(),
            end_reason: pii::mask(end_reason.unwrap_or_default()).into_owned(),
            ended: end_reason.is_some(),
            duration_ms: self.max_end_ms,
            emotion_timeline: self.timeline.clone(),
            suggestions_shown: shown,
            suggestions_accepted: accepted,
            suggestions_dismissed: dismissed,
            alerts_raised: self.alerts.len() as u32,
            follow_ups,
            agent_stats: agent,
            customer_stats: self.customer,
            text: String::new(),
            peak_emotion,
            checklist,
            agent_talk_ratio,
        };
        summary.text = Written {
            lang,
            primary: (primary != OUT_OF_SCOPE).then(|| label(primary)),
            others: self
                .intents
                .iter()
                .filter(|(i, _)| &**i != primary)
                .map(|(i, _)| label(i))
                .collect(),
            peak: summary.peak_emotion.as_ref().map(|p| p.emotion),
            agent: &summary.agent_stats,
            customer_turns: summary.customer_stats.turns,
            checklist: &summary.checklist,
            tally: summary.tally(lang),
        }
        .to_string();
        summary
    }
}

/// The written summary, in the call's language.
struct Written<'a> {
    lang: Lang,
    primary: Option<String>,
    others: Vec<String>,
    peak: Option<Emotion>,
    agent: &'a SpeechStats,
    customer_turns: u32,
    checklist: &'a [ChecklistResult],
    tally: Tally,
}

/// The written summary's last sentence: what the assist did in the call.
/// Rendered from the summary's own fields ([`CallSummary::tally`]), so
/// feedback that arrives after hang-up can rewrite it (see
/// [`CallSummary::apply_late_feedback`]).
struct Tally {
    lang: Lang,
    shown: u32,
    accepted: u32,
    alerts: usize,
    follow_ups: usize,
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.lang {
            Lang::Zh => write!(
                f,
                "展示建议{}条，采纳{}条；告警{}次；待跟进{}项。",
                self.shown, self.accepted, self.alerts, self.follow_ups
            ),
            Lang::En => write!(
                f,
                " {} suggestions shown, {} used; {} alerts; {} follow-ups.",
                self.shown, self.accepted, self.alerts, self.follow_ups
            ),
        }
    }
}

impl CallSummary {
    /// This summary with its feedback counts recomputed from `feedback`
    /// (every suggestion of the call and what the agent did with it): for a
    /// summary kept outside memory (Redis) that feedback reached later.
    pub fn with_feedback(&self, feedback: &BTreeMap<String, Option<FeedbackAction>>) -> Self {
        let mut summary = self.clone();
        summary.apply_late_feedback(FeedbackLedger::from_map(feedback).counts());
        summary
    }

    /// Applies feedback given after hang-up to a kept summary: the
    /// accepted and dismissed counts, and the written summary's last
    /// sentence that reports them.
    pub(super) fn apply_late_feedback(&mut self, counts: FeedbackCounts) {
        let lang = Lang::of(Language::from_code(&self.language_code).unwrap_or(Language::EnUs));
        let before = self.tally(lang).to_string();
        self.suggestions_accepted = counts.accepted;
        self.suggestions_dismissed = counts.dismissed;
        if let Some(body) = self.text.strip_suffix(&before) {
            self.text = format!("{body}{}", self.tally(lang));
        }
    }

    /// The numbers of the written summary's last sentence.
    fn tally(&self, lang: Lang) -> Tally {
        Tally {
            lang,
            shown: self.suggestions_shown,
            accepted: self.suggestions_accepted,
            alerts: self.alerts_raised as usize,
            follow_ups: self.follow_ups.len(),
        }
    }
}

impl std::fmt::Display for Written<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let missed: Vec<&str> = self
            .checklist
            .iter()
            .filter(|c| !c.done)
            .map(|c| c.label.as_str())
            .collect();
        let done = self.checklist.len() - missed.len();
        let a = self.agent;
        match self.lang {
            Lang::Zh => {
                match &self.primary {
                    Some(p) => write!(f, "客户来电主要为{p}")?,
                    None => write!(f, "客户来电诉求未明确")?,
                }
                if !self.others.is_empty() {
                    write!(f, "，另涉及{}", self.others.join("、"))?;
                }
                let mood = match self.peak {
                    Some(Emotion::Frustration) => "客户曾表现出不满",
                    Some(Emotion::Anxiety) => "客户曾表现出焦虑",
                    Some(Emotion::Urgency) => "客户比较着急",
                    Some(Emotion::Sadness) => "客户情绪低落",
                    Some(Emotion::Confusion) => "客户有不理解的地方",
                    Some(Emotion::Satisfaction) | None => "客户情绪平稳",
                };
                write!(
                    f,
                    "。{mood}。客户发言{}次，坐席发言{}次，打断{}次，消极表达{}次。",
                    self.customer_turns, a.turns, a.interruptions, a.negative_phrasings
                )?;
                if !self.checklist.is_empty() {
                    write!(f, "服务规范完成{done}/{}项", self.checklist.len())?;
                    if !missed.is_empty() {
                        write!(f, "（未完成：{}）", missed.join("、"))?;
                    }
                    write!(f, "。")?;
                }
            }
            Lang::En => {
                match &self.primary {
                    Some(p) => write!(f, "Call about {p}")?,
                    None => write!(f, "The customer's need was not identified")?,
                }
                if !self.others.is_empty() {
                    write!(f, "; also {}", self.others.join(", "))?;
                }
                let mood = match self.peak {
                    Some(Emotion::Frustration) => "The customer was frustrated at times",
                    Some(Emotion::Anxiety) => "The customer was anxious",
                    Some(Emotion::Urgency) => "The customer was in a hurry",
                    Some(Emotion::Sadness) => "The customer was distressed",
                    Some(Emotion::Confusion) => "The customer was confused at times",
                    Some(Emotion::Satisfaction) | None => "The customer stayed calm",
                };
                write!(
                    f,
                    ". {mood}. {} customer and {} agent turns, {} interruptions, {} negative phrasings.",
                    self.customer_turns, a.turns, a.interruptions, a.negative_phrasings
                )?;
                if !self.checklist.is_empty() {
                    write!(f, " Checklist {done}/{}", self.checklist.len())?;
                    if !missed.is_empty() {
                        write!(f, " (missed: {})", missed.join(", "))?;
                    }
                    write!(f, ".")?;
                }
            }
        }
        self.tally.fmt(f)
    }
}

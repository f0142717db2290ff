//! Proto messages ⇄ domain types. Inbound conversions validate and name the
//! offending field; outbound conversions cannot fail.

use crate::{
    pb,
    pipeline::Tier,
    pipeline::{
        Alert, AlertKind, Analysis, Emotion, EmotionCue, Entity, Language, Speaker, Suggestion,
        SuggestionKind,
    },
    session::{
        CallId, CallInfo, CallStart, CallSummary, EmotionPoint, Event, FeedbackAction, Payload,
        Segment, SpeechStats, Tenant,
    },
    Error,
};

/// Longest accepted segment id.
const MAX_SEGMENT_ID_LEN: usize = 128;

/// Parses a language code; empty means "detect".
pub fn language(code: &str, field: &'static str) -> Result<Option<Language>, Error> {
    if code.is_empty() {
        return Ok(None);
    }
    Language::from_code(code).map(Some).ok_or_else(|| {
        Error::invalid(
            field,
            format!("{code:?} is not supported; use zh-CN, zh-TW, en-US or leave it empty"),
        )
    })
}

/// Parses a speaker; `SPEAKER_UNSPECIFIED` and unknown values are rejected.
pub fn speaker(value: i32, field: &'static str) -> Result<Speaker, Error> {
    match pb::Speaker::try_from(value) {
        Ok(pb::Speaker::Customer) => Ok(Speaker::Customer),
        Ok(pb::Speaker::Agent) => Ok(Speaker::Agent),
        Ok(pb::Speaker::Unspecified) => Err(Error::invalid(
            field,
            "must be SPEAKER_CUSTOMER or SPEAKER_AGENT",
        )),
        Err(_) => Err(Error::invalid(field, format!("unknown value {value}"))),
    }
}

/// Validates the first message of a StreamCall of `tenant`.
pub fn call_start(start: pb::CallStart, tenant: Tenant) -> Result<CallStart, Error> {
    Ok(CallStart {
        tenant,
        call_id: CallId::parse(&start.call_id, "start.call_id")?,
        agent_id: start.agent_id,
        language: language(&start.language_code, "start.language_code")?,
        metadata: start.metadata.into_iter().collect(),
    })
}

/// Validates a transcript segment.
pub fn segment(segment: pb::TranscriptSegment, max_text_bytes: usize) -> Result<Segment, Error> {
    if segment.segment_id.is_empty() {
        return Err(Error::invalid("segment.segment_id", "must not be empty"));
    }
    if segment.segment_id.len() > MAX_SEGMENT_ID_LEN {
        return Err(Error::invalid(
            "segment.segment_id",
            format!("is longer than {MAX_SEGMENT_ID_LEN} bytes"),
        ));
    }
    let speaker = speaker(segment.speaker, "segment.speaker")?;
    if segment.text.trim().is_empty() {
        return Err(Error::invalid("segment.text", "must not be empty"));
    }
    if segment.text.len() > max_text_bytes {
        return Err(Error::invalid(
            "segment.text",
            format!(
                "is {} bytes, the limit is {max_text_bytes} (max_segment_bytes)",
                segment.text.len()
            ),
        ));
    }
    if segment.end_ms < segment.start_ms {
        return Err(Error::invalid(
            "segment.end_ms",
            format!("{} is before start_ms {}", segment.end_ms, segment.start_ms),
        ));
    }
    if !(0.0..=1.0).contains(&segment.asr_confidence) {
        return Err(Error::invalid(
            "segment.asr_confidence",
            "must be between 0 and 1",
        ));
    }
    Ok(Segment {
        id: segment.segment_id.into(),
        speaker,
        text: segment.text,
        is_final: segment.is_final,
        start_ms: segment.start_ms,
        end_ms: segment.end_ms,
    })
}

/// Parses a feedback action.
pub fn feedback_action(value: i32) -> Result<FeedbackAction, Error> {
    match pb::FeedbackAction::try_from(value) {
        Ok(pb::FeedbackAction::Accepted) => Ok(FeedbackAction::Accepted),
        Ok(pb::FeedbackAction::Dismissed) => Ok(FeedbackAction::Dismissed),
        Ok(pb::FeedbackAction::NotHelpful) => Ok(FeedbackAction::NotHelpful),
        Ok(pb::FeedbackAction::Unspecified) => Err(Error::invalid(
            "action",
            "must not be FEEDBACK_ACTION_UNSPECIFIED",
        )),
        Err(_) => Err(Error::invalid("action", format!("unknown value {value}"))),
    }
}

fn pb_speaker(speaker: Speaker) -> pb::Speaker {
    match speaker {
        Speaker::Customer => pb::Speaker::Customer,
        Speaker::Agent => pb::Speaker::Agent,
    }
}

fn pb_emotion(emotion: Emotion) -> pb::Emotion {
    match emotion {
        Emotion::Frustration => pb::Emotion::Frustration,
        Emotion::Anxiety => pb::Emotion::Anxiety,
        Emotion::Confusion => pb::Emotion::Confusion,
        Emotion::Urgency => pb::Emotion::Urgency,
        Emotion::Sadness => pb::Emotion::Sadness,
        Emotion::Satisfaction => pb::Emotion::Satisfaction,
    }
}

/// The proto form of an analysis.
pub fn analysis(a: &Analysis) -> pb::Analysis {
    pb::Analysis {
        speaker: pb_speaker(a.speaker) as i32,
        language_code: a.language.code().to_string(),
        intent: Some(pb::IntentPrediction {
            intent: a.intent.intent.to_string(),
            confidence: a.intent.confidence,
            alternatives: a
                .intent
                .alternatives
                .iter()
                .map(|(intent, score)| pb::ScoredIntent {
                    intent: intent.to_string(),
                    score: *score,
                })
                .collect(),
        }),
        emotions: a.emotions.iter().map(emotion_cue).collect(),
        entities: a.entities.iter().map(entity).collect(),
        is_final: a.is_final,
        intent_carried_over: a.intent_carried_over,
        text: a.text.clone(),
        tier: match a.tier {
            Tier::Fast => pb::AnalysisTier::Fast,
            Tier::Semantic => pb::AnalysisTier::Semantic,
        } as i32,
    }
}

fn emotion_cue(c: &EmotionCue) -> pb::EmotionCue {
    pb::EmotionCue {
        emotion: pb_emotion(c.emotion) as i32,
        intensity: c.intensity,
        evidence: c.evidence.clone(),
    }
}

fn entity(e: &Entity) -> pb::Entity {
    pb::Entity {
        r#type: e.kind.to_string(),
        text: e.text.clone(),
        value: e.value.clone(),
    }
}

/// The proto form of a suggestion with its id.
pub fn suggestion(id: &str, s: &Suggestion) -> pb::Suggestion {
    let kind = match s.kind {
        SuggestionKind::Empathy => pb::SuggestionKind::Empathy,
        SuggestionKind::ClarifyingQuestion => pb::SuggestionKind::ClarifyingQuestion,
        SuggestionKind::Confirmation => pb::SuggestionKind::Confirmation,
        SuggestionKind::NextStep => pb::SuggestionKind::NextStep,
        SuggestionKind::Reframe => pb::SuggestionKind::Reframe,
        SuggestionKind::Coaching => pb::SuggestionKind::Coaching,
        SuggestionKind::Compliance => pb::SuggestionKind::Compliance,
    };
    pb::Suggestion {
        suggestion_id: id.to_string(),
        kind: kind as i32,
        text: s.text.clone(),
        rationale: s.rationale.clone(),
        confidence: s.confidence,
        priority: s.priority,
        rule_id: s.rule_id.to_string(),
    }
}

fn alert(a: &Alert) -> pb::Alert {
    let kind = match a.kind {
        AlertKind::EscalationRisk => pb::AlertKind::EscalationRisk,
        AlertKind::SupervisorRequest => pb::AlertKind::SupervisorRequest,
        AlertKind::Complaint => pb::AlertKind::Complaint,
        AlertKind::VulnerableCustomer => pb::AlertKind::VulnerableCustomer,
    };
    pb::Alert {
        kind: kind as i32,
        text: a.text.clone(),
        rationale: a.rationale.clone(),
        rule_id: a.rule_id.to_string(),
    }
}

fn speech_stats(s: &SpeechStats) -> pb::SpeechStats {
    pb::SpeechStats {
        turns: s.turns,
        talk_ms: s.talk_ms,
        interruptions: s.interruptions,
        speaking_rate: s.speaking_rate,
        negative_phrasings: s.negative_phrasings,
    }
}

fn emotion_point(p: &EmotionPoint) -> pb::EmotionPoint {
    pb::EmotionPoint {
        segment_id: p.segment_id.to_string(),
        start_ms: p.start_ms,
        emotion: pb_emotion(p.emotion) as i32,
        intensity: p.intensity,
    }
}

/// The proto form of a call summary.
pub fn summary(s: &CallSummary) -> pb::CallSummary {
    pb::CallSummary {
        call_id: s.call_id.clone(),
        primary_intent: s.primary_intent.clone(),
        intents: s.intents.clone(),
        agent_id: s.agent_id.clone(),
        language_code: s.language_code.clone(),
        end_reason: s.end_reason.clone(),
        ended: s.ended,
        duration_ms: s.duration_ms,
        emotion_timeline: s.emotion_timeline.iter().map(emotion_point).collect(),
        suggestions_shown: s.suggestions_shown,
        suggestions_accepted: s.suggestions_accepted,
        suggestions_dismissed: s.suggestions_dismissed,
        alerts_raised: s.alerts_raised,
        follow_ups: s.follow_ups.clone(),
        agent_stats: Some(speech_stats(&s.agent_stats)),
        customer_stats: Some(speech_stats(&s.customer_stats)),
        text: s.text.clone(),
        peak_emotion: s.peak_emotion.as_ref().map(emotion_point),
        checklist: s
            .checklist
            .iter()
            .map(|c| pb::ChecklistItemResult {
                item_id: c.id.clone(),
                label: c.label.clone(),
                done: c.done,
            })
            .collect(),
        agent_talk_ratio: s.agent_talk_ratio,
    }
}

/// The proto form of a call listing entry.
pub fn call_info(c: &CallInfo) -> pb::CallInfo {
    pb::CallInfo {
        call_id: c.call_id.to_string(),
        agent_id: c.agent_id.clone(),
        language_code: c.language.map(|l| l.code().to_string()).unwrap_or_default(),
        streaming: c.streaming,
        ended: c.ended,
        events: c.events,
    }
}

/// The proto form of an event.
pub fn event(e: &Event) -> pb::AssistEvent {
    use pb::assist_event::Payload as P;
    let payload = match &e.payload {
        Payload::Analysis(a) => P::Analysis(analysis(a)),
        Payload::Suggestion { id, suggestion: s } => P::Suggestion(suggestion(id, s)),
        Payload::Alert(a) => P::Alert(alert(a)),
        Payload::Retraction {
            suggestion_id,
            reason,
        } => P::Retraction(pb::Retraction {
            suggestion_id: suggestion_id.clone(),
            reason: reason.clone(),
        }),
        Payload::Summary(s) => P::Summary(summary(s)),
    };
    pb::AssistEvent {
        call_id: e.call_id.to_string(),
        event_id: e.event_id,
        segment_id: e.segment_id.to_string(),
        processing_us: e.processing_us,
        payload: Some(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg() -> pb::TranscriptSegment {
        pb::TranscriptSegment {
            segment_id: "s1".into(),
            speaker: pb::Speaker::Customer as i32,
            text: "hello".into(),
            is_final: true,
            start_ms: 10,
            end_ms: 20,
            asr_confidence: 0.9,
        }
    }

    fn field_of(e: Error) -> &'static str {
        match e {
            Error::InvalidArgument { field, .. } => field,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn bad_segments_name_the_field() {
        assert!(segment(seg(), 4096).is_ok());
        assert_eq!(
            field_of(
                segment(
                    pb::TranscriptSegment {
                        segment_id: String::new(),
                        ..seg()
                    },
                    4096
                )
                .unwrap_err()
            ),
            "segment.segment_id"
        );
        assert_eq!(
            field_of(
                segment(
                    pb::TranscriptSegment {
                        speaker: 0,
                        ..seg()
                    },
                    4096
                )
                .unwrap_err()
            ),
            "segment.speaker"
        );
        assert_eq!(
            field_of(
                segment(
                    pb::TranscriptSegment {
                        speaker: 7,
                        ..seg()
                    },
                    4096
                )
                .unwrap_err()
            ),
            "segment.speaker"
        );
        assert_eq!(
            field_of(
                segment(
                    pb::TranscriptSegment {
                        text: " ".into(),
                        ..seg()
                    },
                    4096
                )
                .unwrap_err()
            ),
            "segment.text"
        );
        assert_eq!(field_of(segment(seg(), 3).unwrap_err()), "segment.text");
        assert_eq!(
            field_of(segment(pb::TranscriptSegment { end_ms: 5, ..seg() }, 4096).unwrap_err()),
            "segment.end_ms"
        );
        assert_eq!(
            field_of(
                segment(
                    pb::TranscriptSegment {
                        asr_confidence: f32::NAN,
                        ..seg()
                    },
                    4096
                )
                .unwrap_err()
            ),
            "segment.asr_confidence"
        );
    }

    #[test]
    fn languages_are_checked() {
        assert_eq!(language("", "x").unwrap(), None);
        assert_eq!(language("zh-TW", "x").unwrap(), Some(Language::ZhTw));
        assert_eq!(
            field_of(language("fr-FR", "start.language_code").unwrap_err()),
            "start.language_code"
        );
    }

    proptest::proptest! {
        /// The request validation path never panics, and whatever it
        /// accepts keeps the invariants the session layer relies on.
        #[test]
        fn validation_never_panics_and_accepted_segments_are_sound(
            segment_id in "\\PC{0,200}",
            speaker in -3i32..5,
            text in "\\PC{0,300}",
            start_ms in proptest::prelude::any::<u32>(),
            end_ms in proptest::prelude::any::<u32>(),
            asr_confidence in proptest::prelude::any::<f32>(),
            call_id in "\\PC{0,150}",
            language_code in "\\PC{0,8}",
        ) {
            let accepted = segment(pb::TranscriptSegment {
                segment_id,
                speaker,
                text,
                is_final: true,
                start_ms,
                end_ms,
                asr_confidence,
            }, 256);
            if let Ok(s) = accepted {
                proptest::prop_assert!(!s.id.is_empty() && s.id.len() <= MAX_SEGMENT_ID_LEN);
                proptest::prop_assert!(!s.text.trim().is_empty() && s.text.len() <= 256);
                proptest::prop_assert!(s.end_ms >= s.start_ms);
            }
            let start = call_start(pb::CallStart {
                call_id,
                agent_id: String::new(),
                language_code,
                metadata: Default::default(),
            }, Tenant::default());
            if let Ok(start) = start {
                let id = start.call_id.as_str();
                proptest::prop_assert!(!id.is_empty() && id.len() <= 128);
            }
        }
    }
}

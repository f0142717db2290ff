//! What a simulated call says and when: scripts built from the recorded
//! calls of `examples/calls/` (their turns and timing) with customer turns
//! varied by the bank training utterances of `data/intents/`, each utterance
//! sent as 2–3 interim revisions about 300 ms apart and then its final.

use crate::{
    pb,
    replay::{self, Line},
    rng::XorShift,
};
use serde::Deserialize;
use std::{sync::OnceLock, time::Duration};

/// The recordings, embedded so `loadgen` runs from anywhere.
const RECORDINGS: &[&str] = &[
    include_str!("../../examples/calls/en-balance-or-history.jsonl"),
    include_str!("../../examples/calls/en-bereavement.jsonl"),
    include_str!("../../examples/calls/en-declined-abroad.jsonl"),
    include_str!("../../examples/calls/en-transfer-not-received.jsonl"),
    include_str!("../../examples/calls/en-unrecognized-charge-frustrated.jsonl"),
    include_str!("../../examples/calls/zh-balance-or-history.jsonl"),
    include_str!("../../examples/calls/zh-lost-card-anxious.jsonl"),
    include_str!("../../examples/calls/zh-regulator-leaving.jsonl"),
    include_str!("../../examples/calls/zh-tw-complaint.jsonl"),
    include_str!("../../examples/calls/zh-wealth-needs.jsonl"),
];

/// Bank utterances written for training, by language.
const UTTERANCES: [&str; 2] = [
    include_str!("../../data/intents/bank_zh.jsonl"),
    include_str!("../../data/intents/bank_en.jsonl"),
];

/// Time between interim revisions of one utterance.
pub const INTERIM_STEP: Duration = Duration::from_millis(300);

/// One message of a script, `at` after the call's start.
#[derive(Debug, Clone)]
pub struct Step {
    /// When to send it, from the start of the call.
    pub at: Duration,
    /// What to send.
    pub request: pb::StreamCallRequest,
    /// For a segment: its id and whether it is the final.
    pub segment: Option<(String, bool)>,
}

/// A call's template: language, and its turns (speaker as in recordings,
/// text, start, end ms).
#[derive(Debug, Clone)]
struct Template {
    language: String,
    zh: bool,
    turns: Vec<(String, String, u32, u32)>,
}

fn templates() -> &'static [Template] {
    static TEMPLATES: OnceLock<Vec<Template>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        RECORDINGS
            .iter()
            .map(|text| {
                let lines = replay::parse(text).expect("embedded recordings parse");
                let mut language = String::new();
                let mut turns = Vec::new();
                for line in lines {
                    match line {
                        Line::Start { language_code, .. } => language = language_code,
                        Line::Segment {
                            speaker,
                            text,
                            is_final: true,
                            start_ms,
                            end_ms,
                            ..
                        } => turns.push((speaker, text, start_ms, end_ms)),
                        _ => {}
                    }
                }
                let zh = language.starts_with("zh")
                    || turns.iter().any(|t| t.1.chars().any(|c| c > '\u{2E80}'));
                Template {
                    language,
                    zh,
                    turns,
                }
            })
            .collect()
    })
}

fn utterances(zh: bool) -> &'static [String] {
    static ALL: OnceLock<[Vec<String>; 2]> = OnceLock::new();
    #[derive(Deserialize)]
    struct Row {
        text: String,
        intent: String,
    }
    let all = ALL.get_or_init(|| {
        UTTERANCES.map(|data| {
            data.lines()
                .filter_map(|l| serde_json::from_str::<Row>(l).ok())
                .filter(|r| r.intent != "out_of_scope")
                .map(|r| r.text)
                .collect()
        })
    });
    &all[usize::from(!zh)]
}

/// A segment request, built the way `callassist replay` sends a recorded one.
fn segment(
    id: &str,
    speaker: &str,
    text: &str,
    is_final: bool,
    start_ms: u32,
    end_ms: u32,
) -> pb::StreamCallRequest {
    let line = Line::Segment {
        segment_id: id.to_string(),
        speaker: speaker.to_string(),
        text: text.to_string(),
        is_final,
        start_ms,
        end_ms,
    };
    replay::request(&line, "").expect("a segment is a request")
}

/// The prefix of `text` with about `share` of its characters.
fn prefix(text: &str, share: f32) -> &str {
    let n = text.chars().count();
    let keep = ((n as f32 * share).ceil() as usize).clamp(1, n);
    text.char_indices()
        .nth(keep)
        .map_or(text, |(i, _)| &text[..i])
}

/// A realistic call: a recorded call's turns and timing, half of its
/// customer turns replaced by training utterances of its language; each
/// utterance as interims ~300 ms apart, then the final when the speech ends;
/// then `end`. With `length`, the recording's conversation repeats (fresh
/// utterances, new segment ids, time going on) until the call is that long:
/// the hour-long calls that memory must hold flat over. `speed` > 1
/// compresses time (tests).
pub fn realistic(
    call_id: &str,
    rng: &mut XorShift,
    speed: f64,
    length: Option<Duration>,
) -> Vec<Step> {
    let template = &templates()[rng.below(templates().len())];
    let mut steps = vec![Step {
        at: Duration::ZERO,
        request: start(call_id, &template.language),
        segment: None,
    }];
    let scale = |ms: u32| Duration::from_secs_f64(f64::from(ms) / 1000.0 / speed);
    let pool = utterances(template.zh);
    // One pass of the recording, plus a pause before it starts over.
    let pass_ms = template.turns.last().map_or(0, |t| t.3) + 1500;
    let length_ms = length.map_or(0, |l| u32::try_from(l.as_millis()).unwrap_or(u32::MAX));
    let mut n = 0;
    let mut offset = 0;
    loop {
        for (speaker, text, start_ms, end_ms) in &template.turns {
            let (start_ms, end_ms) = (start_ms + offset, end_ms + offset);
            let id = format!("s{n}");
            n += 1;
            let text = if speaker == "customer" && !pool.is_empty() && rng.below(2) == 0 {
                pool[rng.below(pool.len())].as_str()
            } else {
                text.as_str()
            };
            let revisions = 2 + rng.below(2) as u32;
            for r in 0..revisions {
                let at = start_ms + 300 * (r + 1);
                if at >= end_ms {
                    break;
                }
                let share = (r + 1) as f32 / (revisions + 1) as f32;
                steps.push(Step {
                    at: scale(at),
                    request: segment(&id, speaker, prefix(text, share), false, start_ms, at),
                    segment: Some((id.clone(), false)),
                });
            }
            steps.push(Step {
                at: scale(end_ms),
                request: segment(&id, speaker, text, true, start_ms, end_ms),
                segment: Some((id.clone(), true)),
            });
        }
        offset += pass_ms;
        if offset >= length_ms || pass_ms == 0 {
            break;
        }
    }
    // Overlapping speech (an interruption) interleaves the two segments'
    // messages, as a streaming ASR would send them.
    steps[1..].sort_by_key(|s| s.at);
    let last = steps.last().map_or(Duration::ZERO, |s| s.at);
    steps.push(Step {
        at: last + scale(500),
        request: end(),
        segment: None,
    });
    steps
}

/// The `n`-th final of a burst call: a training utterance, no interims.
pub fn burst_segment(n: u32, rng: &mut XorShift) -> pb::StreamCallRequest {
    let zh = rng.below(2) == 0;
    let pool = utterances(zh);
    let text = &pool[rng.below(pool.len())];
    segment(
        &format!("b{n}"),
        "customer",
        text,
        true,
        n * 3000,
        n * 3000 + 2500,
    )
}

/// The `start` of a call.
pub fn start(call_id: &str, language: &str) -> pb::StreamCallRequest {
    let line = Line::Start {
        call_id: call_id.to_string(),
        agent_id: "loadgen".into(),
        language_code: language.to_string(),
        metadata: Default::default(),
    };
    replay::request(&line, call_id).expect("a start is a request")
}

/// The `end` of a call.
pub fn end() -> pb::StreamCallRequest {
    let line = Line::End {
        reason: "hangup".into(),
    };
    replay::request(&line, "").expect("an end is a request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realistic_calls_send_interims_before_each_final_in_time_order() {
        let mut rng = XorShift::seeded(7);
        for k in 0..20 {
            let steps = realistic(&format!("c{k}"), &mut rng, 1.0, None);
            assert!(
                steps.windows(2).all(|w| w[0].at <= w[1].at),
                "in time order"
            );
            let finals = steps
                .iter()
                .filter(|s| matches!(s.segment, Some((_, true))))
                .count();
            let interims = steps
                .iter()
                .filter(|s| matches!(s.segment, Some((_, false))))
                .count();
            assert!(
                finals >= 4 && interims >= finals,
                "{finals} finals, {interims} interims"
            );
            assert!(matches!(
                steps.last().unwrap().request.event,
                Some(pb::stream_call_request::Event::End(_))
            ));
        }
        assert_eq!(prefix("我想查一下余额", 0.5), "我想查一");
    }

    #[test]
    fn a_long_call_repeats_its_conversation_with_new_segments_until_it_is_long_enough() {
        let mut rng = XorShift::seeded(7);
        let length = Duration::from_secs(600);
        let steps = realistic("long", &mut rng, 1.0, Some(length));
        let last = steps.last().unwrap().at;
        assert!(
            last >= length && last < length + Duration::from_secs(180),
            "{last:?}"
        );
        assert!(
            steps.windows(2).all(|w| w[0].at <= w[1].at),
            "in time order"
        );
        let finals: Vec<&str> = steps
            .iter()
            .filter_map(|s| match &s.segment {
                Some((id, true)) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        let unique: std::collections::HashSet<_> = finals.iter().collect();
        assert_eq!(unique.len(), finals.len(), "segment ids are not reused");
        assert!(finals.len() > 60, "{} finals in ten minutes", finals.len());
    }
}

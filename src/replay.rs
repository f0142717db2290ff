//! `callassist replay`: streams a recorded call to a running server at real
//! time (or faster) and prints the assists as an agent would see them.
//!
//! The recording format is JSON Lines mirroring `StreamCallRequest`: one
//! object per line, `{"start": {...}}` first, then `{"segment": {...}}`
//! lines, then `{"end": {...}}`. A JSON array of the same objects is also
//! accepted. Segments are sent when their speech ends (`end_ms`), scaled by
//! the speed factor.

use crate::{
    pb::{self, assist_event::Payload},
    Error,
};
use serde::Deserialize;
use std::{collections::BTreeMap, io::Write, path::Path, time::Duration};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// One line of a recording.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// The call's start.
    Start {
        /// Call id (replaced by a unique one unless `--call-id` is given).
        call_id: String,
        /// Agent id.
        #[serde(default)]
        agent_id: String,
        /// Language code.
        #[serde(default)]
        language_code: String,
        /// Metadata.
        #[serde(default)]
        metadata: BTreeMap<String, String>,
    },
    /// A transcript segment.
    Segment {
        /// Segment id.
        segment_id: String,
        /// `customer` or `agent`.
        speaker: String,
        /// Text.
        text: String,
        /// Final or interim.
        #[serde(default)]
        is_final: bool,
        /// Start, ms.
        #[serde(default)]
        start_ms: u32,
        /// End, ms.
        #[serde(default)]
        end_ms: u32,
    },
    /// The end of the call.
    End {
        /// Reason.
        #[serde(default)]
        reason: String,
    },
    /// What the service must (and must not) have done by now: written next
    /// to the segment it is about. Not sent; `callassist replay` skips it,
    /// the scenario tests (`tests/scenarios.rs`) check it.
    Expect(Expectation),
}

/// The expected behaviour after the final of the segment just before it (or,
/// after `end`, of the whole call). Kinds are the proto enum names in lower
/// case without prefix (`empathy`, `clarifying_question`, `confirmation`,
/// `next_step`, `reframe`, `coaching`, `compliance`; alerts
/// `escalation_risk`, `supervisor_request`, `complaint`,
/// `vulnerable_customer`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The intent of the segment's final analysis.
    pub intent: Option<String>,
    /// Whether that intent was carried over from earlier turns.
    pub carried_over: Option<bool>,
    /// The segment's standing suggestions, by priority, begin with these kinds.
    #[serde(default)]
    pub first: Vec<String>,
    /// Kinds that must be among the segment's standing suggestions.
    #[serde(default)]
    pub has: Vec<String>,
    /// Kinds that must not.
    #[serde(default)]
    pub not: Vec<String>,
    /// Rule ids that must be among them.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Words that some suggestion of the segment must contain.
    #[serde(default)]
    pub says: Vec<String>,
    /// No suggestion at all for the segment.
    #[serde(default)]
    pub nothing: bool,
    /// The alert kinds the segment raised, exactly (empty: none).
    pub alerts: Option<Vec<String>>,
    /// Rule ids of earlier segments' suggestions this segment retracted
    /// (made moot).
    #[serde(default)]
    pub retracts: Vec<String>,
    /// After `end`: the summary's primary intent.
    pub primary_intent: Option<String>,
    /// After `end`: how many follow-up items the summary lists.
    pub follow_ups: Option<usize>,
    /// After `end`: the checklist item ids the agent missed, exactly.
    pub checklist_missed: Option<Vec<String>>,
}

/// Reads a recording (JSON Lines or a JSON array).
pub fn load(path: &Path) -> Result<Vec<Line>, Error> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    parse(&text).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

/// Parses a recording; the first line must be `start`.
pub fn parse(text: &str) -> Result<Vec<Line>, String> {
    let lines: Vec<Line> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", n + 1)))
            .collect::<Result<_, _>>()?
    };
    match lines.first() {
        Some(Line::Start { .. }) => Ok(lines),
        _ => Err("the first entry must be {\"start\": {...}}".into()),
    }
}

/// Converts a recording line to the request that carries it (`None` for
/// an expectation, which is not sent).
pub fn request(line: &Line, call_id: &str) -> Option<pb::StreamCallRequest> {
    use pb::stream_call_request::Event;
    let event = match line {
        Line::Start {
            agent_id,
            language_code,
            metadata,
            ..
        } => Event::Start(pb::CallStart {
            call_id: call_id.to_string(),
            agent_id: agent_id.clone(),
            language_code: language_code.clone(),
            metadata: metadata.clone().into_iter().collect(),
        }),
        Line::Segment {
            segment_id,
            speaker,
            text,
            is_final,
            start_ms,
            end_ms,
        } => Event::Segment(pb::TranscriptSegment {
            segment_id: segment_id.clone(),
            speaker: match speaker.as_str() {
                "customer" => pb::Speaker::Customer,
                "agent" => pb::Speaker::Agent,
                _ => pb::Speaker::Unspecified,
            } as i32,
            text: text.clone(),
            is_final: *is_final,
            start_ms: *start_ms,
            end_ms: *end_ms,
            asr_confidence: 0.0,
        }),
        Line::End { reason } => Event::End(pb::CallEnd {
            reason: reason.clone(),
        }),
        Line::Expect(_) => return None,
    };
    Some(pb::StreamCallRequest { event: Some(event) })
}

/// Options of a replay.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server, and the token and CA to reach it with.
    pub target: crate::client::Target,
    /// Pace: 1 is real time, 10 ten times faster, 0 as fast as possible.
    pub speed: f64,
    /// Call id to use; `None` makes a unique one from the recording's.
    pub call_id: Option<String>,
    /// ANSI colors in the output.
    pub color: bool,
    /// Also print interim segments and analyses.
    pub verbose: bool,
}

/// What a replay saw.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    /// The call id used.
    pub call_id: String,
    /// Events received, by payload kind (`analysis`, `suggestion`, …).
    pub events: BTreeMap<&'static str, u32>,
    /// Analyses of final segments received.
    pub final_analyses: u32,
    /// The summary, if it arrived.
    pub summary: Option<pb::CallSummary>,
}

fn kind_name(payload: &Payload) -> &'static str {
    match payload {
        Payload::Analysis(_) => "analysis",
        Payload::Suggestion(_) => "suggestion",
        Payload::Alert(_) => "alert",
        Payload::Retraction(_) => "retraction",
        Payload::Summary(_) => "summary",
    }
}

/// Paints text with an ANSI color when colors are on.
struct Painter(bool);

impl Painter {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

fn clock(ms: u32) -> String {
    format!(
        "{:02}:{:02}.{}",
        ms / 60_000,
        (ms / 1000) % 60,
        (ms % 1000) / 100
    )
}

/// Reconnections one replay makes at most (after `UNAVAILABLE`: a draining
/// replica handing the call over, or a lost replica).
pub const MAX_RECONNECTS: usize = 5;

/// How long a reconnect retries while the call is still owned by another
/// replica (`ALREADY_EXISTS` … another replica): a lost replica's lease
/// lapses within `cluster_lease`.
pub const TAKEOVER_PATIENCE: Duration = Duration::from_secs(30);

type Inbound = tonic::Streaming<pb::StreamCallResponse>;

/// Opens the call's StreamCall (again) and starts sending its lines at
/// their times from `began`: `start`, then every line of a segment not in
/// `acknowledged` (after a reconnect the in-flight segments are resent; an
/// identical final the server already has causes nothing). Retries while
/// another replica still owns the call.
async fn open(
    client: &mut crate::client::Client,
    lines: &[Line],
    call_id: &str,
    began: tokio::time::Instant,
    speed: f64,
    acknowledged: &std::collections::HashSet<String>,
) -> Result<(tokio::task::JoinHandle<()>, Inbound), Error> {
    let pending: Vec<Line> = lines
        .iter()
        .filter(|line| !matches!(line, Line::Segment { segment_id, .. } if acknowledged.contains(segment_id)))
        .cloned()
        .collect();
    let patience = tokio::time::Instant::now() + TAKEOVER_PATIENCE;
    loop {
        let (tx, rx) = mpsc::channel(16);
        let (lines, id) = (pending.clone(), call_id.to_string());
        let sender = tokio::spawn(async move {
            for line in &lines {
                if let (Line::Segment { end_ms, .. }, true) = (line, speed > 0.0) {
                    let due = began + Duration::from_secs_f64(f64::from(*end_ms) / 1000.0 / speed);
                    tokio::time::sleep_until(due).await;
                }
                let Some(request) = request(line, &id) else {
                    continue;
                };
                if tx.send(request).await.is_err() {
                    return;
                }
            }
            // Keep the request stream open until the server closes the call.
            tx.closed().await;
        });
        match client.stream_call(ReceiverStream::new(rx)).await {
            Ok(response) => return Ok((sender, response.into_inner())),
            Err(s)
                if !acknowledged.is_empty()
                    && s.code() == tonic::Code::AlreadyExists
                    && s.message().contains("another replica")
                    && tokio::time::Instant::now() < patience =>
            {
                sender.abort();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(s) => {
                sender.abort();
                return Err(Error::Io(format!(
                    "StreamCall failed: {} {}",
                    s.code(),
                    s.message()
                )));
            }
        }
    }
}

/// Replays `lines` against the server, printing to `out`.
pub async fn replay(
    lines: Vec<Line>,
    options: &Options,
    out: &mut (impl Write + Send),
) -> Result<Report, Error> {
    let call_id = match (&options.call_id, lines.first()) {
        (Some(id), _) => id.clone(),
        (None, Some(Line::Start { call_id, .. })) => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            format!("{call_id}-{stamp}")
        }
        _ => return Err(Error::Io("the recording has no start".into())),
    };
    let mut client = options.target.connect().await?;
    let p = Painter(options.color);
    let _ = writeln!(
        out,
        "{} call {call_id} → {}",
        p.paint("1", "▶"),
        options.target.addr
    );

    let speed = options.speed;
    let mut texts = BTreeMap::new();
    for line in &lines {
        if let Line::Segment {
            segment_id,
            speaker,
            text,
            is_final: true,
            start_ms,
            ..
        } = line
        {
            texts.insert(
                segment_id.clone(),
                (speaker.clone(), text.clone(), *start_ms),
            );
        }
    }
    let began = tokio::time::Instant::now();
    let mut report = Report {
        call_id: call_id.clone(),
        ..Report::default()
    };
    let mut printed_segments = std::collections::BTreeSet::new();
    // Segments whose final analysis arrived: the server has them.
    let mut acknowledged = std::collections::HashSet::new();
    let mut reconnects = 0;
    let (mut sender, mut inbound) =
        open(&mut client, &lines, &call_id, began, speed, &acknowledged).await?;
    loop {
        let response = match inbound.message().await {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(s) if s.code() == tonic::Code::Unavailable && reconnects < MAX_RECONNECTS => {
                // The replica handed the call over (draining) or went away:
                // reconnect with the same start, resend what was not
                // acknowledged.
                sender.abort();
                reconnects += 1;
                let _ = writeln!(out, "{} {}", p.paint("2", "↻ reconnecting:"), s.message());
                client = options.target.connect().await?;
                (sender, inbound) =
                    open(&mut client, &lines, &call_id, began, speed, &acknowledged).await?;
                continue;
            }
            Err(s) => {
                sender.abort();
                return Err(Error::Io(format!(
                    "stream ended with {}: {}",
                    s.code(),
                    s.message()
                )));
            }
        };
        let Some(event) = response.event else {
            continue;
        };
        let Some(payload) = event.payload else {
            continue;
        };
        *report.events.entry(kind_name(&payload)).or_default() += 1;
        if let Some((speaker, text, start_ms)) = texts.get(&event.segment_id) {
            if printed_segments.insert(event.segment_id.clone()) {
                let who = if speaker == "customer" {
                    p.paint("36", "customer")
                } else {
                    p.paint("34", "agent   ")
                };
                let _ = writeln!(out, "\n[{}] {who}  {text}", clock(*start_ms));
            }
        }
        if matches!(&payload, Payload::Analysis(a) if a.is_final)
            && acknowledged.insert(event.segment_id.clone())
        {
            report.final_analyses += 1;
        }
        let _ = match &payload {
            Payload::Analysis(a) if a.is_final || options.verbose => {
                let intent = a.intent.as_ref().map_or(String::new(), |i| {
                    format!(
                        "{} {:.2}{}",
                        i.intent,
                        i.confidence,
                        if a.intent_carried_over {
                            " (carried over)"
                        } else {
                            ""
                        }
                    )
                });
                let emotions: Vec<String> = a
                    .emotions
                    .iter()
                    .map(|e| {
                        format!(
                            "{} {:.1} «{}»",
                            emotion_name(e.emotion),
                            e.intensity,
                            e.evidence
                        )
                    })
                    .collect();
                writeln!(
                    out,
                    "           {} {intent}  {}",
                    p.paint("2", "intent"),
                    p.paint("33", &emotions.join("  "))
                )
            }
            Payload::Analysis(_) => Ok(()),
            Payload::Suggestion(s) => writeln!(
                out,
                "           {} {}  {}",
                p.paint("1;32", &format!("[{}]", suggestion_kind_name(s.kind))),
                s.text,
                p.paint("2", &format!("({}, {}µs)", s.rule_id, event.processing_us))
            ),
            Payload::Alert(a) => {
                writeln!(out, "           {} {}", p.paint("1;31", "⚠ ALERT"), a.text)
            }
            Payload::Retraction(r) => writeln!(
                out,
                "           {} {}",
                p.paint("2", "✗ retracted"),
                r.suggestion_id
            ),
            Payload::Summary(s) => {
                report.summary = Some(s.clone());
                writeln!(
                    out,
                    "\n{} {}\n  intents: {}  follow-ups: {}",
                    p.paint("1", "■ summary"),
                    s.text,
                    s.intents.join(", "),
                    s.follow_ups.join("; ")
                )
            }
        };
    }
    sender.abort();
    Ok(report)
}

fn emotion_name(value: i32) -> &'static str {
    pb::Emotion::try_from(value).map_or("unknown", |e| match e {
        pb::Emotion::Frustration => "frustration",
        pb::Emotion::Anxiety => "anxiety",
        pb::Emotion::Confusion => "confusion",
        pb::Emotion::Urgency => "urgency",
        pb::Emotion::Sadness => "sadness",
        pb::Emotion::Satisfaction => "satisfaction",
        pb::Emotion::Unspecified => "unspecified",
    })
}

fn suggestion_kind_name(value: i32) -> &'static str {
    pb::SuggestionKind::try_from(value).map_or("unknown", |k| match k {
        pb::SuggestionKind::Empathy => "empathy",
        pb::SuggestionKind::ClarifyingQuestion => "ask",
        pb::SuggestionKind::Confirmation => "confirm",
        pb::SuggestionKind::NextStep => "next step",
        pb::SuggestionKind::Reframe => "reframe",
        pb::SuggestionKind::Coaching => "coaching",
        pb::SuggestionKind::Compliance => "compliance",
        pb::SuggestionKind::Unspecified => "suggestion",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_must_start_with_start() {
        assert!(parse("{\"end\": {}}").is_err());
        let lines =
            parse("{\"start\": {\"call_id\": \"c\"}}\n\n{\"end\": {\"reason\": \"hangup\"}}")
                .unwrap();
        assert_eq!(lines.len(), 2);
        assert!(parse("{\"start\": {\"call_id\": \"c\", \"bogus\": 1}}")
            .unwrap_err()
            .contains("line 1"));
    }
}

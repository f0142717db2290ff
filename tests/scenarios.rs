//! The recorded calls of `examples/calls/`, each streamed through the real
//! server, checked against the behaviour written next to their segments
//! (`{"expect": …}` lines, see `callassist::replay::Expectation`).

mod common;

use callassist::{
    pb::{self, assist_event::Payload},
    replay::{self, Expectation, Line},
};
use common::*;
use std::path::{Path, PathBuf};

/// The proto enum name without its prefix, lower case (`SUGGESTION_KIND_NEXT_STEP` → `next_step`).
fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
}

fn kind_of(s: &pb::Suggestion) -> String {
    short(s.kind().as_str_name(), "SUGGESTION_KIND_")
}

/// Every event of the call, the recording streamed as fast as possible.
async fn run(server: &TestServer, lines: &[Line], call_id: &str) -> Vec<pb::AssistEvent> {
    let mut client = server.client().await;
    let mut requests = lines.iter().filter_map(|l| replay::request(l, call_id));
    let mut call = open(&mut client, requests.next().expect("a start"))
        .await
        .expect("the call opens");
    for request in requests {
        call.send(request).await;
    }
    call.rest().await
}

/// Checks one expectation; returns what is wrong.
fn check(expect: &Expectation, segment: Option<&str>, events: &[pb::AssistEvent]) -> Vec<String> {
    let mut wrong = Vec::new();
    let Some(segment) = segment else {
        let summary = events
            .iter()
            .find_map(|e| match &e.payload {
                Some(Payload::Summary(s)) => Some(s),
                _ => None,
            })
            .expect("the call has a summary");
        if let Some(intent) = &expect.primary_intent {
            if &summary.primary_intent != intent {
                wrong.push(format!(
                    "primary intent {:?}, expected {intent:?}",
                    summary.primary_intent
                ));
            }
        }
        if let Some(n) = expect.follow_ups {
            if summary.follow_ups.len() != n {
                wrong.push(format!("follow-ups {:?}, expected {n}", summary.follow_ups));
            }
        }
        if let Some(missed) = &expect.checklist_missed {
            let got: Vec<&str> = summary
                .checklist
                .iter()
                .filter(|c| !c.done)
                .map(|c| c.item_id.as_str())
                .collect();
            if &got != missed {
                wrong.push(format!("checklist missed {got:?}, expected {missed:?}"));
            }
        }
        return wrong;
    };
    let of_segment = |e: &&pb::AssistEvent| e.segment_id == segment;
    let analysis = events
        .iter()
        .filter(of_segment)
        .find_map(|e| match &e.payload {
            Some(Payload::Analysis(a)) if a.is_final => Some(a),
            _ => None,
        });
    let Some(analysis) = analysis else {
        return vec!["no final analysis".into()];
    };
    let intent = analysis.intent.as_ref().map_or("", |i| i.intent.as_str());
    if let Some(expected) = &expect.intent {
        if intent != expected {
            wrong.push(format!("intent {intent:?}, expected {expected:?}"));
        }
    }
    if let Some(carried) = expect.carried_over {
        if analysis.intent_carried_over != carried {
            wrong.push(format!(
                "carried over {}, expected {carried}",
                analysis.intent_carried_over
            ));
        }
    }
    // As the agent saw it right after the segment: later turns may retract
    // what it showed (made moot), which is not held against it.
    let cutoff = events
        .iter()
        .filter(of_segment)
        .map(|e| e.event_id)
        .max()
        .unwrap_or(0);
    let retracted: Vec<&str> = events
        .iter()
        .filter(|e| e.event_id <= cutoff)
        .filter_map(|e| match &e.payload {
            Some(Payload::Retraction(r)) => Some(r.suggestion_id.as_str()),
            _ => None,
        })
        .collect();
    let mut standing: Vec<&pb::Suggestion> = events
        .iter()
        .filter(of_segment)
        .filter_map(|e| match &e.payload {
            Some(Payload::Suggestion(s)) if !retracted.contains(&s.suggestion_id.as_str()) => {
                Some(s)
            }
            _ => None,
        })
        .collect();
    standing.sort_by_key(|s| s.priority);
    let kinds: Vec<String> = standing.iter().map(|s| kind_of(s)).collect();
    let shown = || {
        standing
            .iter()
            .map(|s| format!("{}({}): {}", kind_of(s), s.rule_id, s.text))
            .collect::<Vec<_>>()
    };
    if !kinds.starts_with(&expect.first) {
        wrong.push(format!(
            "suggestions {:?}, expected to begin with {:?}",
            shown(),
            expect.first
        ));
    }
    for kind in &expect.has {
        if !kinds.contains(kind) {
            wrong.push(format!("no {kind} among {:?}", shown()));
        }
    }
    for kind in &expect.not {
        if kinds.contains(kind) {
            wrong.push(format!("unexpected {kind} among {:?}", shown()));
        }
    }
    for rule in &expect.rules {
        if !standing.iter().any(|s| &s.rule_id == rule) {
            wrong.push(format!("no rule {rule} among {:?}", shown()));
        }
    }
    for words in &expect.says {
        if !standing.iter().any(|s| s.text.contains(words.as_str())) {
            wrong.push(format!("no suggestion says {words:?}: {:?}", shown()));
        }
    }
    if expect.nothing && !standing.is_empty() {
        wrong.push(format!("expected nothing, got {:?}", shown()));
    }
    for rule in &expect.retracts {
        let retracted_here = events.iter().filter(of_segment).any(|e| match &e.payload {
            Some(Payload::Retraction(r)) => events.iter().any(|s| {
                s.segment_id != segment
                    && matches!(&s.payload, Some(Payload::Suggestion(sg))
                        if sg.suggestion_id == r.suggestion_id && &sg.rule_id == rule)
            }),
            _ => false,
        });
        if !retracted_here {
            wrong.push(format!("no earlier {rule} retracted"));
        }
    }
    if let Some(alerts) = &expect.alerts {
        let got: Vec<String> = events
            .iter()
            .filter(of_segment)
            .filter_map(|e| match &e.payload {
                Some(Payload::Alert(a)) => Some(short(a.kind().as_str_name(), "ALERT_KIND_")),
                _ => None,
            })
            .collect();
        if &got != alerts {
            wrong.push(format!("alerts {got:?}, expected {alerts:?}"));
        }
    }
    wrong
}

fn recordings() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/calls");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

/// Streams every recording through `server` and checks every expectation;
/// returns the customer finals' analyses (to see which tier decided them).
async fn check_recordings(server: &TestServer) -> Vec<pb::Analysis> {
    let files = recordings();
    assert!(files.len() >= 8, "at least 8 scenario calls");
    let mut languages = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut customer_finals = Vec::new();
    for file in &files {
        let lines = replay::load(file).unwrap();
        if let Some(Line::Start { language_code, .. }) = lines.first() {
            languages.insert(language_code.get(..2).unwrap_or("auto").to_string());
        }
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let events = run(server, &lines, &name).await;
        customer_finals.extend(events.iter().filter_map(|e| match &e.payload {
            Some(Payload::Analysis(a)) if a.is_final && a.speaker() == pb::Speaker::Customer => {
                Some(a.clone())
            }
            _ => None,
        }));
        let mut last_segment: Option<&str> = None;
        for line in &lines {
            match line {
                Line::Segment { segment_id, .. } => last_segment = Some(segment_id),
                Line::End { .. } => last_segment = None,
                Line::Expect(expect) => {
                    checked += 1;
                    for problem in check(expect, last_segment, &events) {
                        failures.push(format!(
                            "{name} after {}: {problem}",
                            last_segment.unwrap_or("end")
                        ));
                    }
                }
                Line::Start { .. } => {}
            }
        }
    }
    assert!(checked >= 40, "only {checked} expectations");
    assert!(
        languages.contains("zh") && languages.contains("en"),
        "{languages:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    customer_finals
}

#[tokio::test]
async fn recorded_calls_get_the_expected_assists_turn_by_turn() {
    let server = start_server().await;
    check_recordings(&server).await;
    server.shutdown().await.unwrap();
}

/// The same calls and expectations with the encoder deciding every
/// customer final (a budget no turn exceeds, even in a debug build): what
/// the semantic tier understands must not change what the agent is shown
/// where the recordings say what is right.
#[tokio::test]
async fn recorded_calls_get_the_expected_assists_with_the_semantic_tier() {
    let server = start_server_with(semantic_config(std::time::Duration::from_secs(60))).await;
    wait_until_semantic(&server).await;
    let finals = check_recordings(&server).await;
    let fast: Vec<&str> = finals
        .iter()
        .filter(|a| a.tier() != pb::AnalysisTier::Semantic)
        .map(|a| a.text.as_str())
        .collect();
    assert!(
        !finals.is_empty() && fast.is_empty(),
        "decided by the fast tier: {fast:?}"
    );
    server.shutdown().await.unwrap();
}

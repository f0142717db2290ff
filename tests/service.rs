//! The unary RPCs, health and reflection, the recorded calls, and shutdown.

mod common;

use callassist::{
    pb::{self, assist_event::Payload},
    replay,
};
use common::*;
use std::path::Path;
use tonic::Code;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

#[tokio::test]
async fn feedback_is_counted_in_the_summary_and_unknown_things_are_not_found() {
    let server = start_server().await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start("fb-1")).await.unwrap();
    call.send(customer("c1", "I lost my card, I'm so worried", 0))
        .await;
    call.send(end("hangup")).await;
    let events = call.rest().await;
    let ids: Vec<String> = suggestions(&events)
        .iter()
        .map(|s| s.suggestion_id.clone())
        .collect();
    assert!(ids.len() >= 2);

    let feedback = |suggestion_id: &str, action: pb::FeedbackAction| pb::SubmitFeedbackRequest {
        call_id: "fb-1".into(),
        suggestion_id: suggestion_id.into(),
        action: action as i32,
    };
    let r = client
        .submit_feedback(feedback(&ids[0], pb::FeedbackAction::Accepted))
        .await
        .unwrap();
    assert!(r.into_inner().first_feedback);
    client
        .submit_feedback(feedback(&ids[1], pb::FeedbackAction::NotHelpful))
        .await
        .unwrap();
    let again = client
        .submit_feedback(feedback(&ids[1], pb::FeedbackAction::Dismissed))
        .await
        .unwrap();
    assert!(!again.into_inner().first_feedback);

    let summary = call_summary(&mut client, "fb-1").await.unwrap();
    assert_eq!(summary.suggestions_accepted, 1);
    assert_eq!(summary.suggestions_dismissed, 1);
    assert_eq!(summary.suggestions_shown as usize, ids.len());

    let err = client
        .submit_feedback(feedback("sg-999", pb::FeedbackAction::Accepted))
        .await
        .unwrap_err();
    assert_status(&err, Code::NotFound, "sg-999");
    let err = client
        .submit_feedback(feedback(&ids[0], pb::FeedbackAction::Unspecified))
        .await
        .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "action");
    let err = client
        .submit_feedback(pb::SubmitFeedbackRequest {
            call_id: "nobody".into(),
            suggestion_id: "sg-1".into(),
            action: 1,
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::NotFound, "nobody");
    let err = call_summary(&mut client, "nobody").await.unwrap_err();
    assert_status(&err, Code::NotFound, "nobody");
    let err = call_summary(&mut client, "").await.unwrap_err();
    assert_status(&err, Code::InvalidArgument, "call_id");
}

#[tokio::test]
async fn a_live_call_has_a_summary_so_far() {
    let server = start_server().await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start("live-sum")).await.unwrap();
    call.send(customer("c1", "what's my balance", 0)).await;
    call.until(is_analysis_of("c1")).await;
    let summary = call_summary(&mut client, "live-sum").await.unwrap();
    assert!(!summary.ended);
    assert_eq!(summary.primary_intent, "check_balance");
}

#[tokio::test]
async fn analyze_utterance_is_stateless_and_validates() {
    let server = start_server().await;
    let mut client = server.client().await;
    let r = client
        .analyze_utterance(pb::AnalyzeUtteranceRequest {
            text: "我想查一下交易明細".into(),
            language_code: "".into(),
            speaker: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let analysis = r.analysis.unwrap();
    assert_eq!(analysis.intent.unwrap().intent, "transaction_history");
    assert_eq!(
        analysis.language_code, "zh-TW",
        "Traditional characters are detected"
    );
    assert!(r
        .suggestions
        .iter()
        .any(|s| s.kind == pb::SuggestionKind::NextStep as i32));

    let err = client
        .analyze_utterance(pb::AnalyzeUtteranceRequest {
            text: " ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "text");
    let err = client
        .analyze_utterance(pb::AnalyzeUtteranceRequest {
            text: "hi".into(),
            language_code: "klingon".into(),
            speaker: 0,
        })
        .await
        .unwrap_err();
    assert_status(&err, Code::InvalidArgument, "language_code");
}

#[tokio::test]
async fn health_and_reflection_work_for_standard_tooling() {
    let server = start_server().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "callassist.v1.CallAssistService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(
            status,
            ServingStatus::Serving as i32,
            "health of {service:?}"
        );
    }

    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"callassist.v1.CallAssistService".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );
}

#[tokio::test]
async fn every_recorded_call_replays_to_a_summary() {
    let server = start_server().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/calls");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 4, "at least four recorded calls");
    let mut languages = std::collections::BTreeSet::new();
    for file in files {
        let lines = replay::load(&file).unwrap();
        let finals = lines
            .iter()
            .filter(|l| matches!(l, replay::Line::Segment { is_final: true, .. }))
            .count() as u32;
        let options = replay::Options {
            target: callassist::client::Target {
                addr: server.url(),
                ..Default::default()
            },
            speed: 0.0,
            call_id: None,
            color: false,
            verbose: false,
        };
        let mut out = Vec::new();
        let report = replay::replay(lines, &options, &mut out).await.unwrap();
        let printed = String::from_utf8(out).unwrap();
        let summary = report
            .summary
            .unwrap_or_else(|| panic!("{} ended without a summary", file.display()));
        assert!(summary.ended);
        assert_ne!(summary.primary_intent, "out_of_scope", "{}", file.display());
        assert_eq!(
            report.final_analyses,
            finals,
            "one analysis per final segment in {}",
            file.display()
        );
        assert!(
            report.events.get("suggestion").copied().unwrap_or(0) > 0,
            "{}",
            file.display()
        );
        assert!(
            printed.contains("summary"),
            "the live view ends with the summary"
        );
        languages.insert(summary.language_code.clone());
    }
    assert!(
        languages.contains("zh-CN") && languages.contains("en-US"),
        "{languages:?}"
    );
}

#[tokio::test]
async fn shutdown_ends_open_calls_with_a_summary_to_streams_and_watchers() {
    let server = start_server().await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start("drain-1")).await.unwrap();
    call.send(customer("c1", "what's my balance", 0)).await;
    call.until(is_analysis_of("c1")).await;
    let mut watcher = watch_call(&mut client, "drain-1", 0).await.unwrap();
    // A second call whose client is away also gets finalized.
    let mut away = open(&mut client, start("drain-2")).await.unwrap();
    away.send(customer("c1", "hello", 0)).await;
    away.until(is_analysis_of("c1")).await;
    drop(away);

    let stopping = tokio::spawn(server.shutdown());
    let rest = call.rest().await;
    let summary = summary_of(rest.last().unwrap());
    assert_eq!(summary.end_reason, "server_shutdown");
    let mut last = None;
    while let Some(r) = watcher.message().await.unwrap() {
        last = r.event;
    }
    assert!(
        matches!(last.and_then(|e| e.payload), Some(Payload::Summary(s)) if s.end_reason == "server_shutdown")
    );
    stopping.await.unwrap().expect("clean shutdown");
}

//! The semantic tier end to end: the real encoder weights (fetched once
//! into the cache by the test itself, as the browser test installs
//! Chromium), a real server that switches from the fast tier to the
//! encoder without a restart, and the tier each analysis reports.

mod common;

use callassist::pb::call_assist_service_client::CallAssistServiceClient;
use callassist::{
    config::{Semantic, SemanticMode},
    pb,
};
use common::*;
use std::time::Duration;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

async fn analyze(
    client: &mut CallAssistServiceClient<tonic::transport::Channel>,
    text: &str,
) -> pb::Analysis {
    client
        .analyze_utterance(pb::AnalyzeUtteranceRequest {
            text: text.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .analysis
        .unwrap()
}

#[tokio::test]
async fn paraphrases_the_ngram_model_never_saw_are_understood_by_the_semantic_tier() {
    let server = start_server_with(semantic_config(Duration::from_secs(5))).await;
    wait_until_semantic(&server).await;
    let mut client = server.client().await;
    // Phrasings written for this test, in neither model's training data;
    // the first two the n-gram model alone gets wrong (fees, complaint).
    for (text, want) in [
        (
            "this is the worst service i've ever had and i want it on record",
            "complaint",
        ),
        (
            "what's the weather going to be like tomorrow",
            "out_of_scope",
        ),
        (
            "my daughter is still waiting for the funds i wired her last week",
            "transfer_not_received",
        ),
        ("前几天给我弟转的钱他说一直没到账", "transfer_not_received"),
        ("卡好像落在出租车上了找不到了", "card_lost_stolen"),
        (
            "i've forgotten the code to get into my online banking",
            "password_reset",
        ),
        ("定期存一年利息多少", "deposit_rates"),
    ] {
        let a = analyze(&mut client, text).await;
        let intent = a.intent.unwrap();
        assert_eq!(a.tier, pb::AnalysisTier::Semantic as i32, "{text}");
        assert_eq!(intent.intent, want, "{text}: {intent:?}");
    }
}

#[tokio::test]
async fn customer_finals_are_decided_by_the_encoder_interims_and_agent_turns_by_the_fast_tier() {
    let server = start_server_with(semantic_config(Duration::from_secs(5))).await;
    wait_until_semantic(&server).await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start("tier-1")).await.unwrap();
    let text = "my daughter is still waiting for the funds i wired her last week";
    call.send(segment(
        "c1",
        pb::Speaker::Customer,
        "my daughter is still waiting",
        false,
        0,
        900,
    ))
    .await;
    call.send(segment("c1", pb::Speaker::Customer, text, true, 0, 2000))
        .await;
    call.send(agent("a1", "let me check that transfer for you", 2500))
        .await;
    call.send(end("hangup")).await;
    let events = call.rest().await;
    let analyses: Vec<&pb::Analysis> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(pb::assist_event::Payload::Analysis(a)) => Some(a),
            _ => None,
        })
        .collect();
    let tier = |speaker: pb::Speaker, is_final: bool| {
        analyses
            .iter()
            .filter(|a| a.speaker == speaker as i32 && a.is_final == is_final)
            .map(|a| a.tier)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        tier(pb::Speaker::Customer, true),
        [pb::AnalysisTier::Semantic as i32]
    );
    assert!(tier(pb::Speaker::Customer, false)
        .iter()
        .all(|t| *t == pb::AnalysisTier::Fast as i32));
    assert_eq!(
        tier(pb::Speaker::Agent, true),
        [pb::AnalysisTier::Fast as i32]
    );
    let final_analysis = analyses
        .iter()
        .find(|a| a.is_final && a.speaker == pb::Speaker::Customer as i32)
        .unwrap();
    assert_eq!(
        final_analysis.intent.as_ref().unwrap().intent,
        "transfer_not_received"
    );
}

#[tokio::test]
async fn a_turn_the_encoder_cannot_take_within_its_budget_is_decided_by_the_fast_tier_at_once() {
    // A budget no forward pass can meet: every turn is declined up front.
    let server = start_server_with(semantic_config(Duration::from_micros(1))).await;
    wait_until_semantic(&server).await;
    let mut client = server.client().await;
    let started = std::time::Instant::now();
    let a = analyze(&mut client, "我卡里还剩多少").await;
    assert_eq!(a.tier, pb::AnalysisTier::Fast as i32);
    assert_eq!(a.intent.unwrap().intent, "check_balance");
    // Declined, not queued: far below one forward pass (~10 ms and more).
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn without_weights_the_service_serves_on_the_fast_tier_and_says_so() {
    let mut config = test_config();
    let empty = tempfile::tempdir().unwrap();
    config.semantic = Semantic {
        mode: SemanticMode::Cached,
        cache_dir: Some(empty.path().to_path_buf()),
        ..Semantic::default()
    };
    let server = start_server_with(config).await;
    let mut client = server.client().await;
    let a = analyze(&mut client, "what's my balance").await;
    assert_eq!(a.tier, pb::AnalysisTier::Fast as i32);
    assert_eq!(a.intent.unwrap().intent, "check_balance");
    let mut health = HealthClient::new(server.channel().await);
    let status = |service: &str| HealthCheckRequest {
        service: service.into(),
    };
    // The service serves; the semantic tier reports itself not serving.
    let whole = health.check(status("")).await.unwrap().into_inner().status;
    assert_eq!(whole, ServingStatus::Serving as i32);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let semantic = health
        .check(status(callassist::server::SEMANTIC_HEALTH_NAME))
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(semantic, ServingStatus::NotServing as i32);
}

#[tokio::test]
async fn mandarin_feelings_the_lexicon_misses_are_found_with_evidence_from_the_turn() {
    let semantic = start_server_with(semantic_config(Duration::from_secs(5))).await;
    wait_until_semantic(&semantic).await;
    let fast = start_server().await;
    let (mut with_encoder, mut lexicon_only) = (semantic.client().await, fast.client().await);
    for (text, want) in [
        ("你们这办事效率让人没法说", pb::Emotion::Frustration),
        ("那就这样吧，挺顺利的", pb::Emotion::Satisfaction),
    ] {
        let missed = analyze(&mut lexicon_only, text).await;
        assert!(missed.emotions.is_empty(), "{text}: {:?}", missed.emotions);
        let found = analyze(&mut with_encoder, text).await;
        let cue = found
            .emotions
            .iter()
            .find(|c| c.emotion == want as i32)
            .unwrap_or_else(|| panic!("{text}: {:?}", found.emotions));
        assert!(
            !cue.evidence.is_empty() && text.contains(&cue.evidence),
            "{cue:?}"
        );
    }
}

//! StreamCall end to end against the real server.

mod common;

use callassist::pb::{self, assist_event::Payload, Speaker};
use common::*;
use tonic::Code;

#[tokio::test]
async fn a_full_call_gets_analysis_first_then_suggestions_then_its_summary() {
    let server = start_server().await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start_in("full-1", "zh-CN"))
        .await
        .unwrap();
    call.send(agent("a1", "您好，很高兴为您服务", 0)).await;
    call.send(customer("c1", "我的卡丢了，尾号1234，我好担心", 2000))
        .await;
    call.send(agent("a2", "您别着急", 2500)).await;
    call.send(customer("c2", "我要投诉你们", 5000)).await;
    call.send(end("hangup")).await;
    let events = call.rest().await;

    // Ids are 1, 2, 3 … with no gap, and the summary is the last event.
    let ids: Vec<u64> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(ids, (1..=events.len() as u64).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e.call_id == "full-1"));
    let summary = summary_of(events.last().unwrap());
    assert!(summary.ended);
    assert_eq!(summary.end_reason, "hangup");
    assert_eq!(summary.primary_intent, "card_lost_stolen");
    assert_eq!(summary.intents, vec!["card_lost_stolen", "complaint"]);
    assert_eq!(
        summary.agent_stats.unwrap().interruptions,
        1,
        "a2 started before c1 ended"
    );
    assert_eq!(summary.customer_stats.unwrap().turns, 2);
    assert!(
        !summary.follow_ups.is_empty(),
        "the complaint needs a follow-up"
    );

    // One final Analysis per segment, before any suggestion of that segment.
    for seg in ["a1", "c1", "a2", "c2"] {
        let analyses: Vec<_> = events
            .iter()
            .enumerate()
            .filter(|(_, e)| is_analysis_of(seg)(e))
            .collect();
        assert_eq!(analyses.len(), 1, "one analysis for {seg}");
        let first_suggestion = events
            .iter()
            .position(|e| e.segment_id == seg && matches!(e.payload, Some(Payload::Suggestion(_))));
        if let Some(pos) = first_suggestion {
            assert!(
                analyses[0].0 < pos,
                "analysis of {seg} precedes its suggestions"
            );
        }
    }
    // Mood before matter: for the anxious customer, the empathetic line is
    // the first suggestion.
    let c1: Vec<_> = events
        .iter()
        .filter(|e| e.segment_id == "c1")
        .cloned()
        .collect();
    let c1_suggestions = suggestions(&c1);
    assert_eq!(c1_suggestions[0].kind, pb::SuggestionKind::Empathy as i32);
    assert!(c1_suggestions
        .iter()
        .any(|s| s.kind == pb::SuggestionKind::Confirmation as i32 && s.text.contains("1234")));
    let a2: Vec<_> = events
        .iter()
        .filter(|e| e.segment_id == "a2")
        .cloned()
        .collect();
    assert_eq!(suggestions(&a2)[0].rule_id, "coaching.interruption");
    assert!(events.iter().any(|e| matches!(&e.payload, Some(Payload::Alert(a)) if a.kind == pb::AlertKind::Complaint as i32)));

    // The kept summary is the same one.
    let kept = call_summary(&mut client, "full-1").await.unwrap();
    assert_eq!(&kept, summary);
}

#[tokio::test]
async fn a_revised_interim_retracts_what_it_no_longer_supports() {
    let server = start_server().await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start_in("interim-1", "en-US"))
        .await
        .unwrap();
    call.send(segment(
        "c1",
        Speaker::Customer,
        "I think I lost my card",
        false,
        0,
        900,
    ))
    .await;
    let early = call
        .until(
            |e| matches!(e.payload, Some(Payload::Suggestion(ref s)) if s.rule_id == "next_step"),
        )
        .await;
    let shown: Vec<String> = suggestions(&early)
        .iter()
        .map(|s| s.suggestion_id.clone())
        .collect();
    assert!(!shown.is_empty());
    assert!(early
        .iter()
        .any(|e| matches!(&e.payload, Some(Payload::Analysis(a)) if !a.is_final)));

    // The final says something else: what was shown for "lost card" goes.
    call.send(segment(
        "c1",
        Speaker::Customer,
        "no sorry, I just want my balance",
        true,
        0,
        1800,
    ))
    .await;
    let events = call.until(is_analysis_of("c1")).await;
    let more = call
        .until(
            |e| matches!(e.payload, Some(Payload::Suggestion(ref s)) if s.rule_id == "next_step"),
        )
        .await;
    let retracted: Vec<String> = events
        .iter()
        .chain(&more)
        .filter_map(|e| match &e.payload {
            Some(Payload::Retraction(r)) => Some(r.suggestion_id.clone()),
            _ => None,
        })
        .collect();
    // Everything shown for the lost card (its confirmation and next step,
    // and anything else the revision no longer supports) is withdrawn, and
    // only what had been shown.
    let lost_card: Vec<String> = suggestions(&early)
        .iter()
        .filter(|s| s.rule_id == "confirm.need" || s.rule_id == "next_step")
        .map(|s| s.suggestion_id.clone())
        .collect();
    assert_eq!(lost_card.len(), 2);
    assert!(
        lost_card.iter().all(|id| retracted.contains(id)),
        "{retracted:?}"
    );
    assert!(retracted.iter().all(|id| shown.contains(id)));
    assert!(suggestions(&more)
        .iter()
        .any(|s| s.text.contains("balance")));

    // The summary counts only what still stands.
    call.send(end("hangup")).await;
    let rest = call.rest().await;
    let summary = summary_of(rest.last().unwrap());
    assert_eq!(summary.primary_intent, "check_balance");
    assert_eq!(
        summary.suggestions_shown as usize,
        suggestions(&early).len() + suggestions(&more).len() - retracted.len()
    );
}

#[tokio::test]
async fn repeated_finals_are_idempotent_and_conflicting_ones_rejected() {
    let server = start_server().await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start("dup-1")).await.unwrap();
    call.send(customer("c1", "what's my balance", 0)).await;
    call.send(customer("c1", "what's my balance", 0)).await;
    call.send(customer("c2", "thanks", 2000)).await;
    let events = call.until(is_analysis_of("c2")).await;
    assert_eq!(events.iter().filter(|e| is_analysis_of("c1")(e)).count(), 1);

    call.send(customer("c1", "something different", 0)).await;
    let status = loop {
        match call.next().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("expected an error status"),
            Err(status) => break status,
        }
    };
    assert_status(&status, Code::InvalidArgument, "segment.segment_id");

    // The call was kept: the client resumes it and event ids continue.
    let last_id = events.last().unwrap().event_id;
    let mut call = eventually(|| {
        let mut client = client.clone();
        async move { open(&mut client, start("dup-1")).await.ok() }
    })
    .await;
    call.send(customer("c3", "show me my recent transactions", 3000))
        .await;
    let resumed = call.until(is_analysis_of("c3")).await;
    assert!(resumed[0].event_id > last_id);
}

#[tokio::test]
async fn bad_messages_get_invalid_argument_naming_the_field() {
    let server = start_server().await;
    let mut client = server.client().await;

    let err = open(&mut client, customer("c1", "hello", 0))
        .await
        .err()
        .unwrap();
    assert_status(&err, Code::InvalidArgument, "start");
    let err = open(&mut client, start("")).await.err().unwrap();
    assert_status(&err, Code::InvalidArgument, "start.call_id");
    let err = open(&mut client, start("has space")).await.err().unwrap();
    assert_status(&err, Code::InvalidArgument, "start.call_id");
    let err = open(&mut client, start_in("lang-1", "fr-FR"))
        .await
        .err()
        .unwrap();
    assert_status(&err, Code::InvalidArgument, "start.language_code");

    for (bad, field) in [
        (
            segment("", Speaker::Customer, "hi", true, 0, 1),
            "segment.segment_id",
        ),
        (
            segment("s", Speaker::Unspecified, "hi", true, 0, 1),
            "segment.speaker",
        ),
        (
            segment("s", Speaker::Customer, "", true, 0, 1),
            "segment.text",
        ),
        (
            segment("s", Speaker::Customer, &"x".repeat(5000), true, 0, 1),
            "segment.text",
        ),
        (
            segment("s", Speaker::Customer, "hi", true, 10, 5),
            "segment.end_ms",
        ),
        (start("again"), "start"),
    ] {
        let id = format!("bad-{field}-{}", rand_suffix());
        let mut call = open(&mut client, start(&id)).await.unwrap();
        call.send(bad).await;
        let status = call.next().await.expect_err("the stream fails");
        assert_status(&status, Code::InvalidArgument, field);
    }

    // The server still serves other calls.
    let mut call = open(&mut client, start("after-bad")).await.unwrap();
    call.send(customer("c1", "what's my balance", 0)).await;
    call.until(is_analysis_of("c1")).await;
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[tokio::test]
async fn a_live_call_cannot_be_streamed_twice_and_ended_ids_are_not_reused() {
    let server = start_server().await;
    let mut client = server.client().await;
    let mut first = open(&mut client, start("twice-1")).await.unwrap();
    let err = open(&mut client, start("twice-1")).await.err().unwrap();
    assert_status(&err, Code::AlreadyExists, "twice-1");

    // The first stream is unaffected.
    first.send(customer("c1", "what's my balance", 0)).await;
    first.until(is_analysis_of("c1")).await;
    first.send(end("")).await;
    let summary = first.rest().await;
    assert_eq!(summary_of(summary.last().unwrap()).end_reason, "hangup");

    let err = open(&mut client, start("twice-1")).await.err().unwrap();
    assert_status(&err, Code::AlreadyExists, "ended");
}

#[tokio::test]
async fn a_client_that_vanishes_can_resume_within_the_idle_timeout() {
    let mut config = test_config();
    config.limits.idle_timeout = std::time::Duration::from_secs(30);
    let server = start_server_with(config).await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start("resume-1")).await.unwrap();
    call.send(customer("c1", "my card was declined", 0)).await;
    let before = call.until(is_analysis_of("c1")).await;
    drop(call); // Connection-level the client is gone without `end`.

    let mut call = eventually(|| {
        let mut client = client.clone();
        async move { open(&mut client, start("resume-1")).await.ok() }
    })
    .await;
    call.send(customer("c2", "so what happens now", 2000)).await;
    let after = call.until(is_analysis_of("c2")).await;
    assert!(
        after[0].event_id > before.last().unwrap().event_id,
        "event ids continue"
    );
    match &after[0].payload {
        Some(Payload::Analysis(a)) => {
            assert_eq!(a.intent.as_ref().unwrap().intent, "card_declined");
            assert!(
                a.intent_carried_over,
                "the short follow-up keeps the call's need"
            );
        }
        other => panic!("expected analysis, got {other:?}"),
    }
    assert!(suggestions(
        &call
            .until(|e| matches!(e.payload, Some(Payload::Suggestion(_))))
            .await
    )
    .iter()
    .any(|s| s.rule_id == "next_step"));

    // Across both streams no event id was skipped or reused.
    let mut watcher = watch_call(&mut client, "resume-1", 0).await.unwrap();
    let mut expected = 1;
    while expected <= after.last().unwrap().event_id {
        let r = watcher.message().await.unwrap().unwrap();
        assert_eq!(r.event.unwrap().event_id, expected);
        expected += 1;
    }
}

#[tokio::test]
async fn an_abandoned_call_is_finalized_after_the_idle_timeout() {
    let mut config = test_config();
    config.limits.idle_timeout = std::time::Duration::from_millis(200);
    let server = start_server_with(config).await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start("idle-1")).await.unwrap();
    call.send(customer("c1", "what's my balance", 0)).await;
    call.until(is_analysis_of("c1")).await;
    drop(call);

    let summary = eventually(|| {
        let mut client = client.clone();
        async move {
            let s = call_summary(&mut client, "idle-1").await.ok()?;
            s.ended.then_some(s)
        }
    })
    .await;
    assert_eq!(summary.end_reason, "idle_timeout");
    assert_eq!(summary.primary_intent, "check_balance");
}

#[tokio::test]
async fn too_many_calls_are_refused_without_hurting_the_others() {
    let mut config = test_config();
    config.limits.max_calls = 1;
    let server = start_server_with(config).await;
    let mut client = server.client().await;
    let mut first = open(&mut client, start("cap-1")).await.unwrap();
    let err = open(&mut client, start("cap-2")).await.err().unwrap();
    assert_status(&err, Code::ResourceExhausted, "max_calls");
    first.send(customer("c1", "what's my balance", 0)).await;
    first.until(is_analysis_of("c1")).await;
    first.send(end("hangup")).await;
    first.rest().await;
    // The slot is free again once the first call ended.
    open(&mut client, start("cap-2")).await.unwrap();
}

#[tokio::test]
async fn per_call_limits_end_the_stream_but_keep_the_call_for_a_resume() {
    let server = start_server_with(callassist::Config {
        limits: callassist::session::Limits {
            max_segments_per_call: 3,
            ..callassist::session::Limits::default()
        },
        ..test_config()
    })
    .await;
    let mut client = server.client().await;

    // Time going backwards for one speaker.
    let mut call = open(&mut client, start("backwards")).await.unwrap();
    call.send(customer("c1", "我想查一下余额", 5000)).await;
    call.until(is_analysis_of("c1")).await;
    call.send(customer("c2", "还有交易明细", 1000)).await;
    let status = call.error().await;
    assert_status(&status, Code::InvalidArgument, "segment.start_ms");

    // The call kept its state: resume it and go on.
    let mut call = open(&mut client, start("backwards")).await.unwrap();
    call.send(customer("c2", "还有交易明细", 7000)).await;
    call.until(is_analysis_of("c2")).await;
    // The third segment is the last one allowed.
    call.send(agent("a1", "好的", 9000)).await;
    call.until(is_analysis_of("a1")).await;
    call.send(customer("c3", "谢谢", 11000)).await;
    let status = call.error().await;
    assert_status(&status, Code::ResourceExhausted, "max_segments_per_call");

    // A message larger than max_message_bytes is refused by name (not
    // taken for the client leaving); the call stays resumable.
    let mut call = open(&mut client, start("backwards")).await.unwrap();
    call.send(customer("huge", &"余额".repeat(200_000), 12000))
        .await;
    let status = call.error().await;
    assert_status(&status, Code::ResourceExhausted, "max_message_bytes");

    // A half-closed stream (no `end`) leaves the call waiting; an overlong
    // end reason is refused by name; a proper end gets the summary.
    let call = open(&mut client, start("backwards")).await.unwrap();
    drop(call.tx);
    let mut call = eventually(|| {
        let mut client = client.clone();
        async move { open(&mut client, start("backwards")).await.ok() }
    })
    .await;
    call.send(end(&"r".repeat(200))).await;
    let status = call.error().await;
    assert_status(&status, Code::InvalidArgument, "end.reason");
    let mut call = open(&mut client, start("backwards")).await.unwrap();
    call.send(end("hangup")).await;
    let rest = call.rest().await;
    let summary = summary_of(rest.last().unwrap());
    assert_eq!(
        summary.customer_stats.as_ref().unwrap().turns,
        2,
        "nothing accepted was lost"
    );
}

#[tokio::test]
async fn a_connection_gets_at_most_max_streams_per_connection_streams_at_once() {
    let server = start_server_with(callassist::Config {
        transport: callassist::config::Transport {
            max_streams_per_connection: 2,
            ..Default::default()
        },
        ..test_config()
    })
    .await;
    // One connection, shared by every client clone.
    let mut client = server.client().await;
    let mut first = open(&mut client, start("limit-1")).await.unwrap();
    let _second = open(&mut client, start("limit-2")).await.unwrap();
    first.send(customer("c1", "我想查余额", 0)).await;
    first.until(is_analysis_of("c1")).await;

    // The third stream waits for a free slot on the connection…
    let third = tokio::spawn({
        let mut client = client.clone();
        async move {
            let mut call = open(&mut client, start("limit-3")).await.unwrap();
            call.send(customer("c1", "我想查余额", 0)).await;
            call.until(is_analysis_of("c1")).await;
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!third.is_finished(), "a third stream must wait");
    // …and goes on as soon as one ends.
    first.send(end("hangup")).await;
    first.rest().await;
    tokio::time::timeout(PATIENCE, third)
        .await
        .expect("the third stream ran once a slot was free")
        .unwrap();
}

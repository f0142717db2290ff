//! WatchCall: replay, live, watching before start, slow watchers.

mod common;

use callassist::pb;
use common::*;
use tonic::{Code, Streaming};

async fn watch(
    server: &TestServer,
    call_id: &str,
    after_event_id: u64,
) -> Streaming<pb::WatchCallResponse> {
    watch_call(&mut server.client().await, call_id, after_event_id)
        .await
        .unwrap()
}

async fn drain(mut stream: Streaming<pb::WatchCallResponse>) -> Vec<pb::WatchCallResponse> {
    let mut out = Vec::new();
    while let Some(r) = tokio::time::timeout(PATIENCE, stream.message())
        .await
        .unwrap()
        .unwrap()
    {
        out.push(r);
    }
    out
}

async fn run_call(server: &TestServer, call_id: &str) -> Vec<pb::AssistEvent> {
    let mut client = server.client().await;
    let mut call = open(&mut client, start(call_id)).await.unwrap();
    call.send(customer("c1", "I lost my card and I'm worried", 0))
        .await;
    call.send(agent("a1", "I'll block it right away", 1500))
        .await;
    call.send(customer("c2", "thank you", 3000)).await;
    call.send(end("hangup")).await;
    call.rest().await
}

#[tokio::test]
async fn a_late_watcher_gets_the_retained_events_then_the_stream_ends() {
    let server = start_server().await;
    let streamed = run_call(&server, "watch-late").await;

    let all = drain(watch(&server, "watch-late", 0).await).await;
    let seen: Vec<pb::AssistEvent> = all.iter().map(|r| r.event.clone().unwrap()).collect();
    assert_eq!(
        seen, streamed,
        "the console sees exactly what the platform saw"
    );
    assert!(all.iter().all(|r| r.dropped_events == 0));

    let tail = drain(watch(&server, "watch-late", 3).await).await;
    assert_eq!(tail.first().unwrap().event.as_ref().unwrap().event_id, 4);
    assert!(is_summary(tail.last().unwrap().event.as_ref().unwrap()));
}

#[tokio::test]
async fn a_console_can_watch_before_the_call_starts() {
    let server = start_server().await;
    let early = watch(&server, "watch-early", 0).await;
    // The response headers arrived: the watcher is subscribed.
    let watcher = tokio::spawn(drain(early));
    let streamed = run_call(&server, "watch-early").await;
    let seen: Vec<pb::AssistEvent> = watcher
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event.unwrap())
        .collect();
    assert_eq!(seen, streamed);
}

#[tokio::test]
async fn several_consoles_see_the_same_live_events() {
    let server = start_server().await;
    let mut client = server.client().await;
    let mut call = open(&mut client, start("watch-many")).await.unwrap();
    call.send(customer("c1", "what's my balance", 0)).await;
    call.until(is_analysis_of("c1")).await;
    let watchers: Vec<_> = futures_join(&server, "watch-many", 3).await;
    call.send(customer("c2", "and my recent transactions", 2000))
        .await;
    call.send(end("hangup")).await;
    let streamed = call.rest().await;
    let mut results = Vec::new();
    for w in watchers {
        results.push(w.await.unwrap());
    }
    for seen in results {
        let ids: Vec<u64> = seen
            .iter()
            .map(|r| r.event.as_ref().unwrap().event_id)
            .collect();
        assert_eq!(ids.first(), Some(&1));
        assert_eq!(ids.last(), Some(&streamed.last().unwrap().event_id));
    }
}

async fn futures_join(
    server: &TestServer,
    call_id: &str,
    n: usize,
) -> Vec<tokio::task::JoinHandle<Vec<pb::WatchCallResponse>>> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(tokio::spawn(drain(watch(server, call_id, 0).await)));
    }
    out
}

#[tokio::test]
async fn a_watcher_that_never_reads_loses_the_oldest_events_not_the_call() {
    let mut config = test_config();
    config.limits.watcher_buffer = 8;
    config.limits.event_history = 8;
    let server = start_server_with(config).await;
    let mut slow = watch(&server, "watch-slow", 0).await;

    // A long call streams to the end while the watcher reads nothing.
    let mut client = server.client().await;
    let mut call = open(&mut client, start("watch-slow")).await.unwrap();
    let padding = "please check my balance and the transactions on my account ".repeat(20);
    for i in 0..300u32 {
        call.send(customer(&format!("c{i}"), &padding, i * 2000))
            .await;
    }
    call.send(end("hangup")).await;
    let streamed = call.rest().await;
    let last_id = streamed.last().unwrap().event_id;
    assert!(is_summary(streamed.last().unwrap()));

    // Now the watcher reads: everything it got plus what it was told it lost
    // adds up to every event, and the summary still arrives.
    let mut received = 0u64;
    let mut dropped = 0u64;
    let mut last = None;
    while let Some(r) = tokio::time::timeout(PATIENCE, slow.message())
        .await
        .unwrap()
        .unwrap()
    {
        received += 1;
        dropped += r.dropped_events;
        last = r.event;
    }
    assert!(dropped > 0, "the slow watcher must have lost events");
    assert_eq!(received + dropped, last_id);
    assert!(is_summary(&last.unwrap()));
}

#[tokio::test]
async fn watch_rejects_bad_ids_and_too_many_watchers() {
    let mut config = test_config();
    config.limits.max_watchers_per_call = 1;
    let server = start_server_with(config).await;
    let mut client = server.client().await;
    let err = watch_call(&mut client, "", 0).await.unwrap_err();
    assert_status(&err, Code::InvalidArgument, "call_id");
    let _first = watch(&server, "watch-cap", 0).await;
    let err = watch_call(&mut client, "watch-cap", 0).await.unwrap_err();
    assert_status(&err, Code::ResourceExhausted, "max_watchers_per_call");
}

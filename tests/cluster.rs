//! Cluster mode against real parts: Debian's `redis-server` on a free
//! loopback port (installed with apt when missing) and real `callassist
//! serve` processes sharing it, as replicas behind a Kubernetes Service
//! would. Nothing of Redis is mocked.

mod common;

use callassist::{
    auth::hash_token,
    pb::{self, assist_event::Payload, call_assist_service_client::CallAssistServiceClient},
};
use common::*;
use std::{
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{
    metadata::MetadataValue, service::interceptor::InterceptedService, transport::Channel, Code,
    Request, Status,
};

/// The lease the replicas here run with: short, so that a takeover after
/// `kill -9` is quick to test.
const LEASE: Duration = Duration::from_secs(2);

/// Debian's `redis-server`, installed on first use.
fn redis_server() -> PathBuf {
    apt_installed("/usr/bin/redis-server", "redis-server")
}

/// A Redis server of the test's own, with an append-only file so that a
/// restart keeps what was written (as a production Redis would).
struct Redis {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Redis {
        let port = free_addr().port();
        let mut redis = Redis {
            port,
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port and waits until it answers.
    fn restart(&mut self) {
        let child = Command::new(redis_server())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "yes", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + PATIENCE;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGTERM: it writes its append-only file first).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            sigterm(child.id());
            child.wait().unwrap();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Tokens of the two tenants every replica here knows.
const BANK_A: &str = "token-a";
const BANK_B: &str = "token-b";

/// One `callassist serve` process in cluster mode.
struct Replica {
    addr: SocketAddr,
    child: Child,
}

impl Replica {
    fn start(redis: &Redis) -> Replica {
        let addr = free_addr();
        let tenants = format!(
            "tenants=bank-a={},bank-b={}",
            hash_token(BANK_A),
            hash_token(BANK_B)
        );
        let child = serve_command(addr, None)
            .args(["--set", &format!("cluster_redis_url={}", redis.url())])
            .args(["--set", &format!("cluster_lease={}s", LEASE.as_secs())])
            .args(["--set", &tenants, "--set", "drain_timeout=10s"])
            .stdout(Stdio::null())
            .spawn()
            .expect("callassist serve starts");
        Replica { addr, child }
    }

    async fn client(&self, token: &'static str) -> Client {
        CallAssistServiceClient::with_interceptor(channel_to(self.addr).await, Bearer(token))
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Adds a tenant's bearer token to every request.
#[derive(Clone)]
struct Bearer(&'static str);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let value: MetadataValue<_> = format!("Bearer {}", self.0).parse().unwrap();
        request.metadata_mut().insert("authorization", value);
        Ok(request)
    }
}

type Client = CallAssistServiceClient<InterceptedService<Channel, Bearer>>;

async fn open_on(client: &mut Client, call_id: &str) -> Result<CallStream, Status> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tx.send(start(call_id)).await.unwrap();
    let rx = client
        .stream_call(ReceiverStream::new(rx))
        .await?
        .into_inner();
    Ok(CallStream { tx, rx })
}

/// Reopens a call after its stream was lost, as a platform does: retries
/// while the old owner's lease has not lapsed (`ALREADY_EXISTS` naming
/// another replica). Returns the stream and how long the takeover took.
async fn reopen(client: &mut Client, call_id: &str) -> (CallStream, Duration) {
    let started = Instant::now();
    loop {
        match open_on(client, call_id).await {
            Ok(stream) => return (stream, started.elapsed()),
            Err(status) => assert_status(&status, Code::AlreadyExists, "another replica"),
        }
        assert!(
            started.elapsed() < LEASE + PATIENCE,
            "the call was never taken over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn watch_on(client: &mut Client, call_id: &str) -> tonic::Streaming<pb::WatchCallResponse> {
    let request = pb::WatchCallRequest {
        call_id: call_id.into(),
        after_event_id: 0,
    };
    client.watch_call(request).await.unwrap().into_inner()
}

/// A watcher's events until the call's summary, checking none was dropped.
async fn watched(mut watch: tonic::Streaming<pb::WatchCallResponse>) -> Vec<pb::AssistEvent> {
    let mut events = Vec::new();
    loop {
        let response = tokio::time::timeout(PATIENCE * 3, watch.message())
            .await
            .expect("the watcher got events in time")
            .expect("no error")
            .expect("the watch ends with the summary, not before");
        assert_eq!(response.dropped_events, 0, "nothing missed");
        let event = response.event.unwrap();
        let done = is_summary(&event);
        events.push(event);
        if done {
            return events;
        }
    }
}

async fn feedback(client: &mut Client, call_id: &str, suggestion_id: &str) -> Result<bool, Status> {
    let request = pb::SubmitFeedbackRequest {
        call_id: call_id.into(),
        suggestion_id: suggestion_id.into(),
        action: pb::FeedbackAction::Accepted as i32,
    };
    Ok(client
        .submit_feedback(request)
        .await?
        .into_inner()
        .first_feedback)
}

async fn summary_on(client: &mut Client, call_id: &str) -> Result<pb::CallSummary, Status> {
    let request = pb::GetCallSummaryRequest {
        call_id: call_id.into(),
    };
    Ok(client
        .get_call_summary(request)
        .await?
        .into_inner()
        .summary
        .unwrap())
}

async fn listed(client: &mut Client, include_ended: bool) -> Vec<pb::CallInfo> {
    let request = pb::ListCallsRequest { include_ended };
    client.list_calls(request).await.unwrap().into_inner().calls
}

fn is_suggestion(e: &pb::AssistEvent) -> bool {
    matches!(e.payload, Some(Payload::Suggestion(_)))
}

fn ids(events: &[pb::AssistEvent]) -> Vec<u64> {
    events.iter().map(|e| e.event_id).collect()
}

const LOST_CARD: &str = "I lost my card yesterday and I am really worried someone is using it";
const STILL_WAITING: &str = "this is the third time I call and nobody fixed it, I am fed up";
const THANKS: &str = "ok thank you, that is all";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_serve_one_call_as_one_service() {
    let redis = Redis::start();
    let (a, b, c) = (
        Replica::start(&redis),
        Replica::start(&redis),
        Replica::start(&redis),
    );
    let (mut on_a, mut on_b, mut on_c) = (
        a.client(BANK_A).await,
        b.client(BANK_A).await,
        c.client(BANK_A).await,
    );
    let mut call = open_on(&mut on_a, "c-1").await.unwrap();
    call.send(customer("s1", LOST_CARD, 0)).await;
    let mut on_owner = call.until(is_suggestion).await;
    let watch_b = watch_on(&mut on_b, "c-1").await;
    let watch_c = watch_on(&mut on_c, "c-1").await;

    // A second stream for the live call, on another replica.
    let second = open_on(&mut on_b, "c-1").await.err().expect("refused");
    assert_status(&second, Code::AlreadyExists, "another replica");

    // Live call listed and summarized on replicas that do not own it.
    let live = eventually(|| {
        let mut on_c = on_c.clone();
        async move {
            listed(&mut on_c, false)
                .await
                .into_iter()
                .find(|c| c.call_id == "c-1")
        }
    })
    .await;
    assert!(live.streaming && !live.ended, "{live:?}");
    let so_far = eventually(|| {
        let mut on_b = on_b.clone();
        async move { summary_on(&mut on_b, "c-1").await.ok() }
    })
    .await;
    assert!(!so_far.ended);

    // Feedback through C, retried: counted once.
    let first = suggestions(&on_owner)[0].suggestion_id.clone();
    let accepted = eventually(|| {
        let (mut on_c, first) = (on_c.clone(), first.clone());
        async move { feedback(&mut on_c, "c-1", &first).await.ok() }
    })
    .await;
    assert!(accepted, "first feedback");
    assert!(
        !feedback(&mut on_c, "c-1", &first).await.unwrap(),
        "a retry is not counted again"
    );
    assert_status(
        &feedback(&mut on_c, "c-1", "sg-999").await.unwrap_err(),
        Code::NotFound,
        "sg-999",
    );

    // Another tenant sees nothing of it, on any replica.
    let mut other = b.client(BANK_B).await;
    assert_status(
        &summary_on(&mut other, "c-1").await.unwrap_err(),
        Code::NotFound,
        "c-1",
    );
    assert_status(
        &feedback(&mut other, "c-1", &first).await.unwrap_err(),
        Code::NotFound,
        "",
    );
    assert!(listed(&mut other, true).await.is_empty());

    call.send(customer("s2", STILL_WAITING, 4000)).await;
    call.send(customer("s3", THANKS, 9000)).await;
    call.send(end("hangup")).await;
    on_owner.extend(call.rest().await);
    assert!(is_summary(on_owner.last().unwrap()));

    for watched in [watched(watch_b).await, watched(watch_c).await] {
        assert_eq!(
            ids(&watched),
            ids(&on_owner),
            "same events, same ids, same order"
        );
        assert_eq!(watched, on_owner, "same content");
    }
    let summary = eventually(|| {
        let mut on_b = on_b.clone();
        async move { summary_on(&mut on_b, "c-1").await.ok().filter(|s| s.ended) }
    })
    .await;
    assert_eq!(summary, *summary_of(on_owner.last().unwrap()));
    assert_eq!(summary.suggestions_accepted, 1);
    assert_eq!(summary.customer_stats.unwrap().turns, 3);
    let ended = listed(&mut on_c, true).await;
    assert!(
        ended.iter().any(|c| c.call_id == "c-1" && c.ended),
        "{ended:?}"
    );
    assert!(listed(&mut on_c, false)
        .await
        .iter()
        .all(|c| c.call_id != "c-1"));
    drop((a, b, c));
}

/// The customer's turns of a call and what was said to be in it, checked
/// on whichever replica ends up holding the call.
fn intents_of(events: &[pb::AssistEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Some(Payload::Analysis(a)) if a.is_final => a.intent.as_ref().map(|i| i.intent.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_call_continues_on_another_from_its_checkpoint() {
    let redis = Redis::start();
    let (mut a, b) = (Replica::start(&redis), Replica::start(&redis));
    let (mut on_a, mut on_b) = (a.client(BANK_A).await, b.client(BANK_A).await);
    let mut call = open_on(&mut on_a, "c-2").await.unwrap();
    call.send(customer("s1", LOST_CARD, 0)).await;
    let before = call.until(is_analysis_of("s1")).await;
    // A watcher elsewhere sees s1, so its checkpoint is in Redis.
    let mut watch = watch_on(&mut on_b, "c-2").await;
    let mut seen = Vec::new();
    while seen
        .last()
        .is_none_or(|e: &pb::AssistEvent| e.segment_id != "s1")
    {
        seen.push(watch.message().await.unwrap().unwrap().event.unwrap());
    }
    a.kill();

    let (mut call, takeover) = reopen(&mut on_b, "c-2").await;
    assert!(
        takeover <= LEASE + Duration::from_secs(1),
        "took {takeover:?}"
    );
    call.send(customer("s2", STILL_WAITING, 4000)).await;
    call.send(end("hangup")).await;
    let after = call.rest().await;
    seen.extend(watched(watch).await);
    let expected: Vec<u64> = (1..=after.last().unwrap().event_id).collect();
    assert_eq!(ids(&seen), expected, "ids continue: none reused, none lost");
    assert!(after[0].event_id > ids(&before).into_iter().max().unwrap());
    let summary = summary_of(after.last().unwrap());
    assert_eq!(summary.customer_stats.unwrap().turns, 2, "every turn once");
    assert_eq!(summary.end_reason, "hangup");
    let card = intents_of(&before)[0].clone();
    assert!(
        summary.intents.contains(&card),
        "the intent from before the takeover is carried: {summary:?}"
    );
    // Suggestions shown before the takeover still take feedback.
    let shown_before = suggestions(&before).len() as u32;
    assert!(summary.suggestions_shown >= shown_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_replica_hands_its_calls_over_instead_of_ending_them() {
    let redis = Redis::start();
    let (a, b) = (Replica::start(&redis), Replica::start(&redis));
    let (mut on_a, mut on_b) = (a.client(BANK_A).await, b.client(BANK_A).await);
    // B must be known alive to A (its heartbeat) before A drains.
    tokio::time::sleep(LEASE).await;
    let mut call = open_on(&mut on_a, "c-3").await.unwrap();
    call.send(customer("s1", LOST_CARD, 0)).await;
    let before = call.until(is_analysis_of("s1")).await;
    sigterm(a.child.id());

    let status = call.error().await;
    assert_status(&status, Code::Unavailable, "reconnect");
    // No waiting for a lease: A released it with its checkpoint.
    let mut call = open_on(&mut on_b, "c-3").await.expect("taken over at once");
    call.send(customer("s2", STILL_WAITING, 4000)).await;
    call.send(end("hangup")).await;
    let after = call.rest().await;
    assert!(after[0].event_id > ids(&before).into_iter().max().unwrap());
    let summary = summary_of(after.last().unwrap());
    assert_eq!(summary.end_reason, "hangup", "not ended by the drain");
    assert_eq!(summary.customer_stats.unwrap().turns, 2);
    let stored = summary_on(&mut on_b, "c-3").await.unwrap();
    assert_eq!(stored.end_reason, "hangup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_does_not_stop_assists_and_watchers_catch_up() {
    let mut redis = Redis::start();
    let (a, b) = (Replica::start(&redis), Replica::start(&redis));
    let (mut on_a, mut on_b) = (a.client(BANK_A).await, b.client(BANK_A).await);
    let mut call = open_on(&mut on_a, "c-4").await.unwrap();
    call.send(customer("s1", LOST_CARD, 0)).await;
    let mut on_owner = call.until(is_analysis_of("s1")).await;
    let watch = watch_on(&mut on_b, "c-4").await;

    redis.stop();
    call.send(customer("s2", STILL_WAITING, 4000)).await;
    on_owner.extend(call.until(is_analysis_of("s2")).await);
    let helped = suggestions(&on_owner).len();
    assert!(helped >= 2, "assists go on from memory while Redis is down");
    redis.restart();

    call.send(customer("s3", THANKS, 9000)).await;
    call.send(end("hangup")).await;
    on_owner.extend(call.rest().await);
    let watched = watched(watch).await;
    assert_eq!(
        watched, on_owner,
        "the watcher elsewhere caught up, nothing missing"
    );
}

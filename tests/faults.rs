//! Faults against the real binary: SIGTERM under load (every call gets its
//! summary, nothing panics, the process exits within the drain deadline),
//! summaries and feedback surviving the restart, a TCP reset mid-call, and
//! no personal number in the logs at any level.

mod common;

use callassist::pb::{self, call_assist_service_client::CallAssistServiceClient};
use common::*;
use std::{
    net::SocketAddr,
    path::Path,
    process::{Child, Stdio},
    time::{Duration, Instant},
};
use tonic::{transport::Channel, Code};

/// Calls open when SIGTERM arrives.
const CALLS: usize = 40;

/// The personal numbers said in the calls, as a log must never show them.
const NUMBERS: &[&str] = &[
    "6222021234567894",
    "6222 0212 3456 7894",
    "11010519491231002X",
    "13800138000",
    "幺三八零零幺三八零零零",
    "jane.doe@example.com",
];

/// Starts `callassist serve` logging everything (trace) to `log`.
fn spawn_server(addr: SocketAddr, summaries: &Path, log: &Path) -> Child {
    serve_command(addr, None)
        .args(["--set", &format!("summary_log={}", summaries.display())])
        .args(["--set", "drain_timeout=5s", "--set", "log_level=trace"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the binary starts")
}

async fn connect(addr: SocketAddr) -> CallAssistServiceClient<Channel> {
    CallAssistServiceClient::new(channel_to(addr).await)
}

fn terminate(child: &Child) {
    sigterm(child.id());
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit in {within:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_summary_and_no_log_line_holds_a_personal_number() {
    let dir = tempfile::tempdir().unwrap();
    let summaries = dir.path().join("summaries.jsonl");
    let (log1, log2) = (dir.path().join("run1.log"), dir.path().join("run2.log"));
    let addr = free_addr();
    let mut server = spawn_server(addr, &summaries, &log1);
    let mut client = connect(addr).await;

    // One call ends normally, and is given feedback after hang-up.
    let mut ended = open(&mut client, start("ended-call")).await.unwrap();
    ended
        .send(customer(
            "e1",
            "我的卡丢了，卡号是6222 0212 3456 7894，我好担心",
            0,
        ))
        .await;
    ended.send(end("hangup")).await;
    let events = ended.rest().await;
    let shown: Vec<String> = suggestions(&events)
        .iter()
        .map(|s| s.suggestion_id.clone())
        .collect();
    assert!(shown.len() >= 2, "two suggestions to give feedback on");
    let suggestion_id = shown[0].clone();
    client
        .submit_feedback(pb::SubmitFeedbackRequest {
            call_id: "ended-call".into(),
            suggestion_id,
            action: pb::FeedbackAction::Accepted as i32,
        })
        .await
        .unwrap();

    // CALLS calls are mid-conversation, each having said personal numbers.
    let mut streams = Vec::new();
    for n in 0..CALLS {
        let mut call = open(&mut client, start(&format!("live-{n}")))
            .await
            .unwrap();
        call.send(customer(
            "c1",
            "身份证号11010519491231002X，我的电话是幺三八零零幺三八零零零",
            0,
        ))
        .await;
        call.send(agent("a1", "好的，请问邮箱是jane.doe@example.com吗", 3000))
            .await;
        call.until(is_analysis_of("a1")).await;
        streams.push(call);
    }

    terminate(&server);
    for call in &mut streams {
        let rest = call.rest().await;
        let summary = summary_of(rest.last().expect("a summary after SIGTERM"));
        assert_eq!(summary.end_reason, "server_shutdown");
    }
    let status = wait_exit(&mut server, Duration::from_secs(8));
    assert!(status.success(), "clean exit after the drain: {status:?}");

    // Restart on the same summary log: every summary is there.
    let mut server = spawn_server(addr, &summaries, &log2);
    let mut client = connect(addr).await;
    let mut lost = 0;
    for n in 0..CALLS {
        match call_summary(&mut client, &format!("live-{n}")).await {
            Ok(s) => assert!(s.ended && s.end_reason == "server_shutdown"),
            Err(_) => lost += 1,
        }
    }
    assert_eq!(lost, 0, "summaries lost over a graceful restart");
    // A console opening an ended call after the restart gets its summary.
    let mut watch = watch_call(&mut client, "live-0", 0).await.unwrap();
    let first = watch.message().await.unwrap().expect("the summary");
    let event = first.event.unwrap();
    assert!(is_summary(&event) && event.event_id > 1);
    assert_eq!(
        first.dropped_events,
        event.event_id - 1,
        "told what it missed"
    );
    assert!(
        watch.message().await.unwrap().is_none(),
        "then the stream ends"
    );
    let before = call_summary(&mut client, "ended-call").await.unwrap();
    assert_eq!(
        before.suggestions_accepted, 1,
        "feedback survives the restart"
    );
    let reused = open(&mut client, start("ended-call")).await;
    let status = match reused {
        Err(status) => status,
        Ok(mut call) => call.next().await.unwrap_err(),
    };
    assert_eq!(status.code(), Code::AlreadyExists, "ended ids stay used");
    // Feedback after the restart on a call known only from the log counts,
    // once, and is itself durable.
    for (suggestion, action, first) in [
        (&shown[1], pb::FeedbackAction::Dismissed, true),
        (&shown[1], pb::FeedbackAction::Dismissed, false),
        (&shown[0], pb::FeedbackAction::Accepted, false),
    ] {
        let response = client
            .submit_feedback(pb::SubmitFeedbackRequest {
                call_id: "ended-call".into(),
                suggestion_id: suggestion.clone(),
                action: action as i32,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.first_feedback, first);
    }
    terminate(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(8)).success());
    let log3 = dir.path().join("run3.log");
    let mut server = spawn_server(addr, &summaries, &log3);
    let mut client = connect(addr).await;
    let after = call_summary(&mut client, "ended-call").await.unwrap();
    assert_eq!(
        (after.suggestions_accepted, after.suggestions_dismissed),
        (1, 1),
        "feedback after a restart survives the next one"
    );
    terminate(&server);
    assert!(wait_exit(&mut server, Duration::from_secs(8)).success());

    let logs = [&log1, &log2, &log3]
        .iter()
        .map(|log| std::fs::read_to_string(log).unwrap())
        .collect::<String>();
    assert!(logs.lines().count() > 100, "trace logging was on");
    for number in NUMBERS {
        assert!(!logs.contains(number), "a log line holds {number}");
    }
    assert!(!logs.contains("panicked"));
}

#[tokio::test]
async fn a_tcp_reset_mid_call_leaves_the_call_resumable_and_others_untouched() {
    use tokio::net::TcpStream;
    let server = start_server().await;
    let mut client = server.client().await;
    let mut other = open(&mut client, start("bystander")).await.unwrap();

    // A raw HTTP/2 client starts a call, then its socket is reset.
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    #[allow(deprecated)]
    tcp.set_linger(Some(Duration::ZERO)).unwrap();
    let (h2, connection) = h2::client::handshake(tcp).await.unwrap();
    let driver = tokio::spawn(connection);
    let mut h2 = h2.ready().await.unwrap();
    let request = http::Request::post(format!(
        "http://{}/callassist.v1.CallAssistService/StreamCall",
        server.addr
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(())
    .unwrap();
    let (response, mut body) = h2.send_request(request, false).unwrap();
    body.send_data(grpc_frame(&start("reset-call")), false)
        .unwrap();
    body.send_data(grpc_frame(&customer("s1", "我想查一下余额", 0)), false)
        .unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    let mut events = response.into_body();
    let first = events.data().await.expect("an event").unwrap();
    assert!(!first.is_empty());
    // Reset: the connection task and the socket (linger 0 → RST) go away.
    driver.abort();
    drop(events);
    drop(body);
    drop(h2);

    // The call waits for its client; it resumes on a new connection.
    let mut resumed = eventually(|| {
        let mut client = client.clone();
        async move { open(&mut client, start("reset-call")).await.ok() }
    })
    .await;
    resumed
        .send(customer("s2", "还有上个月的交易明细", 2000))
        .await;
    resumed.until(is_analysis_of("s2")).await;
    resumed.send(end("hangup")).await;
    let rest = resumed.rest().await;
    assert_eq!(summary_of(rest.last().unwrap()).intents.len(), 2);

    // The bystander call never noticed.
    other.send(customer("b1", "我的卡丢了", 0)).await;
    other.until(is_analysis_of("b1")).await;
    server.shutdown().await.unwrap();
}

/// One gRPC length-prefixed message.
fn grpc_frame(message: &impl prost::Message) -> bytes::Bytes {
    let body = message.encode_to_vec();
    let mut frame = Vec::with_capacity(body.len() + 5);
    frame.push(0);
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    frame.into()
}

//! 10,000 random and adversarial requests against the real binary: odd
//! Unicode, oversized and repeated fields, invalid UTF-8 and random bytes at
//! the HTTP/2 level, messages out of order. Every one must get a status (no
//! panic, no hang); afterwards the server is healthy, serves a normal call,
//! and its memory is back near its baseline.

mod common;

use callassist::{
    loadgen::rss_bytes,
    pb::{self, call_assist_service_client::CallAssistServiceClient},
    rng::XorShift,
};
use common::*;
use std::{collections::BTreeMap, net::SocketAddr, process::Stdio, time::Duration};
use tonic::{transport::Channel, Code};

const REQUESTS: usize = 10_000;
const WORKERS: usize = 16;

/// Pieces hostile text is made of.
const ODD: &[&str] = &[
    "\u{200b}",
    "\u{200d}",
    "\u{feff}",
    "\u{202e}",
    "\u{200f}",
    "\u{0301}\u{0301}\u{0301}",
    "👩‍👩‍👧‍👦",
    "\u{0}",
    "\u{7f}",
    "Ｆｕｌｌ",
    "卡丢了",
    "我的卡號6222021234567894",
    "ﷺ",
    "𝕳𝖊𝖑𝖑𝖔",
    "\u{10ffff}",
    "a",
    " ",
    "\n",
];

fn hostile_text(rng: &mut XorShift) -> String {
    match rng.below(10) {
        0 => "x".repeat(1 << 20), // 1 MB: over the message limit
        1 => "卡".repeat(5000),   // over max_segment_bytes
        2 => String::new(),       // empty
        3 => ODD[rng.below(ODD.len())].repeat(1 + rng.below(2000)),
        _ => (0..1 + rng.below(60))
            .map(|_| ODD[rng.below(ODD.len())])
            .collect(),
    }
}

/// One gRPC length-prefixed message.
fn frame(body: &[u8]) -> bytes::Bytes {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(0);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out.into()
}

/// Bytes that are not what a gRPC method expects: random bytes, a text
/// field holding invalid UTF-8, a length prefix that lies.
fn raw_body(rng: &mut XorShift) -> bytes::Bytes {
    match rng.below(3) {
        0 => {
            let n = rng.below(200);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            frame(&bytes)
        }
        1 => {
            // field 1 (text), wire type 2, invalid UTF-8.
            let text = [0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82];
            let mut body = vec![0x0a, text.len() as u8];
            body.extend_from_slice(&text);
            frame(&body)
        }
        _ => {
            let mut lie = vec![0, 0, 0, 0x10, 0];
            lie.extend_from_slice(b"short");
            lie.into()
        }
    }
}

/// Sends one raw HTTP/2 gRPC request; returns its grpc-status (or the
/// HTTP status when there are no trailers).
async fn raw_request(
    h2: &mut h2::client::SendRequest<bytes::Bytes>,
    addr: SocketAddr,
    method: &str,
    body: bytes::Bytes,
) -> Option<i32> {
    let request = http::Request::post(format!(
        "http://{addr}/callassist.v1.CallAssistService/{method}"
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(())
    .unwrap();
    let mut ready = h2.clone().ready().await.ok()?;
    let (response, mut stream) = ready.send_request(request, false).ok()?;
    stream.send_data(body, true).ok()?;
    let response = response.await.ok()?;
    if let Some(status) = response.headers().get("grpc-status") {
        return status.to_str().ok()?.parse().ok();
    }
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let _ = chunk.map(|c| body.flow_control().release_capacity(c.len()));
    }
    let trailers = body.trailers().await.ok()??;
    trailers.get("grpc-status")?.to_str().ok()?.parse().ok()
}

/// One request of the mix; returns the status code it got.
async fn one(
    client: &mut CallAssistServiceClient<Channel>,
    h2: &mut h2::client::SendRequest<bytes::Bytes>,
    addr: SocketAddr,
    rng: &mut XorShift,
    n: usize,
) -> Code {
    match rng.below(5) {
        0 | 1 => {
            let request = pb::AnalyzeUtteranceRequest {
                text: hostile_text(rng),
                language_code: ["", "zh-CN", "xx", "en-US\u{0}"][rng.below(4)].into(),
                speaker: [0, 1, 2, 99, -1][rng.below(5)],
            };
            match client.analyze_utterance(request).await {
                Ok(_) => Code::Ok,
                Err(status) => status.code(),
            }
        }
        2 => {
            let method = [
                "AnalyzeUtterance",
                "StreamCall",
                "GetCallSummary",
                "SubmitFeedback",
            ][rng.below(4)];
            raw_request(h2, addr, method, raw_body(rng))
                .await
                .map_or(Code::Unknown, Code::from)
        }
        _ => {
            // A StreamCall whose messages come in a random, often wrong order.
            let id = format!("adv-{n}");
            let mut metadata = BTreeMap::new();
            if rng.below(10) == 0 {
                for k in 0..5000 {
                    metadata.insert(format!("key-{k}"), "v".repeat(20));
                }
            }
            let first = match rng.below(4) {
                0 => customer("s1", "我的卡丢了", 0),
                _ => pb::StreamCallRequest {
                    event: Some(pb::stream_call_request::Event::Start(pb::CallStart {
                        call_id: [id.as_str(), "", "bad id!", "\u{202e}x"][rng.below(4)].into(),
                        agent_id: hostile_text(rng).chars().take(100).collect(),
                        language_code: String::new(),
                        metadata: metadata.into_iter().collect(),
                    })),
                },
            };
            let mut call = match open(client, first).await {
                Ok(call) => call,
                Err(status) => return status.code(),
            };
            for k in 0..1 + rng.below(6) {
                let message = match rng.below(6) {
                    0 => start(&id),
                    1 => segment(
                        &format!("s{}", rng.below(3)),
                        pb::Speaker::Customer,
                        &hostile_text(rng),
                        rng.below(2) == 0,
                        (rng.next_u64() % 100_000) as u32,
                        (rng.next_u64() % 100_000) as u32,
                    ),
                    2 => pb::StreamCallRequest { event: None },
                    3 => end(&"r".repeat(rng.below(300))),
                    _ => customer(&format!("k{k}"), &hostile_text(rng), k as u32 * 1000),
                };
                if call.tx.send(message).await.is_err() {
                    break;
                }
            }
            drop(call.tx);
            loop {
                match tokio::time::timeout(PATIENCE, call.rx.message()).await {
                    Ok(Ok(Some(_))) => continue,
                    Ok(Ok(None)) => return Code::Ok,
                    Ok(Err(status)) => return status.code(),
                    Err(_) => panic!("a stream hung"),
                }
            }
        }
    }
}

fn rss_mb(pid: u32) -> f64 {
    rss_bytes(pid).expect("/proc is readable") as f64 / 1e6
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hostile_requests_leave_the_server_healthy_and_memory_at_baseline() {
    let addr = free_addr();
    let mut server = serve_command(addr, None)
        .args(["--set", "idle_timeout=1s", "--set", "summary_retention=1s"])
        .args(["--set", "log_level=warn"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = server.id();
    let channel = channel_to(addr).await;
    let run = |from: usize, to: usize| {
        let channel = channel.clone();
        async move {
            let mut tasks = Vec::new();
            for w in 0..WORKERS {
                let channel = channel.clone();
                tasks.push(tokio::spawn(async move {
                    let mut client = CallAssistServiceClient::new(channel);
                    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
                    let (mut h2, connection) = h2::client::handshake(tcp).await.unwrap();
                    tokio::spawn(connection);
                    let mut rng = XorShift::seeded(w as u64 + 1 + from as u64);
                    let mut codes = BTreeMap::<String, usize>::new();
                    for n in (from + w..to).step_by(WORKERS) {
                        let code = one(&mut client, &mut h2, addr, &mut rng, n).await;
                        *codes.entry(format!("{code:?}")).or_default() += 1;
                    }
                    codes
                }));
            }
            let mut codes = BTreeMap::<String, usize>::new();
            for task in tasks {
                for (code, n) in task.await.expect("no worker panicked") {
                    *codes.entry(code).or_default() += n;
                }
            }
            codes
        }
    };
    let settle = || tokio::time::sleep(Duration::from_secs(3));

    // Warm up (allocator arenas, lazy tables), then the baseline.
    let warm = REQUESTS / 10;
    let mut codes = run(0, warm).await;
    settle().await;
    let baseline = rss_mb(pid);
    for (code, n) in run(warm, REQUESTS).await {
        *codes.entry(code).or_default() += n;
    }
    let peak = rss_mb(pid);
    settle().await;
    let after = rss_mb(pid);
    eprintln!(
        "adversarial: {REQUESTS} requests, codes {codes:?}; RSS baseline {baseline:.1} MB, right after {peak:.1} MB, settled {after:.1} MB"
    );
    assert_eq!(codes.values().sum::<usize>(), REQUESTS);
    assert!(
        !codes.contains_key("Unknown"),
        "every request got a proper gRPC status: {codes:?}"
    );
    for expected in ["InvalidArgument", "Internal", "Ok"] {
        assert!(codes.contains_key(expected), "{expected} in {codes:?}");
    }
    assert!(
        after <= baseline * 1.25 + 16.0,
        "memory back near baseline: {baseline:.1} MB before, {after:.1} MB after"
    );

    // Still healthy, and a normal call is served.
    let target = callassist::client::Target {
        addr: format!("http://{addr}"),
        ..Default::default()
    };
    assert!(callassist::client::health(&target, "").await.unwrap());
    let mut client = CallAssistServiceClient::new(channel);
    let mut call = open(&mut client, start("after-the-storm")).await.unwrap();
    call.send(customer("s1", "我的卡丢了，我好担心", 0)).await;
    call.until(is_analysis_of("s1")).await;
    call.send(end("hangup")).await;
    assert!(is_summary(call.rest().await.last().unwrap()));

    sigterm(pid);
    let _ = server.wait();
}

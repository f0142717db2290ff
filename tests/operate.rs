//! What an SRE and a console developer see: Prometheus metrics moving after
//! a replay, the console's files, gRPC-Web with CORS on the gRPC port, the
//! binary starting in a Kubernetes pod's environment.

mod common;

use callassist::{pb, replay, server};
use common::*;
use std::{net::SocketAddr, path::Path};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// A server with its HTTP port (metrics, console) on a free port.
async fn start_with_http() -> (TestServer, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (addr, http_addr) = (listener.local_addr().unwrap(), http.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(server::serve_with_http(
        listener,
        Some(http),
        test_config(),
        async {
            let _ = stopped.await;
        },
    ));
    (TestServer::from_parts(addr, stop, handle), http_addr)
}

/// One HTTP/1.1 exchange: (status line and headers, body).
async fn http(addr: SocketAddr, request: &[u8]) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response))
        .await
        .expect("the response in time")
        .unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    (head, response[split + 4..].to_vec())
}

async fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (head, body) = http(addr, request.as_bytes()).await;
    (head, String::from_utf8_lossy(&body).to_string())
}

/// The value of a sample line `name{labels} value` in a scrape (0 if absent).
fn sample(scrape: &str, name_and_labels: &str) -> f64 {
    scrape
        .lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_after_a_replay() {
    let (server, http_addr) = start_with_http().await;
    let (head, before) = get(http_addr, "/metrics").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/calls/zh-lost-card-anxious.jsonl");
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
    let report = replay::replay(replay::load(&file).unwrap(), &options, &mut Vec::new())
        .await
        .unwrap();
    // A refused request is counted by its code.
    let mut client = server.client().await;
    let _ = call_summary(&mut client, "no-such-call").await.unwrap_err();

    let (_, after) = get(http_addr, "/metrics").await;
    let moved = |series: &str| sample(&after, series) - sample(&before, series);
    assert!(
        moved(r#"callassist_segments_total{speaker="customer",final="true"}"#)
            >= f64::from(report.final_analyses) / 2.0,
        "{after}"
    );
    assert!(
        moved(r#"callassist_events_total{kind="analysis"}"#) >= f64::from(report.final_analyses)
    );
    assert!(moved(r#"callassist_events_total{kind="suggestion"}"#) >= 1.0);
    assert!(moved(r#"callassist_events_total{kind="summary"}"#) >= 1.0);
    assert!(after.contains(r#"callassist_suggestions_total{kind="empathy",rule=""#));
    assert!(moved(r#"callassist_requests_rejected_total{code="not_found"}"#) >= 1.0);
    for stage in ["normalize", "classify", "emotion", "entities", "policy"] {
        let count = format!(r#"callassist_stage_duration_seconds_count{{stage="{stage}"}}"#);
        assert!(moved(&count) >= 1.0, "{stage} timed");
    }
    assert!(after.contains("callassist_segment_duration_seconds_bucket{le=\"0.001\"}"));
    assert!(after.contains("# TYPE callassist_calls_open gauge"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_console_is_served_and_grpc_web_works_across_origins() {
    let (server, http_addr) = start_with_http().await;
    let (head, page) = get(http_addr, "/console").await;
    assert!(head.starts_with("HTTP/1.1 200") && head.contains("text/html"));
    assert!(page.contains("/console/console.js"));
    let (_, config) = get(http_addr, "/console/config.json").await;
    assert_eq!(config, format!("{{\"grpcPort\":{}}}", server.addr.port()));
    let (head, _) = get(http_addr, "/nothing-here").await;
    assert!(head.starts_with("HTTP/1.1 404"));

    // A browser's CORS preflight for a gRPC-Web call from the console origin.
    let origin = format!("http://{http_addr}");
    let preflight = format!(
        "OPTIONS /callassist.v1.CallAssistService/AnalyzeUtterance HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type,x-grpc-web,authorization\r\nConnection: close\r\n\r\n",
        server.addr
    );
    let (head, _) = http(server.addr, preflight.as_bytes()).await;
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("access-control-allow-origin: *"), "{head}");
    assert!(lower.contains("authorization"), "{head}");

    // The gRPC-Web call itself, over HTTP/1.1.
    let message = prost::Message::encode_to_vec(&pb::AnalyzeUtteranceRequest {
        text: "我的卡丢了".into(),
        ..Default::default()
    });
    let mut body = vec![0u8];
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);
    let mut request = format!(
        "POST /callassist.v1.CallAssistService/AnalyzeUtterance HTTP/1.1\r\nHost: {}\r\nOrigin: {origin}\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.addr,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let (head, response) = http(server.addr, &request).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("access-control-expose-headers"));
    // Chunked: find the message frame (flag 0) and the trailer frame.
    let text = String::from_utf8_lossy(&response);
    assert!(text.contains("card_lost_stolen"), "{text}");
    assert!(text.contains("grpc-status:0"), "{text}");
    server.shutdown().await.unwrap();
}

/// A pod started after a Service named `callassist` gets the variables
/// Kubernetes injects for it (service links); they are not settings. A
/// mistyped setting still stops start-up.
#[tokio::test]
async fn kubernetes_service_link_variables_do_not_stop_start_up_but_a_typo_does() {
    use std::process::Stdio;
    let addr = free_addr();
    let mut pod = serve_command(addr, None)
        .env("CALLASSIST_PORT", "tcp://10.0.0.1:50051")
        .env("CALLASSIST_PORT_50051_TCP", "tcp://10.0.0.1:50051")
        .env("CALLASSIST_PORT_50051_TCP_ADDR", "10.0.0.1")
        .env("CALLASSIST_SERVICE_HOST", "10.0.0.1")
        .env("CALLASSIST_SERVICE_PORT", "50051")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut client =
        pb::call_assist_service_client::CallAssistServiceClient::new(channel_to(addr).await);
    let listed = client.list_calls(pb::ListCallsRequest::default()).await;
    pod.kill().unwrap();
    pod.wait().unwrap();
    assert!(listed.is_ok(), "{listed:?}");

    let typo = serve_command(free_addr(), None)
        .env("CALLASSIST_MAX_CALS", "5")
        .output()
        .unwrap();
    assert!(!typo.status.success());
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(
        stderr.contains("CALLASSIST_MAX_CALS") && stderr.contains("unknown key"),
        "{stderr}"
    );
}

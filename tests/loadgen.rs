//! `callassist loadgen` drives the real server (and the echo server)
//! correctly: every call completes, every final gets its Analysis, nothing
//! fails. How fast is for BENCHMARKS.md, not for tests.

mod common;

use callassist::{
    loadgen::{self, chart, Options, Profile},
    Config,
};
use common::*;
use std::time::Duration;

fn options(server: &TestServer, profile: Profile) -> Options {
    Options {
        target: callassist::client::Target {
            addr: server.url(),
            ..Default::default()
        },
        calls: 12,
        duration: Duration::from_millis(600),
        ramp: Duration::from_millis(200),
        profile,
        watchers: 1,
        speed: 25.0,
        call_length: None,
        streams_per_connection: 5,
        seed: 3,
        server_pids: vec![std::process::id()],
        replicas: Vec::new(),
        progress: false,
    }
}

#[tokio::test]
async fn realistic_load_completes_every_call_and_measures_every_final() {
    let server = start_server().await;
    let report = loadgen::run(&options(&server, Profile::Realistic))
        .await
        .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.calls_started >= 12, "every slot ran a call");
    assert_eq!(report.calls_completed, report.calls_started);
    assert_eq!(report.settings.connections, 3, "12 calls, 5 per connection");
    assert!(
        report.segments_sent > report.finals_sent,
        "interims were sent"
    );
    assert_eq!(
        report.analyses, report.finals_sent,
        "one Analysis per final"
    );
    assert_eq!(report.analysis_latency_us.count, report.finals_sent);
    assert!(report.suggestions > 0 && report.suggestion_latency_us.count > 0);
    assert!(
        report.watcher_events > report.analyses,
        "watchers saw the calls"
    );
    assert_eq!(report.dropped_watcher_events, 0);
    assert!(report.timeline.iter().any(|t| t.server_rss_bytes.is_some()));
    assert!(
        report.server_cpu_s.is_some_and(|c| c >= 0.0),
        "the server's CPU is measured with --server-pid"
    );
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert!(json["analysis_latency_us"]["p99"].as_u64().unwrap() > 0);
    let svg = chart::svg(&report);
    assert!(svg.starts_with("<svg") && svg.matches("<polyline").count() == 4);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn burst_load_against_the_echo_server_answers_every_final() {
    let server = start_server_with(Config {
        echo: true,
        ..test_config()
    })
    .await;
    let report = loadgen::run(&Options {
        watchers: 0,
        ..options(&server, Profile::Burst)
    })
    .await
    .unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.calls_completed, report.calls_started);
    assert!(report.finals_sent > 12, "closed loop kept sending");
    assert_eq!(report.analyses, report.finals_sent);
    assert_eq!(report.suggestions, 0, "the echo server only echoes");
    server.shutdown().await.unwrap();
}

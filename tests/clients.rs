//! The example clients in `examples/clients/` (Python grpcio, Node
//! @grpc/grpc-js) stream a recorded call to the real server and print the
//! assists. Each test installs its client's packages itself (a venv and
//! `npm ci` under `target/tmp`).

mod common;

use common::*;
use std::path::Path;

const RECORDING: &str = "examples/calls/en-declined-abroad.jsonl";

/// Checks what a client printed for the recording.
fn check(name: &str, output: std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the {name} client failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("analysis") && l.contains("card_declined")),
        "{stdout}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("suggestion") && l.contains("[confirmation]")),
        "{stdout}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with("summary    card_declined")),
        "the summary last: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_example_client_prints_the_assists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (python, stubs) = tokio::task::spawn_blocking(grpc_python).await.unwrap();
    let server = start_server().await;
    let output = tokio::process::Command::new(python)
        .arg(root.join("examples/clients/python/stream_call.py"))
        .arg(server.addr.to_string())
        .arg(root.join(RECORDING))
        .arg(stubs)
        .output()
        .await
        .unwrap();
    check("python", output);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_example_client_prints_the_assists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("examples/clients/node");
    tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            if !dir.join("node_modules/@grpc/grpc-js").exists() {
                run(std::process::Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                    .current_dir(&dir));
            }
        }
    })
    .await
    .unwrap();
    let server = start_server().await;
    let output = tokio::process::Command::new("node")
        .arg(dir.join("stream_call.mjs"))
        .arg(server.addr.to_string())
        .arg(root.join(RECORDING))
        .output()
        .await
        .unwrap();
    check("node", output);
    server.shutdown().await.unwrap();
}

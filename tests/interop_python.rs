//! Interoperability: a Python grpcio client, with stubs generated from
//! `proto/` by grpcio-tools, runs a whole call, watches it, and reads health.
//!
//! The test installs its Python packages itself into a virtual environment
//! under `target/tmp/` (once; later runs reuse it), so it needs only
//! `python3` and access to PyPI.

mod common;

use common::*;
use std::path::Path;

#[tokio::test(flavor = "multi_thread")]
async fn a_python_grpcio_client_runs_watches_and_checks_health() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (python, stubs) = tokio::task::spawn_blocking(grpc_python).await.unwrap();

    let server = start_server().await;
    let addr = server.addr.to_string();
    let client = root.join("tests/interop/client.py");
    let output = tokio::process::Command::new(&python)
        .arg(&client)
        .arg(&addr)
        .arg(&stubs)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("interop OK"),
        "python client failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

//! Interoperability: a Python grpcio client, with stubs generated from
//! `proto/` by grpcio-tools, runs a whole call, watches it, and reads health.
//!
//! The test installs its Python packages itself into a virtual environment
//! under `target/tmp/` (once; later runs reuse it), so it needs only
//! `python3` and access to PyPI.

mod common;

use common::*;
use std::{
    path::{Path, PathBuf},
    process::Command,
};

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The virtual environment with the pinned requirements, created on first use.
fn venv(root: &Path) -> PathBuf {
    let requirements = root.join("tests/interop/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-venv");
    let marker = venv.join("requirements.installed");
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run(Command::new(python)
            .args(["-m", "venv", "--clear"])
            .arg(&venv));
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--disable-pip-version-check", "-r"])
            .arg(&requirements));
        std::fs::write(&marker, wanted).unwrap();
    }
    venv.join("bin/python")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_grpcio_client_runs_watches_and_checks_health() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = tokio::task::spawn_blocking({
        let root = root.to_path_buf();
        move || venv(&root)
    })
    .await
    .unwrap();
    let stubs = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-stubs");
    std::fs::create_dir_all(&stubs).unwrap();
    run(Command::new(&python)
        .args(["-m", "grpc_tools.protoc", "-Iproto", "--python_out"])
        .arg(&stubs)
        .arg("--grpc_python_out")
        .arg(&stubs)
        .arg("proto/callassist/v1/call_assist.proto")
        .current_dir(root));

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

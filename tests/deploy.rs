//! deploy/ as a cluster and an SRE would check it: the Kubernetes manifests
//! validate strictly against the Kubernetes OpenAPI schemas
//! (`kubernetes-validate` from PyPI, installed by the test), probes use gRPC
//! health, the dashboard covers exactly the exported metrics, the Dockerfile
//! builds the README's way. (The Docker engine is not on these machines;
//! the image itself is not built here.)

mod common;

use callassist::instruments;
use common::*;
use std::{path::Path, process::Command};

#[test]
fn the_deployment_files_validate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = python_venv("deploy-venv", &root.join("tests/deploy/requirements.txt"));
    let exported = [
        instruments::CALLS_OPEN,
        instruments::WATCHERS,
        instruments::SEGMENTS,
        instruments::EVENTS,
        instruments::SUGGESTIONS,
        instruments::ALERTS,
        instruments::FEEDBACK,
        instruments::STAGE_SECONDS,
        instruments::SEGMENT_SECONDS,
        instruments::WATCHER_DROPPED,
        instruments::REJECTED,
        instruments::PLAYBOOK_RELOADS,
        instruments::REDIS_BACKLOG,
        instruments::REDIS_WRITTEN,
        instruments::REDIS_DROPPED,
        instruments::REDIS_ERRORS,
        instruments::REDIS_SECONDS,
    ];
    let output = Command::new(python)
        .arg(root.join("tests/deploy/check.py"))
        .arg(root)
        .args(exported)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("deploy OK"),
        "deploy check failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

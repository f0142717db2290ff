//! Hot reload: a changed playbook file is checked and swapped in while calls
//! go on. The next segment of every call uses the new playbook; a file that
//! does not check keeps the old playbook in force and the log says why.
//!
//! Two triggers, both on the same [`reload`]: the file's modification time
//! and length, polled ([`watch`]; no platform file-notification
//! dependency, and it works on a Kubernetes ConfigMap volume whose symlink
//! is swapped), and `SIGHUP` (wired in the binary).

use crate::pipeline::Pipeline;
use crate::playbook::Playbook;
use std::{path::Path, sync::Arc, time::Duration, time::SystemTime};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The new playbook is in force.
    Reloaded,
    /// The file could not be used; the old playbook stays.
    Rejected(String),
}

/// Loads `path` and, if it checks, puts it in force in `pipeline`.
pub fn reload(path: &Path, pipeline: &Pipeline) -> Outcome {
    match Playbook::load(path) {
        Ok(playbook) => {
            info!(playbook = %playbook, "playbook reloaded");
            pipeline.set_playbook(Arc::new(playbook));
            crate::instruments::playbook_reload(true);
            Outcome::Reloaded
        }
        Err(e) => {
            warn!(error = %e, "playbook not reloaded; the previous one stays in force");
            crate::instruments::playbook_reload(false);
            Outcome::Rejected(e.to_string())
        }
    }
}

/// The file's identity for change detection: modification time and length
/// (either changes when an editor or a ConfigMap update rewrites it).
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Polls `path` every `interval` and reloads it when it changes, until
/// `stop` is cancelled.
pub async fn watch(
    path: std::path::PathBuf,
    pipeline: Arc<Pipeline>,
    interval: Duration,
    stop: CancellationToken,
) {
    let mut last = stamp(&path);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = stamp(&path);
        if now != last && now.is_some() {
            last = now;
            reload(&path, &pipeline);
        }
    }
}

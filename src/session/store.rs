//! The durable record of ended calls: an append-only JSONL file, one line
//! per summary (a later line for the same call — feedback after hang-up —
//! supersedes earlier ones), written and fsynced by one writer thread.
//!
//! GetCallSummary reads it when a call is no longer in memory: after a
//! restart, or once the in-memory retention has evicted the call. At start
//! the file is scanned once to index the newest line of each call; a last
//! line cut short by a crash is skipped.
//!
//! Queue: summaries reach the writer through a channel bounded by
//! [`WRITE_QUEUE`]; when it is full the call that is ending waits (nothing
//! accepted is dropped). The writer writes everything queued, then fsyncs
//! once (group commit), so a burst of hang-ups costs one fsync, not one
//! each. [`SummaryLog::close`] drains the queue and syncs before the server
//! exits.

use super::{CallId, CallKey, CallSummary, FeedbackAction, Tenant};
use crate::Error;
use parking_lot::Mutex;
use std::{
    collections::{BTreeMap, HashMap},
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Seek, SeekFrom, Write},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{mpsc, Arc},
    thread::JoinHandle,
};
use tracing::{error, info};

/// Summaries waiting for the writer at most; beyond, ending calls wait.
pub const WRITE_QUEUE: usize = 4096;

/// One line of the file.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Line {
    /// The tenant the call belongs to (empty without authentication).
    tenant: String,
    /// The call.
    call_id: String,
    /// The summary event's id in the call (a console watching the ended
    /// call after a restart gets the summary under its own id).
    #[serde(default)]
    event_id: u64,
    /// Every suggestion shown, with the agent's feedback so far: feedback
    /// given after a restart still counts once, and in the summary.
    #[serde(default)]
    feedback: BTreeMap<String, Option<FeedbackAction>>,
    /// Its summary (personal data already masked).
    summary: CallSummary,
}

/// A summary read back from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The summary event's id in its call.
    pub event_id: u64,
    /// The suggestions shown and their feedback.
    pub feedback: BTreeMap<String, Option<FeedbackAction>>,
    /// The summary.
    pub summary: CallSummary,
}

/// The summary file and its index.
#[derive(Debug)]
pub struct SummaryLog {
    /// Where the file is (for messages).
    path: PathBuf,
    /// A read handle: lines are read at their offset.
    reader: File,
    /// The offset of the newest line of each call in the file.
    index: Arc<Mutex<HashMap<CallKey, u64>>>,
    /// To the writer thread; `None` once closed.
    queue: Mutex<Option<mpsc::SyncSender<(CallKey, String)>>>,
    /// The writer thread, joined by `close`.
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl SummaryLog {
    /// Opens (or creates) the file at `path`, indexes it and starts the
    /// writer.
    pub fn open(path: &Path) -> Result<SummaryLog, Error> {
        let fail = |e: std::io::Error| Error::Io(format!("summary_log {}: {e}", path.display()));
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(fail)?;
        let (index, end, torn) = scan(&file).map_err(fail)?;
        if torn {
            // Start the next line on a line of its own.
            file.write_all(b"\n").map_err(fail)?;
        }
        let calls = index.len();
        let index = Arc::new(Mutex::new(index));
        let (tx, rx) = mpsc::sync_channel(WRITE_QUEUE);
        let writer_file = file.try_clone().map_err(fail)?;
        let writer_index = index.clone();
        let name = path.display().to_string();
        let mut offset = file.seek(SeekFrom::End(0)).map_err(fail)?.max(end);
        let writer = std::thread::Builder::new()
            .name("summary-log".into())
            .spawn(move || {
                write_loop(rx, writer_file, &mut offset, &writer_index, &name);
            })
            .map_err(fail)?;
        info!(path = %path.display(), calls, "summary log opened");
        Ok(SummaryLog {
            path: path.to_path_buf(),
            reader: file,
            index,
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Queues `summary` to be written; waits if [`WRITE_QUEUE`] summaries
    /// are already waiting.
    pub fn append(
        &self,
        key: &CallKey,
        event_id: u64,
        summary: &CallSummary,
        feedback: BTreeMap<String, Option<FeedbackAction>>,
    ) {
        let line = Line {
            tenant: key.tenant.as_str().to_string(),
            call_id: key.id.to_string(),
            event_id,
            feedback,
            summary: summary.clone(),
        };
        let text = match serde_json::to_string(&line) {
            Ok(text) => text,
            Err(e) => {
                error!(error = %e, "a summary could not be serialized");
                return;
            }
        };
        if let Some(queue) = self.queue.lock().as_ref() {
            if queue.send((key.clone(), text)).is_err() {
                error!(path = %self.path.display(), "summary log writer has stopped; a summary was not written");
            }
        }
    }

    /// Whether the file holds a summary of the call.
    pub fn contains(&self, key: &CallKey) -> bool {
        self.index.lock().contains_key(key)
    }

    /// The newest summary of the call in the file.
    pub fn get(&self, tenant: &Tenant, call_id: &CallId) -> Result<Option<Stored>, Error> {
        let key = CallKey {
            tenant: tenant.clone(),
            id: call_id.clone(),
        };
        let Some(offset) = self.index.lock().get(&key).copied() else {
            return Ok(None);
        };
        let fail = |e: String| Error::Io(format!("summary_log {}: {e}", self.path.display()));
        let text = read_line_at(&self.reader, offset).map_err(|e| fail(e.to_string()))?;
        let line: Line = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
        // The index is keyed exactly; the check guards against a corrupt file.
        if line.tenant != tenant.as_str() || line.call_id != call_id.as_str() {
            return Err(fail(format!("line at byte {offset} is not call {call_id}")));
        }
        Ok(Some(Stored {
            event_id: line.event_id,
            feedback: line.feedback,
            summary: line.summary,
        }))
    }

    /// Writes and syncs everything queued, then stops the writer. Later
    /// appends are dropped (the server is exiting).
    pub fn close(&self) {
        self.queue.lock().take();
        if let Some(writer) = self.writer.lock().take() {
            let _ = writer.join();
        }
    }
}

impl Drop for SummaryLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// Indexes the file: the newest line of each call, the end of the last
/// complete line, and whether the file ends in the middle of a line.
fn scan(file: &File) -> std::io::Result<(HashMap<CallKey, u64>, u64, bool)> {
    let mut index = HashMap::new();
    let mut reader = BufReader::new(file.try_clone()?);
    reader.seek(SeekFrom::Start(0))?;
    let mut offset = 0u64;
    let mut line = String::new();
    let mut torn = false;
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            break;
        }
        if !line.ends_with('\n') {
            torn = true;
            break;
        }
        if let Ok(parsed) = serde_json::from_str::<Line>(&line) {
            if let Ok(id) = CallId::parse(&parsed.call_id, "call_id") {
                let key = CallKey {
                    tenant: Tenant::new(&parsed.tenant),
                    id,
                };
                index.insert(key, offset);
            }
        }
        offset += n as u64;
    }
    Ok((index, offset, torn))
}

/// The line that starts at `offset`, without its newline.
fn read_line_at(file: &File, offset: u64) -> std::io::Result<String> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut at = offset;
    loop {
        let n = file.read_at(&mut chunk, at)?;
        if n == 0 {
            break;
        }
        if let Some(end) = chunk[..n].iter().position(|&b| b == b'\n') {
            out.extend_from_slice(&chunk[..end]);
            break;
        }
        out.extend_from_slice(&chunk[..n]);
        at += n as u64;
    }
    String::from_utf8(out).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The writer thread: writes what is queued, fsyncs once, indexes it.
fn write_loop(
    rx: mpsc::Receiver<(CallKey, String)>,
    mut file: File,
    offset: &mut u64,
    index: &Mutex<HashMap<CallKey, u64>>,
    name: &str,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let mut buffer = Vec::new();
        let mut placed = Vec::with_capacity(batch.len());
        for (key, text) in batch {
            placed.push((key, *offset + buffer.len() as u64));
            buffer.extend_from_slice(text.as_bytes());
            buffer.push(b'\n');
        }
        let written = file.write_all(&buffer).and_then(|_| file.sync_data());
        match written {
            Ok(()) => {
                *offset += buffer.len() as u64;
                index.lock().extend(placed);
            }
            Err(e) => {
                error!(path = name, error = %e, lost = placed.len(), "summary log write failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tenant: &str, id: &str) -> CallKey {
        CallKey {
            tenant: Tenant::new(tenant),
            id: CallId::parse(id, "call_id").unwrap(),
        }
    }

    fn summary(id: &str, accepted: u32) -> CallSummary {
        CallSummary {
            call_id: id.into(),
            ended: true,
            end_reason: "hangup".into(),
            suggestions_accepted: accepted,
            ..CallSummary::default()
        }
    }

    #[test]
    fn summaries_survive_reopening_and_the_newest_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summaries.jsonl");
        let log = SummaryLog::open(&path).unwrap();
        log.append(&key("a", "c1"), 7, &summary("c1", 0), BTreeMap::new());
        log.append(&key("b", "c1"), 3, &summary("c1", 5), BTreeMap::new());
        log.append(&key("a", "c1"), 7, &summary("c1", 2), BTreeMap::new());
        log.close();
        drop(log);
        // A crash in the middle of a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"tenant\":\"a\",\"call_id\":\"c2\",\"summ")
            .unwrap();

        let log = SummaryLog::open(&path).unwrap();
        let a = key("a", "c1");
        let got = log.get(&a.tenant, &a.id).unwrap().unwrap();
        assert_eq!(got.summary.suggestions_accepted, 2, "the newest line wins");
        assert_eq!(got.event_id, 7);
        let b = key("b", "c1");
        let got = log.get(&b.tenant, &b.id).unwrap().unwrap();
        assert_eq!(got.summary.suggestions_accepted, 5);
        let torn = key("a", "c2");
        assert!(log.get(&torn.tenant, &torn.id).unwrap().is_none());
        log.append(&key("a", "c3"), 9, &summary("c3", 1), BTreeMap::new());
        log.close();
        drop(log);
        let log = SummaryLog::open(&path).unwrap();
        let c3 = key("a", "c3");
        let got = log.get(&c3.tenant, &c3.id).unwrap().unwrap();
        assert_eq!(got.summary.call_id, "c3");
    }
}

//! The one task that writes owners' changes to Redis.
//!
//! Queue: [`Record`]s reach it through a channel bounded by
//! [`BACKLOG_CAPACITY`]. A segment's assists never wait for Redis: the
//! owner queues and goes on. The writer takes everything queued (up to
//! [`MAX_BATCH`]) and applies it in one pipelined round trip, one script per
//! record. When Redis fails, the batch is kept and retried with backoff
//! (100 ms doubling to 2 s) while new records queue behind it; when the
//! queue is full, new records are dropped and counted
//! (`callassist_redis_dropped_total`): the owner's calls go on from memory,
//! and the next final's checkpoint carries the state forward.
//!
//! Each record's script is idempotent (an event id already in the stream
//! is skipped, suggestions are added with HSETNX), so a batch retried after
//! a half-applied attempt writes nothing twice.

use super::StreamEntries;
use crate::session::{CallKey, CallSummary, FeedbackAction};
use redis::aio::ConnectionManager;
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

/// Records waiting for the writer at most: at one record per segment
/// message, about a minute of 2,000 talking calls; ~1 KB each.
pub const BACKLOG_CAPACITY: usize = 65_536;

/// Records applied in one round trip at most.
const MAX_BATCH: usize = 256;

/// What one segment (or the end of a call) changed, for Redis.
#[derive(Debug)]
pub struct Record {
    /// The call.
    pub key: CallKey,
    /// The events it emitted, encoded, with their ids.
    pub events: StreamEntries,
    /// Ids of the suggestions among them (feedback may name them).
    pub shown: Vec<String>,
    /// The call's checkpoint, after a final segment.
    pub checkpoint: Option<Vec<u8>>,
    /// The call's listing fields now; `None` when the record must not
    /// touch the listing (a claim released before the call attached here:
    /// writing an empty listing would list a call that never started).
    pub listing: Option<Listing>,
    /// The summary, when the call ended.
    pub summary: Option<StoredSummary>,
    /// Give up the lease once this is written (the stream ended without
    /// `end`, or the replica hands the call over while draining).
    pub release: bool,
    /// Told when the record is in Redis (a hand-over waits for it).
    pub written: Option<oneshot::Sender<()>>,
}

impl Record {
    /// A record of `key` with its listing (if any) and nothing else yet.
    pub fn new(key: CallKey, listing: Option<Listing>) -> Self {
        Record {
            key,
            events: Vec::new(),
            shown: Vec::new(),
            checkpoint: None,
            listing,
            summary: None,
            release: false,
            written: None,
        }
    }
}

/// What `ListCalls` shows of a call.
#[derive(Debug, Default, Clone)]
pub struct Listing {
    /// The agent.
    pub agent: String,
    /// The language code, or empty.
    pub language: String,
    /// A stream is attached.
    pub streaming: bool,
    /// The call has ended.
    pub ended: bool,
    /// Events emitted so far.
    pub events: u64,
}

impl Listing {
    /// The listing of a call as the session layer describes it.
    pub fn of(info: &crate::session::CallInfo) -> Self {
        Listing {
            agent: info.agent_id.clone(),
            language: info
                .language
                .map(|l| l.code().to_string())
                .unwrap_or_default(),
            streaming: info.streaming,
            ended: info.ended,
            events: info.events,
        }
    }
}

/// An ended call's summary as stored.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct StoredSummary {
    /// The summary event's id.
    pub event_id: u64,
    /// The summary.
    pub summary: CallSummary,
}

/// How the writer writes (from the cluster settings).
#[derive(Debug, Clone)]
pub(super) struct Settings {
    /// This replica (a checkpoint is written only while it holds the lease).
    pub(super) replica: Arc<str>,
    /// Live calls' keys' time-to-live.
    pub(super) live_ttl: Duration,
    /// Ended calls' keys' time-to-live.
    pub(super) retention: Duration,
    /// Events kept per call stream.
    pub(super) stream_len: usize,
    /// Records queued and not yet written (a draining replica waits for 0).
    pub(super) pending: Arc<AtomicUsize>,
}

/// The stored form of a feedback action.
pub(super) fn action_code(action: FeedbackAction) -> &'static str {
    match action {
        FeedbackAction::Accepted => "accepted",
        FeedbackAction::Dismissed => "dismissed",
        FeedbackAction::NotHelpful => "not_helpful",
    }
}

/// A stored feedback action (`None` for "no feedback yet" or junk).
pub(super) fn parse_action(code: &str) -> Option<FeedbackAction> {
    match code {
        "accepted" => Some(FeedbackAction::Accepted),
        "dismissed" => Some(FeedbackAction::Dismissed),
        "not_helpful" => Some(FeedbackAction::NotHelpful),
        _ => None,
    }
}

/// Applies one record. KEYS: events, feedback, checkpoint, info, lease,
/// summary. ARGV: replica, stream length, live ttl ms, retention ms,
/// checkpoint or "", summary or "", release ("1" or "0"), then counted
/// lists: shown ids, info field/value pairs, event id/bytes pairs.
const APPLY: &str = r"
local replica, maxlen, live, keep = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ckpt, summary, release = ARGV[5], ARGV[6], ARGV[7]
local i = 8
local n = tonumber(ARGV[i]); i = i + 1
for j = 1, n do redis.call('HSETNX', KEYS[2], ARGV[i], ''); i = i + 1 end
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then redis.call('HSET', KEYS[4], unpack(ARGV, i, i + 2 * n - 1)); i = i + 2 * n end
n = tonumber(ARGV[i]); i = i + 1
local last = 0
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if top[1] then last = tonumber(string.match(top[1][1], '^(%d+)')) end
for j = 1, n do
  local id = tonumber(ARGV[i])
  if id > last then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxlen, ARGV[i] .. '-0', 'e', ARGV[i + 1])
    last = id
  end
  i = i + 2
end
local owner = redis.call('GET', KEYS[5])
local ttl = live
if summary ~= '' then
  redis.call('SET', KEYS[6], summary, 'PX', keep)
  redis.call('DEL', KEYS[3])
  if owner == replica then redis.call('DEL', KEYS[5]) end
  ttl = keep
elseif ckpt ~= '' and (owner == replica or not owner) then
  redis.call('SET', KEYS[3], ckpt, 'PX', live)
end
if release == '1' and owner == replica then redis.call('DEL', KEYS[5]) end
for _, k in ipairs({KEYS[1], KEYS[2], KEYS[4]}) do redis.call('PEXPIRE', k, ttl) end
return last
";

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The commands of a batch: one script per record, and the tenants' call
/// indexes (separate keys, possibly on other shards).
fn pipeline(batch: &[Record], settings: &Settings, sha: &str) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    let now = super::now_ms();
    for record in batch {
        let keys = super::Keys::of(&record.key);
        let mut apply = redis::cmd("EVALSHA");
        apply
            .arg(sha)
            .arg(6)
            .arg(&keys.events)
            .arg(&keys.feedback)
            .arg(&keys.checkpoint)
            .arg(&keys.info)
            .arg(&keys.lease)
            .arg(&keys.summary)
            .arg(&*settings.replica)
            .arg(settings.stream_len)
            .arg(ms(settings.live_ttl))
            .arg(ms(settings.retention))
            .arg(record.checkpoint.as_deref().unwrap_or_default())
            .arg(
                record
                    .summary
                    .as_ref()
                    .map(|s| serde_json::to_vec(s).expect("a summary serializes"))
                    .unwrap_or_default(),
            )
            .arg(if record.release { "1" } else { "0" })
            .arg(record.shown.len());
        for id in &record.shown {
            apply.arg(id);
        }
        let bit = |b: bool| if b { "1" } else { "0" };
        match &record.listing {
            Some(l) => apply
                .arg(5)
                .arg("agent")
                .arg(&l.agent)
                .arg("language")
                .arg(&l.language)
                .arg("streaming")
                .arg(bit(l.streaming))
                .arg("ended")
                .arg(bit(l.ended))
                .arg("events")
                .arg(l.events),
            None => apply.arg(0),
        };
        apply.arg(record.events.len());
        for (id, bytes) in &record.events {
            apply.arg(id).arg(bytes.as_slice());
        }
        pipe.add_command(apply).ignore();
        pipe.zadd(
            super::Keys::index(&record.key.tenant),
            record.key.id.as_str(),
            now,
        )
        .ignore();
    }
    pipe
}

/// Runs until every sender is gone and the queue is written.
pub(super) async fn run(
    mut conn: ConnectionManager,
    mut queue: mpsc::Receiver<Record>,
    settings: Settings,
) {
    let mut batch: Vec<Record> = Vec::new();
    let mut sha: Option<String> = None;
    let mut backoff = Duration::from_millis(100);
    let mut failing = false;
    loop {
        if batch.is_empty() {
            match queue.recv().await {
                Some(record) => batch.push(record),
                None => return,
            }
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let result = async {
            let loaded = match &sha {
                Some(sha) => sha.clone(),
                None => {
                    let loaded: String = redis::cmd("SCRIPT")
                        .arg("LOAD")
                        .arg(APPLY)
                        .query_async(&mut conn)
                        .await?;
                    sha = Some(loaded.clone());
                    loaded
                }
            };
            pipeline(&batch, &settings, &loaded)
                .query_async::<()>(&mut conn)
                .await
        }
        .await;
        crate::instruments::redis_latency(started.elapsed());
        match result {
            Ok(()) => {
                crate::instruments::redis_backlog(-(batch.len() as i64));
                crate::instruments::redis_written(batch.len());
                settings.pending.fetch_sub(batch.len(), Ordering::AcqRel);
                for record in batch.drain(..) {
                    if let Some(written) = record.written {
                        let _ = written.send(());
                    }
                }
                backoff = Duration::from_millis(100);
                if failing {
                    failing = false;
                    info!("Redis is back: the backlog is written");
                }
            }
            Err(e) => {
                crate::instruments::redis_error();
                // A restarted Redis has forgotten the script.
                sha = None;
                if !failing {
                    failing = true;
                    warn!(
                        error = %e,
                        queued = batch.len() + queue.len(),
                        "Redis write failed: retrying; calls go on from memory"
                    );
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}

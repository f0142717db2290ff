//! Cluster mode: many replicas as one service on Redis (DESIGN.md
//! "Cluster mode").
//!
//! Off by default; on with `cluster_redis_url`. Then:
//!
//! - **Ownership**: a live call is owned by the replica whose lease key it
//!   holds (`SET … NX PX lease`), renewed while its stream lives
//!   ([`Cluster::run_upkeep`]). Another replica's `StreamCall` for it gets
//!   `ALREADY_EXISTS`; when the owner's stream is gone the lease is released
//!   (client left) or lapses (replica died) and any replica takes the call
//!   over ([`Cluster::claim`]).
//! - **Checkpoints and events**: after every segment that emitted events the
//!   owner queues a [`Record`] (the events, the call's checkpoint after a
//!   final, the suggestions shown, its listing); one writer task applies the
//!   queue to Redis in pipelined, idempotent scripts ([`writer`]). The
//!   segment's assists never wait for Redis.
//! - **Everything else** (`WatchCall`, `SubmitFeedback`, `GetCallSummary`,
//!   `ListCalls`) reads Redis, so it works on any replica.
//!
//! Keys carry the tenant and call id in a hash tag, `callassist:{t/c}:…`, so
//! a Redis Cluster keeps one call's keys on one shard and the scripts touch
//! one slot. Only the tenant's call index and the replica set are global.
//!
//! Nothing here knows gRPC: events arrive already encoded by the adapter.

mod keys;
mod writer;

pub use keys::Keys;
pub use writer::{Listing, Record, StoredSummary, BACKLOG_CAPACITY};

use crate::{
    domain::Language,
    session::{
        CallId, CallInfo, CallKey, CallStart, CallSummary, Checkpoint, FeedbackAction, Registry,
        Tenant,
    },
    Error,
};
use redis::{aio::ConnectionManager, AsyncCommands};
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How cluster mode is configured (part of [`crate::Config`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// `redis://` or `rediss://` (TLS) URL of the Redis (or Valkey) server
    /// (`cluster_redis_url`); `None`: cluster mode is off.
    pub redis_url: Option<String>,
    /// Password for Redis, if not in the URL (from a Secret through
    /// `CALLASSIST_CLUSTER_REDIS_PASSWORD`).
    pub password: Option<String>,
    /// How long a lease outlives its owner (`cluster_lease`): the bound on
    /// how long a call of a dead replica waits before another can take it
    /// over.
    pub lease: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            redis_url: None,
            password: None,
            lease: Duration::from_secs(8),
        }
    }
}

impl std::fmt::Debug for Settings {
    /// Never prints credentials (the password, or one inside the URL).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = self.redis_url.as_deref().map(|u| match u.rsplit_once('@') {
            Some((_, host)) => format!("{}://***@{host}", u.split(':').next().unwrap_or("redis")),
            None => u.to_string(),
        });
        f.debug_struct("Settings")
            .field("redis_url", &url)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("lease", &self.lease)
            .finish()
    }
}

/// The replica's handle on Redis.
#[derive(Debug)]
pub struct Cluster {
    /// This replica's id (host name and process id): the lease holder value.
    replica: Arc<str>,
    /// Creates dedicated connections (a watcher's blocking reads).
    client: redis::Client,
    /// The shared, auto-reconnecting connection for everything else.
    conn: ConnectionManager,
    /// Lease time-to-live.
    lease: Duration,
    /// How long a live call's keys live without a write (its idle time-out
    /// plus retention), and an ended call's (the summary retention).
    live_ttl: Duration,
    /// An ended call's keys' time-to-live.
    retention: Duration,
    /// Events kept per call stream (like `event_history`).
    stream_len: usize,
    /// The writer's queue (bounded by [`BACKLOG_CAPACITY`]).
    records: mpsc::Sender<Record>,
    /// Records queued and not yet written.
    pending: Arc<AtomicUsize>,
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A Redis failure as the service reports it: what needs Redis is
/// unavailable while it is down.
fn unavailable(what: &str, e: redis::RedisError) -> Error {
    crate::instruments::redis_error();
    Error::Unavailable(format!(
        "{what} needs the cluster's Redis, which is not reachable now ({}); retry shortly",
        e
    ))
}

/// Claims a call for this replica. KEYS: lease, checkpoint, summary,
/// events. ARGV: replica, lease ms. Returns `{"ended"}`, `{"owned"}`, or
/// `{"ok", checkpoint or "", last event id}`.
const CLAIM: &str = r"
if redis.call('EXISTS', KEYS[3]) == 1 then return {'ended'} end
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return {'owned'} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local top = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local last = '0'
if top[1] then last = string.match(top[1][1], '^(%d+)') end
return {'ok', redis.call('GET', KEYS[2]) or '', last}
";

/// Renews leases (or takes back a lapsed one after an outage). KEYS: the
/// leases. ARGV: replica, lease ms. Returns how many are held by another.
const RENEW: &str = r"
local lost = 0
for _, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if owner == ARGV[1] or not owner then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  else
    lost = lost + 1
  end
end
return lost
";

/// Records feedback once. KEYS: feedback hash. ARGV: suggestion id,
/// action, "1" if the owner knows the suggestion (it may not be written
/// yet). Returns -1 (no such suggestion), 1 (first feedback), 0.
const FEEDBACK: &str = r"
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  if ARGV[3] ~= '1' then return -1 end
  v = ''
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if v == '' then return 1 end
return 0
";

/// Events of a call as a watcher reads them: (event id, encoded event).
pub type StreamEntries = Vec<(u64, Vec<u8>)>;

impl Cluster {
    /// Connects (lazily: the service starts while Redis is down and catches
    /// up when it is back) and starts the writer task.
    pub fn connect(
        settings: &Settings,
        limits: &crate::session::Limits,
    ) -> Result<Arc<Cluster>, Error> {
        use redis::IntoConnectionInfo;
        let bad = |e: redis::RedisError| Error::Config(format!("cluster_redis_url: {e}"));
        let url = settings
            .redis_url
            .as_deref()
            .ok_or_else(|| Error::Config("cluster_redis_url: not set".into()))?;
        let mut info = url.into_connection_info().map_err(bad)?;
        if let Some(password) = &settings.password {
            let redis = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(redis);
        }
        let client = redis::Client::open(info).map_err(bad)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(bad)?;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "replica".into());
        let replica: Arc<str> = format!("{host}/{}", std::process::id()).into();
        let (records, queue) = mpsc::channel(BACKLOG_CAPACITY);
        let cluster = Arc::new(Cluster {
            replica,
            client,
            conn: conn.clone(),
            lease: settings.lease,
            live_ttl: limits.idle_timeout + limits.summary_retention,
            retention: limits.summary_retention,
            stream_len: limits.event_history.max(16),
            records,
            pending: Arc::new(AtomicUsize::new(0)),
        });
        tokio::spawn(writer::run(conn, queue, cluster.writer_settings()));
        info!(replica = %cluster.replica, "cluster mode: calls are shared through Redis");
        Ok(cluster)
    }

    fn writer_settings(&self) -> writer::Settings {
        writer::Settings {
            replica: self.replica.clone(),
            live_ttl: self.live_ttl,
            retention: self.retention,
            stream_len: self.stream_len,
            pending: self.pending.clone(),
        }
    }

    /// This replica's id.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Claims a call for a `StreamCall` on this replica: its checkpoint if
    /// it lived elsewhere (or here, before its stream broke) and continues
    /// from there, `None` for a new call; `ALREADY_EXISTS` if another
    /// replica owns it or it has ended, `UNAVAILABLE` if Redis cannot say. A
    /// resumed call's event ids continue after both its checkpoint and the
    /// newest event in its stream.
    pub async fn claim(&self, start: &CallStart) -> Result<Option<Checkpoint>, Error> {
        let key = CallKey {
            tenant: start.tenant.clone(),
            id: start.call_id.clone(),
        };
        let keys = Keys::of(&key);
        let mut conn = self.conn.clone();
        let reply: Vec<Vec<u8>> = redis::cmd("EVAL")
            .arg(CLAIM)
            .arg(4)
            .arg(&keys.lease)
            .arg(&keys.checkpoint)
            .arg(&keys.summary)
            .arg(&keys.events)
            .arg(&*self.replica)
            .arg(self.lease.as_millis() as u64)
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable("starting or resuming a call", e))?;
        let id = &start.call_id;
        match reply.first().map(Vec::as_slice) {
            Some(b"ended") => Err(Error::AlreadyExists(format!(
                "call {id} has ended; call ids are not reused"
            ))),
            Some(b"owned") => Err(Error::AlreadyExists(format!(
                "call {id} is already streaming on another replica (its lease lapses within {:?} of that stream ending)",
                self.lease
            ))),
            Some(b"ok") if reply.len() == 3 => {
                if reply[1].is_empty() {
                    return Ok(None);
                }
                let mut checkpoint = Checkpoint::decode(&reply[1])?;
                let last: u64 = std::str::from_utf8(&reply[2])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                checkpoint.next_event_id = checkpoint.next_event_id.max(last + 1);
                checkpoint.merge_feedback(&self.remote_feedback(&key).await);
                Ok(Some(checkpoint))
            }
            _ => Err(Error::Io("unexpected reply to the claim script".into())),
        }
    }

    /// Queues what a segment (or the call's end) changed for the writer. A
    /// full backlog (Redis down for long) drops the record and counts it:
    /// the owner's call goes on from memory.
    pub fn record(&self, record: Record) {
        self.pending.fetch_add(1, Ordering::AcqRel);
        match self.records.try_send(record) {
            Ok(()) => crate::instruments::redis_backlog(1),
            Err(_) => {
                self.pending.fetch_sub(1, Ordering::AcqRel);
                crate::instruments::redis_dropped();
            }
        }
    }

    /// Queues `record` and waits, at most `within`, until it is in Redis;
    /// whether it is. A hand-over tells the client to reconnect only once
    /// the call's checkpoint and released lease are where another replica
    /// will look.
    pub async fn record_and_wait(&self, mut record: Record, within: Duration) -> bool {
        let (written, done) = oneshot::channel();
        record.written = Some(written);
        self.record(record);
        matches!(tokio::time::timeout(within, done).await, Ok(Ok(())))
    }

    /// Feedback recorded in Redis for a call's suggestions (by any replica).
    pub async fn remote_feedback(&self, key: &CallKey) -> Vec<(String, FeedbackAction)> {
        let mut conn = self.conn.clone();
        let all: BTreeMap<String, String> = match conn.hgetall(Keys::of(key).feedback).await {
            Ok(all) => all,
            Err(e) => {
                crate::instruments::redis_error();
                warn!(error = %e, "could not read a call's feedback from Redis");
                return Vec::new();
            }
        };
        all.into_iter()
            .filter_map(|(id, action)| writer::parse_action(&action).map(|a| (id, a)))
            .collect()
    }

    /// Records feedback on a suggestion of a call, once across replicas:
    /// `Some(first)`, or `None` when Redis knows no such suggestion (unless
    /// `known`: the owner showed it and its record may still be queued).
    /// An ended call's stored summary gets the new counts.
    pub async fn feedback(
        &self,
        key: &CallKey,
        suggestion_id: &str,
        action: FeedbackAction,
        known: bool,
    ) -> Result<Option<bool>, Error> {
        let keys = Keys::of(key);
        let mut conn = self.conn.clone();
        let first: i64 = redis::cmd("EVAL")
            .arg(FEEDBACK)
            .arg(1)
            .arg(&keys.feedback)
            .arg(suggestion_id)
            .arg(writer::action_code(action))
            .arg(if known { "1" } else { "0" })
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable("feedback on a call of another replica", e))?;
        if first < 0 {
            return Ok(None);
        }
        if let Some(stored) = self.stored_summary(key).await? {
            let feedback: BTreeMap<String, Option<FeedbackAction>> = self
                .remote_feedback(key)
                .await
                .into_iter()
                .map(|(id, a)| (id, Some(a)))
                .chain(std::iter::once((suggestion_id.to_string(), Some(action))))
                .collect();
            let mut all = feedback;
            // Suggestions without feedback count as shown.
            for n in 1..=stored.summary.suggestions_shown {
                all.entry(format!("sg-{n}")).or_insert(None);
            }
            let updated = writer::StoredSummary {
                event_id: stored.event_id,
                summary: stored.summary.with_feedback(&all),
            };
            let _: () = redis::cmd("SET")
                .arg(&keys.summary)
                .arg(serde_json::to_vec(&updated).expect("a summary serializes"))
                .arg("KEEPTTL")
                .query_async(&mut conn)
                .await
                .map_err(|e| unavailable("feedback on an ended call", e))?;
        }
        Ok(Some(first == 1))
    }

    async fn stored_summary(&self, key: &CallKey) -> Result<Option<writer::StoredSummary>, Error> {
        let mut conn = self.conn.clone();
        let bytes: Option<Vec<u8>> = conn
            .get(Keys::of(key).summary)
            .await
            .map_err(|e| unavailable("a call's summary", e))?;
        bytes
            .map(|b| {
                serde_json::from_slice(&b)
                    .map_err(|e| Error::Io(format!("unreadable summary in Redis: {e}")))
            })
            .transpose()
    }

    /// A call's summary from Redis: the final one if it ended, else the
    /// summary so far from its checkpoint. `None` if Redis has neither.
    pub async fn summary(&self, key: &CallKey) -> Result<Option<CallSummary>, Error> {
        if let Some(stored) = self.stored_summary(key).await? {
            return Ok(Some(stored.summary));
        }
        let mut conn = self.conn.clone();
        let bytes: Option<Vec<u8>> = conn
            .get(Keys::of(key).checkpoint)
            .await
            .map_err(|e| unavailable("a call's summary", e))?;
        match bytes {
            None => Ok(None),
            Some(bytes) => {
                let mut checkpoint = Checkpoint::decode(&bytes)?;
                checkpoint.merge_feedback(&self.remote_feedback(key).await);
                Ok(Some(checkpoint.summary(&key.id)))
            }
        }
    }

    /// The tenant's calls across replicas (ended ones if `include_ended`),
    /// by call id, at most `limit`.
    pub async fn list(
        &self,
        tenant: &Tenant,
        include_ended: bool,
        limit: usize,
    ) -> Result<Vec<CallInfo>, Error> {
        let index = Keys::index(tenant);
        let mut conn = self.conn.clone();
        let fail = |e| unavailable("listing the calls of all replicas", e);
        let horizon = now_ms().saturating_sub((self.live_ttl).as_millis() as u64);
        let _: () = conn.zrembyscore(&index, 0, horizon).await.map_err(fail)?;
        let ids: Vec<String> = conn.zrange(&index, 0, -1).await.map_err(fail)?;
        let mut pipe = redis::pipe();
        let keys: Vec<CallKey> = ids
            .iter()
            .filter_map(|id| CallId::parse(id, "call_id").ok())
            .map(|id| CallKey {
                tenant: tenant.clone(),
                id,
            })
            .collect();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        for key in &keys {
            pipe.hgetall(Keys::of(key).info);
        }
        let infos: Vec<BTreeMap<String, String>> =
            pipe.query_async(&mut conn).await.map_err(fail)?;
        let mut calls: Vec<CallInfo> = keys
            .into_iter()
            .zip(infos)
            .filter(|(_, info)| !info.is_empty())
            .map(|(key, info)| {
                let field = |name: &str| info.get(name).map_or("", String::as_str);
                CallInfo {
                    call_id: key.id,
                    agent_id: field("agent").to_string(),
                    language: Language::from_code(field("language")),
                    streaming: field("streaming") == "1",
                    ended: field("ended") == "1",
                    events: field("events").parse().unwrap_or(0),
                }
            })
            .filter(|c| include_ended || !c.ended)
            .collect();
        calls.sort_by(|a, b| a.call_id.cmp(&b.call_id));
        calls.truncate(limit);
        Ok(calls)
    }

    /// A dedicated connection for a watcher's blocking reads (a blocking
    /// read would stall every other command on the shared connection).
    pub async fn watch_connection(&self) -> Result<redis::aio::MultiplexedConnection, Error> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(None);
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| unavailable("watching a call", e))
    }

    /// Events of a call after `after`, oldest first, waiting up to `block`
    /// for the first one (an empty answer when none came).
    pub async fn read_events(
        conn: &mut redis::aio::MultiplexedConnection,
        key: &CallKey,
        after: u64,
        block: Duration,
    ) -> Result<StreamEntries, Error> {
        let reply: Option<redis::streams::StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(256)
            .arg("BLOCK")
            .arg(block.as_millis() as u64)
            .arg("STREAMS")
            .arg(Keys::of(key).events)
            .arg(format!("{after}-0"))
            .query_async(conn)
            .await
            .map_err(|e| unavailable("watching a call", e))?;
        let mut entries = Vec::new();
        for stream in reply.into_iter().flat_map(|r| r.keys) {
            for entry in stream.ids {
                let id = entry
                    .id
                    .split('-')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let bytes = match entry.map.get("e") {
                    Some(redis::Value::BulkString(b)) => b.clone(),
                    _ => continue,
                };
                entries.push((id, bytes));
            }
        }
        Ok(entries)
    }

    /// Every lease period / 4: renews the leases of the calls streaming on
    /// this replica (and takes lapsed ones back after a Redis outage), and
    /// this replica's heartbeat, until `stop`.
    pub async fn run_upkeep(self: Arc<Self>, registry: Arc<Registry>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.lease / 4);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let attached = registry.attached();
            let started = std::time::Instant::now();
            let mut conn = self.conn.clone();
            let mut renew = redis::cmd("EVAL");
            renew.arg(RENEW).arg(attached.len());
            for call in &attached {
                renew.arg(Keys::of(call.key()).lease);
            }
            renew.arg(&*self.replica).arg(self.lease.as_millis() as u64);
            let mut pipe = redis::pipe();
            pipe.add_command(renew);
            let expiry = now_ms() + 3 * self.lease.as_millis() as u64;
            pipe.zadd(Keys::REPLICAS, &*self.replica, expiry).ignore();
            let result: redis::RedisResult<(i64,)> = pipe.query_async(&mut conn).await;
            crate::instruments::redis_latency(started.elapsed());
            match result {
                Ok((lost,)) if lost > 0 => {
                    warn!(
                        lost,
                        "calls streaming here are owned by another replica now"
                    )
                }
                Ok(_) => {}
                Err(e) => {
                    crate::instruments::redis_error();
                    warn!(error = %e, "Redis unreachable: calls here go on from memory");
                }
            }
        }
    }

    /// Whether another replica has a live heartbeat (a draining replica then
    /// hands its calls over instead of ending them). `false` when Redis
    /// cannot say: the safe choice is today's behaviour, a summary.
    pub async fn others_alive(&self) -> bool {
        let mut conn = self.conn.clone();
        let alive: redis::RedisResult<Vec<String>> =
            conn.zrangebyscore(Keys::REPLICAS, now_ms(), "+inf").await;
        alive.is_ok_and(|ids| ids.iter().any(|id| **id != *self.replica))
    }

    /// Leaves the replica set (at the end of a drain) and waits for the
    /// writer's backlog to reach Redis, at most `within`.
    pub async fn leave(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.pending.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut conn = self.conn.clone();
        let _: redis::RedisResult<()> = conn.zrem(Keys::REPLICAS, &*self.replica).await;
    }
}

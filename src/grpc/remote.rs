//! `WatchCall` in cluster mode: a call's events are read from its Redis
//! stream, whichever replica owns it, so every watcher on every replica sees
//! the same events, ids and order.
//!
//! The watcher does not poll: it holds a blocking `XREAD` on a connection of
//! its own. When Redis fails mid-watch it reconnects with backoff and goes
//! on from the last id it delivered, so nothing is missed; if Redis stays
//! away longer than [`WATCH_OUTAGE`] the watcher gets `UNAVAILABLE` (watch
//! again with `after_event_id` = the last id seen).

use super::WatchResponses;
use crate::{
    cluster::Cluster, instruments, pb, pb::assist_event::Payload as P, session::CallKey, Error,
};
use prost::Message as _;
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// Longest Redis outage a watcher waits through before it is told
/// `UNAVAILABLE`.
pub const WATCH_OUTAGE: Duration = Duration::from_secs(15);

/// How long one blocking read waits before the watcher checks that its
/// client is still there.
const BLOCK: Duration = Duration::from_secs(5);

/// One watcher of a call through Redis.
pub(super) struct Watch {
    /// Where the events are.
    cluster: Arc<Cluster>,
    /// The watched call.
    key: CallKey,
    /// The last event id delivered (or asked to start after).
    last: u64,
    /// The watcher's own connection (`None` after a failure).
    conn: Option<redis::aio::MultiplexedConnection>,
}

impl Watch {
    /// Opens the watcher's connection: `UNAVAILABLE` now, rather than a
    /// stream that never delivers, if Redis is down.
    pub(super) async fn open(
        cluster: Arc<Cluster>,
        key: CallKey,
        after_event_id: u64,
    ) -> Result<Self, Error> {
        let conn = cluster.watch_connection().await?;
        Ok(Watch {
            cluster,
            key,
            last: after_event_id,
            conn: Some(conn),
        })
    }

    /// Delivers the call's events after `last` until its summary, the client
    /// leaving, the replica draining, or a Redis outage longer than
    /// [`WATCH_OUTAGE`].
    pub(super) async fn run(mut self, tx: WatchResponses, shutdown: CancellationToken) {
        let mut outage: Option<tokio::time::Instant> = None;
        let mut backoff = Duration::from_millis(50);
        loop {
            let read = async {
                let conn = match self.conn.as_mut() {
                    Some(conn) => conn,
                    None => self.conn.insert(self.cluster.watch_connection().await?),
                };
                Cluster::read_events(conn, &self.key, self.last, BLOCK).await
            };
            let read = tokio::select! {
                _ = tx.closed() => return,
                _ = shutdown.cancelled() => {
                    let status = Error::Unavailable("replica draining: watch again (on any replica) with after_event_id = the last event id received".into());
                    let _ = tx.send(Err(status.into())).await;
                    return;
                }
                read = read => read,
            };
            let entries = match read {
                Ok(entries) => {
                    outage = None;
                    backoff = Duration::from_millis(50);
                    entries
                }
                Err(error) => {
                    self.conn = None;
                    let since = *outage.get_or_insert_with(tokio::time::Instant::now);
                    if since.elapsed() >= WATCH_OUTAGE {
                        let _ = tx.send(Err(error.into())).await;
                        return;
                    }
                    if backoff == Duration::from_millis(50) {
                        warn!("watcher lost Redis: reconnecting");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            };
            for (id, bytes) in entries {
                let event = match pb::AssistEvent::decode(bytes.as_slice()) {
                    Ok(event) => event,
                    Err(_) => {
                        warn!(event_id = id, "unreadable event in Redis: skipped");
                        self.last = id;
                        continue;
                    }
                };
                // Ids the stream no longer holds (trimmed) or never got
                // (dropped while Redis was down) are counted, as a local
                // watcher that fell behind counts them.
                let dropped = id.saturating_sub(self.last + 1);
                if dropped > 0 {
                    debug!(lost = dropped, "events missing from the call's stream");
                    instruments::watcher_dropped(dropped);
                }
                self.last = id;
                let end = matches!(event.payload, Some(P::Summary(_)));
                let response = pb::WatchCallResponse {
                    event: Some(event),
                    dropped_events: dropped,
                };
                if tx.send(Ok(response)).await.is_err() || end {
                    return;
                }
            }
        }
    }
}

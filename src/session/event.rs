//! Assist events and the per-call event log: ids, bounded history, and the
//! fan-out to watchers.

use super::{CallId, CallSummary};
use crate::pipeline::{Alert, Analysis, Suggestion};
use std::{collections::VecDeque, sync::Arc, time::Instant};
use tokio::sync::broadcast;

/// One thing the server tells about a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The call.
    pub call_id: CallId,
    /// 1, 2, 3 … per call, never reused.
    pub event_id: u64,
    /// The segment that caused it; empty for call-level events.
    pub segment_id: String,
    /// Time from receiving the segment to emitting this event, µs.
    pub processing_us: u32,
    /// What happened.
    pub payload: Payload,
}

/// The content of an [`Event`].
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// The understanding of a segment.
    Analysis(Analysis),
    /// A suggestion for the agent, with its id within the call.
    Suggestion {
        /// Unique within the call.
        id: String,
        /// The suggestion.
        suggestion: Suggestion,
    },
    /// An alert for a supervisor.
    Alert(Alert),
    /// A suggestion shown earlier no longer holds.
    Retraction {
        /// The withdrawn suggestion.
        suggestion_id: String,
        /// Why.
        reason: String,
    },
    /// The call's summary, its last event.
    Summary(Box<CallSummary>),
}

/// What a new watcher gets: the retained events it asked for, how many it
/// asked for that are no longer retained, and the live feed.
#[derive(Debug)]
pub struct Subscription {
    /// Retained events after the requested id, oldest first.
    pub replay: Vec<Arc<Event>>,
    /// Events after the requested id that already left the bounded history.
    pub missed: u64,
    /// Live events; `None` when the call has already ended (the replay then
    /// ends with the summary).
    pub live: Option<broadcast::Receiver<Arc<Event>>>,
}

/// The events of one call.
#[derive(Debug)]
pub(super) struct EventLog {
    /// Id of the next event.
    next_id: u64,
    /// The most recent events, for watchers that join late or reconnect.
    history: VecDeque<Arc<Event>>,
    /// Bound of `history`; the oldest event is dropped beyond it.
    history_capacity: usize,
    /// Fan-out to live watchers. Created with the first watcher so that calls
    /// nobody watches do not pay for its ring buffer; dropped when the call
    /// ends, which closes every watcher's feed.
    live: Option<broadcast::Sender<Arc<Event>>>,
    /// Capacity of the ring buffer of `live`: a watcher further behind loses
    /// the oldest events and is told how many.
    watcher_buffer: usize,
}

impl EventLog {
    pub(super) fn new(history_capacity: usize, watcher_buffer: usize) -> Self {
        EventLog {
            next_id: 1,
            history: VecDeque::new(),
            history_capacity,
            live: None,
            watcher_buffer,
        }
    }

    /// The log of a call restored from the summary log: only its summary.
    pub(super) fn ended_with(summary: Arc<Event>) -> Self {
        EventLog {
            next_id: summary.event_id + 1,
            history: VecDeque::from([summary]),
            history_capacity: 1,
            live: None,
            watcher_buffer: 1,
        }
    }

    /// Assigns the next id, records the event and sends it to watchers.
    pub(super) fn emit(
        &mut self,
        call_id: &CallId,
        segment_id: &str,
        received: Instant,
        payload: Payload,
    ) -> Arc<Event> {
        let event = Arc::new(Event {
            call_id: call_id.clone(),
            event_id: self.next_id,
            segment_id: segment_id.to_string(),
            processing_us: u32::try_from(received.elapsed().as_micros()).unwrap_or(u32::MAX),
            payload,
        });
        self.next_id += 1;
        crate::instruments::event(&event);
        if self.history_capacity > 0 {
            if self.history.len() == self.history_capacity {
                self.history.pop_front();
            }
            self.history.push_back(event.clone());
        }
        if let Some(live) = &self.live {
            // An error only means nobody is listening right now.
            let _ = live.send(event.clone());
        }
        event
    }

    /// Subscribes a watcher: replay after `after_event_id`, then live unless
    /// `ended`. Must be called under the call's lock so that no event falls
    /// between the replay and the live feed.
    pub(super) fn subscribe(&mut self, after_event_id: u64, ended: bool) -> Subscription {
        let last_id = self.next_id - 1;
        let oldest_retained = self.history.front().map_or(last_id + 1, |e| e.event_id);
        let missed = oldest_retained
            .saturating_sub(after_event_id + 1)
            .min(last_id.saturating_sub(after_event_id));
        let replay = self
            .history
            .iter()
            .filter(|e| e.event_id > after_event_id)
            .cloned()
            .collect();
        let live = (!ended).then(|| {
            self.live
                .get_or_insert_with(|| broadcast::channel(self.watcher_buffer).0)
                .subscribe()
        });
        Subscription {
            replay,
            missed,
            live,
        }
    }

    /// Keeps only the newest `keep` events of the history (an ended call's
    /// history, where memory matters more than replay depth).
    pub(super) fn shrink_history(&mut self, keep: usize) {
        while self.history.len() > keep {
            self.history.pop_front();
        }
        self.history.shrink_to_fit();
    }

    /// Watchers currently subscribed.
    pub(super) fn emitted(&self) -> u64 {
        self.next_id - 1
    }

    /// Watchers subscribed now.
    pub(super) fn watchers(&self) -> usize {
        self.live.as_ref().map_or(0, |l| l.receiver_count())
    }

    /// Closes the live feed: every watcher's stream ends after what it has.
    pub(super) fn close(&mut self) {
        self.live = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Alert, AlertKind};

    fn alert() -> Payload {
        Payload::Alert(Alert {
            kind: AlertKind::Complaint,
            text: String::new(),
            rationale: String::new(),
            rule_id: "complaint".into(),
        })
    }

    #[test]
    fn history_is_bounded_and_replay_reports_what_was_missed() {
        let id = CallId::parse("c", "call_id").unwrap();
        let mut log = EventLog::new(3, 8);
        for _ in 0..5 {
            log.emit(&id, "", Instant::now(), alert());
        }
        let s = log.subscribe(0, false);
        assert_eq!(
            s.replay.iter().map(|e| e.event_id).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(s.missed, 2);
        let s = log.subscribe(3, false);
        assert_eq!(s.replay.len(), 2);
        assert_eq!(s.missed, 0);
        let s = log.subscribe(5, false);
        assert!(s.replay.is_empty());
        assert_eq!(s.missed, 0);
    }

    #[test]
    fn live_watchers_get_new_events_after_the_replay() {
        let id = CallId::parse("c", "call_id").unwrap();
        let mut log = EventLog::new(10, 8);
        log.emit(&id, "", Instant::now(), alert());
        let mut s = log.subscribe(0, false);
        log.emit(&id, "", Instant::now(), alert());
        assert_eq!(s.replay.len(), 1);
        assert_eq!(s.live.as_mut().unwrap().try_recv().unwrap().event_id, 2);
        assert_eq!(log.watchers(), 1);
    }
}

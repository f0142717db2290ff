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
    pub segment_id: Arc<str>,
    /// Time from receiving the segment to emitting this event, µs.
    pub processing_us: u32,
    /// What happened.
    pub payload: Payload,
}

impl Event {
    /// Approximate bytes this event holds in memory (the shared struct and
    /// what its payload owns): the unit of a call's history bound.
    pub fn footprint(&self) -> usize {
        use std::mem::size_of;
        let owned = match &self.payload {
            Payload::Analysis(analysis) => analysis.heap_bytes(),
            Payload::Suggestion { id, suggestion } => {
                id.capacity() + suggestion.text.capacity() + suggestion.rationale.capacity()
            }
            Payload::Alert(alert) => alert.text.capacity() + alert.rationale.capacity(),
            Payload::Retraction {
                suggestion_id,
                reason,
            } => suggestion_id.capacity() + reason.capacity(),
            Payload::Summary(summary) => {
                size_of::<CallSummary>()
                    + summary.text.capacity()
                    + summary.emotion_timeline.capacity() * size_of::<super::EmotionPoint>()
                    + summary
                        .follow_ups
                        .iter()
                        .map(String::capacity)
                        .sum::<usize>()
            }
        };
        // The Arc's counts come with the struct.
        2 * size_of::<usize>() + size_of::<Event>() + self.segment_id.len() + owned
    }
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
    /// The most recent events, for watchers that join late or reconnect,
    /// in id order. Settled segments leave gaps (see [`EventLog::settle`]).
    history: VecDeque<Arc<Event>>,
    /// Bound of `history` in events; the oldest event is dropped beyond it.
    history_capacity: usize,
    /// Bound of `history` in bytes ([`Event::footprint`]): events differ
    /// in size by an order of magnitude, and a call's memory must stay flat
    /// however long it lasts. The newest event is always kept.
    history_bytes_capacity: usize,
    /// Footprint of the events in `history` now.
    history_bytes: usize,
    /// The newest id that left `history` because of its bound (0: none): a
    /// watcher asking for events after an older id has missed some.
    evicted_through: u64,
    /// Fan-out to live watchers. Created with the first watcher so that calls
    /// nobody watches do not pay for its ring buffer; dropped when the call
    /// ends, which closes every watcher's feed.
    live: Option<broadcast::Sender<Arc<Event>>>,
    /// Capacity of the ring buffer of `live`: a watcher further behind loses
    /// the oldest events and is told how many.
    watcher_buffer: usize,
}

impl EventLog {
    pub(super) fn new(
        history_capacity: usize,
        history_bytes_capacity: usize,
        watcher_buffer: usize,
    ) -> Self {
        EventLog {
            next_id: 1,
            history: VecDeque::new(),
            history_capacity,
            history_bytes_capacity,
            history_bytes: 0,
            evicted_through: 0,
            live: None,
            watcher_buffer,
        }
    }

    /// The log of a call restored from the summary log: only its summary.
    pub(super) fn ended_with(summary: Arc<Event>) -> Self {
        EventLog {
            next_id: summary.event_id + 1,
            evicted_through: summary.event_id.saturating_sub(1),
            history_bytes: summary.footprint(),
            history_bytes_capacity: usize::MAX,
            history: VecDeque::from([summary]),
            history_capacity: 1,
            live: None,
            watcher_buffer: 1,
        }
    }

    /// Continues the ids of a call taken over from another replica: the
    /// next event gets `next_id`; earlier ones count as missed for a local
    /// watcher.
    pub(super) fn resume_at(&mut self, next_id: u64) {
        self.next_id = next_id.max(1);
        self.evicted_through = self.next_id - 1;
    }

    /// Assigns the next id, records the event and sends it to watchers.
    pub(super) fn emit(
        &mut self,
        call_id: &CallId,
        segment_id: &Arc<str>,
        received: Instant,
        payload: Payload,
    ) -> Arc<Event> {
        let event = Arc::new(Event {
            call_id: call_id.clone(),
            event_id: self.next_id,
            segment_id: segment_id.clone(),
            processing_us: u32::try_from(received.elapsed().as_micros()).unwrap_or(u32::MAX),
            payload,
        });
        self.next_id += 1;
        crate::instruments::event(&event);
        if self.history_capacity == 0 {
            self.evicted_through = event.event_id;
        } else {
            self.history_bytes += event.footprint();
            self.history.push_back(event.clone());
            while self.history.len() > self.history_capacity
                || (self.history_bytes > self.history_bytes_capacity && self.history.len() > 1)
            {
                self.evict_oldest();
            }
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
        let missed = self.evicted_through.saturating_sub(after_event_id);
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
            self.evict_oldest();
        }
        self.history.shrink_to_fit();
    }

    fn evict_oldest(&mut self) {
        if let Some(event) = self.history.pop_front() {
            self.history_bytes -= event.footprint();
            self.evicted_through = event.event_id;
        }
    }

    /// Removes from the history what the final of `segment_id` superseded,
    /// looking at events from id `since` on (the segment's first): its
    /// interim analyses, and the suggestions its revisions withdrew. Their
    /// retractions stay, for watchers that saw the suggestion before they
    /// reconnect. A late watcher's replay is then what the agent's screen
    /// shows rather than every ASR revision, and a call's history holds
    /// ~40% fewer events.
    pub(super) fn settle(&mut self, segment_id: &str, since: u64) {
        let start = self.history.partition_point(|e| e.event_id < since);
        let ours = |e: &Event| e.event_id >= since && &*e.segment_id == segment_id;
        let withdrawn: Vec<String> = self
            .history
            .range(start..)
            .filter(|e| ours(e))
            .filter_map(|e| match &e.payload {
                Payload::Retraction { suggestion_id, .. } => Some(suggestion_id.clone()),
                _ => None,
            })
            .collect();
        let mut freed = 0;
        self.history.retain(|e| {
            let keep = !ours(e)
                || match &e.payload {
                    Payload::Analysis(analysis) => analysis.is_final,
                    Payload::Suggestion { id, .. } => !withdrawn.contains(id),
                    _ => true,
                };
            if !keep {
                freed += e.footprint();
            }
            keep
        });
        self.history_bytes -= freed;
    }

    /// Events emitted so far.
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
        let mut log = EventLog::new(3, usize::MAX, 8);
        for _ in 0..5 {
            log.emit(&id, &Arc::default(), Instant::now(), alert());
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
    fn a_final_settles_its_segment_and_replay_skips_what_it_superseded() {
        use crate::pipeline::{
            CallContext, Pipeline, Speaker, Suggestion, SuggestionKind, Utterance,
        };
        let pipeline = Pipeline::new();
        let analysis = |text: &str, is_final: bool| {
            let utterance = Utterance {
                embedding: None,
                text,
                speaker: Speaker::Customer,
                language: None,
                is_final,
            };
            Payload::Analysis(pipeline.analyze(&utterance, &CallContext::default()))
        };
        let suggestion = |id: &str| Payload::Suggestion {
            id: id.into(),
            suggestion: Suggestion {
                kind: SuggestionKind::Empathy,
                text: "I understand".into(),
                rationale: String::new(),
                confidence: 0.9,
                priority: 1,
                rule_id: "empathy.anxiety".into(),
            },
        };
        let retraction = |id: &str| Payload::Retraction {
            suggestion_id: id.into(),
            reason: "revised".into(),
        };
        let id = CallId::parse("c", "call_id").unwrap();
        let (c1, c2): (Arc<str>, Arc<str>) = ("c1".into(), "c2".into());
        let mut log = EventLog::new(4, usize::MAX, 8);
        let now = Instant::now();
        log.emit(&id, &c1, now, analysis("my card", false)); // 1: evicted below
        log.emit(&id, &c1, now, suggestion("sg-1")); // 2
        log.emit(&id, &c2, now, analysis("hello", false)); // 3: another segment
        log.emit(&id, &c1, now, analysis("my card is lost", false)); // 4
        log.emit(&id, &c1, now, retraction("sg-1")); // 5
        log.emit(&id, &c1, now, suggestion("sg-2")); // 6
        log.emit(&id, &c1, now, analysis("my card is lost", true)); // 7
                                                                    // History holds 4..7 (1–3 evicted); settling c1 from its first event
                                                                    // drops the interim analysis 4; sg-2 stands, so 6 stays; the
                                                                    // retraction 5 stays for watchers that saw sg-1.
        log.settle("c1", 1);
        let ids = |s: &Subscription| s.replay.iter().map(|e| e.event_id).collect::<Vec<_>>();
        let s = log.subscribe(0, false);
        assert_eq!(ids(&s), vec![5, 6, 7]);
        assert_eq!(s.missed, 3, "only the evicted events count as missed");
        let s = log.subscribe(3, false);
        assert_eq!((ids(&s), s.missed), (vec![5, 6, 7], 0));
        // A suggestion withdrawn before the final goes, its retraction stays.
        let mut log = EventLog::new(16, usize::MAX, 8);
        log.emit(&id, &c1, now, analysis("my card", false)); // 1
        log.emit(&id, &c1, now, suggestion("sg-1")); // 2
        log.emit(&id, &c2, now, analysis("hello", false)); // 3
        log.emit(&id, &c1, now, retraction("sg-1")); // 4
        log.emit(&id, &c1, now, analysis("my card is fine", true)); // 5
        log.settle("c1", 1);
        assert_eq!(ids(&log.subscribe(0, false)), vec![3, 4, 5]);
        assert_eq!(log.emitted(), 5);
    }

    #[test]
    fn history_is_bounded_by_bytes_too_and_keeps_the_newest() {
        let id = CallId::parse("c", "call_id").unwrap();
        let size = {
            let mut log = EventLog::new(10, usize::MAX, 8);
            log.emit(&id, &Arc::default(), Instant::now(), alert())
                .footprint()
        };
        let mut log = EventLog::new(100, 3 * size, 8);
        for _ in 0..10 {
            log.emit(&id, &Arc::default(), Instant::now(), alert());
        }
        let s = log.subscribe(0, false);
        assert_eq!(
            s.replay.iter().map(|e| e.event_id).collect::<Vec<_>>(),
            vec![8, 9, 10]
        );
        assert_eq!((s.missed, log.history_bytes), (7, 3 * size));
        // One event larger than the whole bound is still kept, alone.
        let mut log = EventLog::new(100, 1, 8);
        log.emit(&id, &Arc::default(), Instant::now(), alert());
        log.emit(&id, &Arc::default(), Instant::now(), alert());
        assert_eq!(log.subscribe(0, false).replay.len(), 1);
    }

    #[test]
    fn live_watchers_get_new_events_after_the_replay() {
        let id = CallId::parse("c", "call_id").unwrap();
        let mut log = EventLog::new(10, usize::MAX, 8);
        log.emit(&id, &Arc::default(), Instant::now(), alert());
        let mut s = log.subscribe(0, false);
        log.emit(&id, &Arc::default(), Instant::now(), alert());
        assert_eq!(s.replay.len(), 1);
        assert_eq!(s.live.as_mut().unwrap().try_recv().unwrap().event_id, 2);
        assert_eq!(log.watchers(), 1);
    }
}

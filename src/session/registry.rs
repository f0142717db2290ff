//! The registry of calls: one bounded concurrent map keyed by call id, the
//! rules for attaching streams and watchers, the idle time-out, retention of
//! ended calls, and the drain at shutdown.

use super::{
    call::{Call, Phase},
    CallId, CallInfo, CallKey, CallStart, CallSummary, Checkpoint, Event, FeedbackAction, Payload,
    Subscription, SummaryLog, Tenant,
};
use crate::Error;
use dashmap::{mapref::entry::Entry, DashMap};
use parking_lot::Mutex;
use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// The limits the registry enforces; part of the service configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Calls not yet ended (live, detached or watched-before-start) at most;
    /// more are refused with `ResourceExhausted`.
    pub max_calls: usize,
    /// Watchers per call at most.
    pub max_watchers_per_call: usize,
    /// How long a call whose client went away without `end` waits for the
    /// client to resume before it is finalized; also how long a call watched
    /// before it started waits for its start.
    pub idle_timeout: Duration,
    /// How long an ended call's summary and history are kept.
    pub summary_retention: Duration,
    /// How many ended calls are kept at most (oldest evicted first).
    pub summary_retention_count: usize,
    /// Events retained per call for watchers that join late.
    pub event_history: usize,
    /// Bytes of events retained per call at most (see
    /// [`Event::footprint`]): with `event_history`, what keeps a call's
    /// memory flat however long it lasts.
    pub event_history_bytes: usize,
    /// Events kept per ended call (the summary last): a console that joins
    /// after hang-up gets the end of the call and its summary, and the rest
    /// of a retained call's memory is freed.
    pub ended_event_history: usize,
    /// Events a watcher may fall behind before it loses the oldest.
    pub watcher_buffer: usize,
    /// Segment messages (interims included) one call may send; more are
    /// refused with `ResourceExhausted`. Bounds one call's work and state.
    pub max_segments_per_call: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_calls: 20_000,
            max_watchers_per_call: 16,
            idle_timeout: Duration::from_secs(300),
            summary_retention: Duration::from_secs(3600),
            summary_retention_count: 10_000,
            event_history: 128,
            event_history_bytes: 16 * 1024,
            ended_event_history: 16,
            watcher_buffer: 256,
            max_segments_per_call: 50_000,
        }
    }
}

/// A StreamCall attached to a call.
#[derive(Debug)]
pub struct Attachment {
    /// The call.
    pub call: Arc<Call>,
    /// Identifies this stream, so a stale stream cannot detach a newer one.
    pub generation: u64,
    /// True when the stream resumed a call started earlier.
    pub resumed: bool,
}

/// Every call the service knows, live or kept for its summary.
#[derive(Debug)]
pub struct Registry {
    /// The calls by tenant and id.
    calls: DashMap<CallKey, Arc<Call>>,
    /// The limits in force.
    limits: Limits,
    /// Calls in the map that have not ended; bounded by `limits.max_calls`.
    open_calls: AtomicUsize,
    /// Ended calls in the order they ended, for retention by time and count.
    ended: Mutex<VecDeque<(CallKey, Instant)>>,
    /// Set once shutdown begins: no new calls or watchers.
    draining: AtomicBool,
    /// Source of stream generations.
    next_generation: AtomicU64,
    /// Where ended calls' summaries are kept durably, if configured.
    store: Option<Arc<SummaryLog>>,
}

impl Registry {
    /// An empty registry.
    pub fn new(limits: Limits) -> Self {
        Registry {
            calls: DashMap::new(),
            limits,
            open_calls: AtomicUsize::new(0),
            ended: Mutex::new(VecDeque::new()),
            draining: AtomicBool::new(false),
            next_generation: AtomicU64::new(1),
            store: None,
        }
    }

    /// Also writes every ended call's summary (and its updates by later
    /// feedback) to `store`, and reads summaries from it that are no
    /// longer in memory.
    pub fn with_store(mut self, store: Arc<SummaryLog>) -> Self {
        self.store = Some(store);
        self
    }

    fn persist(&self, call: &Call, summary: &Event) {
        if let (Some(store), Payload::Summary(s)) = (&self.store, &summary.payload) {
            store.append(call.key(), summary.event_id, s, call.feedback_state());
        }
    }

    /// Calls not yet ended.
    pub fn open_calls(&self) -> usize {
        self.open_calls.load(Ordering::Relaxed)
    }

    /// Watchers subscribed to all calls (walks the map: for scrapes, not
    /// the hot path).
    pub fn watchers(&self) -> usize {
        self.calls
            .iter()
            .map(|e| e.value().with_state(|s| s.watchers()))
            .sum()
    }

    /// Calls in the map, ended ones included.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    fn reserve_slot(&self) -> Result<(), Error> {
        let before = self.open_calls.fetch_add(1, Ordering::AcqRel);
        if before >= self.limits.max_calls {
            self.open_calls.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::ResourceExhausted(format!(
                "{} calls are open, the configured maximum (max_calls)",
                self.limits.max_calls
            )));
        }
        Ok(())
    }

    fn check_not_draining(&self) -> Result<(), Error> {
        if self.draining.load(Ordering::Acquire) {
            return Err(Error::ShuttingDown);
        }
        Ok(())
    }

    /// Attaches a StreamCall: starts a new call, starts a call that consoles
    /// were already watching, or resumes a call whose client went away.
    pub fn attach(&self, start: CallStart) -> Result<Attachment, Error> {
        self.attach_from(start, None)
    }

    /// [`Registry::attach`], or with `checkpoint`, takes over a call another
    /// replica (or this one, before its stream broke) checkpointed, when
    /// this replica does not have it in memory.
    pub fn attach_from(
        &self,
        start: CallStart,
        checkpoint: Option<Checkpoint>,
    ) -> Result<Attachment, Error> {
        self.check_not_draining()?;
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let key = CallKey {
            tenant: start.tenant.clone(),
            id: start.call_id.clone(),
        };
        let id = key.id.clone();
        match self.calls.entry(key) {
            Entry::Vacant(slot) => {
                if self.store.as_ref().is_some_and(|s| s.contains(slot.key())) {
                    return Err(Error::AlreadyExists(format!(
                        "call {id} has ended; call ids are not reused"
                    )));
                }
                self.reserve_slot()?;
                let resumed = checkpoint.is_some();
                let call = Arc::new(match checkpoint {
                    Some(checkpoint) => Call::resumed(
                        slot.key().clone(),
                        start,
                        checkpoint,
                        &self.limits,
                        generation,
                    ),
                    None => {
                        let call = self.new_call(slot.key().clone(), Phase::Pending);
                        call.with_state(|s| s.begin(start, generation));
                        call
                    }
                });
                slot.insert(call.clone());
                Ok(Attachment {
                    call,
                    generation,
                    resumed,
                })
            }
            Entry::Occupied(slot) => {
                let call = slot.get().clone();
                call.with_state(|s| match s.phase {
                    Phase::Pending => {
                        s.begin(start, generation);
                        Ok(false)
                    }
                    Phase::Live { stream: None } => {
                        s.phase = Phase::Live {
                            stream: Some(generation),
                        };
                        Ok(true)
                    }
                    Phase::Live { stream: Some(_) } => Err(Error::AlreadyExists(format!(
                        "call {id} is already streaming on another StreamCall"
                    ))),
                    Phase::Ended => Err(Error::AlreadyExists(format!(
                        "call {id} has ended; call ids are not reused"
                    ))),
                })
                .map(|resumed| Attachment {
                    call,
                    generation,
                    resumed,
                })
            }
        }
    }

    /// Marks the call's client as gone (without `end`): the call waits
    /// `idle_timeout` for it to resume. Does nothing if another stream has
    /// attached since.
    pub fn detach(&self, attachment: &Attachment) {
        attachment.call.with_state(|s| {
            if s.phase
                == (Phase::Live {
                    stream: Some(attachment.generation),
                })
            {
                s.phase = Phase::Live { stream: None };
                s.since = Instant::now();
            }
        });
    }

    /// Drops a live call from memory without ending it, if `attachment` is
    /// still its stream (cluster mode: its checkpoint lets any replica take
    /// it over, so a detached call is not kept here to go stale). Returns
    /// whether it was dropped.
    pub fn forget(&self, attachment: &Attachment) -> bool {
        let mine = Phase::Live {
            stream: Some(attachment.generation),
        };
        let removed = self
            .calls
            .remove_if(attachment.call.key(), |_, c| {
                Arc::ptr_eq(c, &attachment.call) && c.with_state(|s| s.phase == mine)
            })
            .is_some();
        if removed {
            self.open_calls.fetch_sub(1, Ordering::AcqRel);
        }
        removed
    }

    /// The live calls attached to a stream now.
    pub fn attached(&self) -> Vec<Arc<Call>> {
        self.calls
            .iter()
            .filter(|e| {
                e.value()
                    .with_state(|s| matches!(s.phase, Phase::Live { stream: Some(_) }))
            })
            .map(|e| e.value().clone())
            .collect()
    }

    /// Ends a call and returns its summary event (see [`Call::finish`]).
    pub fn finish(&self, call: &Call, reason: &str) -> Option<Arc<Event>> {
        let was_open = call.with_state(|s| s.phase != Phase::Ended);
        let summary = call.finish(reason, self.limits.ended_event_history);
        if was_open {
            if let Some(summary) = &summary {
                self.persist(call, summary);
            }
            self.open_calls.fetch_sub(1, Ordering::AcqRel);
            self.ended
                .lock()
                .push_back((call.key().clone(), Instant::now()));
            self.evict_ended(Instant::now());
        }
        summary
    }

    /// Subscribes a watcher to a call, creating a pending entry if the call
    /// has not started yet.
    pub fn watch(
        &self,
        tenant: &Tenant,
        call_id: CallId,
        after_event_id: u64,
    ) -> Result<Subscription, Error> {
        self.check_not_draining()?;
        let key = CallKey {
            tenant: tenant.clone(),
            id: call_id.clone(),
        };
        if !self.calls.contains_key(&key) {
            if let Some(call) = self.restore(&key)? {
                return Ok(call.subscribe(after_event_id));
            }
        }
        let call = match self.calls.entry(key) {
            Entry::Occupied(slot) => slot.get().clone(),
            Entry::Vacant(slot) => {
                self.reserve_slot()?;
                let call = Arc::new(self.new_call(slot.key().clone(), Phase::Pending));
                slot.insert(call).clone()
            }
        };
        if call.with_state(|s| s.watchers()) >= self.limits.max_watchers_per_call {
            return Err(Error::ResourceExhausted(format!(
                "call {call_id} already has {} watchers, the configured maximum (max_watchers_per_call)",
                self.limits.max_watchers_per_call
            )));
        }
        Ok(call.subscribe(after_event_id))
    }

    /// Brings a call that memory no longer has (ended before a restart, or
    /// evicted) back from the summary log as an ended call: its summary and
    /// the feedback state of its suggestions. `None` if the log does not
    /// have it either (or there is no log).
    fn restore(&self, key: &CallKey) -> Result<Option<Arc<Call>>, Error> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let Some(stored) = store.get(&key.tenant, &key.id)? else {
            return Ok(None);
        };
        let summary = Arc::new(Event {
            call_id: key.id.clone(),
            event_id: stored.event_id,
            segment_id: Arc::default(),
            processing_us: 0,
            payload: Payload::Summary(Box::new(stored.summary)),
        });
        let restored = Arc::new(Call::restored(key.clone(), summary, stored.feedback));
        let (call, inserted) = match self.calls.entry(key.clone()) {
            Entry::Occupied(slot) => (slot.get().clone(), false),
            Entry::Vacant(slot) => (slot.insert(restored).clone(), true),
        };
        if inserted {
            // Retained like any ended call (the map's lock is released).
            let now = Instant::now();
            self.ended.lock().push_back((key.clone(), now));
            self.evict_ended(now);
        }
        Ok(Some(call))
    }

    /// A call of `tenant` from memory, else from the summary log.
    fn find(&self, tenant: &Tenant, call_id: &CallId) -> Result<Arc<Call>, Error> {
        let not_found = match self.get(tenant, call_id) {
            Ok(call) => return Ok(call),
            Err(e) => e,
        };
        let key = CallKey {
            tenant: tenant.clone(),
            id: call_id.clone(),
        };
        self.restore(&key)?.ok_or(not_found)
    }

    /// A call of `tenant` that is known (live, ended and kept, or watched
    /// before its start). `NotFound` otherwise, also when the id belongs to
    /// another tenant: that a call exists is not revealed.
    pub fn get(&self, tenant: &Tenant, call_id: &CallId) -> Result<Arc<Call>, Error> {
        let key = CallKey {
            tenant: tenant.clone(),
            id: call_id.clone(),
        };
        self.calls
            .get(&key)
            .map(|c| c.clone())
            .ok_or_else(|| Error::NotFound(format!("call {call_id} not found")))
    }

    /// The summary of a call of `tenant`: from memory (so far, if the call
    /// is live), else from the summary log. `NotFound` if neither has it.
    pub fn summary(&self, tenant: &Tenant, call_id: &CallId) -> Result<CallSummary, Error> {
        self.find(tenant, call_id)?.summary()
    }

    /// The started calls of `tenant` (ended ones too if `include_ended`),
    /// by call id, at most `limit`.
    pub fn list(&self, tenant: &Tenant, include_ended: bool, limit: usize) -> Vec<CallInfo> {
        let mut calls: Vec<CallInfo> = self
            .calls
            .iter()
            .filter(|e| &e.key().tenant == tenant)
            .filter_map(|e| e.value().info())
            .filter(|c| include_ended || !c.ended)
            .collect();
        calls.sort_by(|a, b| a.call_id.cmp(&b.call_id));
        calls.truncate(limit);
        calls
    }

    /// Records an agent's feedback on a suggestion (see [`Call::feedback`]);
    /// feedback on an ended call rewrites its durable summary, also for a
    /// call known only from the summary log.
    pub fn feedback(
        &self,
        tenant: &Tenant,
        call_id: &CallId,
        suggestion_id: &str,
        action: FeedbackAction,
    ) -> Result<bool, Error> {
        let call = self.find(tenant, call_id)?;
        let first = call.feedback(suggestion_id, action)?;
        if let Some(summary) = call.with_state(|s| s.ended_summary()) {
            self.persist(&call, &summary);
        }
        Ok(first)
    }

    fn new_call(&self, key: CallKey, phase: Phase) -> Call {
        Call::new(key, phase, &self.limits)
    }

    /// One pass of housekeeping: finalizes calls whose client has been away
    /// longer than the idle time-out, drops pending calls nobody watches any
    /// more, and evicts ended calls past their retention.
    pub fn reap(&self, now: Instant) {
        let idle = self.limits.idle_timeout;
        let mut expired = Vec::new();
        for entry in self.calls.iter() {
            let verdict = entry.value().with_state(|s| match s.phase {
                Phase::Live { stream: None } if now.duration_since(s.since) >= idle => Some(true),
                Phase::Pending if s.watchers() == 0 && now.duration_since(s.since) >= idle => {
                    Some(false)
                }
                _ => None,
            });
            if let Some(live) = verdict {
                expired.push((entry.value().clone(), live));
            }
        }
        for (call, live) in expired {
            if live {
                self.finish(&call, "idle_timeout");
            } else {
                self.finish(&call, "");
                self.calls.remove(call.key());
                self.ended.lock().retain(|(key, _)| key != call.key());
            }
        }
        self.evict_ended(now);
    }

    fn evict_ended(&self, now: Instant) {
        let mut ended = self.ended.lock();
        while let Some((key, at)) = ended.front() {
            let expired = now.duration_since(*at) >= self.limits.summary_retention;
            if !expired && ended.len() <= self.limits.summary_retention_count {
                break;
            }
            self.calls
                .remove_if(key, |_, c| c.with_state(|s| s.phase == Phase::Ended));
            ended.pop_front();
        }
    }

    /// Begins shutdown: from now on new calls and watchers are refused.
    /// Attached streams end their own calls (so that their clients receive
    /// the summary); [`Registry::finish_all`] ends the rest.
    pub fn begin_drain(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Ends every call still open with `reason` (used at the end of a drain).
    pub fn finish_all(&self, reason: &str) {
        let open: Vec<Arc<Call>> = self
            .calls
            .iter()
            .filter(|e| e.value().with_state(|s| s.phase != Phase::Ended))
            .map(|e| e.value().clone())
            .collect();
        for call in open {
            self.finish(&call, reason);
        }
    }

    /// Runs [`Registry::reap`] periodically until `stop` is cancelled.
    pub async fn run_reaper(self: Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let period =
            (self.limits.idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => self.reap(Instant::now()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(id: &str) -> CallStart {
        CallStart {
            tenant: Tenant::default(),
            call_id: CallId::parse(id, "call_id").unwrap(),
            agent_id: String::new(),
            language: None,
            metadata: Default::default(),
        }
    }

    fn ended_call(registry: &Registry, id: &str) -> CallId {
        let attachment = registry.attach(start(id)).unwrap();
        assert!(registry.finish(&attachment.call, "hangup").is_some());
        attachment.call.id().clone()
    }

    #[test]
    fn ended_calls_are_kept_up_to_the_retention_count() {
        let registry = Registry::new(Limits {
            summary_retention_count: 2,
            ..Limits::default()
        });
        let ids: Vec<CallId> = ["a", "b", "c"]
            .iter()
            .map(|id| ended_call(&registry, id))
            .collect();
        assert!(
            matches!(
                registry.get(&Tenant::default(), &ids[0]),
                Err(Error::NotFound(_))
            ),
            "the oldest is evicted"
        );
        assert!(
            registry.get(&Tenant::default(), &ids[1]).is_ok()
                && registry.get(&Tenant::default(), &ids[2]).is_ok()
        );
        assert_eq!(registry.open_calls(), 0);
    }

    #[test]
    fn an_ended_call_keeps_only_the_end_of_its_history() {
        let registry = Registry::new(Limits {
            ended_event_history: 2,
            ..Limits::default()
        });
        let attachment = registry.attach(start("h")).unwrap();
        let pipeline = crate::pipeline::Pipeline::new();
        for (n, text) in ["我的卡丢了，我好担心", "那怎么办", "好的谢谢"]
            .iter()
            .enumerate()
        {
            let segment = crate::session::Segment {
                id: format!("c{n}").into(),
                speaker: crate::pipeline::Speaker::Customer,
                text: text.to_string(),
                is_final: true,
                start_ms: n as u32 * 2000,
                end_ms: n as u32 * 2000 + 1500,
            };
            let events = attachment
                .call
                .process_segment(&pipeline, &segment, None, Instant::now())
                .unwrap();
            assert!(!events.is_empty());
        }
        let summary = registry.finish(&attachment.call, "hangup").unwrap();
        let watch = registry
            .watch(&Tenant::default(), attachment.call.id().clone(), 0)
            .unwrap();
        assert_eq!(watch.replay.len(), 2);
        assert_eq!(
            watch.replay[1].event_id, summary.event_id,
            "the summary last"
        );
        assert_eq!(
            watch.missed,
            summary.event_id - 2,
            "the watcher is told what it missed"
        );
    }

    /// Cluster mode's takeover in miniature: a call continued on another
    /// registry from its encoded checkpoint emits what the uninterrupted
    /// call emits (same ids, same suggestions) and ends with the same
    /// summary; a resent final is recognised; a newer checkpoint version is
    /// refused.
    #[test]
    fn a_call_taken_over_from_its_checkpoint_continues_exactly() {
        let pipeline = crate::pipeline::Pipeline::new();
        let turn = |n: u32, text: &str| crate::session::Segment {
            id: format!("c{n}").into(),
            speaker: crate::pipeline::Speaker::Customer,
            text: text.to_string(),
            is_final: true,
            start_ms: n * 3000,
            end_ms: n * 3000 + 1500,
        };
        let turns = [
            turn(0, "I lost my card and I'm really worried"),
            turn(1, "this is the third time I call, I'm fed up"),
            turn(2, "ok thanks, that's all"),
        ];
        let run = |call: &Call, turns: &[crate::session::Segment]| -> Vec<Arc<Event>> {
            turns
                .iter()
                .flat_map(|t| {
                    call.process_segment(&pipeline, t, None, Instant::now())
                        .unwrap()
                })
                .collect()
        };
        let strip = |events: Vec<Arc<Event>>| -> Vec<(u64, Payload)> {
            events
                .into_iter()
                .map(|e| (e.event_id, e.payload.clone()))
                .collect()
        };

        let alone = Registry::new(Limits::default());
        let whole = alone.attach(start("whole")).unwrap().call;
        run(&whole, &turns[..1]);
        let expected = strip(run(&whole, &turns[1..]));
        let expected_summary = alone.finish(&whole, "hangup").unwrap();

        let first = Registry::new(Limits::default());
        let before = first.attach(start("whole")).unwrap();
        run(&before.call, &turns[..1]);
        let bytes = before.call.checkpoint().unwrap().encode();
        assert!(first.forget(&before), "dropped from the first replica");
        assert_eq!(first.open_calls(), 0);

        let second = Registry::new(Limits::default());
        let checkpoint = Checkpoint::decode(&bytes).unwrap();
        let after = second
            .attach_from(start("whole"), Some(checkpoint))
            .unwrap();
        assert!(after.resumed);
        assert!(
            run(&after.call, &turns[..1]).is_empty(),
            "a final resent after the takeover causes nothing"
        );
        assert_eq!(strip(run(&after.call, &turns[1..])), expected);
        let summary = second.finish(&after.call, "hangup").unwrap();
        assert_eq!(summary.event_id, expected_summary.event_id);
        assert_eq!(summary.payload, expected_summary.payload);

        let newer = String::from_utf8(bytes)
            .unwrap()
            .replacen("\"version\":1", "\"version\":2", 1);
        assert!(matches!(
            Checkpoint::decode(newer.as_bytes()),
            Err(Error::FailedPrecondition(_))
        ));
    }

    #[test]
    fn feedback_after_hang_up_updates_the_kept_summary_and_its_text() {
        let registry = Registry::new(Limits::default());
        let attachment = registry.attach(start("late")).unwrap();
        let segment = crate::session::Segment {
            id: "c1".into(),
            speaker: crate::pipeline::Speaker::Customer,
            text: "我的卡丢了，我好担心".into(),
            is_final: true,
            start_ms: 0,
            end_ms: 1500,
        };
        let pipeline = crate::pipeline::Pipeline::new();
        attachment
            .call
            .process_segment(&pipeline, &segment, None, Instant::now())
            .unwrap();
        registry.finish(&attachment.call, "hangup").unwrap();
        let before = attachment.call.summary().unwrap();
        assert!(before.suggestions_shown >= 1, "{before:?}");
        assert!(before.text.contains("采纳0条"), "{}", before.text);
        let first = registry
            .feedback(
                &Tenant::default(),
                attachment.call.id(),
                "sg-1",
                FeedbackAction::Accepted,
            )
            .unwrap();
        assert!(first);
        let after = attachment.call.summary().unwrap();
        assert_eq!(after.suggestions_accepted, 1);
        assert!(after.text.contains("采纳1条"), "{}", after.text);
        assert_eq!(
            after.text.replace("采纳1条", "采纳0条"),
            before.text,
            "only the count changed"
        );
    }

    #[test]
    fn ended_calls_expire_after_the_retention_time() {
        let registry = Registry::new(Limits {
            summary_retention: Duration::from_secs(60),
            ..Limits::default()
        });
        let id = ended_call(&registry, "a");
        registry.reap(Instant::now() + Duration::from_secs(30));
        assert!(registry.get(&Tenant::default(), &id).is_ok());
        registry.reap(Instant::now() + Duration::from_secs(61));
        assert!(matches!(
            registry.get(&Tenant::default(), &id),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn detached_calls_are_finalized_after_the_idle_timeout() {
        let registry = Registry::new(Limits {
            idle_timeout: Duration::from_secs(300),
            ..Limits::default()
        });
        let attachment = registry.attach(start("a")).unwrap();
        registry.detach(&attachment);
        registry.reap(Instant::now() + Duration::from_secs(299));
        assert_eq!(registry.open_calls(), 1);
        registry.reap(Instant::now() + Duration::from_secs(301));
        assert_eq!(registry.open_calls(), 0);
        let summary = attachment.call.summary().unwrap();
        assert!(summary.ended);
        assert_eq!(summary.end_reason, "idle_timeout");
    }
}

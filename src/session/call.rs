//! One call's state and the processing of its segments.

use super::{
    checkpoint::{Checkpoint, CHECKPOINT_VERSION},
    event::{EventLog, Payload, Subscription},
    feedback::FeedbackLedger,
    summary::CallStats,
    CallId, CallInfo, CallKey, CallStart, CallSummary, Event, FeedbackAction, Limits, Segment,
};
use crate::{
    pipeline::{
        context::text_hash, Advice, Assist, CallContext, Emotion, IntentId, Pipeline, Processed,
        Suggestion, Timing, Utterance,
    },
    Error,
};
use parking_lot::Mutex;
use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Arc,
    time::Instant,
};

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Watched by a console, not started yet.
    Pending,
    /// Started and not ended; `stream` is the generation of the StreamCall
    /// attached to it, `None` while the client is away (it may resume).
    Live {
        /// The attached stream, if any.
        stream: Option<u64>,
    },
    /// Ended; only the summary, the history and feedback remain.
    Ended,
}

/// A call. Shared between its StreamCall task, its watchers, feedback and the
/// registry; all mutable state sits behind one short-held lock.
#[derive(Debug)]
pub struct Call {
    /// The call's tenant and id (the id is copied into every event).
    key: CallKey,
    /// The call's id, copied into every event.
    id: CallId,
    /// Everything that changes.
    state: Mutex<CallState>,
}

/// The mutable state of a call.
#[derive(Debug)]
pub(super) struct CallState {
    /// Pending, live or ended.
    pub(super) phase: Phase,
    /// When `phase` last changed or the stream detached: the idle time-out
    /// and the retention are measured from here.
    pub(super) since: Instant,
    /// The `start` message (agent, language, metadata); `None` while pending.
    start: Option<CallStart>,
    /// Event ids, bounded history and the watcher fan-out.
    log: EventLog,
    /// What the pipeline remembers between turns.
    context: CallContext,
    /// Segments with interim hypotheses but no final yet: what was shown
    /// for them, so a revision can retract what it no longer supports.
    open: HashMap<Arc<str>, OpenSegment>,
    /// The latest segments made final, with a hash of their final text: a
    /// repeated identical final is ignored, a different one is rejected.
    finals: RecentFinals,
    /// The latest suggestions of final segments (at most
    /// [`MOOT_WINDOW`]): a later turn may make them moot (the reminded item
    /// was said, the question answered), and they are then retracted.
    recent: VecDeque<Standing>,
    /// Every suggestion shown, with the agent's feedback on it.
    feedback: FeedbackLedger,
    /// Running statistics for the summary.
    stats: CallStats,
    /// Segment messages accepted so far (interims included), bounded by
    /// `max_segments`.
    segments: usize,
    /// Segment messages a call may send at most: a runaway client cannot
    /// grow one call's state without bound.
    max_segments: usize,
    /// Per speaker ([`Speaker::side`]), where the latest final segment
    /// started: a new segment may not start before it (time going
    /// backwards).
    last_final_start: [u32; 2],
    /// The summary event, once the call has ended.
    summary: Option<Arc<Event>>,
}

/// How many of the latest final suggestions a later turn can still retract.
const MOOT_WINDOW: usize = 16;

/// How many of the latest final segments a call remembers to recognize a
/// repeated final (a client resending what was in flight when its stream
/// broke). An older segment id cannot come back unnoticed: it starts before
/// its speaker's latest final and is refused as time going backwards.
const FINALS_REMEMBERED: usize = 64;

/// The latest final segments and the hash of each one's text, at most
/// [`FINALS_REMEMBERED`]: a call's memory stays flat however long it
/// lasts. A linear scan of 64 entries costs less than hashing the id.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct RecentFinals(VecDeque<(Arc<str>, u64)>);

impl RecentFinals {
    /// The text hash of final segment `id`, if it is among the latest.
    fn get(&self, id: &str) -> Option<u64> {
        self.0
            .iter()
            .rev()
            .find(|(seen, _)| &**seen == id)
            .map(|(_, hash)| *hash)
    }

    /// Remembers a new final, forgetting the oldest beyond the bound.
    fn insert(&mut self, id: Arc<str>, hash: u64) {
        if self.0.len() == FINALS_REMEMBERED {
            self.0.pop_front();
        }
        self.0.push_back((id, hash));
    }
}

/// What has been shown for a segment that is not final yet.
#[derive(Debug, Default)]
struct OpenSegment {
    /// The last analysis emitted for it (to skip unchanged revisions).
    last: Option<(IntentId, Vec<Emotion>)>,
    /// Suggestions currently standing for it.
    active: Vec<Standing>,
    /// Id of the first event emitted for it: where the final starts
    /// settling the history (see `EventLog::settle`).
    first_event: Option<u64>,
}

impl OpenSegment {
    /// Whether exactly the suggestions of `advice` are standing.
    fn shows(&self, advice: &Advice) -> bool {
        let mut wanted = 0;
        for s in advice.suggestions() {
            wanted += 1;
            if !self.active.iter().any(|standing| standing.says(s)) {
                return false;
            }
        }
        wanted == self.active.len()
    }
}

/// A suggestion shown for a segment that is not final yet.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Standing {
    /// The rule that made it.
    rule_id: Arc<str>,
    /// The words it suggested.
    text: String,
    /// Its id within the call.
    id: String,
}

impl Standing {
    /// A revision keeps a suggestion only if the same rule still says the
    /// same words.
    fn says(&self, suggestion: &Suggestion) -> bool {
        self.rule_id == suggestion.rule_id && self.text == suggestion.text
    }
}

impl Call {
    pub(super) fn new(key: CallKey, phase: Phase, limits: &Limits) -> Self {
        Call {
            id: key.id.clone(),
            key,
            state: Mutex::new(CallState {
                phase,
                since: Instant::now(),
                start: None,
                log: EventLog::new(
                    limits.event_history,
                    limits.event_history_bytes,
                    limits.watcher_buffer,
                ),
                context: CallContext::default(),
                open: HashMap::new(),
                finals: RecentFinals::default(),
                recent: VecDeque::new(),
                feedback: FeedbackLedger::default(),
                stats: CallStats::default(),
                segments: 0,
                max_segments: limits.max_segments_per_call,
                last_final_start: [0; 2],
                summary: None,
            }),
        }
    }

    /// An ended call brought back from the summary log: its summary event
    /// and the feedback state of its suggestions, so that a console can
    /// still watch it and an agent still give feedback after a restart.
    pub(super) fn restored(
        key: CallKey,
        summary: Arc<Event>,
        feedback: BTreeMap<String, Option<FeedbackAction>>,
    ) -> Self {
        let nothing_live = Limits {
            event_history: 0,
            watcher_buffer: 1,
            max_segments_per_call: 0,
            ..Limits::default()
        };
        let call = Call::new(key, Phase::Ended, &nothing_live);
        call.with_state(|s| {
            s.log = EventLog::ended_with(summary.clone());
            s.summary = Some(summary);
            s.feedback = FeedbackLedger::from_map(&feedback);
        });
        call
    }

    /// A call taken over from another replica, continuing from its
    /// checkpoint, attached to stream `generation`. Its history starts
    /// empty (the call's Redis stream has the events): a local watcher is
    /// told what it missed.
    pub(super) fn resumed(
        key: CallKey,
        start: CallStart,
        checkpoint: Checkpoint,
        limits: &Limits,
        generation: u64,
    ) -> Self {
        let call = Call::new(key, Phase::Pending, limits);
        call.with_state(|s| {
            s.log.resume_at(checkpoint.next_event_id);
            s.begin(
                CallStart {
                    agent_id: checkpoint.agent_id,
                    language: checkpoint.language,
                    metadata: checkpoint.metadata,
                    ..start
                },
                generation,
            );
            s.context = checkpoint.context;
            s.finals = checkpoint.finals;
            s.recent = checkpoint.recent;
            s.feedback = checkpoint.feedback;
            s.stats = checkpoint.stats;
            s.segments = checkpoint.segments;
            s.last_final_start = checkpoint.last_final_start;
        });
        call
    }

    /// Applies feedback recorded elsewhere (another replica's
    /// `SubmitFeedback`, found in Redis when the call ends) to the ledger.
    pub fn merge_feedback(&self, feedback: &[(String, FeedbackAction)]) {
        self.with_state(|s| {
            for (id, action) in feedback {
                s.feedback.record(id, *action);
            }
        });
    }

    /// The call's checkpoint now; `None` unless it is live. Standing
    /// suggestions of interims are not in it (see [`Checkpoint`]).
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        let s = self.state.lock();
        let start = s
            .start
            .as_ref()
            .filter(|_| matches!(s.phase, Phase::Live { .. }))?;
        Some(Checkpoint {
            version: CHECKPOINT_VERSION,
            next_event_id: s.log.emitted() + 1,
            agent_id: start.agent_id.clone(),
            language: start.language,
            metadata: start.metadata.clone(),
            context: s.context.clone(),
            finals: s.finals.clone(),
            recent: s.recent.iter().map(Standing::clone).collect(),
            feedback: s.feedback.clone(),
            stats: s.stats.clone(),
            segments: s.segments,
            last_final_start: s.last_final_start,
        })
    }

    /// Every suggestion shown in the call with the feedback it got, for the
    /// summary log.
    pub(super) fn feedback_state(&self) -> BTreeMap<String, Option<FeedbackAction>> {
        self.with_state(|s| s.feedback.to_map())
    }

    /// The call's id.
    pub fn id(&self) -> &CallId {
        &self.id
    }

    /// The call's tenant and id.
    pub fn key(&self) -> &CallKey {
        &self.key
    }

    pub(super) fn with_state<R>(&self, f: impl FnOnce(&mut CallState) -> R) -> R {
        f(&mut self.state.lock())
    }

    /// Runs one segment through the pipeline and returns the events it caused,
    /// in order: for a final segment its `Analysis` first. `embedding` is
    /// the encoder's vector of the text when the semantic tier took it.
    ///
    /// Errors: `FailedPrecondition` if the call has ended; `InvalidArgument`
    /// for a second, different final of a segment, an interim after its
    /// final, or a new segment that starts before the speaker's latest final
    /// segment; `ResourceExhausted` past the per-call segment limit. An
    /// identical repeated final is accepted and causes no events.
    pub fn process_segment(
        &self,
        pipeline: &Pipeline,
        segment: &Segment,
        embedding: Option<&[f32]>,
        received: Instant,
    ) -> Result<Vec<Arc<Event>>, Error> {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if !matches!(state.phase, Phase::Live { .. }) {
            return Err(Error::FailedPrecondition(format!(
                "call {} is not live",
                self.id
            )));
        }
        if let Some(hash) = state.finals.get(&segment.id) {
            return if !segment.is_final {
                Err(Error::invalid(
                    "segment.is_final",
                    format!("segment {:?} is already final; interim revisions must come before the final", segment.id),
                ))
            } else if hash == text_hash(&segment.text) {
                Ok(Vec::new())
            } else {
                Err(Error::invalid(
                    "segment.segment_id",
                    format!(
                        "segment {:?} already has a different final text",
                        segment.id
                    ),
                ))
            };
        }
        let side = segment.speaker.side();
        if !state.open.contains_key(&segment.id) && segment.start_ms < state.last_final_start[side]
        {
            return Err(Error::invalid(
                "segment.start_ms",
                format!(
                    "{} is before the start of this speaker's previous final segment ({} ms): time may not go backwards",
                    segment.start_ms, state.last_final_start[side]
                ),
            ));
        }
        if state.segments >= state.max_segments {
            return Err(Error::ResourceExhausted(format!(
                "call {} has sent {} segments, the configured maximum (max_segments_per_call)",
                self.id, state.max_segments
            )));
        }
        state.segments += 1;
        let utterance = Utterance {
            embedding,
            text: &segment.text,
            speaker: segment.speaker,
            language: state.start.as_ref().and_then(|s| s.language),
            is_final: segment.is_final,
        };
        let timing = Timing {
            start_ms: segment.start_ms,
            end_ms: segment.end_ms,
        };
        let Processed {
            analysis,
            advice,
            playbook,
        } = pipeline.process(&utterance, timing, &state.context);
        let mut open = state.open.remove(&segment.id).unwrap_or_default();
        let key = (
            analysis.intent.intent.clone(),
            analysis
                .emotions
                .iter()
                .map(|c| c.emotion)
                .collect::<Vec<_>>(),
        );
        let mut events = Vec::new();
        if !segment.is_final && open.last.as_ref() == Some(&key) && open.shows(&advice) {
            // The revision changes nothing the agent would see.
            state.open.insert(segment.id.clone(), open);
            return Ok(events);
        }
        let event = state.log.emit(
            &self.id,
            &segment.id,
            received,
            Payload::Analysis(analysis.clone()),
        );
        let earlier_revisions = open.first_event;
        open.first_event.get_or_insert(event.event_id);
        events.push(event);
        state.reconcile(&self.id, segment, received, &advice, &mut open, &mut events);
        if segment.is_final {
            if let Some(first) = earlier_revisions {
                state.log.settle(&segment.id, first);
            }
            state.retract_moot(&self.id, segment, received, &advice, &mut events);
            for standing in open.active {
                if state.recent.len() == MOOT_WINDOW {
                    state.recent.pop_front();
                }
                state.recent.push_back(standing);
            }
            for assist in &advice.assists {
                if let Assist::Alert(alert) = assist {
                    state.stats.alerts.push(alert.kind);
                    events.push(state.log.emit(
                        &self.id,
                        &segment.id,
                        received,
                        Payload::Alert(alert.clone()),
                    ));
                }
            }
            state.context.commit(
                &analysis,
                timing,
                &advice.assists,
                &advice.effects,
                &playbook,
            );
            state.stats.record(segment, &analysis);
            state.last_final_start[side] = segment.start_ms;
            state
                .finals
                .insert(segment.id.clone(), text_hash(&segment.text));
        } else {
            open.last = Some(key);
            state.open.insert(segment.id.clone(), open);
        }
        Ok(events)
    }

    /// Ends the call (once) and returns its summary event. Ending an ended
    /// call returns the summary it already has; ending a pending call (never
    /// started) returns `None` and just closes its watchers. The ended call
    /// keeps its newest `keep_history` events and its feedback; the working
    /// state of live processing is freed.
    pub(super) fn finish(&self, reason: &str, keep_history: usize) -> Option<Arc<Event>> {
        let mut state = self.state.lock();
        match state.phase {
            Phase::Ended => return state.summary.clone(),
            Phase::Pending => {
                state.phase = Phase::Ended;
                state.since = Instant::now();
                state.log.close();
                return None;
            }
            Phase::Live { .. } => {}
        }
        // Suggestions for interims that never became final are not retracted:
        // the agent may have used them; the summary counts them as shown.
        state.open.clear();
        state.phase = Phase::Ended;
        state.since = Instant::now();
        let summary = state.summarize(&self.id, Some(reason));
        let event = state.log.emit(
            &self.id,
            &Arc::default(),
            Instant::now(),
            Payload::Summary(Box::new(summary)),
        );
        state.log.close();
        state.log.shrink_history(keep_history);
        state.summary = Some(event.clone());
        state.finals = RecentFinals::default();
        state.open = HashMap::new();
        state.recent = VecDeque::new();
        state.context = CallContext::default();
        state.stats = CallStats::default();
        Some(event)
    }

    /// The summary: the final one if the call has ended, else the summary so
    /// far. `NotFound` for a call that never started.
    pub fn summary(&self) -> Result<CallSummary, Error> {
        let state = self.state.lock();
        match (&state.phase, &state.summary) {
            (Phase::Pending, _) => Err(self.not_started()),
            (_, Some(event)) => match &event.payload {
                Payload::Summary(s) => Ok((**s).clone()),
                _ => unreachable!("the summary event holds a summary"),
            },
            (_, None) => Ok(state.summarize(&self.id, None)),
        }
    }

    /// Records feedback on a suggestion; returns whether it is the first
    /// feedback for it. `NotFound` for an unknown suggestion.
    pub fn feedback(&self, suggestion_id: &str, action: FeedbackAction) -> Result<bool, Error> {
        let mut state = self.state.lock();
        if state.phase == Phase::Pending {
            return Err(self.not_started());
        }
        let first = state
            .feedback
            .record(suggestion_id, action)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "suggestion {suggestion_id:?} not found in call {}",
                    self.id
                ))
            })?;
        if let Some(event) = &state.summary {
            // Feedback after hang-up updates the kept summary.
            let mut summary = match &event.payload {
                Payload::Summary(s) => (**s).clone(),
                _ => unreachable!("the summary event holds a summary"),
            };
            summary.apply_late_feedback(state.feedback.counts());
            let mut updated = (**event).clone();
            updated.payload = Payload::Summary(Box::new(summary));
            state.summary = Some(Arc::new(updated));
        }
        Ok(first)
    }

    /// The call as a listing shows it; `None` while pending (watched, not
    /// started).
    pub fn info(&self) -> Option<CallInfo> {
        let state = self.state.lock();
        let start = state.start.as_ref()?;
        Some(CallInfo {
            call_id: self.id.clone(),
            agent_id: start.agent_id.clone(),
            language: start.language,
            streaming: matches!(state.phase, Phase::Live { stream: Some(_) }),
            ended: state.phase == Phase::Ended,
            events: state.log.emitted(),
        })
    }

    /// Subscribes a watcher (see [`Subscription`]).
    pub(super) fn subscribe(&self, after_event_id: u64) -> Subscription {
        let mut state = self.state.lock();
        let ended = state.phase == Phase::Ended;
        state.log.subscribe(after_event_id, ended)
    }

    fn not_started(&self) -> Error {
        Error::NotFound(format!("call {} has not started", self.id))
    }
}

impl CallState {
    /// Records the `start` message of a call that begins now.
    pub(super) fn begin(&mut self, start: CallStart, stream: u64) {
        self.start = Some(start);
        self.phase = Phase::Live {
            stream: Some(stream),
        };
        self.since = Instant::now();
    }

    /// The summary event of an ended call.
    pub(super) fn ended_summary(&self) -> Option<Arc<Event>> {
        self.summary.clone()
    }

    /// Watchers currently subscribed.
    pub(super) fn watchers(&self) -> usize {
        self.log.watchers()
    }

    /// Emits the suggestions of `advice` that are not already standing for
    /// the segment, and retracts those standing that `advice` no longer has.
    fn reconcile(
        &mut self,
        call_id: &CallId,
        segment: &Segment,
        received: Instant,
        advice: &Advice,
        open: &mut OpenSegment,
        events: &mut Vec<Arc<Event>>,
    ) {
        let wanted: Vec<_> = advice.suggestions().collect();
        let (keep, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut open.active)
            .into_iter()
            .partition(|standing| wanted.iter().any(|s| standing.says(s)));
        for Standing {
            id: suggestion_id, ..
        } in gone
        {
            self.stats.retracted += 1;
            let reason = "the transcript was revised and no longer supports it".to_string();
            events.push(self.log.emit(
                call_id,
                &segment.id,
                received,
                Payload::Retraction {
                    suggestion_id,
                    reason,
                },
            ));
        }
        open.active = keep;
        for suggestion in wanted {
            if open.active.iter().any(|standing| standing.says(suggestion)) {
                continue;
            }
            let id = self.feedback.show();
            open.active.push(Standing {
                rule_id: suggestion.rule_id.clone(),
                text: suggestion.text.clone(),
                id: id.clone(),
            });
            let payload = Payload::Suggestion {
                id,
                suggestion: suggestion.clone(),
            };
            events.push(self.log.emit(call_id, &segment.id, received, payload));
        }
    }

    /// Retracts earlier suggestions that this final segment made moot.
    fn retract_moot(
        &mut self,
        call_id: &CallId,
        segment: &Segment,
        received: Instant,
        advice: &Advice,
        events: &mut Vec<Arc<Event>>,
    ) {
        if advice.effects.moot.is_empty() {
            return;
        }
        let (moot, keep): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut self.recent)
            .into_iter()
            .partition(|s| advice.effects.moot.contains(&s.rule_id));
        self.recent = keep;
        for standing in moot {
            self.stats.retracted += 1;
            events.push(self.log.emit(
                call_id,
                &segment.id,
                received,
                Payload::Retraction {
                    suggestion_id: standing.id,
                    reason: format!("a later turn made it moot ({})", standing.rule_id),
                },
            ));
        }
    }

    fn summarize(&self, call_id: &CallId, end_reason: Option<&str>) -> CallSummary {
        let start = self.start.as_ref();
        self.stats.summarize(
            call_id,
            start.map_or("", |s| s.agent_id.as_str()),
            start.and_then(|s| s.language),
            end_reason,
            self.feedback.counts(),
            &self.context,
        )
    }
}

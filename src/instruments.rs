//! Prometheus metrics: what is measured, under which names, and the one
//! recorder. Names follow Prometheus conventions: `callassist_` prefix,
//! `_total` for counters, base units (`_seconds`), low-cardinality labels
//! (kinds, playbook rule ids, status codes; never call ids or text).
//!
//! Handles are resolved once (see [`Instruments`]) so the hot path records
//! without looking names up.

use crate::{
    domain::Speaker,
    session::{Event, FeedbackAction, Payload},
};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{sync::OnceLock, time::Duration};

/// Open calls (gauge, set at scrape time).
pub const CALLS_OPEN: &str = "callassist_calls_open";
/// Watchers subscribed (gauge, set at scrape time).
pub const WATCHERS: &str = "callassist_watchers";
/// Segments received, by `speaker` and `final`.
pub const SEGMENTS: &str = "callassist_segments_total";
/// Events emitted, by `kind`.
pub const EVENTS: &str = "callassist_events_total";
/// Suggestions emitted, by `kind` and playbook `rule`.
pub const SUGGESTIONS: &str = "callassist_suggestions_total";
/// Alerts raised, by `kind`.
pub const ALERTS: &str = "callassist_alerts_total";
/// Feedback received, by `action`.
pub const FEEDBACK: &str = "callassist_feedback_total";
/// Time per pipeline stage, by `stage`.
pub const STAGE_SECONDS: &str = "callassist_stage_duration_seconds";
/// Segment received → its events ready to send.
pub const SEGMENT_SECONDS: &str = "callassist_segment_duration_seconds";
/// Events a slow watcher lost.
pub const WATCHER_DROPPED: &str = "callassist_watcher_events_dropped_total";
/// Requests and messages refused, by gRPC `code`.
pub const REJECTED: &str = "callassist_requests_rejected_total";
/// Playbook reloads, by `result` (`ok`, `error`).
pub const PLAYBOOK_RELOADS: &str = "callassist_playbook_reloads_total";

/// The semantic tier's state: 1 for the current `state` label
/// (`off`, `loading`, `ready`, `unavailable`), 0 for the others.
pub const SEMANTIC_STATE: &str = "callassist_semantic_tier_state";
/// Customer finals by the `tier` that decided their intent (`semantic`,
/// `fast`).
pub const TIER_DECISIONS: &str = "callassist_tier_decisions_total";
/// Turns the encoder declined at admission, by `reason` (`over_budget`,
/// `queue_full`); the fast tier decided them.
pub const ENCODER_DECLINED: &str = "callassist_encoder_declined_total";
/// Time of one encoder forward pass (a batch of turns).
pub const ENCODER_BATCH_SECONDS: &str = "callassist_encoder_batch_duration_seconds";
/// Turns per encoder forward pass.
pub const ENCODER_BATCH_TURNS: &str = "callassist_encoder_batch_turns";

/// Cluster mode: records queued for Redis and not yet written.
pub const REDIS_BACKLOG: &str = "callassist_redis_backlog";
/// Cluster mode: records written to Redis.
pub const REDIS_WRITTEN: &str = "callassist_redis_records_written_total";
/// Cluster mode: records dropped because the backlog was full (Redis down
/// for long); the owner's calls went on from memory.
pub const REDIS_DROPPED: &str = "callassist_redis_records_dropped_total";
/// Cluster mode: failed Redis operations (each retry counts).
pub const REDIS_ERRORS: &str = "callassist_redis_errors_total";
/// Cluster mode: time of one Redis round trip of the writer or the lease
/// upkeep.
pub const REDIS_SECONDS: &str = "callassist_redis_duration_seconds";

/// Histogram buckets for per-segment work: 1 µs to 50 ms, and up to 1 s
/// for segments and encoder passes that waited for the encoder.
const BUCKETS: &[f64] = &[
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 2.5e-2, 5e-2,
    0.1, 0.25, 1.0,
];

/// How often histogram samples are folded into their buckets. The exporter
/// keeps raw samples until then: without upkeep, an unscraped server's
/// memory grows with every segment.
pub const UPKEEP_PERIOD: Duration = Duration::from_secs(5);

/// Folds histogram samples into buckets every [`UPKEEP_PERIOD`] until
/// `stop`.
pub async fn run_upkeep(handle: PrometheusHandle, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(UPKEEP_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => handle.run_upkeep(),
        }
    }
}

/// Installs the process-wide recorder (once; later calls return the same
/// handle) and describes every metric.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("the buckets are not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe();
            handle
        })
        .clone()
}

fn describe() {
    describe_gauge!(
        CALLS_OPEN,
        "Calls not yet ended (live, detached or watched before start)."
    );
    describe_gauge!(WATCHERS, "WatchCall streams subscribed.");
    describe_gauge!(
        REDIS_BACKLOG,
        "Cluster mode: records queued for Redis, not yet written."
    );
    describe_counter!(REDIS_WRITTEN, "Cluster mode: records written to Redis.");
    describe_counter!(
        REDIS_DROPPED,
        "Cluster mode: records dropped because the Redis backlog was full."
    );
    describe_counter!(REDIS_ERRORS, "Cluster mode: failed Redis operations.");
    describe_histogram!(
        REDIS_SECONDS,
        Unit::Seconds,
        "Cluster mode: time of one Redis round trip (writer batches, lease upkeep)."
    );
    describe_counter!(SEGMENTS, "Transcript segments received.");
    describe_counter!(EVENTS, "Assist events emitted.");
    describe_counter!(SUGGESTIONS, "Suggestions emitted.");
    describe_counter!(ALERTS, "Supervisor alerts raised.");
    describe_counter!(FEEDBACK, "Agent feedback on suggestions.");
    describe_histogram!(
        STAGE_SECONDS,
        Unit::Seconds,
        "Time per pipeline stage and segment."
    );
    describe_histogram!(
        SEGMENT_SECONDS,
        Unit::Seconds,
        "Segment received to its events ready to send (end to end inside the service)."
    );
    describe_counter!(WATCHER_DROPPED, "Events slow watchers lost.");
    describe_counter!(
        REJECTED,
        "Requests and stream messages refused, by gRPC status code."
    );
    describe_counter!(PLAYBOOK_RELOADS, "Playbook reloads.");
    describe_gauge!(
        SEMANTIC_STATE,
        "Semantic tier state (1 for the current state label)."
    );
    describe_counter!(
        TIER_DECISIONS,
        "Customer finals by the tier that decided their intent."
    );
    describe_counter!(
        ENCODER_DECLINED,
        "Turns the encoder declined at admission (decided by the fast tier)."
    );
    describe_histogram!(
        ENCODER_BATCH_SECONDS,
        Unit::Seconds,
        "Time of one encoder forward pass."
    );
    describe_histogram!(ENCODER_BATCH_TURNS, "Turns per encoder forward pass.");
}

/// The pipeline stages timed (in the order of `Instruments::stages`).
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    /// Text normalization.
    Normalize,
    /// Intent classification.
    Classify,
    /// Emotion cues.
    Emotion,
    /// Entity extraction.
    Entities,
    /// The playbook policy.
    Policy,
}

/// The `kind` labels of [`EVENTS`], indexed by [`event_kind`].
const EVENT_KINDS: [&str; 5] = ["analysis", "suggestion", "alert", "retraction", "summary"];

/// Index of an event's kind in [`EVENT_KINDS`].
fn event_kind(payload: &Payload) -> usize {
    match payload {
        Payload::Analysis(_) => 0,
        Payload::Suggestion { .. } => 1,
        Payload::Alert(_) => 2,
        Payload::Retraction { .. } => 3,
        Payload::Summary(_) => 4,
    }
}

/// Resolved handles of the hot-path metrics (every segment, every event).
struct Instruments {
    stages: [metrics::Histogram; 5],
    segment: metrics::Histogram,
    segments: [[metrics::Counter; 2]; 2],
    events: [metrics::Counter; 5],
}

fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let stage = |name: &'static str| histogram!(STAGE_SECONDS, "stage" => name);
        let segments = |speaker: &'static str| {
            [
                counter!(SEGMENTS, "speaker" => speaker, "final" => "false"),
                counter!(SEGMENTS, "speaker" => speaker, "final" => "true"),
            ]
        };
        Instruments {
            stages: [
                stage("normalize"),
                stage("classify"),
                stage("emotion"),
                stage("entities"),
                stage("policy"),
            ],
            segment: histogram!(SEGMENT_SECONDS),
            segments: [segments("customer"), segments("agent")],
            events: EVENT_KINDS.map(|kind| counter!(EVENTS, "kind" => kind)),
        }
    })
}

/// Records the time of one stage.
pub fn stage(stage: Stage, took: Duration) {
    instruments().stages[stage as usize].record(took.as_secs_f64());
}

/// Records a segment received and the time its processing took.
pub fn segment(speaker: Speaker, is_final: bool, took: Duration) {
    let i = instruments();
    i.segments[speaker.side()][usize::from(is_final)].increment(1);
    i.segment.record(took.as_secs_f64());
}

/// Records an emitted event.
pub fn event(event: &Event) {
    instruments().events[event_kind(&event.payload)].increment(1);
    match &event.payload {
        Payload::Suggestion { suggestion, .. } => {
            // Rule ids come from the playbook (reloadable): looked up by
            // name, the label shares the rule id's string.
            let rule = suggestion.rule_id.clone();
            counter!(SUGGESTIONS, "kind" => suggestion.kind.name(), "rule" => rule).increment(1);
        }
        Payload::Alert(alert) => counter!(ALERTS, "kind" => alert.kind.name()).increment(1),
        _ => {}
    }
}

/// Records feedback.
pub fn feedback(action: FeedbackAction) {
    let action = match action {
        FeedbackAction::Accepted => "accepted",
        FeedbackAction::Dismissed => "dismissed",
        FeedbackAction::NotHelpful => "not_helpful",
    };
    counter!(FEEDBACK, "action" => action).increment(1);
}

/// Records events a watcher lost.
pub fn watcher_dropped(n: u64) {
    counter!(WATCHER_DROPPED).increment(n);
}

/// Records a refused request or message.
pub fn rejected(code: &'static str) {
    counter!(REJECTED, "code" => code).increment(1);
}

/// Records a playbook reload.
pub fn playbook_reload(ok: bool) {
    counter!(PLAYBOOK_RELOADS, "result" => if ok { "ok" } else { "error" }).increment(1);
}

/// Sets the gauges read at scrape time.
pub fn set_gauges(calls_open: usize, watchers: usize) {
    metrics::gauge!(CALLS_OPEN).set(calls_open as f64);
    metrics::gauge!(WATCHERS).set(watchers as f64);
}

/// Records the semantic tier's state.
pub fn semantic_state(state: crate::semantic::State) {
    use crate::semantic::State;
    for s in [State::Off, State::Loading, State::Ready, State::Unavailable] {
        metrics::gauge!(SEMANTIC_STATE, "state" => s.as_str()).set(f64::from(u8::from(s == state)));
    }
}

/// Records which tier decided a customer final.
pub fn tier_decision(tier: crate::domain::Tier) {
    counter!(TIER_DECISIONS, "tier" => tier.name()).increment(1);
}

/// Records a turn the encoder declined.
pub fn encoder_declined(reason: crate::semantic::pool::Declined) {
    use crate::semantic::pool::Declined;
    let reason = match reason {
        Declined::OverBudget => "over_budget",
        Declined::QueueFull => "queue_full",
    };
    counter!(ENCODER_DECLINED, "reason" => reason).increment(1);
}

/// Records one encoder forward pass.
pub fn encoder_batch(turns: usize, took: Duration) {
    histogram!(ENCODER_BATCH_SECONDS).record(took.as_secs_f64());
    histogram!(ENCODER_BATCH_TURNS).record(turns as f64);
}

/// Changes the Redis backlog gauge by `delta` records.
pub fn redis_backlog(delta: i64) {
    metrics::gauge!(REDIS_BACKLOG).increment(delta as f64);
}

/// Records records written to Redis.
pub fn redis_written(n: usize) {
    counter!(REDIS_WRITTEN).increment(n as u64);
}

/// Records a record dropped because the Redis backlog was full.
pub fn redis_dropped() {
    counter!(REDIS_DROPPED).increment(1);
}

/// Records a failed Redis operation.
pub fn redis_error() {
    counter!(REDIS_ERRORS).increment(1);
}

/// Records one Redis round trip.
pub fn redis_latency(took: Duration) {
    histogram!(REDIS_SECONDS).record(took.as_secs_f64());
}

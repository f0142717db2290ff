//! What a load run measured: HDR histograms of the latencies, counters,
//! errors by status code, and a per-second timeline.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

/// Latencies are recorded in microseconds, 1 µs to 60 s, 3 significant
/// digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Percentiles of one latency, in microseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// One second of the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tick {
    /// Seconds since the start.
    pub t: f64,
    /// Calls open at the end of the second.
    pub live_calls: u64,
    /// Final segments sent in the second.
    pub finals: u64,
    /// Segment → Analysis latency in the second.
    pub analysis: Percentiles,
    /// Server resident memory, bytes (with `--server-pid`).
    pub server_rss_bytes: Option<u64>,
}

/// Running counters and histograms, shared by every call task.
#[derive(Debug)]
pub struct Stats {
    /// Segment (final) sent → its Analysis received.
    pub analysis: Histogram<u64>,
    /// Segment revision sent → the first Suggestion for the segment.
    pub suggestion: Histogram<u64>,
    /// Analysis latency since the last tick.
    interval: Histogram<u64>,
    /// Calls opened.
    pub calls_started: u64,
    /// Calls that got their summary.
    pub calls_completed: u64,
    /// Streams reopened after `UNAVAILABLE` (a replica handed its calls over
    /// or was lost).
    pub reconnects: u64,
    /// `UNAVAILABLE` received → the stream reopened (a takeover), µs.
    pub takeover: Histogram<u64>,
    /// Calls open now.
    pub live_calls: u64,
    /// Segment messages sent (interims and finals).
    pub segments_sent: u64,
    /// Final segments sent.
    pub finals_sent: u64,
    /// Finals sent since the last tick.
    interval_finals: u64,
    /// Final analyses received.
    pub analyses: u64,
    /// Suggestions received.
    pub suggestions: u64,
    /// Errors by gRPC status code name.
    pub errors: BTreeMap<String, u64>,
    /// Events watchers were told they missed.
    pub dropped_watcher_events: u64,
    /// Events watchers received.
    pub watcher_events: u64,
    /// Per-second samples.
    pub timeline: Vec<Tick>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            analysis: histogram(),
            suggestion: histogram(),
            interval: histogram(),
            calls_started: 0,
            calls_completed: 0,
            reconnects: 0,
            takeover: histogram(),
            live_calls: 0,
            segments_sent: 0,
            finals_sent: 0,
            interval_finals: 0,
            analyses: 0,
            suggestions: 0,
            errors: BTreeMap::new(),
            dropped_watcher_events: 0,
            watcher_events: 0,
            timeline: Vec::new(),
        }
    }
}

impl Stats {
    /// Records a final's analysis latency.
    pub fn analysis(&mut self, us: u64) {
        let us = us.max(1);
        self.analyses += 1;
        let _ = self.analysis.record(us);
        let _ = self.interval.record(us);
    }

    /// Records the latency of a segment's first suggestion.
    pub fn suggestion(&mut self, us: u64) {
        let _ = self.suggestion.record(us.max(1));
    }

    /// Records a sent segment.
    pub fn sent(&mut self, is_final: bool) {
        self.segments_sent += 1;
        if is_final {
            self.finals_sent += 1;
            self.interval_finals += 1;
        }
    }

    /// Counts an error by its status code.
    pub fn error(&mut self, code: tonic::Code) {
        *self.errors.entry(format!("{code:?}")).or_default() += 1;
    }

    /// Closes the current second and returns it.
    pub fn tick(&mut self, t: f64, server_rss_bytes: Option<u64>) -> Tick {
        let tick = Tick {
            t,
            live_calls: self.live_calls,
            finals: std::mem::take(&mut self.interval_finals),
            analysis: Percentiles::of(&self.interval),
            server_rss_bytes,
        };
        self.interval.reset();
        self.timeline.push(tick.clone());
        tick
    }

    /// The final report.
    pub fn report(
        &self,
        settings: Settings,
        elapsed_s: f64,
        loadgen_cpu_s: Option<f64>,
        server_cpu_s: Option<f64>,
    ) -> Report {
        Report {
            settings,
            elapsed_s,
            calls_started: self.calls_started,
            calls_completed: self.calls_completed,
            reconnects: self.reconnects,
            takeover_us: Percentiles::of(&self.takeover),
            segments_sent: self.segments_sent,
            finals_sent: self.finals_sent,
            analyses: self.analyses,
            suggestions: self.suggestions,
            finals_per_s: self.finals_sent as f64 / elapsed_s.max(1e-9),
            segments_per_s: self.segments_sent as f64 / elapsed_s.max(1e-9),
            analysis_latency_us: Percentiles::of(&self.analysis),
            suggestion_latency_us: Percentiles::of(&self.suggestion),
            errors: self.errors.clone(),
            watcher_events: self.watcher_events,
            dropped_watcher_events: self.dropped_watcher_events,
            loadgen_cpu_s,
            server_cpu_s,
            analysis_histogram_us: buckets(&self.analysis),
            timeline: self.timeline.clone(),
        }
    }
}

/// Buckets with 1-2-5 bounds (upper bound µs, count) of a histogram, for
/// charts.
fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if h.is_empty() {
        return out;
    }
    let (mut low, mut decade) = (0u64, 1u64);
    while low < h.max() {
        for high in [decade, 2 * decade, 5 * decade] {
            out.push((high, h.count_between(low + 1, high)));
            low = high;
        }
        decade *= 10;
    }
    out
}

/// How the run was set up.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Server address.
    pub addr: String,
    /// `realistic` or `burst`.
    pub profile: String,
    /// Concurrent calls.
    pub calls: usize,
    /// Hold duration, seconds.
    pub duration_s: f64,
    /// Ramp-up (and ramp-down) time, seconds.
    pub ramp_s: f64,
    /// Watchers per call.
    pub watchers: usize,
    /// Time compression of the realistic script.
    pub speed: f64,
    /// HTTP/2 connections the calls share.
    pub connections: usize,
}

/// The JSON report of a run (`--report FILE.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The set-up.
    pub settings: Settings,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// Calls opened.
    pub calls_started: u64,
    /// Calls that got their summary.
    pub calls_completed: u64,
    /// Streams reopened after `UNAVAILABLE`.
    pub reconnects: u64,
    /// `UNAVAILABLE` received → the stream reopened.
    pub takeover_us: Percentiles,
    /// Segment messages sent.
    pub segments_sent: u64,
    /// Final segments sent.
    pub finals_sent: u64,
    /// Final analyses received.
    pub analyses: u64,
    /// Suggestions received.
    pub suggestions: u64,
    /// Final segments per second over the run.
    pub finals_per_s: f64,
    /// Segment messages per second over the run.
    pub segments_per_s: f64,
    /// Final segment sent → its Analysis received.
    pub analysis_latency_us: Percentiles,
    /// Segment revision sent → the segment's first Suggestion received.
    pub suggestion_latency_us: Percentiles,
    /// Errors by status code.
    pub errors: BTreeMap<String, u64>,
    /// Events received by watchers.
    pub watcher_events: u64,
    /// Events watchers were told they missed.
    pub dropped_watcher_events: u64,
    /// CPU time the load generator itself used, seconds (Linux).
    pub loadgen_cpu_s: Option<f64>,
    /// CPU time the server used during the run, seconds (Linux, with
    /// `--server-pid`): with `segments_sent`, the server's cost per message.
    pub server_cpu_s: Option<f64>,
    /// Analysis latency histogram: (upper bound µs, count).
    pub analysis_histogram_us: Vec<(u64, u64)>,
    /// Per-second samples.
    pub timeline: Vec<Tick>,
}

/// The report as a few human-readable lines.
pub fn summary(r: &Report) -> String {
    let a = &r.analysis_latency_us;
    let g = &r.suggestion_latency_us;
    let errors = if r.errors.is_empty() {
        "none".to_string()
    } else {
        r.errors
            .iter()
            .map(|(code, n)| format!("{code} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!(
        "calls {} started, {} completed, {} reconnects over {:.1} s ({} profile, {} concurrent, {} connections)\n\
         segments {} sent ({:.0}/s), finals {} ({:.0}/s), analyses {}, suggestions {}\n\
         segment → Analysis   µs: p50 {} p90 {} p99 {} p99.9 {} max {} (n={})\n\
         segment → Suggestion µs: p50 {} p90 {} p99 {} p99.9 {} max {} (n={})\n\
         errors: {errors}; watcher events {} (dropped {}); loadgen CPU {}; server CPU {}\n",
        r.calls_started,
        r.calls_completed,
        r.reconnects,
        r.elapsed_s,
        r.settings.profile,
        r.settings.calls,
        r.settings.connections,
        r.segments_sent,
        r.segments_per_s,
        r.finals_sent,
        r.finals_per_s,
        r.analyses,
        r.suggestions,
        a.p50,
        a.p90,
        a.p99,
        a.p999,
        a.max,
        a.count,
        g.p50,
        g.p90,
        g.p99,
        g.p999,
        g.max,
        g.count,
        r.watcher_events,
        r.dropped_watcher_events,
        cpu_share(r.loadgen_cpu_s, r),
        r.server_cpu_s
            .map_or("n/a (no --server-pid)".to_string(), |c| format!(
                "{}, {:.0} µs per segment message",
                cpu_share(Some(c), r),
                1e6 * c / r.segments_sent.max(1) as f64
            )),
    );
    if r.reconnects > 0 {
        let t = &r.takeover_us;
        text.push_str(&format!(
            "takeover (UNAVAILABLE → stream reopened) ms: p50 {:.0} p99 {:.0} max {:.0} (n={})\n",
            t.p50 as f64 / 1e3,
            t.p99 as f64 / 1e3,
            t.max as f64 / 1e3,
            t.count
        ));
    }
    text
}

/// CPU seconds and the share of one core they are over the run.
fn cpu_share(seconds: Option<f64>, r: &Report) -> String {
    seconds.map_or("n/a".to_string(), |c| {
        format!(
            "{c:.1} s ({:.0}% of one core)",
            100.0 * c / r.elapsed_s.max(1e-9)
        )
    })
}

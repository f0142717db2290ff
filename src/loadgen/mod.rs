//! `callassist loadgen`: realistic call traffic against any callassist
//! address, measured.
//!
//! N call slots ramp up evenly over `ramp`, each running calls back to back
//! until the hold (`duration`) is over, then finishing its current call (the
//! ramp-down): every call ends with `end` and waits for its summary. Two
//! profiles:
//!
//! - `realistic` ([`script::realistic`]): recorded calls with varied
//!   customer turns; each utterance as interim revisions ~300 ms apart, then
//!   its final when the speech ends; optional WatchCall watchers per call.
//! - `burst`: closed loop, each call sends its next final as soon as the
//!   previous one's Analysis arrives (throughput).
//!
//! Measured with HDR histograms: final sent → its Analysis, and revision
//! sent → the segment's first Suggestion; throughput; errors by status code;
//! events watchers were told they missed; a per-second timeline (and the
//! server's memory and, over the whole run, its CPU time with
//! `--server-pid`). [`stats::Report`] is written as
//! JSON, [`chart::svg`] as an SVG chart.
//!
//! The load generator must not be the bottleneck: it is a task per call
//! doing little more than timers and protobuf, its own CPU time is in the
//! report (`loadgen_cpu_s`), and BENCHMARKS.md compares it with the server's.

pub mod chart;
pub mod script;
pub mod stats;

use crate::{
    pb::{self, assist_event::Payload},
    rng::XorShift,
    Error,
};
use parking_lot::Mutex;
use script::Step;
use stats::{Report, Settings, Stats};
use std::{
    collections::HashMap,
    io::{IsTerminal, Write},
    sync::Arc,
    time::Duration,
};
use tokio::{sync::mpsc, time::Instant};
use tokio_stream::wrappers::ReceiverStream;

/// Requests a call may have queued for sending; a call sends one message at
/// a time, so this never fills.
const REQUEST_BUFFER: usize = 16;

/// Which traffic to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Paced calls with interims, like live ASR.
    Realistic,
    /// Closed loop: the next final as soon as the last Analysis arrived.
    Burst,
}

/// A load run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server, and the token and CA to reach it with.
    pub target: crate::client::Target,
    /// Concurrent calls.
    pub calls: usize,
    /// How long all calls are held open.
    pub duration: Duration,
    /// Ramp-up time (calls start evenly over it).
    pub ramp: Duration,
    /// The traffic.
    pub profile: Profile,
    /// WatchCall watchers per call (realistic profile).
    pub watchers: usize,
    /// Time compression of the realistic scripts (1 = real time).
    pub speed: f64,
    /// How long each realistic call lasts (its recording repeats); `None`:
    /// one pass of the recording (about a minute).
    pub call_length: Option<Duration>,
    /// Calls per HTTP/2 connection.
    pub streams_per_connection: usize,
    /// Seed of the scripts.
    pub seed: u64,
    /// Server processes whose memory (summed) to sample each second and
    /// whose CPU time to report (Linux): the replicas and Redis in cluster
    /// mode.
    pub server_pids: Vec<u32>,
    /// Further addresses of the same service (other replicas, cluster
    /// mode): connections alternate over `target.addr` and these, and a
    /// call's watchers watch it through the next connection, on another
    /// replica.
    pub replicas: Vec<String>,
    /// Print progress on stderr.
    pub progress: bool,
}

use crate::client::Client;

/// Runs the load and returns its report.
pub async fn run(options: &Options) -> Result<Report, Error> {
    let connections = options
        .calls
        .div_ceil(options.streams_per_connection.max(1))
        .max(1);
    let addrs: Vec<&String> = std::iter::once(&options.target.addr)
        .chain(&options.replicas)
        .collect();
    // At least one connection per replica.
    let connections = connections.max(addrs.len());
    let mut clients = Vec::with_capacity(connections);
    for n in 0..connections {
        let target = crate::client::Target {
            addr: addrs[n % addrs.len()].clone(),
            ..options.target.clone()
        };
        let channel = target
            .endpoint()?
            .connect()
            .await
            .map_err(|e| Error::Io(format!("cannot connect to {}: {e}", target.addr)))?;
        clients.push(target.client(channel)?);
    }
    let stats = Arc::new(Mutex::new(Stats::default()));
    // Call ids are unique per run: the server keeps ended calls for a while
    // and refuses to reuse their ids.
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 1_000_000_000);
    let started = Instant::now();
    let server_cpu_seconds = || {
        let pids = &options.server_pids;
        let used: Option<Vec<f64>> = pids.iter().map(|p| cpu_seconds(&p.to_string())).collect();
        used.filter(|_| !pids.is_empty()).map(|u| u.iter().sum())
    };
    let server_rss = || {
        let pids = &options.server_pids;
        let rss: Option<Vec<u64>> = pids.iter().map(|&p| rss_bytes(p)).collect();
        rss.filter(|_| !pids.is_empty()).map(|r| r.iter().sum())
    };
    let cpu_before = cpu_seconds("self");
    let server_cpu_before = server_cpu_seconds();
    let hold_end = started + options.ramp + options.duration;
    let mut slots = Vec::with_capacity(options.calls);
    for slot in 0..options.calls {
        let client = clients[slot % connections].clone();
        let watch_client = clients[(slot + 1) % connections].clone();
        let stats = stats.clone();
        let options = options.clone();
        let begin = started + options.ramp.mul_f64(slot as f64 / options.calls as f64);
        slots.push(tokio::spawn(async move {
            tokio::time::sleep_until(begin).await;
            let mut rng = XorShift::seeded(options.seed ^ (slot as u64 + 1) << 20);
            let mut n = 0;
            while Instant::now() < hold_end {
                let call_id = format!("lg-{run_id}-{slot}-{n}");
                n += 1;
                match options.profile {
                    Profile::Realistic => {
                        let steps = script::realistic(
                            &call_id,
                            &mut rng,
                            options.speed,
                            options.call_length,
                        );
                        let watchers = (watch_client.clone(), options.watchers);
                        realistic_call(client.clone(), call_id, steps, watchers, &stats).await
                    }
                    Profile::Burst => {
                        burst_call(client.clone(), call_id, &mut rng, hold_end, &stats).await
                    }
                }
            }
        }));
    }
    let done = futures_all(slots);
    tokio::pin!(done);
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.tick().await;
    let terminal = std::io::stderr().is_terminal();
    loop {
        tokio::select! {
            _ = &mut done => break,
            _ = second.tick() => {
                let t = started.elapsed().as_secs_f64();
                let rss = server_rss();
                let tick = stats.lock().tick(t, rss);
                if options.progress && (terminal || (tick.t as u64).is_multiple_of(5)) {
                    let errors: u64 = stats.lock().errors.values().sum();
                    let mut line = format!(
                        "[{:>5.0}s] calls {:>6} live  finals {:>6}/s  analysis p50 {:>6} µs  p99 {:>7} µs  errors {errors}",
                        tick.t, tick.live_calls, tick.finals, tick.analysis.p50, tick.analysis.p99
                    );
                    if let Some(rss) = rss {
                        line.push_str(&format!("  server RSS {} MB", rss >> 20));
                    }
                    let mut err = std::io::stderr();
                    let _ = if terminal { write!(err, "\r{line}") } else { writeln!(err, "{line}") };
                }
            }
        }
    }
    if options.progress && terminal {
        eprintln!();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let used = |now: Option<f64>, before: Option<f64>| now.zip(before).map(|(a, b)| a - b);
    let cpu = used(cpu_seconds("self"), cpu_before);
    let server_cpu = used(server_cpu_seconds(), server_cpu_before);
    let mut stats = stats.lock();
    stats.tick(elapsed, server_rss());
    Ok(stats.report(
        Settings {
            addr: options.target.addr.clone(),
            profile: format!("{:?}", options.profile).to_lowercase(),
            calls: options.calls,
            duration_s: options.duration.as_secs_f64(),
            ramp_s: options.ramp.as_secs_f64(),
            watchers: options.watchers,
            speed: options.speed,
            connections,
        },
        elapsed,
        cpu,
        server_cpu,
    ))
}

/// Waits for every task.
async fn futures_all(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

/// Opens a call's stream with its first request; `None` (error counted) if
/// the server refuses.
async fn open(
    client: &mut Client,
    first: pb::StreamCallRequest,
    stats: &Mutex<Stats>,
) -> Option<(
    mpsc::Sender<pb::StreamCallRequest>,
    tonic::Streaming<pb::StreamCallResponse>,
)> {
    let (tx, rx) = mpsc::channel(REQUEST_BUFFER);
    let _ = tx.send(first).await;
    match client.stream_call(ReceiverStream::new(rx)).await {
        Ok(response) => {
            let mut s = stats.lock();
            s.calls_started += 1;
            s.live_calls += 1;
            Some((tx, response.into_inner()))
        }
        Err(status) => {
            stats.lock().error(status.code());
            None
        }
    }
}

/// What a call has sent for one segment.
#[derive(Debug, Clone, Copy)]
struct Sent {
    /// When its latest revision (interim or final) was sent.
    revision: Instant,
    /// When its final was sent.
    last_final: Option<Instant>,
    /// Whether a suggestion for it has arrived.
    suggested: bool,
}

fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros() as u64
}

/// One realistic call: the script's steps on time, every response measured.
async fn realistic_call(
    mut client: Client,
    call_id: String,
    steps: Vec<Step>,
    (mut watch_client, watchers): (Client, usize),
    stats: &Arc<Mutex<Stats>>,
) {
    let Some((mut tx, mut inbound)) = open(&mut client, steps[0].request.clone(), stats).await
    else {
        // Refused or unreachable: the slot waits before its next call.
        tokio::time::sleep(Duration::from_millis(200)).await;
        return;
    };
    // Segments whose final analysis arrived: what a reconnect need not resend.
    let mut acknowledged: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut reconnects = 0;
    for _ in 0..watchers {
        tokio::spawn(watch(watch_client.clone(), call_id.clone(), stats.clone()));
    }
    let began = Instant::now();
    let mut sent: HashMap<String, Sent> = HashMap::new();
    let mut next = 1;
    let far = began + Duration::from_secs(86_400);
    loop {
        let due = steps.get(next).map_or(far, |s| began + s.at);
        tokio::select! {
            _ = tokio::time::sleep_until(due), if next < steps.len() => {
                let step = &steps[next];
                next += 1;
                let now = Instant::now();
                if let Some((id, is_final)) = &step.segment {
                    let entry = sent.entry(id.clone()).or_insert(Sent { revision: now, last_final: None, suggested: false });
                    entry.revision = now;
                    if *is_final {
                        entry.last_final = Some(now);
                    }
                    stats.lock().sent(*is_final);
                }
                if tx.send(step.request.clone()).await.is_err() {
                    break;
                }
            }
            message = inbound.message() => match message {
                Ok(Some(response)) => {
                    let Some(event) = response.event else { continue };
                    match event.payload {
                        Some(Payload::Analysis(a)) if a.is_final => {
                            if let Some(at) = sent.get(&event.segment_id).and_then(|s| s.last_final) {
                                stats.lock().analysis(micros(at));
                            }
                            acknowledged.insert(event.segment_id);
                        }
                        Some(Payload::Suggestion(_)) => {
                            let mut s = stats.lock();
                            s.suggestions += 1;
                            if let Some(entry) = sent.get_mut(&event.segment_id) {
                                if !entry.suggested {
                                    entry.suggested = true;
                                    s.suggestion(micros(entry.revision));
                                }
                            }
                        }
                        Some(Payload::Summary(_)) => {
                            stats.lock().calls_completed += 1;
                            break;
                        }
                        _ => {}
                    }
                }
                Ok(None) => {
                    stats.lock().error(tonic::Code::Unknown);
                    break;
                }
                // A killed replica's connection ends with UNKNOWN (transport).
                Err(status) if matches!(status.code(), tonic::Code::Unavailable | tonic::Code::Unknown) && reconnects < crate::replay::MAX_RECONNECTS => {
                    // Handed over or lost replica: reopen with the same start
                    // and resend what was not acknowledged.
                    reconnects += 1;
                    let lost = Instant::now();
                    let resend = steps[1..next].iter().filter(|s| {
                        s.segment.as_ref().is_none_or(|(id, _)| !acknowledged.contains(id))
                    });
                    // The other replica's connection: this one's may be gone.
                    std::mem::swap(&mut client, &mut watch_client);
                    match reopen(&mut client, &steps[0].request, resend).await {
                        Ok((again, stream)) => {
                            (tx, inbound) = (again, stream);
                            let mut s = stats.lock();
                            s.reconnects += 1;
                            let _ = s.takeover.record(micros(lost).max(1));
                            // Resent finals are timed from their resending:
                            // the wait is the takeover, measured above.
                            let now = Instant::now();
                            for entry in sent.values_mut().filter(|e| e.last_final.is_some()) {
                                entry.last_final = Some(now);
                            }
                        }
                        Err(status) => {
                            stats.lock().error(status.code());
                            break;
                        }
                    }
                }
                Err(status) => {
                    stats.lock().error(status.code());
                    break;
                }
            }
        }
    }
    stats.lock().live_calls -= 1;
}

/// Reopens a call's stream after `UNAVAILABLE`: its start, then `resend`
/// (the steps whose segments were not acknowledged; the server ignores an
/// identical final it already has). Retries while another replica still
/// owns the call (its lease lapses within `cluster_lease`).
async fn reopen<'a>(
    client: &mut Client,
    start: &pb::StreamCallRequest,
    resend: impl Iterator<Item = &'a Step> + Clone,
) -> Result<
    (
        mpsc::Sender<pb::StreamCallRequest>,
        tonic::Streaming<pb::StreamCallResponse>,
    ),
    tonic::Status,
> {
    let patience = Instant::now() + crate::replay::TAKEOVER_PATIENCE;
    // Room for everything resent: nothing reads it before the stream opens.
    let room = REQUEST_BUFFER.max(resend.clone().count() + 1);
    loop {
        let (tx, rx) = mpsc::channel(room);
        let _ = tx.send(start.clone()).await;
        for step in resend.clone() {
            let _ = tx.send(step.request.clone()).await;
        }
        match client.stream_call(ReceiverStream::new(rx)).await {
            Ok(response) => return Ok((tx, response.into_inner())),
            Err(status)
                if status.code() == tonic::Code::AlreadyExists
                    && status.message().contains("another replica")
                    && Instant::now() < patience =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => return Err(status),
        }
    }
}

/// One closed-loop call: a final, wait for its Analysis, the next final…
/// until `hold_end`, then `end`.
async fn burst_call(
    mut client: Client,
    call_id: String,
    rng: &mut XorShift,
    hold_end: Instant,
    stats: &Mutex<Stats>,
) {
    let Some((tx, mut inbound)) = open(&mut client, script::start(&call_id, ""), stats).await
    else {
        return;
    };
    let mut n = 0;
    let outcome: Result<(), tonic::Status> = async {
        loop {
            let finished = Instant::now() >= hold_end;
            let request = if finished {
                script::end()
            } else {
                script::burst_segment(n, rng)
            };
            let sent_at = Instant::now();
            if tx.send(request).await.is_err() {
                return Ok(());
            }
            if !finished {
                stats.lock().sent(true);
            }
            n += 1;
            // Read up to this message's answer: its Analysis, or the summary.
            loop {
                let Some(response) = inbound.message().await? else {
                    return Err(tonic::Status::unknown("the server closed the stream early"));
                };
                match response.event.and_then(|e| e.payload) {
                    Some(Payload::Analysis(a)) if a.is_final => {
                        stats.lock().analysis(micros(sent_at));
                        break;
                    }
                    Some(Payload::Suggestion(_)) => stats.lock().suggestions += 1,
                    Some(Payload::Summary(_)) => {
                        stats.lock().calls_completed += 1;
                        return Ok(());
                    }
                    _ => {}
                }
            }
        }
    }
    .await;
    let mut s = stats.lock();
    if let Err(status) = outcome {
        s.error(status.code());
    }
    s.live_calls -= 1;
}

/// One watcher of a call: reads until the summary, counting what it was
/// told it missed.
async fn watch(mut client: Client, call_id: String, stats: Arc<Mutex<Stats>>) {
    let request = pb::WatchCallRequest {
        call_id,
        after_event_id: 0,
    };
    let mut stream = match client.watch_call(request).await {
        Ok(response) => response.into_inner(),
        Err(status) => return stats.lock().error(status.code()),
    };
    loop {
        match stream.message().await {
            Ok(Some(message)) => {
                let mut s = stats.lock();
                s.watcher_events += 1;
                s.dropped_watcher_events += message.dropped_events;
                let summary = message
                    .event
                    .is_some_and(|e| matches!(e.payload, Some(Payload::Summary(_))));
                if summary {
                    return;
                }
            }
            Ok(None) => return,
            Err(status) => return stats.lock().error(status.code()),
        }
    }
}

/// CPU time (user + system) of process `pid` (`self` for this one),
/// seconds (Linux; assumes the usual 100 clock ticks per second).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Resident memory of process `pid`, bytes (Linux; `None` elsewhere).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

//! The encoder's worker pool: a few OS threads (the forward pass is
//! CPU-bound and must not run on the async runtime) that take queued
//! utterances in batches, so many calls' turns share one pass over the
//! weights.
//!
//! Admission is decided up front ([`EncoderPool::submit`]): from the tokens
//! already queued and the measured cost per token, the pool estimates when
//! this turn would be done; past the budget it declines at once and the
//! turn is decided by the fast tier. The queue therefore never holds more
//! than about one budget of work (and never more than [`QUEUE_CAPACITY`]
//! turns): under overload the service degrades to the fast tier instead of
//! slowing down.

use crate::encoder::Encoder;
use parking_lot::{Condvar, Mutex};
use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::oneshot;

/// Most turns waiting for the encoder (a hard bound beside the time
/// budget); a turn beyond it is declined.
pub const QUEUE_CAPACITY: usize = 1024;
/// Most tokens one forward pass takes (bounds a batch's memory and time).
pub const MAX_BATCH_TOKENS: usize = 2048;
/// The cost per token assumed before the first batch is measured.
const INITIAL_COST_PER_TOKEN: Duration = Duration::from_micros(1500);

/// A queued turn.
struct Job {
    /// Its token ids.
    tokens: Vec<u32>,
    /// Where its embedding goes (a dropped receiver means the call left).
    reply: oneshot::Sender<Vec<f32>>,
}

/// What the workers share.
struct Queue {
    /// Queued turns, oldest first.
    jobs: VecDeque<Job>,
    /// Tokens queued.
    queued_tokens: usize,
    /// The passes running now: when each started and its tokens.
    running: Vec<(Instant, usize)>,
    /// Measured seconds per token of a batch (moving average).
    cost_per_token: f64,
    /// Set when the pool is dropped: workers exit.
    closed: bool,
}

/// Why a turn was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declined {
    /// The estimated wait exceeds the budget.
    OverBudget,
    /// The queue is at [`QUEUE_CAPACITY`].
    QueueFull,
}

/// The pool. Dropping it stops the workers once their batch is done.
pub struct EncoderPool {
    /// The model, shared by the workers.
    encoder: Arc<Encoder>,
    /// Queue and cost model.
    shared: Arc<(Mutex<Queue>, Condvar)>,
    /// Workers (for the estimate: they drain the queue in parallel).
    workers: usize,
    /// Longest a turn may take from admission to embedding.
    budget: Duration,
}

impl std::fmt::Debug for EncoderPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncoderPool")
            .field("workers", &self.workers)
            .field("budget", &self.budget)
            .finish()
    }
}

impl EncoderPool {
    /// Starts `workers` threads over `encoder`.
    pub fn start(encoder: Arc<Encoder>, workers: usize, budget: Duration) -> Self {
        let workers = workers.max(1);
        let shared = Arc::new((
            Mutex::new(Queue {
                jobs: VecDeque::new(),
                queued_tokens: 0,
                running: Vec::new(),
                cost_per_token: INITIAL_COST_PER_TOKEN.as_secs_f64(),
                closed: false,
            }),
            Condvar::new(),
        ));
        for i in 0..workers {
            let (encoder, shared) = (encoder.clone(), shared.clone());
            std::thread::Builder::new()
                .name(format!("encoder-{i}"))
                .spawn(move || work(&encoder, &shared))
                .expect("spawn an encoder thread");
        }
        EncoderPool {
            encoder,
            shared,
            workers,
            budget,
        }
    }

    /// Admits `text` if its embedding can be ready within the budget;
    /// the receiver then yields it (or an error if the pool stopped).
    pub fn submit(&self, text: &str) -> Result<oneshot::Receiver<Vec<f32>>, Declined> {
        let tokens = self.encoder.tokens(text);
        let (lock, ready) = &*self.shared;
        let mut q = lock.lock();
        if q.jobs.len() >= QUEUE_CAPACITY {
            return Err(Declined::QueueFull);
        }
        // The next worker to be free takes everything queued, this turn
        // included, as one pass: the wait is what remains of the earliest
        // running pass (none if a worker is idle) plus that pass.
        let free_in = if q.running.len() < self.workers {
            0.0
        } else {
            q.running
                .iter()
                .map(|(started, tokens)| {
                    (q.cost_per_token * *tokens as f64 - started.elapsed().as_secs_f64()).max(0.0)
                })
                .fold(f64::INFINITY, f64::min)
        };
        let estimate = free_in + q.cost_per_token * (q.queued_tokens + tokens.len()) as f64;
        if estimate > self.budget.as_secs_f64() {
            return Err(Declined::OverBudget);
        }
        let (reply, receiver) = oneshot::channel();
        q.queued_tokens += tokens.len();
        q.jobs.push_back(Job { tokens, reply });
        drop(q);
        ready.notify_one();
        Ok(receiver)
    }

    /// The measured cost of a token in a batch.
    pub fn cost_per_token(&self) -> Duration {
        Duration::from_secs_f64(self.shared.0.lock().cost_per_token)
    }
}

impl Drop for EncoderPool {
    fn drop(&mut self) {
        self.shared.0.lock().closed = true;
        self.shared.1.notify_all();
    }
}

/// A worker: takes every queued turn up to [`MAX_BATCH_TOKENS`], encodes
/// them in one pass, replies, and updates the cost estimate.
fn work(encoder: &Encoder, shared: &(Mutex<Queue>, Condvar)) {
    let (lock, ready) = shared;
    loop {
        let started;
        let batch: Vec<Job> = {
            let mut q = lock.lock();
            while q.jobs.is_empty() && !q.closed {
                ready.wait(&mut q);
            }
            if q.closed {
                return;
            }
            started = Instant::now();
            let mut batch = Vec::new();
            let mut tokens = 0;
            while let Some(job) = q.jobs.front() {
                if !batch.is_empty() && tokens + job.tokens.len() > MAX_BATCH_TOKENS {
                    break;
                }
                tokens += job.tokens.len();
                batch.extend(q.jobs.pop_front());
            }
            q.queued_tokens -= tokens;
            q.running.push((started, tokens));
            batch
        };
        let tokens: usize = batch.iter().map(|j| j.tokens.len()).sum();
        let sequences: Vec<&[u32]> = batch.iter().map(|j| j.tokens.as_slice()).collect();
        let vectors = encoder.embed_tokens(&sequences);
        let elapsed = started.elapsed();
        crate::instruments::encoder_batch(batch.len(), elapsed);
        {
            let mut q = lock.lock();
            if let Some(i) = q.running.iter().position(|r| r.0 == started) {
                q.running.swap_remove(i);
            }
            let measured = elapsed.as_secs_f64() / tokens.max(1) as f64;
            q.cost_per_token = 0.8 * q.cost_per_token + 0.2 * measured;
        }
        for (job, vector) in batch.into_iter().zip(vectors) {
            let _ = job.reply.send(vector);
        }
    }
}

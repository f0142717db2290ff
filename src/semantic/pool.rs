//! The encoder's worker pool: a few OS threads (the forward pass is
//! CPU-bound and must not run on the async runtime) that take queued
//! utterances in batches, so many calls' turns share one pass over the
//! weights.
//!
//! Admission is decided up front ([`EncoderPool::submit`]): from the tokens
//! already queued and the measured cost of a pass ([`PassCost`]), the pool
//! estimates when this turn would be done; past the budget it declines at
//! once and the turn is decided by the fast tier. The queue therefore never holds more
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
/// Weights of the newest pass in the moving correction of [`PassCost`]: a
/// pass slower than predicted moves it fast, a faster one slowly, so the
/// correction follows the slow end of recent passes (admission must hold
/// the budget for the tail, not the average).
const COST_RISE: f64 = 0.5;
const COST_FALL: f64 = 0.05;

/// What a forward pass costs: a fixed part (every pass streams all the layer
/// weights through the caches, however few its tokens) plus a part per
/// token. A cost proportional to tokens alone overstates a batch by the
/// fixed part of every pass it averaged, and so declines turns an idle-
/// enough encoder could take.
///
/// The two parts are measured once when the pool starts (a one-utterance
/// pass and a batch); afterwards every pass moves one correction factor
/// (`measured / predicted`, smoothed), which follows the machine's load (the
/// other cores' work slows a pass) without refitting the shape; it rises
/// fast and falls slowly, so it tracks the slower passes.
#[derive(Debug, Clone, Copy)]
pub struct PassCost {
    /// Seconds a pass costs whatever its size.
    fixed: f64,
    /// Seconds each token adds.
    per_token: f64,
    /// Smoothed ratio of measured to predicted time.
    correction: f64,
}

impl PassCost {
    /// Times two passes of `encoder` (one short utterance, then a batch of
    /// four; the layer weights are warm from loading) and fits the line
    /// through them.
    pub fn calibrate(encoder: &Encoder) -> Self {
        const SAMPLE: &str = "I'd like to check the balance of my savings account please";
        const BATCH: usize = 4;
        let single = [encoder.tokens(SAMPLE)];
        let batch = vec![single[0].clone(); BATCH];
        let time = |sequences: &[Vec<u32>]| {
            let started = Instant::now();
            encoder.embed_tokens(sequences);
            started.elapsed().as_secs_f64()
        };
        let n1 = single[0].len() as f64;
        let n2 = BATCH as f64 * n1;
        let (t1, t2) = (time(&single), time(&batch));
        // Noise can make the batch look cheaper than one turn: keep a
        // positive slope (a quarter of the batch's average per token).
        let per_token = ((t2 - t1) / (n2 - n1)).max(t2 / n2 / 4.0);
        PassCost {
            fixed: (t1 - per_token * n1).max(0.0),
            per_token,
            correction: 1.0,
        }
    }

    /// Seconds for a pass over `tokens` tokens as calibrated.
    fn shape(&self, tokens: usize) -> f64 {
        self.fixed + self.per_token * tokens as f64
    }

    /// Predicted seconds for a pass over `tokens` tokens.
    pub fn predict(&self, tokens: usize) -> f64 {
        self.correction * self.shape(tokens)
    }

    /// Takes a measured pass into the correction.
    fn observe(&mut self, tokens: usize, seconds: f64) {
        let shape = self.shape(tokens);
        if shape > 0.0 {
            let ratio = (seconds / shape).clamp(0.1, 10.0);
            let weight = if ratio > self.correction {
                COST_RISE
            } else {
                COST_FALL
            };
            self.correction += weight * (ratio - self.correction);
        }
    }
}

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
    /// What a pass costs.
    cost: PassCost,
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
    /// Measures what a pass costs ([`PassCost::calibrate`], ~50 ms: call it
    /// off the async runtime) and starts `workers` threads over `encoder`.
    pub fn start(encoder: Arc<Encoder>, workers: usize, budget: Duration) -> Self {
        let workers = workers.max(1);
        let cost = PassCost::calibrate(&encoder);
        let shared = Arc::new((
            Mutex::new(Queue {
                jobs: VecDeque::new(),
                queued_tokens: 0,
                running: Vec::new(),
                cost,
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
                    (q.cost.predict(*tokens) - started.elapsed().as_secs_f64()).max(0.0)
                })
                .fold(f64::INFINITY, f64::min)
        };
        let estimate = free_in + q.cost.predict(q.queued_tokens + tokens.len());
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

    /// The predicted time of a pass over `tokens` tokens.
    pub fn predicted_pass(&self, tokens: usize) -> Duration {
        Duration::from_secs_f64(self.shared.0.lock().cost.predict(tokens))
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
            q.cost.observe(tokens, elapsed.as_secs_f64());
        }
        for (job, vector) in batch.into_iter().zip(vectors) {
            let _ = job.reply.send(vector);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_costs_its_fixed_part_once_and_the_correction_follows_the_machine() {
        let mut cost = PassCost {
            fixed: 0.006,
            per_token: 0.0003,
            correction: 1.0,
        };
        // Eight turns in one pass cost far less than eight passes.
        assert!(cost.predict(8 * 14) < 0.5 * 8.0 * cost.predict(14));
        // A machine twice as slow as calibrated: predictions follow within
        // a few passes.
        for _ in 0..8 {
            cost.observe(30, 2.0 * (0.006 + 0.0003 * 30.0));
        }
        assert!(
            (cost.predict(30) - 0.030).abs() < 1e-3,
            "{}",
            cost.predict(30)
        );
        // One fast pass among slow ones barely lowers the prediction.
        cost.observe(30, 0.015);
        assert!(cost.predict(30) > 0.028, "{}", cost.predict(30));
    }
}

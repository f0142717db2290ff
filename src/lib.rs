//! # callassist
//!
//! A real-time call-assist service for bank contact centers. The contact-center
//! platform streams each live call's ASR transcript into the service over one
//! bidirectional gRPC stream; for every turn the service works out what the
//! customer needs (intent) and how they feel (emotion cues), and pushes back
//! what the agent could say, coaching on the agent's own speech, alerts for a
//! supervisor, and a summary when the call ends. Agent consoles follow the
//! same call with `WatchCall`.
//!
//! ```text
//!  platform ──StreamCall(start, segments…, end)──▶ grpc adapter ──▶ session (per-call state)
//!      ▲                                                │                 │
//!      └──────── AssistEvents (Analysis, Suggestion…) ◀─┘          pipeline: normalize → analyze → policy
//!  console ◀──WatchCall (history replay + live)──────── event log ◀─ emit
//! ```
//!
//! ## Layout
//! - [`config`]: the checked, immutable configuration (TOML file, `CALLASSIST_*`
//!   environment, CLI overrides).
//! - [`server`]: [`server::serve`] runs the whole service on a bound listener
//!   until a shutdown future resolves; tests use it on `127.0.0.1:0`.
//! - [`grpc`]: the tonic adapter: validates requests, converts proto messages
//!   to domain types and back, maps [`Error`] to `tonic::Status`.
//! - [`cluster`]: cluster mode: many replicas as one service on Redis
//!   (leases, checkpoints, per-call event streams, shared summaries).
//! - [`session`]: per-call state in one bounded concurrent map, the event log
//!   with bounded history, watchers, idle time-outs and summaries.
//! - [`pipeline`]: plain synchronous analysis code that never sees tonic:
//!   [`pipeline::normalize`] → [`pipeline::intent`] / [`pipeline::emotion`] /
//!   [`pipeline::entities`] → [`pipeline::policy`].
//! - [`model`]: the trainable intent classifier (features, logistic
//!   regression, model file, training and evaluation).
//! - [`replay`]: the `callassist replay` client for recorded calls.
//! - [`loadgen`]: the `callassist loadgen` load generator and its report.
//! - [`telemetry`]: `tracing` set-up (text or JSON).
//! - [`rng`]: the deterministic generator of training and the load generator.
//!
//! The internals are explained in `DESIGN.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod encoder;
pub mod error;
pub mod grpc;
pub mod http;
pub mod instruments;
pub mod loadgen;
pub mod model;
pub mod pipeline;
pub mod playbook;
pub mod reload;
pub mod replay;
pub mod rng;
pub mod semantic;
pub mod server;
pub mod session;
pub mod telemetry;
pub mod text;

pub use config::Config;
pub use error::Error;

/// The code generated from `proto/callassist/v1/call_assist.proto`.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("callassist.v1");

    /// The encoded descriptor set, served by gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/callassist_descriptor.bin"));
}

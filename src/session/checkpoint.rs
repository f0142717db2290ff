//! A live call's checkpoint: everything another replica needs to continue
//! the call exactly where its owner stopped (cluster mode, DESIGN.md
//! "Checkpoints").
//!
//! Written by the owner after every final segment; read by the replica that
//! takes the call over. Serialized as JSON with a `version`: a replica
//! refuses a checkpoint of a newer version than it knows (the call then
//! cannot move to it, which a rolling update never needs, since old and new
//! replicas share version 1), and reads older ones.
//!
//! Not in a checkpoint: the event history (the call's Redis stream holds
//! it), suggestions standing for interims (the client resends the segment
//! that was in flight), and the playbook (the new owner's applies from the
//! next turn).

use super::{
    call::{RecentFinals, Standing},
    feedback::FeedbackLedger,
    summary::CallStats,
    CallId, CallSummary, FeedbackAction,
};
use crate::{domain::Language, pipeline::CallContext, Error};
use std::collections::{BTreeMap, VecDeque};

/// The version this build writes and the newest it reads.
pub const CHECKPOINT_VERSION: u32 = 1;

/// A live call's resumable state.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// Format version ([`CHECKPOINT_VERSION`]).
    pub version: u32,
    /// The id the next event gets: a takeover continues the ids.
    pub next_event_id: u64,
    /// The agent, from the call's `start`.
    pub(super) agent_id: String,
    /// The call's language, from its `start`.
    pub(super) language: Option<Language>,
    /// Platform metadata, from its `start`.
    pub(super) metadata: BTreeMap<String, String>,
    /// What the pipeline remembers (carried intent, emotions, checklist,
    /// cooldowns, lines shown, follow-ups).
    pub(super) context: CallContext,
    /// The latest finals, to recognize a resent one.
    pub(super) finals: RecentFinals,
    /// Final suggestions a later turn may still retract.
    pub(super) recent: VecDeque<Standing>,
    /// Every suggestion shown and the feedback on it.
    pub(super) feedback: FeedbackLedger,
    /// The summary's running statistics.
    pub(super) stats: CallStats,
    /// Segment messages accepted so far.
    pub(super) segments: usize,
    /// Per speaker, the start of the latest final.
    pub(super) last_final_start: [u32; 2],
}

impl Checkpoint {
    /// The summary so far of the call this checkpoint is of (for
    /// `GetCallSummary` on a replica that does not own the call).
    pub fn summary(&self, call_id: &CallId) -> CallSummary {
        self.stats.summarize(
            call_id,
            &self.agent_id,
            self.language,
            None,
            self.feedback.counts(),
            &self.context,
        )
    }

    /// Applies feedback recorded elsewhere (another replica's
    /// `SubmitFeedback`) to the ledger: ids of suggestions this call never
    /// showed are ignored.
    pub fn merge_feedback(&mut self, feedback: &[(String, FeedbackAction)]) {
        for (id, action) in feedback {
            self.feedback.record(id, *action);
        }
    }

    /// The bytes stored.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a checkpoint serializes")
    }

    /// Reads stored bytes; an error names what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        #[derive(serde::Deserialize)]
        struct Version {
            version: u32,
        }
        let version = serde_json::from_slice::<Version>(bytes)
            .map_err(|e| Error::Io(format!("unreadable call checkpoint: {e}")))?
            .version;
        if version > CHECKPOINT_VERSION {
            return Err(Error::FailedPrecondition(format!(
                "the call's checkpoint has version {version}, newer than this replica reads ({CHECKPOINT_VERSION})"
            )));
        }
        serde_json::from_slice(bytes)
            .map_err(|e| Error::Io(format!("unreadable call checkpoint: {e}")))
    }
}

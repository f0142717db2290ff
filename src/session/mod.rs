//! Per-call state: who is streaming a call, what has been said, the events
//! emitted so far (with a bounded history for consoles that join late), and
//! the summary. The [`Registry`] holds every call in one bounded concurrent
//! map and runs the time-outs and retention.
//!
//! Nothing here knows about gRPC: the adapter converts proto messages to the
//! domain types of this module and [`crate::pipeline`].

mod call;
mod checkpoint;
mod event;
mod feedback;
mod registry;
mod store;
mod summary;
mod types;

pub use call::Call;
pub use checkpoint::{Checkpoint, CHECKPOINT_VERSION};
pub use event::{Event, Payload, Subscription};
pub use registry::{Attachment, Limits, Registry};
pub use store::SummaryLog;
pub use summary::{CallSummary, EmotionPoint, SpeechStats};
pub use types::{CallId, CallInfo, CallKey, CallStart, FeedbackAction, Segment, Tenant};

//! Validated inputs of the session layer.

use crate::{
    pipeline::{Language, Speaker},
    Error,
};
use std::{collections::BTreeMap, fmt, sync::Arc};

/// Longest accepted call id.
pub const MAX_CALL_ID_LEN: usize = 128;

/// A validated call id: 1–128 characters from letters, digits and `._:-`.
/// Cheap to clone (shared).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(Arc<str>);

impl CallId {
    /// Validates `raw`; `field` names the request field in the error.
    pub fn parse(raw: &str, field: &'static str) -> Result<Self, Error> {
        if raw.is_empty() {
            return Err(Error::invalid(field, "must not be empty"));
        }
        if raw.len() > MAX_CALL_ID_LEN {
            return Err(Error::invalid(
                field,
                format!(
                    "is {} characters long, at most {MAX_CALL_ID_LEN} are allowed",
                    raw.len()
                ),
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
        {
            return Err(Error::invalid(
                field,
                format!("contains {bad:?}; only letters, digits and `._:-` are allowed"),
            ));
        }
        Ok(CallId(raw.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The tenant (a bank, a business line) a request is made for, from its
/// bearer token. Every call belongs to the tenant that started it, and is
/// invisible to every other. Empty when authentication is off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tenant(Arc<str>);

impl Tenant {
    /// The tenant named `name`.
    pub fn new(name: &str) -> Self {
        Tenant(name.into())
    }

    /// The tenant's name (empty when authentication is off).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the registry keys calls by: the same call id under two tenants is
/// two different calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallKey {
    /// Who the call belongs to.
    pub tenant: Tenant,
    /// The call id the platform chose.
    pub id: CallId,
}

/// The first message of a StreamCall.
#[derive(Debug, Clone)]
pub struct CallStart {
    /// The tenant starting the call (from the request's credentials).
    pub tenant: Tenant,
    /// The call.
    pub call_id: CallId,
    /// The agent handling it.
    pub agent_id: String,
    /// The call's language, or `None` to detect per segment.
    pub language: Option<Language>,
    /// Platform metadata, kept with the call.
    pub metadata: BTreeMap<String, String>,
}

/// A validated transcript segment.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Shared by the interim revisions and the final of one stretch of speech
    /// (and by every event they cause: one allocation per segment message).
    pub id: Arc<str>,
    /// Who spoke.
    pub speaker: Speaker,
    /// The text.
    pub text: String,
    /// Final hypothesis or interim.
    pub is_final: bool,
    /// Start, ms from the start of the call.
    pub start_ms: u32,
    /// End, ms from the start of the call (not before `start_ms`).
    pub end_ms: u32,
}

/// A call as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The call.
    pub call_id: CallId,
    /// The agent handling it.
    pub agent_id: String,
    /// Its language, if given at start.
    pub language: Option<Language>,
    /// Whether a StreamCall is attached now.
    pub streaming: bool,
    /// Whether it has ended.
    pub ended: bool,
    /// Events emitted so far.
    pub events: u64,
}

/// What an agent did with a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackAction {
    /// Used it.
    Accepted,
    /// Dismissed it.
    Dismissed,
    /// Marked it as not helpful.
    NotHelpful,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_are_checked_and_the_error_names_the_field() {
        assert!(CallId::parse("call-2026.11:30_a", "start.call_id").is_ok());
        let e = CallId::parse("", "start.call_id").unwrap_err();
        assert_eq!(e.to_string(), "invalid start.call_id: must not be empty");
        assert!(CallId::parse("a b", "call_id")
            .unwrap_err()
            .to_string()
            .contains("' '"));
        assert!(CallId::parse(&"x".repeat(129), "call_id").is_err());
    }
}

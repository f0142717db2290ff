//! The Redis key layout (DESIGN.md "Cluster mode: keys").

use crate::session::{CallKey, Tenant};

/// Every key of one call. All carry the hash tag `{tenant/call}`, so they
/// live on one Redis Cluster shard and one script may touch them together.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The owner's lease: the owning replica's id, with an expiry.
    pub lease: String,
    /// The latest checkpoint (JSON, versioned), while the call is live.
    pub checkpoint: String,
    /// The call's events (a stream; entry id `<event id>-0`, field `e` the
    /// encoded event), bounded like the in-memory history.
    pub events: String,
    /// Suggestion id → feedback (`""` while none): once-only updates.
    pub feedback: String,
    /// The final summary, once the call has ended (JSON).
    pub summary: String,
    /// What `ListCalls` shows (a hash: agent, language, streaming, ended,
    /// events).
    pub info: String,
}

impl Keys {
    /// The set of live replicas (a sorted set: replica id → heartbeat
    /// expiry in Unix milliseconds).
    pub const REPLICAS: &'static str = "callassist:replicas";

    /// The keys of a call.
    pub fn of(key: &CallKey) -> Keys {
        let tag = format!("callassist:{{{}/{}}}", key.tenant.as_str(), key.id);
        Keys {
            lease: format!("{tag}:lease"),
            checkpoint: format!("{tag}:checkpoint"),
            events: format!("{tag}:events"),
            feedback: format!("{tag}:feedback"),
            summary: format!("{tag}:summary"),
            info: format!("{tag}:info"),
        }
    }

    /// A tenant's call index (a sorted set: call id → last change, Unix
    /// milliseconds), for `ListCalls`.
    pub fn index(tenant: &Tenant) -> String {
        format!("callassist:calls:{{{}}}", tenant.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::CallId;

    #[test]
    fn a_calls_keys_share_one_hash_tag_and_tenants_stay_apart() {
        let key = |tenant: &str| CallKey {
            tenant: Tenant::new(tenant),
            id: CallId::parse("c-1", "call_id").unwrap(),
        };
        let keys = Keys::of(&key("bank-a"));
        for k in [
            &keys.lease,
            &keys.checkpoint,
            &keys.events,
            &keys.feedback,
            &keys.summary,
            &keys.info,
        ] {
            assert!(k.starts_with("callassist:{bank-a/c-1}:"), "{k}");
        }
        assert_ne!(Keys::of(&key("bank-b")).events, keys.events);
    }
}

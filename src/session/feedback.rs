//! The suggestions a call has shown and what the agent did with each.

use super::FeedbackAction;
use std::collections::BTreeMap;

/// Prefix of suggestion ids: the `n`-th suggestion of a call is `sg-n`.
const ID_PREFIX: &str = "sg-";

/// Every suggestion a call has shown, by its number (ids are `sg-1`,
/// `sg-2`, …, so a suggestion's slot is found from its id without a map),
/// with the feedback it got. One byte per suggestion: ended calls keep it
/// for feedback that arrives after hang-up.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct FeedbackLedger {
    /// Slot `n - 1` holds the feedback on `sg-n`; `None` until the agent
    /// gives some.
    actions: Vec<Option<FeedbackAction>>,
}

/// What the summary reports of the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct FeedbackCounts {
    /// Suggestions shown (retracted ones included).
    pub(super) shown: u32,
    /// Suggestions the agent used.
    pub(super) accepted: u32,
    /// Suggestions dismissed or marked not helpful.
    pub(super) dismissed: u32,
}

impl FeedbackLedger {
    /// Registers a newly shown suggestion and returns its id.
    pub(super) fn show(&mut self) -> String {
        self.actions.push(None);
        format!("{ID_PREFIX}{}", self.actions.len())
    }

    /// Records feedback on `id`: `Some(true)` if it is the first feedback on
    /// it, `None` if the call never showed such a suggestion.
    pub(super) fn record(&mut self, id: &str, action: FeedbackAction) -> Option<bool> {
        let slot = self.actions.get_mut(Self::index(id)?)?;
        let first = slot.is_none();
        *slot = Some(action);
        Some(first)
    }

    /// The totals for the summary.
    pub(super) fn counts(&self) -> FeedbackCounts {
        let mut counts = FeedbackCounts {
            shown: u32::try_from(self.actions.len()).unwrap_or(u32::MAX),
            ..FeedbackCounts::default()
        };
        for action in self.actions.iter().flatten() {
            match action {
                FeedbackAction::Accepted => counts.accepted += 1,
                FeedbackAction::Dismissed | FeedbackAction::NotHelpful => counts.dismissed += 1,
            }
        }
        counts
    }

    /// Every suggestion by id with its feedback, as the summary log stores it.
    pub(super) fn to_map(&self) -> BTreeMap<String, Option<FeedbackAction>> {
        (1..)
            .zip(&self.actions)
            .map(|(n, action)| (format!("{ID_PREFIX}{n}"), *action))
            .collect()
    }

    /// The ledger of a call restored from the summary log. A call that
    /// showed n suggestions wrote `sg-1` … `sg-n`; other ids (none that this
    /// service wrote, e.g. a damaged line's `sg-4000000000`) are ignored
    /// rather than allowed to size the ledger.
    pub(super) fn from_map(map: &BTreeMap<String, Option<FeedbackAction>>) -> Self {
        let mut ledger = FeedbackLedger::default();
        for (id, action) in map {
            if let Some(index) = Self::index(id).filter(|&i| i < map.len()) {
                if ledger.actions.len() <= index {
                    ledger.actions.resize(index + 1, None);
                }
                ledger.actions[index] = *action;
            }
        }
        ledger
    }

    /// The slot of `sg-n`.
    fn index(id: &str) -> Option<usize> {
        let n: usize = id.strip_prefix(ID_PREFIX)?.parse().ok()?;
        n.checked_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_is_found_by_id_counted_and_survives_the_summary_log_form() {
        let mut ledger = FeedbackLedger::default();
        assert_eq!(ledger.show(), "sg-1");
        assert_eq!(ledger.show(), "sg-2");
        assert_eq!(ledger.show(), "sg-3");
        assert_eq!(ledger.record("sg-2", FeedbackAction::Dismissed), Some(true));
        assert_eq!(ledger.record("sg-2", FeedbackAction::Accepted), Some(false));
        assert_eq!(
            ledger.record("sg-3", FeedbackAction::NotHelpful),
            Some(true)
        );
        for unknown in ["sg-4", "sg-0", "sg-", "sg--1", "1", "xsg-1"] {
            assert_eq!(ledger.record(unknown, FeedbackAction::Accepted), None);
        }
        let counts = FeedbackCounts {
            shown: 3,
            accepted: 1,
            dismissed: 1,
        };
        assert_eq!(ledger.counts(), counts);
        let map = ledger.to_map();
        assert_eq!(map.len(), 3);
        assert_eq!(map["sg-1"], None);
        assert_eq!(map["sg-2"], Some(FeedbackAction::Accepted));
        let restored = FeedbackLedger::from_map(&map);
        assert_eq!(restored.counts(), counts);
        assert_eq!(restored.to_map(), map);
        let mut damaged = map.clone();
        damaged.insert("sg-4000000000".into(), Some(FeedbackAction::Accepted));
        damaged.insert("note".into(), None);
        assert_eq!(FeedbackLedger::from_map(&damaged).to_map(), map);
    }
}

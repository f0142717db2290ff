//! The playbook file as written (TOML), before validation. Unknown keys are
//! errors, so a misspelt key is reported with its line instead of being
//! silently ignored. See `playbooks/default.toml` for a commented example
//! and README.md for the schema.

use crate::domain::{AlertKind, Emotion};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    /// Thresholds and caps.
    pub limits: LimitsFile,
    /// Built-in rules by id.
    #[serde(default)]
    pub rules: BTreeMap<String, Spanned<RuleFile>>,
    /// Texts per intent id.
    #[serde(default)]
    pub intents: BTreeMap<String, PerLangFile<IntentFile>>,
    /// Negative or commanding phrasings of the agent and their reframes.
    #[serde(default)]
    pub reframes: Vec<Spanned<ReframeFile>>,
    /// Jargon of the agent and plain words for it.
    #[serde(default)]
    pub jargon: Vec<Spanned<JargonFile>>,
    /// Vague requests that call for a closed question between two needs.
    #[serde(default)]
    pub vague: Vec<Spanned<VagueFile>>,
    /// Hold, end-of-call and small-talk phrases.
    #[serde(default)]
    pub flow: PerLangFile<FlowFile>,
    /// The compliance checklist.
    #[serde(default)]
    pub checklist: Vec<Spanned<ChecklistFile>>,
    /// Supervisor alerts.
    #[serde(default)]
    pub alerts: Vec<Spanned<AlertFile>>,
    /// The agent's promises that become follow-up items.
    #[serde(default)]
    pub follow_ups: PerLangFile<FollowUpFile>,
}

/// A table with a `zh` and an `en` part, each optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PerLangFile<T> {
    /// Mandarin (Simplified and Traditional calls).
    pub zh: Option<T>,
    /// English.
    pub en: Option<T>,
}

impl<T> Default for PerLangFile<T> {
    fn default() -> Self {
        PerLangFile { zh: None, en: None }
    }
}

/// `[limits]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsFile {
    pub max_suggestions_per_turn: u32,
    pub empathy_min_intensity: f32,
    pub close_alternative_ratio: f32,
    pub confirm_min_confidence: f32,
    pub opening_within_agent_turns: u32,
    pub pace_min_duration_ms: u32,
    pub zh_max_chars_per_second: f32,
    pub en_max_words_per_second: f32,
    pub zh_open_question_min_chars: u32,
    pub en_open_question_min_words: u32,
    pub vague_max_confidence: f32,
}

/// `[rules."id"]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleFile {
    #[serde(default)]
    pub priority: u32,
    #[serde(default)]
    pub cooldown_turns: u32,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub zh: Vec<Spanned<String>>,
    #[serde(default)]
    pub en: Vec<Spanned<String>>,
}

fn yes() -> bool {
    true
}

/// `[intents.ID.zh]` / `[intents.ID.en]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IntentFile {
    pub label: String,
    pub name: String,
    pub paraphrase: Spanned<String>,
    pub next: Vec<String>,
    #[serde(default)]
    pub probe: Vec<String>,
}

/// `[[reframes]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReframeFile {
    pub id: String,
    pub zh: Option<ReframeLang>,
    pub en: Option<ReframeLang>,
}

/// One language of a reframe.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReframeLang {
    pub phrases: Vec<String>,
    pub say: Vec<String>,
}

/// `[[jargon]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JargonFile {
    pub id: String,
    pub zh: Option<JargonLang>,
    pub en: Option<JargonLang>,
}

/// One language of a jargon entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JargonLang {
    pub terms: Vec<String>,
    pub plain: String,
}

/// `[flow.zh]` / `[flow.en]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FlowFile {
    #[serde(default)]
    pub hold: Vec<String>,
    #[serde(default)]
    pub customer_done: Vec<String>,
    #[serde(default)]
    pub small_talk: Vec<String>,
    #[serde(default)]
    pub what_next: Vec<String>,
}

/// `[[vague]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VagueFile {
    pub id: String,
    pub between: [String; 2],
    pub zh: Option<VagueLang>,
    pub en: Option<VagueLang>,
}

/// One language of a vague request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VagueLang {
    pub phrases: Vec<String>,
}

/// When a checklist item is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    /// Within the agent's first `opening_within_agent_turns` turns.
    Opening,
    /// In the agent's first turn after putting the customer on hold.
    AfterHold,
    /// Before the call ends; reminded when the customer signals the end.
    Closing,
    /// Any time; checked at the end only.
    Anytime,
}

/// `[[checklist]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChecklistFile {
    pub id: String,
    pub due: Due,
    pub zh: Option<ChecklistLang>,
    pub en: Option<ChecklistLang>,
}

/// One language of a checklist item.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChecklistLang {
    pub label: String,
    pub phrases: Vec<String>,
    pub say: String,
}

/// `[[alerts]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertFile {
    pub id: String,
    pub kind: AlertKind,
    #[serde(default)]
    pub intents: Vec<String>,
    pub emotion: Option<Emotion>,
    #[serde(default)]
    pub min_intensity: f32,
    #[serde(default = "one")]
    pub turns: u32,
    #[serde(default)]
    pub rising: bool,
    pub zh: Option<AlertLang>,
    pub en: Option<AlertLang>,
}

fn one() -> u32 {
    1
}

/// One language of an alert.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertLang {
    #[serde(default)]
    pub phrases: Vec<String>,
    pub text: String,
    pub follow_up: Option<String>,
}

/// `[follow_ups.zh]` / `[follow_ups.en]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FollowUpFile {
    pub promises: Vec<String>,
    pub text: Spanned<String>,
}

//! The domain vocabulary, on the ground floor: speakers, languages, emotions,
//! intents, suggestion and alert kinds, and the analysis of a turn. Every
//! layer above (models, playbook, pipeline, session, adapters) speaks it;
//! it imports nothing of theirs. The types mirror the proto messages but
//! carry no wire concerns; `grpc::convert` translates between the two.

/// The intent id of a turn that names no need the model knows (and the
/// label of training examples of what to reject).
pub const OUT_OF_SCOPE: &str = "out_of_scope";

/// Which side of the call spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Speaker {
    /// The bank's customer.
    Customer,
    /// The bank's agent.
    Agent,
}

impl Speaker {
    /// 0 for the customer, 1 for the agent: the index of per-side arrays.
    pub fn side(self) -> usize {
        match self {
            Speaker::Customer => 0,
            Speaker::Agent => 1,
        }
    }
}

/// A language the service understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Language {
    /// Mandarin, Simplified script.
    ZhCn,
    /// Mandarin, Traditional script.
    ZhTw,
    /// English.
    EnUs,
}

impl Language {
    /// Parses a BCP-47 code as used in the API (`zh-CN`, `zh-TW`, `en-US`).
    /// Case-insensitive; `_` is accepted for `-`.
    pub fn from_code(code: &str) -> Option<Self> {
        match code.replace('_', "-").to_ascii_lowercase().as_str() {
            "zh-cn" | "zh-hans" | "zh" => Some(Language::ZhCn),
            "zh-tw" | "zh-hant" | "zh-hk" => Some(Language::ZhTw),
            "en-us" | "en" | "en-gb" => Some(Language::EnUs),
            _ => None,
        }
    }

    /// The code used on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::ZhTw => "zh-TW",
            Language::EnUs => "en-US",
        }
    }

    /// True for both Mandarin variants.
    pub fn is_chinese(self) -> bool {
        matches!(self, Language::ZhCn | Language::ZhTw)
    }
}

/// One utterance handed to the pipeline.
#[derive(Debug, Clone, Copy)]
pub struct Utterance<'a> {
    /// The text as transcribed.
    pub text: &'a str,
    /// Who said it.
    pub speaker: Speaker,
    /// The call's language, or `None` to detect it from the text.
    pub language: Option<Language>,
    /// Whether this is the final hypothesis of its segment.
    pub is_final: bool,
    /// The encoder's embedding of the text, when the semantic tier took
    /// this turn (see [`crate::semantic`]); `None`: the fast tier decides.
    pub embedding: Option<&'a [f32]>,
}

/// Which tier decided an utterance's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tier {
    /// The n-gram model alone (always on, microseconds).
    #[default]
    Fast,
    /// The encoder's embedding mixed with the n-gram model.
    Semantic,
}

impl Tier {
    /// The tier's name in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Fast => "fast",
            Tier::Semantic => "semantic",
        }
    }
}

/// When an utterance was spoken, relative to the other side's speech; used by
/// the pace and interruption coaching.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// Start of the speech, ms from the start of the call.
    pub start_ms: u32,
    /// End of the speech, ms from the start of the call.
    pub end_ms: u32,
}

/// The understanding of one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Who spoke.
    pub speaker: Speaker,
    /// Given or detected language.
    pub language: Language,
    /// What the customer needs.
    pub intent: IntentPrediction,
    /// Emotion cues, strongest first.
    pub emotions: Vec<EmotionCue>,
    /// Facts named in the utterance.
    pub entities: Vec<Entity>,
    /// Whether the analyzed text was final.
    pub is_final: bool,
    /// Whether the intent was carried over from the call's earlier turns.
    pub intent_carried_over: bool,
    /// Which tier decided the intent.
    pub tier: Tier,
    /// What was said, for a console's transcript (personal data masked on
    /// the way out like every other text).
    pub text: String,
}

impl Analysis {
    /// Heap bytes this analysis holds beyond its own struct (strings and
    /// vectors, by capacity): what keeping it in a call's history costs.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.text.capacity()
            + self.intent.alternatives.capacity() * size_of::<(IntentId, f32)>()
            + self.emotions.capacity() * size_of::<EmotionCue>()
            + self
                .emotions
                .iter()
                .map(|c| c.evidence.capacity())
                .sum::<usize>()
            + self.entities.capacity() * size_of::<Entity>()
            + self
                .entities
                .iter()
                .map(|e| e.text.capacity() + e.value.capacity())
                .sum::<usize>()
    }
}

/// An intent id (`check_balance`, …), shared rather than copied.
pub type IntentId = std::sync::Arc<str>;

/// The classifier's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentPrediction {
    /// The intent id, or [`crate::pipeline::intent::OUT_OF_SCOPE`].
    pub intent: IntentId,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// The next most likely intents with their scores, most likely first.
    pub alternatives: Vec<(IntentId, f32)>,
}

impl IntentPrediction {
    /// Whether no known intent fits.
    pub fn is_out_of_scope(&self) -> bool {
        &*self.intent == OUT_OF_SCOPE
    }
}

/// An emotion the agent should react to. (Named in snake case in the
/// playbook file.)
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Emotion {
    /// Annoyed, angry.
    Frustration,
    /// Worried, afraid.
    Anxiety,
    /// Does not understand.
    Confusion,
    /// Needs it now.
    Urgency,
    /// Sad, grieving, in hardship.
    Sadness,
    /// Pleased, grateful.
    Satisfaction,
}

/// One emotion found in an utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct EmotionCue {
    /// The emotion.
    pub emotion: Emotion,
    /// Strength in [0, 1].
    pub intensity: f32,
    /// The words as said that triggered it.
    pub evidence: String,
}

/// One fact named in an utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// The kind (`amount`, `card_last4`, …).
    pub kind: &'static str,
    /// The words as said.
    pub text: String,
    /// The normalized value.
    pub value: String,
}

/// What kind of help a suggestion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuggestionKind {
    /// Acknowledge feelings first.
    Empathy,
    /// Ask to find the need.
    ClarifyingQuestion,
    /// Paraphrase the need back.
    Confirmation,
    /// What to do next.
    NextStep,
    /// Positive, plain words.
    Reframe,
    /// Coaching on the agent's speech.
    Coaching,
    /// A required item of the standard flow.
    Compliance,
}

impl SuggestionKind {
    /// The snake-case name (metrics labels, logs).
    pub fn name(self) -> &'static str {
        match self {
            SuggestionKind::Empathy => "empathy",
            SuggestionKind::ClarifyingQuestion => "clarifying_question",
            SuggestionKind::Confirmation => "confirmation",
            SuggestionKind::NextStep => "next_step",
            SuggestionKind::Reframe => "reframe",
            SuggestionKind::Coaching => "coaching",
            SuggestionKind::Compliance => "compliance",
        }
    }
}

/// A suggestion as the playbook makes it; the session gives it an id.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// What kind of help.
    pub kind: SuggestionKind,
    /// The words the agent could say.
    pub text: String,
    /// Why it is suggested.
    pub rationale: String,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// Lower is more urgent.
    pub priority: u32,
    /// The playbook rule that produced it (`empathy.anxiety`,
    /// `reframe.cannot_do`…).
    pub rule_id: std::sync::Arc<str>,
}

/// Why a supervisor should look at a call. (Named in snake case in the
/// playbook file.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Frustration repeated or rising.
    EscalationRisk,
    /// The customer asked for a supervisor.
    SupervisorRequest,
    /// A complaint.
    Complaint,
    /// A customer in hardship or grief.
    VulnerableCustomer,
}

impl AlertKind {
    /// The snake-case name, as in the playbook file.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::EscalationRisk => "escalation_risk",
            AlertKind::SupervisorRequest => "supervisor_request",
            AlertKind::Complaint => "complaint",
            AlertKind::VulnerableCustomer => "vulnerable_customer",
        }
    }
}

/// An alert for a supervisor.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// What kind.
    pub kind: AlertKind,
    /// One line.
    pub text: String,
    /// Why.
    pub rationale: String,
    /// The playbook alert that raised it; each is raised once per call.
    pub rule_id: std::sync::Arc<str>,
}

/// One piece of advice from the playbook.
#[derive(Debug, Clone, PartialEq)]
pub enum Assist {
    /// For the agent.
    Suggestion(Suggestion),
    /// For the supervisor.
    Alert(Alert),
}

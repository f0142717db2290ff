//! What the pipeline remembers about a call between turns: the customer's
//! need and emotional trajectory, what the agent has been shown, the
//! checklist's progress, the agent's speech and the follow-ups promised.
//!
//! Only final segments are committed ([`CallContext::commit`]); interim
//! hypotheses are analyzed against the context but never change it, so the
//! final of a segment picks the same words as its last interim did.
//! Everything is keyed by the playbook's ids (not indices), so a playbook
//! reloaded in the middle of a call carries on where the old one stopped.

use super::{policy::Effects, Analysis, Assist, Emotion, IntentId, Speaker, Timing};
use crate::playbook::Playbook;
use std::{
    collections::VecDeque,
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

/// Customer turns of emotion history kept for the alert triggers (the
/// playbook's `turns` is at most this).
const EMOTION_HISTORY: usize = 8;

/// Suggestion texts a call remembers having shown: far more than a
/// playbook has distinct lines for one need, so only an hour-long call
/// could ever see a line again.
const SAID_REMEMBERED: usize = 256;

/// Number of [`Emotion`] values, for per-emotion arrays.
const EMOTIONS: usize = 6;

/// The call's memory as far as analysis and policy are concerned.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CallContext {
    /// The customer's current need, carried over to short follow-up turns.
    current_intent: Option<IntentId>,
    /// Final turns so far per side, `[customer, agent]`: cooldowns and the
    /// opening checklist count in turns.
    turns: [u32; 2],
    /// Per-emotion intensity of the customer's last final turns, newest last:
    /// repeated and rising emotions raise alerts.
    emotions: VecDeque<[f32; EMOTIONS]>,
    /// When the customer's last final segment ended, for interruption coaching.
    last_customer_end_ms: Option<u32>,
    /// Alert ids already raised: each is raised once per call.
    alerts_raised: Vec<Arc<str>>,
    /// Per rule id, the side's turn in which it last fired: for cooldowns.
    /// (A call fires a few dozen rules at most: a vector is smaller and as
    /// fast as a map here.)
    fired: Vec<(Arc<str>, u32)>,
    /// Hashes of the suggestion texts shown (the latest [`SAID_REMEMBERED`]):
    /// a call does not show the same line twice, and its memory stays flat
    /// however long it lasts.
    said: VecDeque<u64>,
    /// The two needs the last customer turn's closed question offered.
    asked: Option<(IntentId, IntentId)>,
    /// Needs already paraphrased back.
    confirmed: Vec<IntentId>,
    /// Needs whose underlying need was already probed.
    probed: Vec<IntentId>,
    /// Needs whose next step was already offered.
    guided: Vec<IntentId>,
    /// Checklist item ids the agent has said.
    ticked: Vec<Arc<str>>,
    /// Checklist item ids already reminded: one reminder per item.
    reminded: Vec<Arc<str>>,
    /// The agent has put the customer on hold and has not spoken since.
    on_hold: bool,
    /// Holds so far: the thanks after a hold is only due when there was one.
    holds: u32,
    /// Follow-up items for the summary, in order, without duplicates.
    follow_ups: Vec<String>,
    /// Negative or commanding phrasings of the agent.
    negative_phrasings: u32,
    /// The agent's speech units (characters or words) and the time they
    /// took, over segments long enough to judge: the speaking rate.
    agent_pace: (u32, u32),
    /// The playbook in force at the last committed turn: the summary names
    /// intents and checklist items with it. Not checkpointed: a call taken
    /// over by another replica gets that replica's playbook at its next turn.
    #[serde(skip)]
    playbook: Option<Arc<Playbook>>,
}

/// A checklist item's result in the summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChecklistResult {
    /// The item's id.
    pub id: String,
    /// Its label in the call's language.
    pub label: String,
    /// Whether the agent said it.
    pub done: bool,
}

/// A hash of a text, for remembering texts without keeping them (lines
/// already shown; a segment's final).
pub(crate) fn text_hash(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl CallContext {
    /// The customer's current need, if one is known.
    pub fn current_intent(&self) -> Option<IntentId> {
        self.current_intent.clone()
    }

    /// Final turns of `speaker` committed so far.
    pub fn turns(&self, speaker: Speaker) -> u32 {
        self.turns[speaker.side()]
    }

    /// When the customer's last final segment ended.
    pub fn last_customer_end_ms(&self) -> Option<u32> {
        self.last_customer_end_ms
    }

    /// Whether the alert `id` was already raised in the call.
    pub fn alert_raised(&self, id: &str) -> bool {
        self.alerts_raised.iter().any(|a| &**a == id)
    }

    /// The intensity of `emotion` in the customer's last `n` final turns,
    /// oldest first (0 where it did not show); fewer when the call is young.
    pub fn recent_intensities(&self, emotion: Emotion, n: usize) -> Vec<f32> {
        let skip = self.emotions.len().saturating_sub(n);
        self.emotions
            .iter()
            .skip(skip)
            .map(|e| e[emotion as usize])
            .collect()
    }

    /// Whether rule `id` may fire in `speaker`'s current turn: it has not
    /// fired within its cooldown.
    pub fn cooled_down(&self, id: &str, speaker: Speaker, cooldown_turns: u32) -> bool {
        self.fired
            .iter()
            .find(|(rule, _)| &**rule == id)
            .is_none_or(|&(_, turn)| self.turns(speaker) > turn + cooldown_turns)
    }

    /// Whether `text` was already shown in the call.
    pub fn said(&self, text: &str) -> bool {
        self.said.contains(&text_hash(text))
    }

    /// Whether the last customer turn was asked a closed question that
    /// offered `intent`.
    pub fn just_asked(&self, intent: &str) -> bool {
        self.asked
            .as_ref()
            .is_some_and(|(a, b)| &**a == intent || &**b == intent)
    }

    /// Whether the need was already paraphrased back.
    pub fn confirmed(&self, intent: &str) -> bool {
        self.confirmed.iter().any(|i| &**i == intent)
    }

    /// Whether the need behind `intent` was already probed.
    pub fn probed(&self, intent: &str) -> bool {
        self.probed.iter().any(|i| &**i == intent)
    }

    /// Whether the next step for `intent` was already offered.
    pub fn guided(&self, intent: &str) -> bool {
        self.guided.iter().any(|i| &**i == intent)
    }

    /// Whether the agent has said checklist item `id`.
    pub fn ticked(&self, id: &str) -> bool {
        self.ticked.iter().any(|i| &**i == id)
    }

    /// Whether checklist item `id` was already reminded.
    pub fn reminded(&self, id: &str) -> bool {
        self.reminded.iter().any(|i| &**i == id)
    }

    /// Whether the agent put the customer on hold and has not spoken since.
    pub fn on_hold(&self) -> bool {
        self.on_hold
    }

    /// Follow-up items so far.
    pub fn follow_ups(&self) -> &[String] {
        &self.follow_ups
    }

    /// Negative or commanding phrasings of the agent so far.
    pub fn negative_phrasings(&self) -> u32 {
        self.negative_phrasings
    }

    /// The agent's speaking rate (characters per second in Mandarin, words
    /// per second in English) over the segments long enough to judge.
    pub fn agent_rate(&self) -> Option<f32> {
        let (units, ms) = self.agent_pace;
        (ms > 0).then(|| units as f32 * 1000.0 / ms as f32)
    }

    /// The playbook in force at the last committed turn.
    pub fn playbook(&self) -> Option<&Arc<Playbook>> {
        self.playbook.as_ref()
    }

    /// Every checklist item of the playbook that applied to the call (the
    /// thanks after a hold only if there was a hold), with whether it was
    /// said.
    pub fn checklist(&self, lang: crate::playbook::Lang) -> Vec<ChecklistResult> {
        let Some(playbook) = &self.playbook else {
            return Vec::new();
        };
        playbook
            .checklist
            .iter()
            .filter(|item| item.due != crate::playbook::Due::AfterHold || self.holds > 0)
            .filter_map(|item| {
                let label = item.label.get(lang).as_ref()?;
                Some(ChecklistResult {
                    id: item.id.to_string(),
                    label: label.clone(),
                    done: self.ticked(&item.id),
                })
            })
            .collect()
    }

    /// Commits a final segment: its analysis, the advice shown for it and
    /// what it changed, under `playbook`.
    pub fn commit(
        &mut self,
        analysis: &Analysis,
        timing: Timing,
        assists: &[Assist],
        effects: &Effects,
        playbook: &Arc<Playbook>,
    ) {
        let me = analysis.speaker.side();
        let turn = self.turns[me];
        for assist in assists {
            match assist {
                Assist::Suggestion(s) => {
                    match self.fired.iter_mut().find(|(rule, _)| *rule == s.rule_id) {
                        Some(entry) => entry.1 = turn,
                        None => self.fired.push((s.rule_id.clone(), turn)),
                    }
                    if self.said.len() == SAID_REMEMBERED {
                        self.said.pop_front();
                    }
                    self.said.push_back(text_hash(&s.text));
                }
                Assist::Alert(a) => {
                    if !self.alert_raised(&a.rule_id) {
                        self.alerts_raised.push(a.rule_id.clone());
                    }
                }
            }
        }
        for (done, list) in [
            (&effects.confirmed, &mut self.confirmed),
            (&effects.probed, &mut self.probed),
            (&effects.guided, &mut self.guided),
        ] {
            if let Some(intent) = done {
                if !list.contains(intent) {
                    list.push(intent.clone());
                }
            }
        }
        for (new, list) in [
            (&effects.ticked, &mut self.ticked),
            (&effects.reminded, &mut self.reminded),
        ] {
            for id in new {
                if !list.contains(id) {
                    list.push(id.clone());
                }
            }
        }
        for item in &effects.follow_ups {
            if !self.follow_ups.contains(item) {
                self.follow_ups.push(item.clone());
            }
        }
        self.turns[me] += 1;
        self.playbook = Some(playbook.clone());
        match analysis.speaker {
            Speaker::Agent => {
                self.on_hold = effects.hold;
                self.holds += u32::from(effects.hold);
                self.negative_phrasings += effects.negative_phrasings;
                if let Some((units, ms)) = effects.pace {
                    self.agent_pace.0 = self.agent_pace.0.saturating_add(units);
                    self.agent_pace.1 = self.agent_pace.1.saturating_add(ms);
                }
            }
            Speaker::Customer => {
                self.asked = effects.asked.clone();
                if !analysis.intent.is_out_of_scope() {
                    self.current_intent = Some(analysis.intent.intent.clone());
                }
                let mut intensities = [0.0f32; EMOTIONS];
                for cue in &analysis.emotions {
                    let slot = &mut intensities[cue.emotion as usize];
                    *slot = slot.max(cue.intensity);
                }
                if self.emotions.len() == EMOTION_HISTORY {
                    self.emotions.pop_front();
                }
                self.emotions.push_back(intensities);
                self.last_customer_end_ms = Some(timing.end_ms);
            }
        }
    }
}

//! The service playbook as data: the words, thresholds, cooldowns, intent
//! guidance, checklist and alert triggers the policy applies, per language.
//!
//! A bank edits a TOML file (the embedded default is
//! `playbooks/default.toml`; the schema is in README.md) and serves it with
//! `callassist serve --playbook FILE`. [`Playbook::parse`] checks everything
//! once, when the file is loaded, and names the line of the first problem;
//! the policy then works on the checked, compiled form: templates parsed,
//! phrases normalized like transcripts and compiled into one automaton.
//! [`reload`] swaps in a changed file while calls are live.

mod file;
mod phrases;
pub mod template;

pub use file::Due;
pub use phrases::{Hit, Phrases, Target};
pub use template::Template;

use crate::{
    domain::{AlertKind, Emotion, Language, SuggestionKind},
    text::normalize::Normalized,
};
use file::PerLangFile;
use std::{
    collections::{HashMap, HashSet},
    fmt,
    path::Path,
    sync::{Arc, OnceLock},
};
use toml::Spanned;

/// The embedded default playbook.
const DEFAULT_PLAYBOOK: &str = include_str!("../../playbooks/default.toml");

/// The entity kinds an intent's `paraphrase` may use as slots.
pub const ENTITY_SLOTS: &[&str] = &[
    "amount",
    "card_last4",
    "date",
    "currency",
    "country",
    "account_type",
];

/// Most customer turns an emotion trigger may span.
const MAX_TRIGGER_TURNS: u32 = 8;

/// The playbook's two language families: Mandarin calls (Simplified or
/// Traditional) use the `zh` texts, English calls the `en` texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// `zh`.
    Zh = 0,
    /// `en`.
    En = 1,
}

impl Lang {
    /// The texts a call in `language` uses.
    pub fn of(language: Language) -> Lang {
        if language.is_chinese() {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

/// One value per language, indexed by [`Lang`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerLang<T>([T; 2]);

impl<T> PerLang<T> {
    /// The value for `lang`.
    pub fn get(&self, lang: Lang) -> &T {
        &self.0[lang as usize]
    }
}

/// The built-in rules of the policy; the playbook gives each its words,
/// priority and cooldown, or leaves it out to disable it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleName {
    /// Empathy for frustration.
    EmpathyFrustration,
    /// Empathy for anxiety.
    EmpathyAnxiety,
    /// Empathy for urgency.
    EmpathyUrgency,
    /// Empathy for sadness or grief.
    EmpathySadness,
    /// Explain again when the customer is confused.
    ClarifyConfusion,
    /// An open question when no need fits.
    ClarifyOpen,
    /// A closed question between two close needs.
    ClarifyClosed,
    /// The need behind the question.
    NeedProbe,
    /// Paraphrase the need back.
    ConfirmNeed,
    /// The next step for the need.
    NextStep,
    /// Positive words for the agent's negative phrasing.
    Reframe,
    /// Plain words for the agent's jargon.
    PlainLanguage,
    /// The agent interrupted.
    CoachingInterruption,
    /// The agent speaks too fast.
    CoachingPace,
    /// A checklist item is due.
    ComplianceReminder,
}

impl RuleName {
    /// Every built-in rule.
    pub const ALL: [RuleName; 15] = [
        RuleName::EmpathyFrustration,
        RuleName::EmpathyAnxiety,
        RuleName::EmpathyUrgency,
        RuleName::EmpathySadness,
        RuleName::ClarifyConfusion,
        RuleName::ClarifyOpen,
        RuleName::ClarifyClosed,
        RuleName::NeedProbe,
        RuleName::ConfirmNeed,
        RuleName::NextStep,
        RuleName::Reframe,
        RuleName::PlainLanguage,
        RuleName::CoachingInterruption,
        RuleName::CoachingPace,
        RuleName::ComplianceReminder,
    ];

    /// The rule's id: its key in the playbook and its `rule_id` on the wire
    /// (reframes, jargon and checklist reminders add the entry's id).
    pub fn id(self) -> &'static str {
        self.spec().0
    }

    /// The kind of suggestion the rule makes.
    pub fn kind(self) -> SuggestionKind {
        self.spec().1
    }

    /// The slots its templates may use.
    pub fn slots(self) -> &'static [&'static str] {
        self.spec().2
    }

    fn spec(self) -> (&'static str, SuggestionKind, &'static [&'static str]) {
        use SuggestionKind as K;
        match self {
            RuleName::EmpathyFrustration => ("empathy.frustration", K::Empathy, &[]),
            RuleName::EmpathyAnxiety => ("empathy.anxiety", K::Empathy, &[]),
            RuleName::EmpathyUrgency => ("empathy.urgency", K::Empathy, &[]),
            RuleName::EmpathySadness => ("empathy.sadness", K::Empathy, &[]),
            RuleName::ClarifyConfusion => ("clarify.confusion", K::ClarifyingQuestion, &[]),
            RuleName::ClarifyOpen => ("clarify.open", K::ClarifyingQuestion, &[]),
            RuleName::ClarifyClosed => (
                "clarify.closed",
                K::ClarifyingQuestion,
                &["first", "second"],
            ),
            RuleName::NeedProbe => ("need.probe", K::ClarifyingQuestion, &["probe"]),
            RuleName::ConfirmNeed => ("confirm.need", K::Confirmation, &["paraphrase"]),
            RuleName::NextStep => ("next_step", K::NextStep, &["next", "need"]),
            RuleName::Reframe => ("reframe", K::Reframe, &["say", "phrase"]),
            RuleName::PlainLanguage => ("plain_language", K::Reframe, &["term", "plain"]),
            RuleName::CoachingInterruption => ("coaching.interruption", K::Coaching, &[]),
            RuleName::CoachingPace => ("coaching.pace", K::Coaching, &["rate", "limit"]),
            RuleName::ComplianceReminder => {
                ("compliance.reminder", K::Compliance, &["item", "say"])
            }
        }
    }
}

/// Thresholds and caps (`[limits]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Suggestions shown for one turn at most (alerts not counted).
    pub max_suggestions_per_turn: usize,
    /// Minimum intensity of a negative emotion for an empathetic line.
    pub empathy_min_intensity: f32,
    /// The runner-up intent is close from this share of the best score.
    pub close_alternative_ratio: f32,
    /// Minimum confidence to confirm a need and offer its next step.
    pub confirm_min_confidence: f32,
    /// The greeting is due within the agent's first this many turns.
    pub opening_within_agent_turns: u32,
    /// Shortest agent segment whose speaking rate is judged, ms.
    pub pace_min_duration_ms: u32,
    /// Fastest steady pace: characters per second (zh), words per second (en).
    pub max_rate: PerLang<f32>,
    /// Shortest customer turn (characters for zh, words for en) that fits no
    /// known need and still gets an open question; shorter is small talk.
    pub open_question_min_units: PerLang<usize>,
    /// A vague request gets its closed question unless the classifier is at
    /// least this sure of one need.
    pub vague_max_confidence: f32,
}

/// A built-in rule as configured.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Which rule.
    pub name: RuleName,
    /// Its id, shared into every suggestion it makes.
    pub id: Arc<str>,
    /// Lower shows first.
    pub priority: u32,
    /// Turns of the same speaker after firing before it may fire again.
    pub cooldown_turns: u32,
    /// Text variants, rotated.
    pub variants: PerLang<Vec<Template>>,
}

/// How the playbook speaks of one intent in one language.
#[derive(Debug, Clone)]
pub struct IntentTexts {
    /// For summaries (`余额查询`, `balance enquiry`).
    pub label: String,
    /// In questions (`查询余额`, `your balance`).
    pub name: String,
    /// The need said back, with entity slots.
    pub paraphrase: Template,
    /// Next-step variants.
    pub next: Vec<String>,
    /// Questions for the need behind the question.
    pub probe: Vec<String>,
}

/// A negative or commanding phrasing and what to say instead.
#[derive(Debug, Clone)]
pub struct Reframe {
    /// `reframe.<id>`.
    pub rule_id: Arc<str>,
    /// Positive alternatives per language.
    pub say: PerLang<Vec<String>>,
}

/// A jargon term's plain words.
#[derive(Debug, Clone)]
pub struct Jargon {
    /// `plain_language.<id>`.
    pub rule_id: Arc<str>,
    /// Plain words per language.
    pub plain: PerLang<Option<String>>,
}

/// One item of the compliance checklist.
#[derive(Debug, Clone)]
pub struct ChecklistItem {
    /// Stable id, used in the summary.
    pub id: Arc<str>,
    /// `compliance.reminder.<id>`.
    pub rule_id: Arc<str>,
    /// When it is due.
    pub due: Due,
    /// Its name per language.
    pub label: PerLang<Option<String>>,
    /// The words the reminder suggests.
    pub say: PerLang<Option<String>>,
}

/// An emotion that raises an alert when it holds over turns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmotionTrigger {
    /// Which emotion.
    pub emotion: Emotion,
    /// How strong it must be in each turn.
    pub min_intensity: f32,
    /// In how many customer turns in a row (this one included).
    pub turns: u32,
    /// Whether each of those turns must be stronger than the one before.
    pub rising: bool,
}

/// A supervisor alert and its triggers.
#[derive(Debug, Clone)]
pub struct AlertRule {
    /// Stable id: each alert is raised once per call.
    pub id: Arc<str>,
    /// The kind on the wire.
    pub kind: AlertKind,
    /// Intents that raise it.
    pub intents: Vec<String>,
    /// An emotion pattern that raises it.
    pub emotion: Option<EmotionTrigger>,
    /// The alert's line per language.
    pub text: PerLang<Option<String>>,
    /// The follow-up item it adds to the summary.
    pub follow_up: PerLang<Option<String>>,
}

/// The checked, compiled playbook. Immutable; a reload builds a new one.
#[derive(Debug)]
pub struct Playbook {
    /// Where it came from (`embedded default` or the file path), for logs.
    pub origin: String,
    /// Thresholds and caps.
    pub limits: Limits,
    /// The built-in rules, `None` when disabled; indexed by [`RuleName`].
    rules: Vec<Option<Rule>>,
    /// Texts per intent id.
    intents: HashMap<String, PerLang<Option<IntentTexts>>>,
    /// Reframes, indexed by [`Target::Reframe`].
    pub reframes: Vec<Reframe>,
    /// Jargon, indexed by [`Target::Jargon`].
    pub jargon: Vec<Jargon>,
    /// Vague requests, indexed by [`Target::Vague`]: the two needs a
    /// closed question chooses between.
    pub vague: Vec<[String; 2]>,
    /// The checklist, in order; indexed by [`Target::Checklist`].
    pub checklist: Vec<ChecklistItem>,
    /// Alerts, in order; indexed by [`Target::Alert`].
    pub alerts: Vec<AlertRule>,
    /// The follow-up item for an agent's promise (slots `need`, `promise`).
    pub follow_up: PerLang<Option<Template>>,
    /// Every phrase of the playbook, matched in one pass per segment.
    pub phrases: Phrases,
}

/// A playbook that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PlaybookError {
    /// The file (or `embedded default`).
    pub origin: String,
    /// The 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl Playbook {
    /// The embedded default playbook, parsed once and shared.
    pub fn embedded() -> Arc<Playbook> {
        static DEFAULT: OnceLock<Arc<Playbook>> = OnceLock::new();
        DEFAULT
            .get_or_init(|| {
                Arc::new(
                    Playbook::parse(DEFAULT_PLAYBOOK, "embedded default")
                        .expect("the embedded playbook is valid"),
                )
            })
            .clone()
    }

    /// Reads and checks a playbook file.
    pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
        let origin = path.display().to_string();
        let source = std::fs::read_to_string(path).map_err(|e| PlaybookError {
            origin: origin.clone(),
            line: None,
            message: e.to_string(),
        })?;
        Playbook::parse(&source, &origin)
    }

    /// Parses and checks playbook text; `origin` names it in errors.
    pub fn parse(source: &str, origin: &str) -> Result<Playbook, PlaybookError> {
        let fail = |span: Option<std::ops::Range<usize>>, message: String| PlaybookError {
            origin: origin.to_string(),
            line: span.map(|s| line_of(source, s.start)),
            message,
        };
        let file: file::File =
            toml::from_str(source).map_err(|e| fail(e.span(), e.message().to_string()))?;
        Compiler {
            fail: &fail,
            phrases: phrases::Builder::default(),
        }
        .compile(file, origin)
    }

    /// A built-in rule, `None` when the playbook disables it.
    pub fn rule(&self, name: RuleName) -> Option<&Rule> {
        self.rules[name as usize].as_ref()
    }

    /// How the playbook speaks of `intent` in `lang`.
    pub fn intent(&self, intent: &str, lang: Lang) -> Option<&IntentTexts> {
        self.intents.get(intent)?.get(lang).as_ref()
    }
}

fn line_of(source: &str, offset: usize) -> usize {
    source.as_bytes()[..offset.min(source.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Turns the file into the compiled form, checking as it goes.
struct Compiler<'f, F> {
    /// Builds an error at a span of the source.
    fail: &'f F,
    /// Collects every phrase with what it triggers.
    phrases: phrases::Builder,
}

type Span = Option<std::ops::Range<usize>>;

impl<F: Fn(Span, String) -> PlaybookError> Compiler<'_, F> {
    fn compile(mut self, file: file::File, origin: &str) -> Result<Playbook, PlaybookError> {
        let limits = self.limits(file.limits)?;
        let mut rules: Vec<Option<Rule>> = vec![None; RuleName::ALL.len()];
        for (id, spanned) in file.rules {
            let span = Some(spanned.span());
            let rule = spanned.into_inner();
            let name = RuleName::ALL
                .into_iter()
                .find(|r| r.id() == id)
                .ok_or_else(|| {
                    let known: Vec<&str> = RuleName::ALL.iter().map(|r| r.id()).collect();
                    (self.fail)(
                        span.clone(),
                        format!("unknown rule {id:?}; the rules are: {}", known.join(", ")),
                    )
                })?;
            if !rule.enabled {
                continue;
            }
            let variants = PerLang([
                self.templates(&rule.zh, name.slots())?,
                self.templates(&rule.en, name.slots())?,
            ]);
            if variants.0.iter().all(Vec::is_empty) {
                return Err((self.fail)(
                    span,
                    format!("rule {id:?} has no text: give `zh` or `en` variants (or `enabled = false`)"),
                ));
            }
            rules[name as usize] = Some(Rule {
                name,
                id: id.into(),
                priority: rule.priority,
                cooldown_turns: rule.cooldown_turns,
                variants,
            });
        }
        let mut intents = HashMap::new();
        for (id, texts) in file.intents {
            let texts = self.per_lang(texts, |c, t, _| c.intent(t))?;
            intents.insert(id, texts);
        }
        let mut ids = Ids::default();
        let mut reframes = Vec::new();
        for spanned in file.reframes {
            let span = Some(spanned.span());
            let r = spanned.into_inner();
            ids.check(self.fail, &span, "reframes", &r.id)?;
            let index = reframes.len() as u16;
            let say = self.per_lang(PerLangFile { zh: r.zh, en: r.en }, |c, t, lang| {
                c.phrases(&span, &t.phrases, lang, Target::Reframe(index))?;
                c.non_empty(&span, "say", t.say)
            })?;
            reframes.push(Reframe {
                rule_id: format!("reframe.{}", r.id).into(),
                say: PerLang(say.0.map(Option::unwrap_or_default)),
            });
        }
        let mut jargon = Vec::new();
        for spanned in file.jargon {
            let span = Some(spanned.span());
            let j = spanned.into_inner();
            ids.check(self.fail, &span, "jargon", &j.id)?;
            let index = jargon.len() as u16;
            let plain = self.per_lang(PerLangFile { zh: j.zh, en: j.en }, |c, t, lang| {
                c.phrases(&span, &t.terms, lang, Target::Jargon(index))?;
                Ok(t.plain)
            })?;
            jargon.push(Jargon {
                rule_id: format!("plain_language.{}", j.id).into(),
                plain,
            });
        }
        let mut vague = Vec::new();
        for spanned in file.vague {
            let span = Some(spanned.span());
            let v = spanned.into_inner();
            ids.check(self.fail, &span, "vague", &v.id)?;
            let index = vague.len() as u16;
            self.per_lang(PerLangFile { zh: v.zh, en: v.en }, |c, t, lang| {
                c.phrases(&span, &t.phrases, lang, Target::Vague(index))
            })?;
            vague.push(v.between);
        }
        for (lang, flow) in [(Lang::Zh, file.flow.zh), (Lang::En, file.flow.en)] {
            let flow = flow.unwrap_or_default();
            self.phrases(&None, &flow.hold, lang, Target::Hold)?;
            self.phrases(&None, &flow.customer_done, lang, Target::CustomerDone)?;
            self.phrases(&None, &flow.small_talk, lang, Target::SmallTalk)?;
            self.phrases(&None, &flow.what_next, lang, Target::WhatNext)?;
        }
        let mut checklist = Vec::new();
        for spanned in file.checklist {
            let span = Some(spanned.span());
            let item = spanned.into_inner();
            ids.check(self.fail, &span, "checklist", &item.id)?;
            let index = checklist.len() as u16;
            let texts = self.per_lang(
                PerLangFile {
                    zh: item.zh,
                    en: item.en,
                },
                |c, t, lang| {
                    c.phrases(&span, &t.phrases, lang, Target::Checklist(index))?;
                    Ok((t.label, t.say))
                },
            )?;
            let [zh, en] = texts.0;
            let (zh_label, zh_say) = zh.unzip();
            let (en_label, en_say) = en.unzip();
            checklist.push(ChecklistItem {
                rule_id: format!("compliance.reminder.{}", item.id).into(),
                id: item.id.into(),
                due: item.due,
                label: PerLang([zh_label, en_label]),
                say: PerLang([zh_say, en_say]),
            });
        }
        let mut alerts = Vec::new();
        for spanned in file.alerts {
            let span = Some(spanned.span());
            let alert = spanned.into_inner();
            ids.check(self.fail, &span, "alerts", &alert.id)?;
            alerts.push(self.alert(&span, alerts.len() as u16, alert)?);
        }
        let follow_up = self.per_lang(file.follow_ups, |c, t, lang| {
            c.phrases(&None, &t.promises, lang, Target::Promise)?;
            let span = Some(t.text.span());
            Template::parse(t.text.get_ref(), &["need", "promise"])
                .map_err(|e| (c.fail)(span, format!("follow_ups text: {e}")))
        })?;
        Ok(Playbook {
            origin: origin.to_string(),
            limits,
            rules,
            intents,
            reframes,
            jargon,
            vague,
            checklist,
            alerts,
            follow_up,
            phrases: self.phrases.build(),
        })
    }

    fn limits(&self, l: file::LimitsFile) -> Result<Limits, PlaybookError> {
        let unit = [
            ("empathy_min_intensity", l.empathy_min_intensity),
            ("close_alternative_ratio", l.close_alternative_ratio),
            ("confirm_min_confidence", l.confirm_min_confidence),
            ("vague_max_confidence", l.vague_max_confidence),
        ];
        for (key, value) in unit {
            if !(0.0..=1.0).contains(&value) {
                return Err((self.fail)(
                    None,
                    format!("limits.{key} is {value}; it must be between 0 and 1"),
                ));
            }
        }
        for (key, value) in [
            ("zh_max_chars_per_second", l.zh_max_chars_per_second),
            ("en_max_words_per_second", l.en_max_words_per_second),
        ] {
            if !(value > 0.0 && value.is_finite()) {
                return Err((self.fail)(
                    None,
                    format!("limits.{key} is {value}; it must be above 0"),
                ));
            }
        }
        if l.max_suggestions_per_turn == 0 {
            return Err((self.fail)(
                None,
                "limits.max_suggestions_per_turn must be at least 1".into(),
            ));
        }
        Ok(Limits {
            max_suggestions_per_turn: l.max_suggestions_per_turn as usize,
            empathy_min_intensity: l.empathy_min_intensity,
            close_alternative_ratio: l.close_alternative_ratio,
            confirm_min_confidence: l.confirm_min_confidence,
            opening_within_agent_turns: l.opening_within_agent_turns,
            pace_min_duration_ms: l.pace_min_duration_ms,
            max_rate: PerLang([l.zh_max_chars_per_second, l.en_max_words_per_second]),
            open_question_min_units: PerLang([
                l.zh_open_question_min_chars as usize,
                l.en_open_question_min_words as usize,
            ]),
            vague_max_confidence: l.vague_max_confidence,
        })
    }

    fn templates(
        &self,
        sources: &[Spanned<String>],
        slots: &[&str],
    ) -> Result<Vec<Template>, PlaybookError> {
        sources
            .iter()
            .map(|s| {
                Template::parse(s.get_ref(), slots)
                    .map_err(|e| (self.fail)(Some(s.span()), e.to_string()))
            })
            .collect()
    }

    fn intent(&mut self, t: file::IntentFile) -> Result<IntentTexts, PlaybookError> {
        let span = Some(t.paraphrase.span());
        let paraphrase = Template::parse(t.paraphrase.get_ref(), ENTITY_SLOTS)
            .map_err(|e| (self.fail)(span.clone(), format!("paraphrase: {e}")))?;
        Ok(IntentTexts {
            label: t.label,
            name: t.name,
            paraphrase,
            next: self.non_empty(&span, "next", t.next)?,
            probe: t.probe,
        })
    }

    fn alert(
        &mut self,
        span: &Span,
        index: u16,
        a: file::AlertFile,
    ) -> Result<AlertRule, PlaybookError> {
        let emotion = a.emotion.map(|emotion| EmotionTrigger {
            emotion,
            min_intensity: a.min_intensity,
            turns: a.turns,
            rising: a.rising,
        });
        if !(1..=MAX_TRIGGER_TURNS).contains(&a.turns) {
            return Err((self.fail)(
                span.clone(),
                format!("alert {:?}: turns must be 1 to {MAX_TRIGGER_TURNS}", a.id),
            ));
        }
        let has_phrases = [&a.zh, &a.en]
            .iter()
            .any(|l| l.as_ref().is_some_and(|l| !l.phrases.is_empty()));
        if a.intents.is_empty() && emotion.is_none() && !has_phrases {
            return Err((self.fail)(
                span.clone(),
                format!(
                    "alert {:?} has no trigger: give intents, phrases or an emotion",
                    a.id
                ),
            ));
        }
        let texts = self.per_lang(PerLangFile { zh: a.zh, en: a.en }, |c, t, lang| {
            c.phrases(span, &t.phrases, lang, Target::Alert(index))?;
            Ok((t.text, t.follow_up))
        })?;
        let [zh, en] = texts.0;
        let (zh_text, zh_follow) = zh.unzip();
        let (en_text, en_follow) = en.unzip();
        Ok(AlertRule {
            id: a.id.into(),
            kind: a.kind,
            intents: a.intents,
            emotion,
            text: PerLang([zh_text, en_text]),
            follow_up: PerLang([zh_follow.flatten(), en_follow.flatten()]),
        })
    }

    /// Compiles the `zh` and `en` parts of a table with `f`.
    fn per_lang<T, U>(
        &mut self,
        file: PerLangFile<T>,
        mut f: impl FnMut(&mut Self, T, Lang) -> Result<U, PlaybookError>,
    ) -> Result<PerLang<Option<U>>, PlaybookError> {
        let zh = file.zh.map(|t| f(self, t, Lang::Zh)).transpose()?;
        let en = file.en.map(|t| f(self, t, Lang::En)).transpose()?;
        Ok(PerLang([zh, en]))
    }

    /// Adds phrases of `lang` that trigger `target`.
    fn phrases(
        &mut self,
        span: &Span,
        phrases: &[String],
        lang: Lang,
        target: Target,
    ) -> Result<(), PlaybookError> {
        for phrase in phrases {
            let normalized = Normalized::new(phrase).text;
            if normalized.trim().is_empty() {
                return Err((self.fail)(
                    span.clone(),
                    format!("phrase {phrase:?} is empty once normalized (fillers are removed)"),
                ));
            }
            self.phrases.add(normalized.trim(), lang, target);
        }
        Ok(())
    }

    fn non_empty(
        &self,
        span: &Span,
        key: &str,
        values: Vec<String>,
    ) -> Result<Vec<String>, PlaybookError> {
        if values.iter().all(|v| v.trim().is_empty()) {
            return Err((self.fail)(
                span.clone(),
                format!("`{key}` needs at least one text"),
            ));
        }
        Ok(values)
    }
}

/// Entry ids seen so far, per section: ids must be unique and plain.
#[derive(Default)]
struct Ids(HashSet<(&'static str, String)>);

impl Ids {
    fn check<F: Fn(Span, String) -> PlaybookError>(
        &mut self,
        fail: &F,
        span: &Span,
        section: &'static str,
        id: &str,
    ) -> Result<(), PlaybookError> {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(fail(
                span.clone(),
                format!("{section} id {id:?} must be lower-case letters, digits and `_`"),
            ));
        }
        if !self.0.insert((section, id.to_string())) {
            return Err(fail(
                span.clone(),
                format!("{section} id {id:?} is used twice"),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Playbook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} rules, {} intents, {} reframes, {} jargon terms, {} checklist items, {} alerts)",
            self.origin,
            self.rules.iter().flatten().count(),
            self.intents.len(),
            self.reframes.len(),
            self.jargon.len(),
            self.checklist.len(),
            self.alerts.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_playbook_covers_every_rule_and_intent_in_both_languages() {
        let p = Playbook::embedded();
        for rule in RuleName::ALL {
            let r = p
                .rule(rule)
                .unwrap_or_else(|| panic!("{} missing", rule.id()));
            for lang in [Lang::Zh, Lang::En] {
                assert!(!r.variants.get(lang).is_empty(), "{} {lang:?}", rule.id());
            }
        }
        for intent in crate::pipeline::intent::IntentClassifier::default().intents() {
            if intent == crate::pipeline::intent::OUT_OF_SCOPE {
                continue;
            }
            for lang in [Lang::Zh, Lang::En] {
                assert!(p.intent(intent, lang).is_some(), "{intent} {lang:?}");
            }
        }
    }

    fn broken(edit: impl Fn(&str) -> String) -> PlaybookError {
        Playbook::parse(&edit(DEFAULT_PLAYBOOK), "test.toml").unwrap_err()
    }

    /// The 1-based line of the default playbook that matches.
    fn line_where(matches: impl Fn(&str) -> bool) -> usize {
        DEFAULT_PLAYBOOK.lines().position(matches).unwrap() + 1
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let e = broken(|s| {
            s.replace(
                "cooldown_turns = 2\nzh = [\n  \"您别着急",
                "cooldwn_turns = 2\nzh = [\n  \"您别着急",
            )
        });
        let line = line_where(|l| l.starts_with("[rules.\"empathy.anxiety\"]")) + 2;
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.message.contains("cooldwn_turns"), "{e}");

        let e = broken(|s| {
            s.replace(
                "您是想{first}还是{second}呢？",
                "您是想{frist}还是{second}呢？",
            )
        });
        let line = line_where(|l| l.contains("您是想{first}还是{second}呢？"));
        assert_eq!(e.line, Some(line), "{e}");
        assert_eq!(
            e.to_string(),
            format!("test.toml:{line}: unknown slot {{frist}}; this rule provides: first, second")
        );

        let e = broken(|s| s.replace("[rules.\"next_step\"]", "[rules.\"next_stpe\"]"));
        assert!(e.message.starts_with("unknown rule \"next_stpe\""), "{e}");
        assert!(e.line.is_some());

        let e = broken(|s| s.replace("kind = \"complaint\"", "kind = \"complain\""));
        assert!(e.message.contains("complain"), "{e}");
        assert!(e.line.is_some());

        let e = broken(|s| {
            s.replace(
                "max_suggestions_per_turn = 3",
                "max_suggestions_per_turn = 0",
            )
        });
        assert!(e.message.contains("max_suggestions_per_turn"), "{e}");
    }

    #[test]
    fn a_rule_left_out_is_disabled() {
        let source = DEFAULT_PLAYBOOK.replace(
            "[rules.\"need.probe\"]",
            "[rules.\"need.probe\"]\nenabled = false",
        );
        let p = Playbook::parse(&source, "t").unwrap();
        assert!(p.rule(RuleName::NeedProbe).is_none());
        assert!(p.rule(RuleName::NextStep).is_some());
    }
}

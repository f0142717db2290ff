//! The policy: applies the [`Playbook`] to one analyzed segment and the
//! call's [`CallContext`], and returns the suggestions for the agent, the
//! alerts for a supervisor, and what the turn changes in the call's memory.
//!
//! The rules run in a fixed order that follows how bank service teams are
//! trained, and every suggestion says which rule made it and why:
//!
//! - customer turns: supervisor alerts; empathy matched to the strongest
//!   negative emotion (the mood before the matter); help for a confused
//!   customer; the closing checklist when the customer is done; then the
//!   need: a closed question between two close intents, an open question
//!   when nothing fits (not for small talk), else confirm the need by
//!   paraphrase, probe the need behind it, and offer the next step (again
//!   whenever the customer asks what to do next);
//! - agent turns: interruption coaching, positive reframes of negative or
//!   commanding phrasing, plain words for jargon, pace coaching, and the
//!   compliance checklist (ticked as the agent says the items, reminded when
//!   one is due); promises to get back to the customer become follow-ups.
//!
//! Then cooldowns and "never the same line twice in a call" filter, the
//! suggestions are ordered by priority and capped per turn.

use super::{
    normalize::{is_cjk, Normalized},
    Alert, Analysis, Assist, CallContext, Emotion, IntentId, Speaker, Suggestion, SuggestionKind,
    Timing,
};
use crate::playbook::{Due, Hit, Lang, Playbook, RuleName, Target};
use std::sync::Arc;

/// What the policy advises for one segment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Advice {
    /// Alerts first, then suggestions, most urgent first.
    pub assists: Vec<Assist>,
    /// What the segment changes in the call's memory once it is final.
    pub effects: Effects,
}

impl Advice {
    /// The suggestions, in order.
    pub fn suggestions(&self) -> impl Iterator<Item = &Suggestion> {
        self.assists.iter().filter_map(|a| match a {
            Assist::Suggestion(s) => Some(s),
            Assist::Alert(_) => None,
        })
    }
}

/// What a final segment changes in the call's memory beyond the suggestions
/// and alerts it showed (see [`CallContext::commit`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// A closed question asked the customer to choose between these needs.
    pub asked: Option<(IntentId, IntentId)>,
    /// The need was paraphrased back.
    pub confirmed: Option<IntentId>,
    /// The need behind the question was probed.
    pub probed: Option<IntentId>,
    /// The next step was offered.
    pub guided: Option<IntentId>,
    /// Checklist items the agent said.
    pub ticked: Vec<Arc<str>>,
    /// Checklist items reminded.
    pub reminded: Vec<Arc<str>>,
    /// The agent put the customer on hold.
    pub hold: bool,
    /// Items for the summary's follow-ups.
    pub follow_ups: Vec<String>,
    /// Rule ids whose suggestions on earlier turns this turn made moot (the
    /// reminded item was said; the question was answered): retracted.
    pub moot: Vec<Arc<str>>,
    /// Negative or commanding phrasings of the agent.
    pub negative_phrasings: u32,
    /// Speech units and milliseconds of an agent segment long enough to
    /// judge its pace.
    pub pace: Option<(u32, u32)>,
}

/// What a suggestion, once shown, records.
#[derive(Debug, Clone)]
enum Mark {
    Asked(IntentId, IntentId),
    Confirmed(IntentId),
    Probed(IntentId),
    Guided(IntentId),
    Reminded(Arc<str>),
}

/// A suggestion before the cap, with what it records if shown.
struct Candidate {
    suggestion: Suggestion,
    mark: Option<Mark>,
}

/// Advises on one segment. `text` is the segment's normalized text (the
/// playbook's phrases are matched on it), `timing` its timestamps.
pub fn advise(
    playbook: &Playbook,
    analysis: &Analysis,
    text: &Normalized<'_>,
    timing: Timing,
    context: &CallContext,
) -> Advice {
    let lang = Lang::of(analysis.language);
    let mut turn = Turn {
        playbook,
        analysis,
        context,
        lang,
        text,
        hits: playbook.phrases.scan(text, lang),
        candidates: Vec::new(),
        alerts: Vec::new(),
        effects: Effects::default(),
    };
    match analysis.speaker {
        Speaker::Customer => {
            turn.alerts();
            turn.empathy();
            turn.closing_due();
            turn.need();
        }
        Speaker::Agent => {
            turn.interruption(timing);
            turn.reframes();
            turn.pace(timing);
            turn.checklist();
            turn.promises();
        }
    }
    turn.finish()
}

/// The work on one segment.
struct Turn<'a> {
    playbook: &'a Playbook,
    analysis: &'a Analysis,
    context: &'a CallContext,
    lang: Lang,
    text: &'a Normalized<'a>,
    /// The playbook phrases found in the segment.
    hits: Vec<Hit>,
    candidates: Vec<Candidate>,
    alerts: Vec<Alert>,
    effects: Effects,
}

impl Turn<'_> {
    /// Proposes a suggestion of rule `name` (as `rule_id`, default the
    /// rule's own id) unless the rule is disabled, cooling down, or has no
    /// variant left that the call has not shown yet.
    fn suggest(
        &mut self,
        name: RuleName,
        rule_id: Option<&Arc<str>>,
        slots: &[(&str, &str)],
        rationale: String,
        confidence: f32,
        mark: Option<Mark>,
    ) {
        let Some(rule) = self.playbook.rule(name) else {
            return;
        };
        let id = rule_id.unwrap_or(&rule.id);
        if !self
            .context
            .cooled_down(id, self.analysis.speaker, rule.cooldown_turns)
        {
            return;
        }
        let value = |slot: &str| slots.iter().find(|(k, _)| *k == slot).map(|(_, v)| *v);
        let text = rule
            .variants
            .get(self.lang)
            .iter()
            .filter_map(|t| t.render(value))
            .find(|text| {
                !self.context.said(text)
                    && !self.candidates.iter().any(|c| c.suggestion.text == *text)
            });
        let Some(text) = text else {
            return;
        };
        self.candidates.push(Candidate {
            suggestion: Suggestion {
                kind: name.kind(),
                text,
                rationale,
                confidence: confidence.clamp(0.0, 1.0),
                priority: rule.priority,
                rule_id: id.clone(),
            },
            mark,
        });
    }

    /// Proposes the first of `options` (each filling `slot`, with the
    /// `fixed` slots) that the call has not shown yet.
    #[allow(clippy::too_many_arguments)]
    fn suggest_one_of(
        &mut self,
        name: RuleName,
        rule_id: Option<&Arc<str>>,
        slot: &str,
        options: &[String],
        fixed: &[(&str, &str)],
        why: &str,
        confidence: f32,
        mark: Option<Mark>,
    ) {
        for option in options {
            let before = self.candidates.len();
            let mut slots = vec![(slot, option.as_str())];
            slots.extend_from_slice(fixed);
            self.suggest(
                name,
                rule_id,
                &slots,
                why.to_string(),
                confidence,
                mark.clone(),
            );
            if self.candidates.len() > before {
                return;
            }
        }
    }

    fn zh(&self) -> bool {
        self.lang == Lang::Zh
    }

    /// The original words of a phrase hit, for rationales.
    fn quote(&self, hit: &Hit) -> &str {
        self.text.quote(hit.range.clone())
    }

    /// Supervisor alerts: intents, phrases and emotion patterns.
    fn alerts(&mut self) {
        if !self.analysis.is_final {
            return;
        }
        let intent = &*self.analysis.intent.intent;
        for (i, rule) in self.playbook.alerts.iter().enumerate() {
            // One alert of a kind per turn is enough for a supervisor; a rule
            // whose kind was already raised now may still fire later.
            if self.context.alert_raised(&rule.id)
                || self.alerts.iter().any(|a| a.kind == rule.kind)
            {
                continue;
            }
            let Some(text) = rule.text.get(self.lang) else {
                continue;
            };
            let by_intent = (!self.analysis.intent_carried_over
                && rule.intents.iter().any(|i| i == intent))
            .then(|| format!("intent {intent} ({:.2})", self.analysis.intent.confidence));
            let by_phrase = || {
                self.hits
                    .iter()
                    .find(|h| h.target == Target::Alert(i as u16))
                    .map(|h| format!("\"{}\"", self.quote(h)))
            };
            let by_emotion = || {
                let t = rule.emotion?;
                let mut seen = self
                    .context
                    .recent_intensities(t.emotion, t.turns as usize - 1);
                seen.push(self.intensity(t.emotion));
                let held = seen.len() == t.turns as usize
                    && seen.iter().all(|&x| x >= t.min_intensity)
                    && (!t.rising || seen.windows(2).all(|w| w[1] > w[0]));
                held.then(|| {
                    let series: Vec<String> = seen.iter().map(|x| format!("{x:.2}")).collect();
                    format!(
                        "{:?} over {} turns ({})",
                        t.emotion,
                        t.turns,
                        series.join(" → ")
                    )
                    .to_lowercase()
                })
            };
            let Some(why) = by_intent.or_else(by_phrase).or_else(by_emotion) else {
                continue;
            };
            self.alerts.push(Alert {
                kind: rule.kind,
                text: text.clone(),
                rationale: format!("{}: {why}", rule.id),
                rule_id: rule.id.clone(),
            });
            if let Some(item) = rule.follow_up.get(self.lang) {
                self.effects.follow_ups.push(item.clone());
            }
        }
    }

    /// The strength of `emotion` in this segment (0 when absent).
    fn intensity(&self, emotion: Emotion) -> f32 {
        self.analysis
            .emotions
            .iter()
            .filter(|c| c.emotion == emotion)
            .map(|c| c.intensity)
            .fold(0.0, f32::max)
    }

    /// Empathy first: one line matched to the strongest negative emotion;
    /// a confused customer gets the explanation offered again.
    fn empathy(&mut self) {
        let min = self.playbook.limits.empathy_min_intensity;
        let negative = self.analysis.emotions.iter().find_map(|c| {
            let rule = match c.emotion {
                Emotion::Frustration => RuleName::EmpathyFrustration,
                Emotion::Anxiety => RuleName::EmpathyAnxiety,
                Emotion::Urgency => RuleName::EmpathyUrgency,
                Emotion::Sadness => RuleName::EmpathySadness,
                Emotion::Confusion | Emotion::Satisfaction => return None,
            };
            (c.intensity >= min).then_some((rule, c))
        });
        if let Some((rule, cue)) = negative {
            let why = if self.zh() {
                format!(
                    "客户表现出{}（「{}」）：先处理心情，再处理事情。",
                    zh_emotion(cue.emotion),
                    cue.evidence
                )
            } else {
                format!(
                    "The customer shows {} (\"{}\"): deal with the mood before the matter.",
                    format!("{:?}", cue.emotion).to_lowercase(),
                    cue.evidence
                )
            };
            self.suggest(rule, None, &[], why, cue.intensity, None);
        }
        if let Some(cue) = self
            .analysis
            .emotions
            .iter()
            .find(|c| c.emotion == Emotion::Confusion && c.intensity >= min)
        {
            let why = if self.zh() {
                format!("客户没有听明白（「{}」）。", cue.evidence)
            } else {
                format!("The customer is confused (\"{}\").", cue.evidence)
            };
            self.suggest(
                RuleName::ClarifyConfusion,
                None,
                &[],
                why,
                cue.intensity,
                None,
            );
        }
    }

    /// The closing items of the checklist, reminded when the customer
    /// signals the end of the call.
    fn closing_due(&mut self) {
        let Some(hit) = self.hit(Target::CustomerDone) else {
            return;
        };
        let why = if self.zh() {
            format!("客户表示没有其他问题了（「{}」）。", self.quote(hit))
        } else {
            format!("The customer is wrapping up (\"{}\").", self.quote(hit))
        };
        self.remind(Due::Closing, &why);
    }

    /// Reminds every checklist item due `due` that is neither said nor
    /// reminded yet.
    fn remind(&mut self, due: Due, why: &str) {
        let playbook = self.playbook;
        for item in playbook.checklist.iter().filter(|i| i.due == due) {
            if self.context.ticked(&item.id)
                || self.context.reminded(&item.id)
                || self.effects.ticked.contains(&item.id)
            {
                continue;
            }
            let (Some(label), Some(say)) = (item.label.get(self.lang), item.say.get(self.lang))
            else {
                continue;
            };
            self.suggest(
                RuleName::ComplianceReminder,
                Some(&item.rule_id),
                &[("item", label), ("say", say)],
                format!("{} ({}) {why}", item.id, label),
                0.9,
                Some(Mark::Reminded(item.id.clone())),
            );
        }
    }

    /// Finding the need: a question when it is unclear (closed between two
    /// candidates, open when nothing fits), else confirm it, probe the need
    /// behind it and offer the next step.
    fn need(&mut self) {
        if self.hit(Target::CustomerDone).is_some() {
            // The customer is wrapping up: the closing is due, not questions.
            return;
        }
        let analysis = self.analysis;
        let intent = &analysis.intent;
        let limits = &self.playbook.limits;
        let carried = analysis.intent_carried_over;
        let vague = self.hits.iter().find_map(|h| match h.target {
            Target::Vague(i) => Some((h.clone(), &self.playbook.vague[i as usize])),
            _ => None,
        });
        if let Some((hit, [first, second])) = vague {
            if intent.is_out_of_scope() || intent.confidence < limits.vague_max_confidence {
                let why = if self.zh() {
                    format!("「{}」可能指两种诉求：用封闭式问题确认。", self.quote(&hit))
                } else {
                    format!(
                        "\"{}\" could mean either need: ask a closed question.",
                        self.quote(&hit)
                    )
                };
                self.closed_question(first, second, why, 0.8);
                return;
            }
        }
        if intent.is_out_of_scope() {
            self.open_question();
            return;
        }
        let runner_up = intent.alternatives.first().filter(|_| !carried);
        if intent.confidence < limits.confirm_min_confidence && !carried {
            // Unclear: choose between the two candidates when together they
            // are likely, else ask openly.
            match runner_up {
                Some((second, score))
                    if intent.confidence + score >= limits.confirm_min_confidence =>
                {
                    let why = format!(
                        "{} {:.2} / {second} {score:.2}: {}",
                        intent.intent,
                        intent.confidence,
                        if self.zh() {
                            "诉求不明确，用封闭式问题确认。"
                        } else {
                            "the need is unclear; ask a closed question."
                        }
                    );
                    self.closed_question(&intent.intent, second, why, 0.7);
                }
                _ => self.open_question(),
            }
            return;
        }
        if let Some((second, score)) = runner_up {
            if *score >= limits.close_alternative_ratio * intent.confidence {
                let why = format!(
                    "{} {:.2} ~ {second} {score:.2}: {}",
                    intent.intent,
                    intent.confidence,
                    if self.zh() {
                        "两种诉求接近，用封闭式问题确认。"
                    } else {
                        "two needs are close; ask a closed question."
                    }
                );
                self.closed_question(
                    &intent.intent,
                    second,
                    why,
                    1.0 - (intent.confidence - score),
                );
                return;
            }
        }
        let Some(texts) = self.playbook.intent(&intent.intent, self.lang) else {
            return;
        };
        let id = &intent.intent;
        // The customer just chose this need in answer to a closed question:
        // it is confirmed already, go on to the next step.
        let chosen = self.context.just_asked(id);
        if !carried && !chosen && !self.context.confirmed(id) {
            let entities: Vec<(&str, &str)> = analysis
                .entities
                .iter()
                .map(|e| (e.kind, e.text.as_str()))
                .collect();
            let value = |slot: &str| entities.iter().find(|(k, _)| *k == slot).map(|(_, v)| *v);
            if let Some(paraphrase) = texts.paraphrase.render(value) {
                let facts: Vec<String> = entities.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let why = format!(
                    "{id} {:.2}{}{}",
                    intent.confidence,
                    if facts.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", facts.join(", "))
                    },
                    if self.zh() {
                        "：复述需求，请客户确认。"
                    } else {
                        ": paraphrase the need back to confirm it."
                    }
                );
                self.suggest(
                    RuleName::ConfirmNeed,
                    None,
                    &[("paraphrase", &paraphrase)],
                    why,
                    intent.confidence,
                    Some(Mark::Confirmed(id.clone())),
                );
            }
        }
        if !carried && !self.context.probed(id) && !self.upset() {
            let why = if self.zh() {
                format!("{id}：了解问题背后的真实需求。")
            } else {
                format!("{id}: find the need behind the question.")
            };
            self.suggest_one_of(
                RuleName::NeedProbe,
                None,
                "probe",
                &texts.probe,
                &[],
                &why,
                intent.confidence,
                Some(Mark::Probed(id.clone())),
            );
        }
        let asks_what_next = self.hit(Target::WhatNext).is_some();
        if !self.context.guided(id) || asks_what_next {
            let why = if asks_what_next {
                if self.zh() {
                    format!("客户在问下一步怎么办（{id}）。")
                } else {
                    format!("The customer asks what happens next ({id}).")
                }
            } else if self.zh() {
                format!("{id}：诉求明确，给出下一步。")
            } else {
                format!("{id}: the need is clear; offer the next step.")
            };
            self.suggest_one_of(
                RuleName::NextStep,
                None,
                "next",
                &texts.next,
                &[("need", &texts.label)],
                &why,
                intent.confidence,
                Some(Mark::Guided(id.clone())),
            );
        }
    }

    /// A closed question between two needs, when the playbook names both.
    fn closed_question(&mut self, first: &str, second: &str, why: String, confidence: f32) {
        let (Some(a), Some(b)) = (
            self.playbook.intent(first, self.lang),
            self.playbook.intent(second, self.lang),
        ) else {
            return;
        };
        self.suggest(
            RuleName::ClarifyClosed,
            None,
            &[("first", &a.name), ("second", &b.name)],
            why,
            confidence,
            Some(Mark::Asked(first.into(), second.into())),
        );
    }

    /// An open question, for a final turn that fits no need and is not
    /// small talk.
    fn open_question(&mut self) {
        if !self.analysis.is_final || !self.substantial() || self.hit(Target::SmallTalk).is_some() {
            return;
        }
        let why = if self.zh() {
            "没有已知的诉求与客户所说的相符：用开放式问题了解需求。".to_string()
        } else {
            "No known need fits what the customer said: ask an open question.".to_string()
        };
        self.suggest(RuleName::ClarifyOpen, None, &[], why, 0.6, None);
    }

    /// The first phrase hit of `target`.
    fn hit(&self, target: Target) -> Option<&Hit> {
        self.hits.iter().find(|h| h.target == target)
    }

    /// Whether the customer shows a negative emotion strong enough for
    /// empathy: not the moment to probe.
    fn upset(&self) -> bool {
        self.analysis.emotions.iter().any(|c| {
            !matches!(c.emotion, Emotion::Satisfaction | Emotion::Confusion)
                && c.intensity >= self.playbook.limits.empathy_min_intensity
        })
    }

    /// Whether the customer said enough to be asked what they need (short
    /// small talk gets nothing).
    fn substantial(&self) -> bool {
        speech_units(&self.text.text, self.lang)
            >= *self.playbook.limits.open_question_min_units.get(self.lang)
    }

    /// Coaching when the agent starts before the customer has finished.
    fn interruption(&mut self, timing: Timing) {
        let Some(customer_end) = self.context.last_customer_end_ms() else {
            return;
        };
        if timing.start_ms >= customer_end {
            return;
        }
        let why = if self.zh() {
            format!(
                "坐席在 {} ms 开始说话，客户到 {customer_end} ms 才说完。",
                timing.start_ms
            )
        } else {
            format!(
                "The agent started at {} ms, before the customer finished at {customer_end} ms.",
                timing.start_ms
            )
        };
        self.suggest(RuleName::CoachingInterruption, None, &[], why, 0.9, None);
    }

    /// Positive words for negative phrasing, plain words for jargon.
    fn reframes(&mut self) {
        let playbook = self.playbook;
        for hit in self.hits.clone() {
            let phrase = self.quote(&hit).to_string();
            match hit.target {
                Target::Reframe(i) => {
                    self.effects.negative_phrasings += 1;
                    let reframe = &playbook.reframes[i as usize];
                    let why = if self.zh() {
                        format!("坐席说了「{phrase}」：换成积极、可行的说法。")
                    } else {
                        format!("The agent said \"{phrase}\": say what can be done instead.")
                    };
                    self.suggest_one_of(
                        RuleName::Reframe,
                        Some(&reframe.rule_id),
                        "say",
                        reframe.say.get(self.lang),
                        &[("phrase", &phrase)],
                        &why,
                        0.8,
                        None,
                    );
                }
                Target::Jargon(i) => {
                    let jargon = &playbook.jargon[i as usize];
                    let Some(plain) = jargon.plain.get(self.lang) else {
                        continue;
                    };
                    let why = if self.zh() {
                        format!("「{phrase}」是专业术语：用客户听得懂的话。")
                    } else {
                        format!("\"{phrase}\" is jargon: use words the customer knows.")
                    };
                    self.suggest(
                        RuleName::PlainLanguage,
                        Some(&jargon.rule_id),
                        &[("term", &phrase), ("plain", plain)],
                        why,
                        0.7,
                        None,
                    );
                }
                _ => {}
            }
        }
    }

    /// Coaching when the agent speaks far faster than a steady pace.
    fn pace(&mut self, timing: Timing) {
        let ms = timing.end_ms.saturating_sub(timing.start_ms);
        if !self.analysis.is_final || ms < self.playbook.limits.pace_min_duration_ms || ms == 0 {
            return;
        }
        let units = speech_units(&self.text.text, self.lang) as u32;
        self.effects.pace = Some((units, ms));
        let rate = units as f32 * 1000.0 / ms as f32;
        let limit = *self.playbook.limits.max_rate.get(self.lang);
        if rate <= limit {
            return;
        }
        let unit = if self.zh() { "字/秒" } else { "words/s" };
        let (rate_text, limit_text) = (format!("{rate:.1} {unit}"), format!("{limit:.1} {unit}"));
        let why = format!(
            "{units} / {:.1} s = {rate_text} > {limit_text}",
            ms as f32 / 1000.0
        );
        self.suggest(
            RuleName::CoachingPace,
            None,
            &[("rate", &rate_text), ("limit", &limit_text)],
            why,
            0.8,
            None,
        );
    }

    /// Ticks the checklist items the agent says; reminds the greeting when
    /// the agent's first turn lacks it, and the thanks when the agent puts
    /// the customer on hold.
    fn checklist(&mut self) {
        let agent_turn = self.context.turns(Speaker::Agent);
        let opening = agent_turn < self.playbook.limits.opening_within_agent_turns;
        let playbook = self.playbook;
        for hit in &self.hits {
            let Target::Checklist(i) = hit.target else {
                continue;
            };
            let item = &playbook.checklist[i as usize];
            // A closing line in the opening ("thank you for calling") is a
            // greeting, not the close of the call.
            let counts = match item.due {
                Due::Opening => opening,
                Due::AfterHold => self.context.on_hold(),
                Due::Closing => !opening,
                Due::Anytime => true,
            };
            if counts && !self.effects.ticked.contains(&item.id) {
                self.effects.ticked.push(item.id.clone());
                self.effects.moot.push(item.rule_id.clone());
            }
        }
        if !self.analysis.is_final {
            return;
        }
        self.effects.hold = self.hits.iter().any(|h| h.target == Target::Hold);
        if agent_turn == 0 {
            let why = if self.zh() {
                "开场没有问候客户。"
            } else {
                "The call opened without a greeting."
            };
            self.remind(Due::Opening, why);
        }
        if let Some(hit) = self.hits.iter().find(|h| h.target == Target::Hold) {
            let why = if self.zh() {
                format!(
                    "坐席请客户等待（「{}」）：回来时先感谢客户的耐心。",
                    self.quote(hit)
                )
            } else {
                format!(
                    "The agent put the customer on hold (\"{}\"): thank them when you're back.",
                    self.quote(hit)
                )
            };
            self.remind(Due::AfterHold, &why);
        }
    }

    /// The agent's promises to get back to the customer become follow-ups.
    fn promises(&mut self) {
        if !self.analysis.is_final {
            return;
        }
        let Some(template) = self.playbook.follow_up.get(self.lang) else {
            return;
        };
        let Some(hit) = self.hits.iter().find(|h| h.target == Target::Promise) else {
            return;
        };
        let need = self
            .context
            .current_intent()
            .and_then(|i| self.playbook.intent(&i, self.lang))
            .map(|t| t.label.as_str())
            .unwrap_or(if self.zh() {
                "客户诉求"
            } else {
                "Customer request"
            });
        let promise = self.quote(hit);
        if let Some(item) = template.render(|slot| match slot {
            "need" => Some(need),
            "promise" => Some(promise),
            _ => None,
        }) {
            self.effects.follow_ups.push(item);
        }
    }

    /// Orders by priority (stable: rule order breaks ties), caps per turn,
    /// and records what the shown suggestions mean.
    fn finish(mut self) -> Advice {
        self.candidates.sort_by_key(|c| c.suggestion.priority);
        self.candidates
            .truncate(self.playbook.limits.max_suggestions_per_turn);
        let mut assists: Vec<Assist> = self.alerts.into_iter().map(Assist::Alert).collect();
        if self.analysis.speaker == Speaker::Customer
            && !self.analysis.intent.is_out_of_scope()
            && !self.analysis.intent_carried_over
            && self.analysis.intent.confidence >= self.playbook.limits.confirm_min_confidence
            && !self
                .candidates
                .iter()
                .any(|c| c.suggestion.kind == SuggestionKind::ClarifyingQuestion)
        {
            // The need is clear now: earlier questions about it are answered.
            for name in [RuleName::ClarifyClosed, RuleName::ClarifyOpen] {
                if let Some(rule) = self.playbook.rule(name) {
                    self.effects.moot.push(rule.id.clone());
                }
            }
        }
        for Candidate { suggestion, mark } in self.candidates {
            match mark {
                Some(Mark::Asked(a, b)) => self.effects.asked = Some((a, b)),
                Some(Mark::Confirmed(i)) => self.effects.confirmed = Some(i),
                Some(Mark::Probed(i)) => self.effects.probed = Some(i),
                Some(Mark::Guided(i)) => self.effects.guided = Some(i),
                Some(Mark::Reminded(id)) => self.effects.reminded.push(id),
                None => {}
            }
            assists.push(Assist::Suggestion(suggestion));
        }
        Advice {
            assists,
            effects: self.effects,
        }
    }
}

/// How much was said: Chinese characters for `zh`, Latin words for `en`.
fn speech_units(text: &str, lang: Lang) -> usize {
    match lang {
        Lang::Zh => text.chars().filter(|&c| is_cjk(c)).count(),
        Lang::En => text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '\''))
            .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
            .count(),
    }
}

fn zh_emotion(emotion: Emotion) -> &'static str {
    match emotion {
        Emotion::Frustration => "不满",
        Emotion::Anxiety => "焦虑",
        Emotion::Confusion => "困惑",
        Emotion::Urgency => "着急",
        Emotion::Sadness => "难过",
        Emotion::Satisfaction => "满意",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{EmotionCue, IntentPrediction, Language, Pipeline, Tier, Utterance};

    /// A call driven turn by turn through the pipeline, committing finals
    /// the way the session does.
    struct Call {
        pipeline: Pipeline,
        context: CallContext,
        clock: u32,
    }

    impl Call {
        fn new() -> Self {
            Call::with(Playbook::embedded())
        }

        fn with(playbook: Arc<Playbook>) -> Self {
            let pipeline = Pipeline::new();
            pipeline.set_playbook(playbook);
            Call {
                pipeline,
                context: CallContext::default(),
                clock: 0,
            }
        }

        /// One final turn of `ms` milliseconds starting `gap` after the last.
        fn say(&mut self, speaker: Speaker, text: &str, gap: i32, ms: u32) -> Advice {
            let start = (self.clock as i32 + gap).max(0) as u32;
            let timing = Timing {
                start_ms: start,
                end_ms: start + ms,
            };
            self.clock = timing.end_ms;
            let u = Utterance {
                embedding: None,
                text,
                speaker,
                language: Some(Language::ZhCn),
                is_final: true,
            };
            let p = self.pipeline.process(&u, timing, &self.context);
            self.context.commit(
                &p.analysis,
                timing,
                &p.advice.assists,
                &p.advice.effects,
                &p.playbook,
            );
            p.advice
        }

        fn agent(&mut self, text: &str) -> Vec<(SuggestionKind, String)> {
            kinds(&self.say(Speaker::Agent, text, 300, 3000))
        }
    }

    fn kinds(advice: &Advice) -> Vec<(SuggestionKind, String)> {
        advice
            .suggestions()
            .map(|s| (s.kind, s.rule_id.to_string()))
            .collect()
    }

    /// A customer analysis built by hand: these tests are about the rules,
    /// not the models.
    fn customer(intent: &str, confidence: f32, emotions: &[(Emotion, f32)]) -> Analysis {
        Analysis {
            speaker: Speaker::Customer,
            language: Language::ZhCn,
            intent: IntentPrediction {
                intent: intent.into(),
                confidence,
                alternatives: vec![("transaction_history".into(), 0.05)],
            },
            emotions: emotions
                .iter()
                .map(|&(emotion, intensity)| EmotionCue {
                    emotion,
                    intensity,
                    evidence: "担心".into(),
                })
                .collect(),
            entities: Vec::new(),
            is_final: true,
            intent_carried_over: false,
            tier: Tier::Fast,
            text: String::new(),
        }
    }

    fn advise_on(playbook: &Playbook, analysis: &Analysis, context: &CallContext) -> Advice {
        advise(
            playbook,
            analysis,
            &Normalized::new("我想查一下余额"),
            Timing::default(),
            context,
        )
    }

    #[test]
    fn empathy_comes_first_and_the_turn_is_capped() {
        let p = Playbook::embedded();
        let a = customer("wealth_products", 0.95, &[(Emotion::Anxiety, 0.8)]);
        let advice = advise_on(&p, &a, &CallContext::default());
        let k: Vec<SuggestionKind> = advice.suggestions().map(|s| s.kind).collect();
        assert_eq!(
            k,
            vec![
                SuggestionKind::Empathy,
                SuggestionKind::Confirmation,
                SuggestionKind::NextStep
            ],
            "no probe for an upset customer, and at most 3"
        );
        let capped = Playbook::parse(
            &include_str!("../../playbooks/default.toml").replace(
                "max_suggestions_per_turn = 3",
                "max_suggestions_per_turn = 1",
            ),
            "t",
        )
        .unwrap();
        let advice = advise_on(&capped, &a, &CallContext::default());
        assert_eq!(advice.suggestions().count(), 1);
        assert_eq!(
            advice.effects.confirmed, None,
            "what was cut is not recorded"
        );
    }

    #[test]
    fn a_clear_need_is_confirmed_once_and_its_next_step_offered_once() {
        let mut call = Call::new();
        let first = call.say(Speaker::Customer, "我的卡丢了，尾号1234", 0, 3000);
        let texts: Vec<&str> = first.suggestions().map(|s| s.text.as_str()).collect();
        assert!(texts[0].contains("尾号1234"), "{texts:?}");
        assert_eq!(first.effects.confirmed.as_deref(), Some("card_lost_stolen"));
        let again = call.say(Speaker::Customer, "对，我的卡丢了", 2000, 2000);
        assert!(
            again.suggestions().next().is_none(),
            "the same need is not confirmed or guided twice: {:?}",
            kinds(&again)
        );
        let next = call.say(Speaker::Customer, "好的，那接下来呢", 2000, 2000);
        let shown: Vec<&str> = next.suggestions().map(|s| s.text.as_str()).collect();
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(
            shown[0].starts_with("下一步：") && !texts.contains(&shown[0]),
            "asked what next: the next step again, in other words: {shown:?}"
        );
    }

    #[test]
    fn the_same_line_is_never_shown_twice_and_cooldowns_hold() {
        let p = Playbook::embedded();
        let mut context = CallContext::default();
        let mut seen = Vec::new();
        for turn in 0..9 {
            let a = customer("complaint", 0.9, &[(Emotion::Frustration, 0.9)]);
            let advice = advise_on(&p, &a, &context);
            let empathy: Vec<String> = advice
                .suggestions()
                .filter(|s| s.kind == SuggestionKind::Empathy)
                .map(|s| s.text.clone())
                .collect();
            if turn % 3 == 0 && turn < 9 {
                assert_eq!(empathy.len(), 1, "turn {turn}: empathy after the cooldown");
            } else {
                assert!(empathy.is_empty(), "turn {turn}: cooling down");
            }
            for line in &empathy {
                assert!(!seen.contains(line), "{line} shown twice");
                seen.push(line.clone());
            }
            context.commit(&a, Timing::default(), &advice.assists, &advice.effects, &p);
        }
        assert_eq!(seen.len(), 3, "three variants, each once");
    }

    #[test]
    fn agent_speech_is_coached_reframed_and_checked() {
        let mut call = Call::new();
        let opening = call.agent("请问有什么事？");
        assert!(
            opening.contains(&(
                SuggestionKind::Compliance,
                "compliance.reminder.greeting".into()
            )),
            "{opening:?}"
        );
        call.say(Speaker::Customer, "我的卡被冻结了，怎么回事", 300, 3000);
        // Starts 500 ms before the customer finished.
        let interrupting = kinds(&call.say(Speaker::Agent, "这个没办法，你必须去柜台", -500, 3000));
        assert_eq!(
            interrupting,
            vec![
                (SuggestionKind::Coaching, "coaching.interruption".into()),
                (SuggestionKind::Reframe, "reframe.cannot_do".into()),
                (SuggestionKind::Reframe, "reframe.command".into()),
            ]
        );
        assert_eq!(call.context.negative_phrasings(), 2);
        // 24 characters in 2 seconds is far above a steady pace.
        let fast = kinds(&call.say(
            Speaker::Agent,
            "您好这个业务需要您本人带着身份证和银行卡到任意网点柜台办理",
            300,
            2000,
        ));
        assert_eq!(
            fast,
            vec![(SuggestionKind::Coaching, "coaching.pace".into())]
        );
        let hold = call.agent("请稍等，我帮您看一下");
        assert_eq!(
            hold,
            vec![(
                SuggestionKind::Compliance,
                "compliance.reminder.thanks_after_hold".into()
            )]
        );
        assert!(call
            .agent("感谢您的耐心等待，已经帮您提交申请，明天回复您")
            .is_empty());
        assert_eq!(
            call.context.follow_ups(),
            ["账户冻结：坐席已承诺跟进（「提交申请」）"]
        );
        let done: Vec<(String, bool)> = call
            .context
            .checklist(Lang::Zh)
            .into_iter()
            .map(|c| (c.id, c.done))
            .collect();
        assert_eq!(
            done,
            [
                ("greeting".to_string(), false),
                ("thanks_after_hold".to_string(), true),
                ("anything_else".to_string(), false),
                ("closing".to_string(), false)
            ]
        );
    }

    #[test]
    fn small_talk_gets_nothing_and_an_unclear_need_an_open_question() {
        let mut call = Call::new();
        assert!(call
            .say(Speaker::Customer, "今天天气真不错啊", 0, 2000)
            .assists
            .is_empty());
        let unclear = call.say(Speaker::Customer, "我这边遇到了一个很奇怪的问题", 300, 3000);
        assert_eq!(
            kinds(&unclear),
            vec![(SuggestionKind::ClarifyingQuestion, "clarify.open".into())]
        );
    }
}

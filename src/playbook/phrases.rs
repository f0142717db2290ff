//! Every phrase of the playbook (reframe triggers, jargon, checklist items,
//! hold and end-of-call phrases, alert triggers, promises) compiled into one
//! Aho-Corasick automaton, so a segment is scanned once whatever the size
//! of the playbook.

use super::Lang;
use crate::text::normalize::{whole_word, Normalized};
use aho_corasick::AhoCorasick;
use std::{collections::HashMap, ops::Range};

/// What a phrase means; indices point into the playbook's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A negative or commanding phrasing (`Playbook::reframes`).
    Reframe(u16),
    /// A jargon term (`Playbook::jargon`).
    Jargon(u16),
    /// Ticks a checklist item (`Playbook::checklist`).
    Checklist(u16),
    /// The agent puts the customer on hold.
    Hold,
    /// The customer signals the end of the call.
    CustomerDone,
    /// The customer makes small talk.
    SmallTalk,
    /// The customer asks what to do next.
    WhatNext,
    /// A vague request (`Playbook::vague`).
    Vague(u16),
    /// Raises an alert (`Playbook::alerts`).
    Alert(u16),
    /// The agent promises something after the call.
    Promise,
}

/// The compiled phrases.
#[derive(Debug, Default)]
pub struct Phrases {
    /// Matches every distinct normalized phrase; `None` when there are none.
    automaton: Option<AhoCorasick>,
    /// For each pattern of the automaton, what it means in which language
    /// (one phrase can mean several things, e.g. 再见 closes the agent's
    /// checklist and ends the customer's call).
    meanings: Vec<Vec<(Lang, Target)>>,
}

/// One phrase found in a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// What it means.
    pub target: Target,
    /// Where, in the normalized text.
    pub range: Range<usize>,
}

impl Phrases {
    /// The phrases of `lang` found in `text`, each (target, range) once, in
    /// text order. Latin phrases match whole words only.
    pub fn scan(&self, text: &Normalized<'_>, lang: Lang) -> Vec<Hit> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let mut hits: Vec<Hit> = Vec::new();
        for m in automaton.find_overlapping_iter(&text.text) {
            let range = m.start()..m.end();
            if !whole_word(&text.text, range.clone()) {
                continue;
            }
            for &(l, target) in &self.meanings[m.pattern().as_usize()] {
                if l == lang && !hits.iter().any(|h| h.target == target) {
                    hits.push(Hit {
                        target,
                        range: range.clone(),
                    });
                }
            }
        }
        hits
    }
}

/// Collects phrases while the playbook is compiled.
#[derive(Debug, Default)]
pub(super) struct Builder {
    /// Pattern index per distinct phrase.
    index: HashMap<String, usize>,
    /// Meanings per pattern index.
    meanings: Vec<Vec<(Lang, Target)>>,
}

impl Builder {
    /// Adds a normalized phrase.
    pub(super) fn add(&mut self, phrase: &str, lang: Lang, target: Target) {
        let next = self.meanings.len();
        let i = *self.index.entry(phrase.to_string()).or_insert(next);
        if i == next {
            self.meanings.push(Vec::new());
        }
        if !self.meanings[i].contains(&(lang, target)) {
            self.meanings[i].push((lang, target));
        }
    }

    /// Compiles the automaton.
    pub(super) fn build(self) -> Phrases {
        let mut patterns: Vec<(usize, String)> =
            self.index.into_iter().map(|(p, i)| (i, p)).collect();
        patterns.sort_unstable();
        let automaton = (!patterns.is_empty()).then(|| {
            AhoCorasick::new(patterns.iter().map(|(_, p)| p))
                .expect("playbook phrases are few and short enough to compile")
        });
        Phrases {
            automaton,
            meanings: self.meanings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_phrase_can_mean_several_things_and_latin_matches_whole_words() {
        let mut b = Builder::default();
        b.add("再见", Lang::Zh, Target::Checklist(1));
        b.add("再见", Lang::Zh, Target::CustomerDone);
        b.add("hi", Lang::En, Target::Checklist(0));
        let p = b.build();
        let hits = p.scan(&Normalized::new("好的，再見！"), Lang::Zh);
        let targets: Vec<Target> = hits.iter().map(|h| h.target).collect();
        assert_eq!(targets, vec![Target::Checklist(1), Target::CustomerDone]);
        assert!(p
            .scan(&Normalized::new("this is fine"), Lang::En)
            .is_empty());
        assert_eq!(p.scan(&Normalized::new("Hi there"), Lang::En).len(), 1);
        assert!(p.scan(&Normalized::new("Hi there"), Lang::Zh).is_empty());
    }
}

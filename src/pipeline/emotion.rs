//! Emotion cues from a bilingual lexicon written for this project, with the
//! modifiers that change what a phrase means:
//!
//! - negation before a cue cancels it (不担心, "not worried"); a negated
//!   satisfaction turns into mild frustration ("not happy");
//! - a degree adverb right before a cue strengthens it (很担心, "so angry");
//! - rhetorical questions (到底, 凭什么, "why on earth") add frustration;
//! - repeated cues, "!!" and ALL-CAPS words raise the intensity.
//!
//! All phrases and modifiers are found in one Aho-Corasick pass over the
//! normalized text. The detector is stateless: cues from the call's history
//! (the customer repeating themselves) belong to the policy. Each cue quotes
//! the caller's own words as evidence.

use super::{
    normalize::{whole_word, Normalized},
    Emotion, EmotionCue, Language,
};
use crate::{model::emotion_model::EmotionModel, semantic::emotion_head::EmotionHead};
use aho_corasick::AhoCorasick;
use std::sync::{Arc, OnceLock};

/// The embedded English cue model (`models/emotion-en.model`, trained on
/// GoEmotions by `callassist train-emotions`).
const DEFAULT_MODEL: &[u8] = include_bytes!("../../models/emotion-en.model");

/// The embedded English cue model, decoded once and shared.
pub fn default_model() -> Arc<EmotionModel> {
    static MODEL: OnceLock<Arc<EmotionModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            Arc::new(
                EmotionModel::decode(DEFAULT_MODEL).expect("the embedded emotion model is valid"),
            )
        })
        .clone()
}

/// (emotion, [(normalized cue phrase, intensity)]).
const LEXICON: &[(Emotion, &[(&str, f32)])] = &[
    (
        Emotion::Frustration,
        &[
            ("太过分", 0.9),
            ("气死", 0.9),
            ("受不了", 0.8),
            ("烦死", 0.8),
            ("搞什么", 0.8),
            ("怎么回事", 0.5),
            ("第三次", 0.7),
            ("说了多少遍", 0.8),
            ("不满意", 0.7),
            ("生气", 0.7),
            ("离谱", 0.8),
            ("坑人", 0.8),
            ("什么破", 0.8),
            ("忍无可忍", 0.9),
            ("莫名其妙", 0.6),
            ("ridiculous", 0.8),
            ("unacceptable", 0.8),
            ("fed up", 0.8),
            ("annoyed", 0.7),
            ("annoying", 0.7),
            ("frustrated", 0.8),
            ("frustrating", 0.8),
            ("angry", 0.8),
            ("third time", 0.7),
            ("sick of", 0.8),
            ("terrible", 0.7),
            ("useless", 0.7),
            ("disgusting", 0.8),
            ("pissed", 0.8),
            ("hate", 0.7),
            ("worst", 0.7),
            ("烦人", 0.7),
            ("真烦", 0.7),
            ("好烦", 0.7),
            ("烦不烦", 0.8),
            ("心烦", 0.6),
            ("无语", 0.7),
            ("服了", 0.6),
            ("郁闷", 0.6),
            ("闹心", 0.7),
            ("气人", 0.8),
            ("恼火", 0.8),
            ("火大", 0.8),
            ("窝火", 0.8),
            ("不像话", 0.8),
            ("有完没完", 0.8),
            ("什么玩意", 0.8),
            ("扯淡", 0.8),
            ("浪费时间", 0.7),
            ("等半天", 0.6),
            ("磨叽", 0.6),
            ("差劲", 0.7),
            ("太差", 0.7),
            ("垃圾", 0.8),
            ("糟糕", 0.6),
            ("不耐烦", 0.7),
            ("this is a joke", 0.7),
            ("for god's sake", 0.8),
            ("waste of time", 0.7),
            ("had enough", 0.7),
            ("unbelievable", 0.6),
            ("pathetic", 0.8),
            ("rubbish", 0.7),
        ],
    ),
    (
        Emotion::Anxiety,
        &[
            ("担心", 0.7),
            ("害怕", 0.8),
            ("着急", 0.6),
            ("怎么办", 0.5),
            ("不安", 0.6),
            ("慌", 0.7),
            ("紧张", 0.6),
            ("怕", 0.5),
            ("worried", 0.7),
            ("worry", 0.6),
            ("scared", 0.8),
            ("nervous", 0.6),
            ("afraid", 0.7),
            ("anxious", 0.7),
            ("panicking", 0.8),
            ("what do i do", 0.5),
            ("concerned", 0.5),
            ("心慌", 0.7),
            ("急死", 0.8),
            ("吓死", 0.7),
            ("吓坏", 0.7),
            ("睡不着", 0.6),
            ("不放心", 0.6),
            ("焦虑", 0.8),
            ("忐忑", 0.7),
            ("freaking out", 0.8),
            ("stressed", 0.6),
        ],
    ),
    (
        Emotion::Confusion,
        &[
            ("不明白", 0.7),
            ("不懂", 0.7),
            ("搞不清", 0.7),
            ("什么意思", 0.6),
            ("看不懂", 0.7),
            ("糊涂", 0.7),
            ("听不懂", 0.7),
            ("don't understand", 0.7),
            ("confused", 0.8),
            ("confusing", 0.7),
            ("what does that mean", 0.6),
            ("makes no sense", 0.7),
            ("doesn't make sense", 0.7),
            ("没听明白", 0.7),
            ("啥意思", 0.6),
            ("搞不懂", 0.7),
            ("绕晕", 0.7),
            ("晕了", 0.5),
            ("一头雾水", 0.8),
            ("不知道怎么", 0.6),
            ("不会弄", 0.6),
            ("不会用", 0.6),
            ("i'm lost", 0.6),
            ("don't follow", 0.6),
            ("what do you mean", 0.6),
        ],
    ),
    (
        Emotion::Urgency,
        &[
            ("马上", 0.7),
            ("立刻", 0.8),
            ("赶紧", 0.7),
            ("急用", 0.8),
            ("今天必须", 0.8),
            ("尽快", 0.6),
            ("来不及", 0.7),
            ("right now", 0.7),
            ("immediately", 0.8),
            ("urgent", 0.8),
            ("urgently", 0.8),
            ("asap", 0.8),
            ("as soon as possible", 0.7),
            ("due today", 0.6),
            ("快点", 0.7),
            ("快一点", 0.7),
            ("抓紧", 0.6),
            ("赶时间", 0.7),
            ("等着用", 0.7),
            ("等不了", 0.7),
            ("越快越好", 0.8),
            ("急着", 0.7),
            ("着急用", 0.8),
            ("hurry", 0.7),
            ("in a rush", 0.7),
            ("right away", 0.7),
            ("quickly", 0.5),
        ],
    ),
    (
        Emotion::Sadness,
        &[
            ("去世", 0.9),
            ("过世", 0.9),
            ("失业", 0.8),
            ("没钱了", 0.7),
            ("难过", 0.7),
            ("生病", 0.6),
            ("住院", 0.6),
            ("伤心", 0.7),
            ("失望", 0.6),
            ("passed away", 0.9),
            ("lost my job", 0.8),
            ("can't afford", 0.7),
            ("struggling", 0.6),
            ("hospital", 0.5),
            ("disappointed", 0.6),
            ("sad", 0.6),
            ("funeral", 0.8),
            ("难受", 0.6),
            ("不好受", 0.6),
            ("倒霉", 0.6),
            ("撑不下去", 0.8),
            ("走投无路", 0.9),
            ("还不上", 0.7),
            ("被裁", 0.8),
            ("裁员", 0.7),
            ("下岗", 0.8),
            ("离婚", 0.6),
            ("出事", 0.6),
            ("laid off", 0.8),
            ("divorce", 0.6),
            ("bereavement", 0.8),
            ("hard time", 0.6),
        ],
    ),
    (
        Emotion::Satisfaction,
        &[
            ("谢谢", 0.6),
            ("太好了", 0.8),
            ("满意", 0.7),
            ("解决了", 0.7),
            ("放心了", 0.7),
            ("辛苦了", 0.6),
            ("thank you", 0.6),
            ("thanks", 0.5),
            ("great", 0.6),
            ("perfect", 0.7),
            ("that helps", 0.7),
            ("appreciate", 0.7),
            ("relieved", 0.7),
            ("happy", 0.6),
            ("多谢", 0.6),
            ("谢啦", 0.6),
            ("感谢", 0.6),
            ("太感谢", 0.8),
            ("帮大忙", 0.8),
            ("没问题了", 0.6),
            ("好多了", 0.6),
            ("挺好", 0.6),
            ("不错", 0.6),
            ("靠谱", 0.6),
            ("真棒", 0.7),
            ("给力", 0.7),
            ("cheers", 0.5),
            ("brilliant", 0.7),
            ("lovely", 0.6),
            ("much appreciated", 0.7),
            ("awesome", 0.6),
        ],
    ),
];

/// Words that cancel a cue right after them.
const NEGATORS: &[&str] = &[
    "不",
    "没",
    "别",
    "没有",
    "不用",
    "not",
    "never",
    "no",
    "don't",
    "dont",
    "isn't",
    "wasn't",
    "not really",
];

/// Degree adverbs that strengthen a cue right after them.
const INTENSIFIERS: &[&str] = &[
    "很",
    "非常",
    "太",
    "特别",
    "好",
    "真",
    "超",
    "so",
    "really",
    "very",
    "extremely",
    "super",
    "totally",
];

/// Rhetorical questions that carry frustration.
const RHETORICAL: &[&str] = &[
    "到底",
    "凭什么",
    "究竟",
    "难道",
    "why on earth",
    "what the hell",
    "how come",
    "seriously",
];

/// How close (in bytes of normalized text) a modifier must end before a cue.
const MODIFIER_REACH: usize = 7;

/// What a pattern of the automaton is.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    Cue(Emotion, f32),
    Negator,
    Intensifier,
    Rhetorical,
}

struct Automaton {
    matcher: AhoCorasick,
    patterns: Vec<(Pattern, &'static str)>,
}

/// A fingerprint of the lexicon (every phrase with its kind and weight).
/// The English model's thresholds are tuned for the lexicon's cues *or* the
/// model's, so the model records the lexicon it was tuned with, and a test
/// fails when the lexicon changes without `train-emotions` being run again.
pub fn lexicon_fingerprint() -> String {
    let lines: Vec<Vec<u8>> = automaton()
        .patterns
        .iter()
        .map(|(kind, phrase)| format!("{kind:?}\t{phrase}").into_bytes())
        .collect();
    crate::model::format::fingerprint(lines.iter().map(Vec::as_slice))
}

fn automaton() -> &'static Automaton {
    static AUTOMATON: OnceLock<Automaton> = OnceLock::new();
    AUTOMATON.get_or_init(|| {
        let mut patterns = Vec::new();
        for (emotion, phrases) in LEXICON {
            patterns.extend(
                phrases
                    .iter()
                    .map(|(p, w)| (Pattern::Cue(*emotion, *w), *p)),
            );
        }
        patterns.extend(NEGATORS.iter().map(|p| (Pattern::Negator, *p)));
        patterns.extend(INTENSIFIERS.iter().map(|p| (Pattern::Intensifier, *p)));
        patterns.extend(RHETORICAL.iter().map(|p| (Pattern::Rhetorical, *p)));
        let matcher =
            AhoCorasick::new(patterns.iter().map(|(_, p)| p)).expect("the lexicon compiles");
        Automaton { matcher, patterns }
    })
}

/// The byte range of the clause a sentence-level cue quotes as its
/// evidence: the last clause of the normalized text (feelings tend to come
/// at the end of a turn: "...and it still hasn't arrived, this is
/// ridiculous"), at most 12 characters or 8 words back from its end.
fn strongest_clause(s: &str) -> (usize, usize) {
    let trimmed = s.trim_end_matches([',', '.', '!', '?', ';', '。', '、', '；', ' ']);
    let end = trimmed.len();
    let start = trimmed
        .rfind([',', '.', '!', '?', ';', '。', '、', '；'])
        .map_or(0, |i| {
            i + trimmed[i..].chars().next().map_or(1, char::len_utf8)
        });
    let clause = &trimmed[start..end];
    let words = clause.split_whitespace().count();
    let chars = clause.chars().count();
    let start = if words > 8 {
        let keep: Vec<&str> = clause.split_whitespace().rev().take(8).collect();
        end - keep.iter().map(|w| w.len() + 1).sum::<usize>() + 1
    } else if words <= 1 && chars > 12 {
        end - clause
            .chars()
            .rev()
            .take(12)
            .map(char::len_utf8)
            .sum::<usize>()
    } else {
        start
    };
    let start = start + (trimmed[start..end].len() - trimmed[start..end].trim_start().len());
    (start, end)
}

/// Finds emotion cues in normalized utterances.
#[derive(Debug, Clone)]
pub struct EmotionDetector {
    /// The trained model consulted for English text beside the lexicon, for
    /// the cues the lexicon did not find.
    model: Option<Arc<EmotionModel>>,
    /// The semantic tier's head, consulted when a turn carries an
    /// embedding, for the cues neither the lexicon nor the model found.
    head: Option<Arc<EmotionHead>>,
}

impl Default for EmotionDetector {
    /// The lexicon with the embedded English model.
    fn default() -> Self {
        EmotionDetector::with_model(default_model())
    }
}

impl EmotionDetector {
    /// The lexicon alone.
    pub fn lexicon_only() -> Self {
        EmotionDetector {
            model: None,
            head: None,
        }
    }

    /// The lexicon with `model` for English text (and the embedded
    /// semantic head for turns with an embedding).
    pub fn with_model(model: Arc<EmotionModel>) -> Self {
        EmotionDetector {
            model: Some(model),
            head: crate::semantic::default_emotion_head(),
        }
    }

    /// This detector with `head` (or none) for turns with an embedding.
    pub fn with_head(mut self, head: Option<Arc<EmotionHead>>) -> Self {
        self.head = head;
        self
    }

    /// The cues found in `text`, strongest first; at most one per emotion
    /// (its strongest cue, raised when several cues agree).
    pub fn detect(&self, text: &Normalized<'_>) -> Vec<EmotionCue> {
        self.detect_with(text, None)
    }

    /// [`EmotionDetector::detect`] with the turn's embedding: the semantic
    /// head adds the cues the lexicon and the English model missed (in
    /// either language), quoting the clause that carries the feeling.
    pub fn detect_with(&self, text: &Normalized<'_>, embedding: Option<&[f32]>) -> Vec<EmotionCue> {
        let a = automaton();
        let s = text.text.as_str();
        let mut modifiers: Vec<(Pattern, usize, usize)> = Vec::new();
        let mut cues: Vec<(Emotion, f32, usize, usize)> = Vec::new();
        for m in a.matcher.find_overlapping_iter(s) {
            if !whole_word(s, m.range()) {
                continue;
            }
            match a.patterns[m.pattern().as_usize()].0 {
                Pattern::Cue(e, w) => cues.push((e, w, m.start(), m.end())),
                other => modifiers.push((other, m.start(), m.end())),
            }
        }
        // A cue inside a longer cue ("怕" in "害怕", "满意" in "不满意") is
        // part of that one.
        let contained = |c: &(Emotion, f32, usize, usize)| {
            cues.iter()
                .any(|o| o.2 <= c.2 && c.3 <= o.3 && (o.3 - o.2) > (c.3 - c.2))
        };
        let cues: Vec<_> = cues.iter().filter(|c| !contained(c)).copied().collect();
        // A modifier acts on a cue shortly after it in the same clause:
        // "没有了，谢谢" is not a negated thanks.
        let same_clause = |from: usize, to: usize| {
            !text.text[from..to].contains([',', '.', '!', '?', ';', '。', '、', '；'])
        };
        let before = |kind: fn(&Pattern) -> bool, start: usize| {
            modifiers.iter().any(|(p, ms, me)| {
                kind(p)
                    && *me <= start
                    && start - *me <= MODIFIER_REACH
                    && same_clause(*me, start)
                    && !cues.iter().any(|c| c.2 <= *ms && *me <= c.3)
            })
        };
        let shouting = text.original.matches("!!").count() + text.original.matches("！！").count()
            > 0
            || text
                .original
                .split_whitespace()
                .filter(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_uppercase()))
                .count()
                >= 2;
        let mut best: Vec<(Emotion, f32, usize, usize, u32)> = Vec::new();
        let mut add = |emotion: Emotion, intensity: f32, start: usize, end: usize| match best
            .iter_mut()
            .find(|b| b.0 == emotion)
        {
            Some(b) => {
                b.4 += 1;
                if intensity > b.1 {
                    (b.1, b.2, b.3) = (intensity, start, end);
                }
            }
            None => best.push((emotion, intensity, start, end, 1)),
        };
        for &(emotion, w, start, end) in &cues {
            if before(|p| matches!(p, Pattern::Negator), start) {
                if emotion == Emotion::Satisfaction {
                    add(Emotion::Frustration, 0.5, start, end);
                }
                continue;
            }
            let boost = if before(|p| matches!(p, Pattern::Intensifier), start) {
                0.15
            } else {
                0.0
            };
            add(emotion, w + boost, start, end);
        }
        for &(p, start, end) in &modifiers {
            if matches!(p, Pattern::Rhetorical) {
                add(Emotion::Frustration, 0.5, start, end);
            }
        }
        if let (Some(model), Language::EnUs) = (&self.model, text.language) {
            // A negator right before the model's evidence cancels the cue
            // ("not worried"); one inside it is part of the cue ("not sure").
            let negated = |start: usize| before(|p| matches!(p, Pattern::Negator), start);
            for cue in model.detect(text) {
                if negated(cue.evidence.start) {
                    continue;
                }
                if let Some(b) = best.iter_mut().find(|b| b.0 == cue.emotion) {
                    b.4 += 1; // the model agrees with the lexicon
                } else {
                    best.push((
                        cue.emotion,
                        cue.probability,
                        cue.evidence.start,
                        cue.evidence.end,
                        1,
                    ));
                }
            }
        }
        if let (Some(head), Some(embedding)) = (&self.head, embedding) {
            if embedding.len() == head.dim() {
                let mut clause = None;
                for (emotion, p) in head.detect(embedding, text.language) {
                    if !best.iter().any(|b| b.0 == emotion) {
                        let (start, end) = *clause.get_or_insert_with(|| strongest_clause(s));
                        best.push((emotion, p, start, end, 1));
                    }
                }
            }
        }
        let mut out: Vec<EmotionCue> = best
            .into_iter()
            .map(|(emotion, w, start, end, count)| {
                let mut intensity = w + 0.1 * (count - 1) as f32;
                if shouting && emotion != Emotion::Satisfaction {
                    intensity += 0.1;
                }
                EmotionCue {
                    emotion,
                    intensity: intensity.min(1.0),
                    evidence: text.quote(start..end).to_string(),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.intensity
                .total_cmp(&a.intensity)
                .then(a.emotion.cmp(&b.emotion))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(text: &str) -> Vec<EmotionCue> {
        EmotionDetector::lexicon_only().detect(&Normalized::new(text))
    }

    #[test]
    fn cues_quote_the_callers_words() {
        let cues = detect("這太過分了，我很擔心");
        assert_eq!(cues[0].emotion, Emotion::Frustration);
        assert_eq!(cues[0].evidence, "太過分");
        assert_eq!(cues[1].emotion, Emotion::Anxiety);
        assert_eq!(cues[1].evidence, "擔心");
    }

    #[test]
    fn negation_cancels_and_degree_adverbs_strengthen() {
        assert!(detect("我不担心这个").is_empty());
        assert!(detect("I'm not worried about it").is_empty());
        let plain = detect("我担心")[0].intensity;
        let strong = detect("我非常担心")[0].intensity;
        assert!(strong > plain, "{strong} > {plain}");
        let not_happy = detect("I am not happy with this");
        assert_eq!(not_happy[0].emotion, Emotion::Frustration);
        // A negation ends with its clause.
        let thanks = detect("没有了，谢谢");
        assert_eq!(thanks.len(), 1, "{thanks:?}");
        assert_eq!(thanks[0].emotion, Emotion::Satisfaction);
    }

    #[test]
    fn rhetorical_questions_and_shouting_carry_frustration() {
        let cues = detect("你们到底在干什么");
        assert_eq!(cues[0].emotion, Emotion::Frustration);
        assert_eq!(cues[0].evidence, "到底");
        let calm = detect("this is ridiculous")[0].intensity;
        let loud = detect("THIS IS RIDICULOUS!!")[0].intensity;
        assert!(loud > calm);
    }

    #[test]
    fn neutral_text_has_no_cues() {
        assert!(detect("I want to check my balance").is_empty());
        assert!(detect("我想查一下余额").is_empty());
        assert!(
            detect("the annotation is fine").is_empty(),
            "no cue inside other words"
        );
        let unhappy = detect("我对结果不满意");
        assert_eq!(unhappy.len(), 1);
        assert_eq!(unhappy[0].emotion, Emotion::Frustration);
    }

    #[test]
    fn the_english_model_reads_negation_from_word_pairs() {
        let detector = EmotionDetector::default();
        let cues = |text: &str| detector.detect(&Normalized::new(text));
        let unsure = cues("I'm not sure what happened to my transfer");
        let confusion = unsure.iter().find(|c| c.emotion == Emotion::Confusion);
        assert_eq!(
            confusion.map(|c| c.evidence.as_str()),
            Some("not sure"),
            "{unsure:?}"
        );
        let calm = cues("I'm not worried at all");
        assert!(
            calm.iter().all(|c| c.emotion != Emotion::Anxiety),
            "{calm:?}"
        );
        assert!(cues("what's my balance").is_empty());
    }

    #[test]
    fn the_embedded_model_was_tuned_with_the_current_lexicon() {
        assert_eq!(
            crate::model::format::data_fingerprint(DEFAULT_MODEL),
            Some(lexicon_fingerprint()),
            "the lexicon changed: retrain the English model (EVALUATION.md, \
             `train-emotions … --out models/emotion-en.model`)"
        );
    }
}

//! Emotion cues: a bilingual lexicon of cue phrases with intensities. Each cue
//! keeps the caller's own words as evidence. Like the intent classifier this
//! is the interim, hand-written detector; issue #3 trains and measures it.

use super::{normalize::Normalized, Emotion, EmotionCue};

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
            ("又是", 0.4),
            ("第三次", 0.7),
            ("说了多少遍", 0.8),
            ("ridiculous", 0.8),
            ("unacceptable", 0.8),
            ("fed up", 0.8),
            ("annoyed", 0.7),
            ("frustrated", 0.8),
            ("angry", 0.8),
            ("third time", 0.7),
            ("again", 0.3),
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
            ("worried", 0.7),
            ("scared", 0.8),
            ("nervous", 0.6),
            ("afraid", 0.7),
            ("what do i do", 0.5),
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
            ("don't understand", 0.7),
            ("confused", 0.8),
            ("what does that mean", 0.6),
            ("makes no sense", 0.7),
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
            ("right now", 0.7),
            ("immediately", 0.8),
            ("urgent", 0.8),
            ("asap", 0.8),
            ("as soon as possible", 0.7),
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
            ("passed away", 0.9),
            ("lost my job", 0.8),
            ("can't afford", 0.7),
            ("struggling", 0.6),
            ("hospital", 0.5),
        ],
    ),
    (
        Emotion::Satisfaction,
        &[
            ("谢谢", 0.6),
            ("太好了", 0.8),
            ("满意", 0.7),
            ("解决了", 0.7),
            ("thank you", 0.6),
            ("thanks", 0.5),
            ("great", 0.6),
            ("perfect", 0.7),
            ("that helps", 0.7),
        ],
    ),
];

/// Finds emotion cues in normalized utterances.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmotionDetector;

impl EmotionDetector {
    /// The cues found in `text`, strongest first; at most one per emotion
    /// (its strongest cue, raised a little when several cues agree).
    pub fn detect(&self, text: &Normalized<'_>) -> Vec<EmotionCue> {
        let mut cues: Vec<EmotionCue> = LEXICON
            .iter()
            .filter_map(|(emotion, phrases)| {
                let mut hits = phrases
                    .iter()
                    .filter_map(|(p, w)| text.find(p).map(|r| (r, *w)));
                let (mut range, mut intensity) = hits.next()?;
                let mut count = 1;
                for (r, w) in hits {
                    count += 1;
                    if w > intensity {
                        (range, intensity) = (r, w);
                    }
                }
                let intensity = (intensity + 0.1 * (count - 1) as f32).min(1.0);
                Some(EmotionCue {
                    emotion: *emotion,
                    intensity,
                    evidence: text.quote(range).to_string(),
                })
            })
            .collect();
        cues.sort_by(|a, b| b.intensity.total_cmp(&a.intensity));
        cues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues_quote_the_callers_words() {
        let cues = EmotionDetector.detect(&Normalized::new("這太過分了，我很擔心"));
        assert_eq!(cues[0].emotion, Emotion::Frustration);
        assert_eq!(cues[0].evidence, "太過分");
        assert_eq!(cues[1].emotion, Emotion::Anxiety);
        assert_eq!(cues[1].evidence, "擔心");
    }

    #[test]
    fn neutral_text_has_no_cues() {
        assert!(EmotionDetector
            .detect(&Normalized::new("I want to check my balance"))
            .is_empty());
    }
}

//! Measures the emotion-cue detector on public emotion data sets, mapped to
//! callassist's cues: GoEmotions (English Reddit, the mapping of issue #3),
//! SMP2020-EWECT (Mandarin Weibo) and CPED (Mandarin TV dialogue). The two
//! Mandarin sets are research-only: measured against, never shipped.

use crate::{
    pipeline::{emotion::EmotionDetector, normalize::Normalized, Emotion},
    Error,
};
use std::{collections::BTreeSet, io::Write, path::Path};

/// A data set layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text<TAB>label ids<TAB>id`, ids into `emotions.txt` beside the file.
    GoEmotions,
    /// JSON array of `{"content", "label"}`.
    Smp2020,
    /// CSV with `Emotion` and `Utterance` columns.
    Cped,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "goemotions" => Ok(Format::GoEmotions),
            "smp2020" => Ok(Format::Smp2020),
            "cped" => Ok(Format::Cped),
            _ => Err(format!("{s:?} is not goemotions, smp2020 or cped")),
        }
    }
}

/// The callassist cue of a data set's label, if any.
fn cue_of(format: Format, label: &str) -> Option<Emotion> {
    use Emotion::*;
    match (format, label) {
        (Format::GoEmotions, "anger" | "annoyance" | "disapproval" | "disgust") => {
            Some(Frustration)
        }
        (Format::GoEmotions, "fear" | "nervousness") => Some(Anxiety),
        (Format::GoEmotions, "confusion") => Some(Confusion),
        (Format::GoEmotions, "sadness" | "grief" | "disappointment" | "remorse") => Some(Sadness),
        (Format::GoEmotions, "gratitude" | "relief" | "joy" | "admiration" | "approval") => {
            Some(Satisfaction)
        }
        (Format::Smp2020, "angry") | (Format::Cped, "anger") => Some(Frustration),
        (Format::Smp2020, "fear") | (Format::Cped, "worried" | "fear") => Some(Anxiety),
        (Format::Smp2020, "sad") | (Format::Cped, "depress" | "sadness") => Some(Sadness),
        (Format::Smp2020, "happy") | (Format::Cped, "happy" | "grateful" | "relaxed") => {
            Some(Satisfaction)
        }
        _ => None,
    }
}

/// The cues a data set can tell about.
fn cues(format: Format) -> &'static [Emotion] {
    use Emotion::*;
    match format {
        Format::GoEmotions => &[Frustration, Anxiety, Confusion, Sadness, Satisfaction],
        Format::Smp2020 | Format::Cped => &[Frustration, Anxiety, Sadness, Satisfaction],
    }
}

fn read(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

/// (text, gold cues) pairs of a data file.
pub fn load(format: Format, path: &Path) -> Result<Vec<(String, BTreeSet<Emotion>)>, Error> {
    let text = read(path)?;
    let bad = |why: String| Error::Io(format!("{}: {why}", path.display()));
    match format {
        Format::GoEmotions => {
            let names: Vec<String> = read(&path.with_file_name("emotions.txt"))?
                .lines()
                .map(str::to_string)
                .collect();
            text.lines()
                .map(|line| {
                    let mut fields = line.split('\t');
                    let (Some(t), Some(ids)) = (fields.next(), fields.next()) else {
                        return Err(bad(format!("bad line {line:?}")));
                    };
                    let gold = ids
                        .split(',')
                        .filter_map(|i| i.parse::<usize>().ok())
                        .filter_map(|i| names.get(i))
                        .filter_map(|n| cue_of(format, n))
                        .collect();
                    Ok((t.to_string(), gold))
                })
                .collect()
        }
        Format::Smp2020 => {
            #[derive(serde::Deserialize)]
            struct Post {
                content: String,
                label: String,
            }
            let posts: Vec<Post> = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
            Ok(posts
                .into_iter()
                .map(|p| (p.content, cue_of(format, &p.label).into_iter().collect()))
                .collect())
        }
        Format::Cped => {
            let mut lines = text.trim_start_matches('\u{feff}').lines();
            let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
            let col = |name: &str| {
                header
                    .iter()
                    .position(|h| *h == name)
                    .ok_or_else(|| bad(format!("no {name} column")))
            };
            let (emotion, utterance) = (col("Emotion")?, col("Utterance")?);
            Ok(lines
                .filter_map(|l| {
                    let f: Vec<&str> = l.splitn(header.len(), ',').collect();
                    Some((
                        f.get(utterance)?.to_string(),
                        cue_of(format, f.get(emotion)?).into_iter().collect(),
                    ))
                })
                .collect())
        }
    }
}

/// Embeds texts for the semantic tier's head (see [`evaluate`]).
pub type Embed<'a> = &'a dyn Fn(&[&str]) -> Result<Vec<Vec<f32>>, Error>;

/// Per-cue precision, recall and F1 of the detector, and their macro-F1;
/// with `embed`, every text also carries its embedding (the semantic
/// tier).
pub fn evaluate(
    detector: &EmotionDetector,
    format: Format,
    path: &Path,
    embed: Option<Embed<'_>>,
    out: &mut impl Write,
) -> Result<f64, Error> {
    let data = load(format, path)?;
    let embeddings = match embed {
        Some(embed) => Some(embed(
            &data.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        )?),
        None => None,
    };
    let cues = cues(format);
    let mut counts = vec![(0usize, 0usize, 0usize); cues.len()]; // tp, fp, fn
    for (i, (text, gold)) in data.iter().enumerate() {
        let embedding = embeddings.as_ref().map(|e| e[i].as_slice());
        let found: BTreeSet<Emotion> = detector
            .detect_with(&Normalized::new(text), embedding)
            .into_iter()
            .map(|c| c.emotion)
            .collect();
        for (k, cue) in cues.iter().enumerate() {
            match (found.contains(cue), gold.contains(cue)) {
                (true, true) => counts[k].0 += 1,
                (true, false) => counts[k].1 += 1,
                (false, true) => counts[k].2 += 1,
                (false, false) => {}
            }
        }
    }
    let _ = writeln!(
        out,
        "{} examples from {}\n{:<14} {:>9} {:>7} {:>7} {:>8}",
        data.len(),
        path.display(),
        "cue",
        "precision",
        "recall",
        "F1",
        "support"
    );
    let mut f1_sum = 0.0;
    for (cue, (tp, fp, fne)) in cues.iter().zip(&counts) {
        let (p, r, f1) = super::eval::prf(*tp, *fp, *fne);
        f1_sum += f1;
        let _ = writeln!(
            out,
            "{:<14} {p:>9.3} {r:>7.3} {f1:>7.3} {:>8}",
            format!("{cue:?}").to_lowercase(),
            tp + fne
        );
    }
    let macro_f1 = f1_sum / cues.len() as f64;
    let _ = writeln!(out, "macro-F1       {macro_f1:.4}");
    Ok(macro_f1)
}

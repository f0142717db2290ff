//! Labelled utterances: JSON Lines (`{"text", "intent", "lang"}`) or the CSV
//! `text,category` layout of Banking77; deterministic hold-out splits.

use super::features::Fnv;
use crate::Error;
use std::path::Path;

/// The label of examples of what to reject.
pub use crate::domain::OUT_OF_SCOPE;

/// One labelled utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The utterance.
    pub text: String,
    /// Its intent.
    pub label: String,
}

#[derive(serde::Deserialize)]
struct JsonExample {
    text: String,
    intent: String,
}

/// Reads a data file; the format is chosen by the extension (`.csv` or
/// JSON Lines otherwise).
pub fn load(path: &Path) -> Result<Vec<Example>, Error> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    let parsed = if path.extension().is_some_and(|e| e == "csv") {
        parse_csv(&text)
    } else {
        parse_jsonl(&text)
    };
    parsed.map_err(|e| Error::Io(format!("{}: {e}", path.display())))
}

fn parse_jsonl(text: &str) -> Result<Vec<Example>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let j: JsonExample =
                serde_json::from_str(l).map_err(|e| format!("line {}: {e}", n + 1))?;
            Ok(Example {
                text: j.text,
                label: j.intent,
            })
        })
        .collect()
}

/// Splits CSV text into records of fields (RFC 4180: quoted fields may
/// hold commas, doubled quotes and line breaks; CRLF or LF line ends).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            ('\r', false) => {}
            ('\n', false) => {
                if fields.len() > 1 || !fields[0].is_empty() {
                    records.push(std::mem::replace(&mut fields, vec![String::new()]));
                }
            }
            ('\r' | '\n', true) => fields.last_mut().unwrap().push(' '),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    if fields.len() > 1 || !fields[0].is_empty() {
        records.push(fields);
    }
    records
}

fn parse_csv(text: &str) -> Result<Vec<Example>, String> {
    let mut records = csv_records(text).into_iter().enumerate();
    match records.next() {
        Some((_, header)) if header == ["text", "category"] => {}
        _ => return Err("expected the header `text,category`".into()),
    }
    records
        .map(|(n, r)| match r.as_slice() {
            [text, label] => Ok(Example {
                text: text.trim().to_string(),
                label: label.trim().to_string(),
            }),
            _ => Err(format!("record {}: expected two fields", n + 1)),
        })
        .collect()
}

/// Whether an example falls in the hold-out share `fraction` (by a hash of
/// its text and label, so the split is the same in `train` and `eval`).
pub fn in_holdout(example: &Example, fraction: f64) -> bool {
    let h = Fnv::default()
        .write(example.text.as_bytes())
        .write(&[0])
        .write(example.label.as_bytes())
        .finish();
    ((h >> 11) % 10_000) < (fraction * 10_000.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_commas() {
        let e = parse_csv(
            "text,category\r\n\"Hi, my \"\"card\"\"\r\nbroke\",card_arrival\r\nplain,x\n",
        )
        .unwrap();
        assert_eq!(e[0].text, "Hi, my \"card\"  broke");
        assert_eq!(e[0].label, "card_arrival");
        assert_eq!(e[1].label, "x");
        assert!(parse_csv("a,b\n").is_err());
    }

    #[test]
    fn holdout_is_stable_and_about_the_requested_size() {
        let examples: Vec<Example> = (0..5000)
            .map(|i| Example {
                text: format!("utterance {i}"),
                label: "x".into(),
            })
            .collect();
        let held = examples.iter().filter(|e| in_holdout(e, 0.1)).count();
        assert!((400..600).contains(&held), "{held}");
        assert!(examples
            .iter()
            .all(|e| in_holdout(e, 0.1) == in_holdout(e, 0.1)));
    }
}

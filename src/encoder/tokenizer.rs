//! The XLM-RoBERTa SentencePiece unigram tokenizer, as the reference engine
//! runs it: per-code-point normalization from the model file, runs of spaces
//! collapsed, `▁` for spaces and at the start, then the most probable
//! segmentation into pieces (Viterbi), one `<unk>` per character nothing
//! covers.

use super::file::Vocabulary;

/// The SentencePiece word-start marker `▁` (U+2581).
const META: char = '\u{2581}';

/// Splits text into piece ids.
#[derive(Debug)]
pub struct Tokenizer {
    /// The pieces, scores and normalization of the model file.
    vocabulary: Vocabulary,
    /// Score of the one-character `<unk>` fallback: below every piece.
    unk_score: f32,
}

impl Tokenizer {
    /// A tokenizer over the model file's vocabulary.
    pub fn new(vocabulary: Vocabulary) -> Self {
        let min = vocabulary.scores.iter().copied().fold(f32::MAX, f32::min);
        Tokenizer {
            vocabulary,
            unk_score: min - 10.0,
        }
    }

    /// Beginning-of-sequence id.
    pub fn bos(&self) -> u32 {
        self.vocabulary.bos
    }

    /// End-of-sequence id.
    pub fn eos(&self) -> u32 {
        self.vocabulary.eos
    }

    /// The normalized code points of `text`, runs of spaces collapsed.
    fn normalize(&self, text: &str) -> Vec<char> {
        let map = &self.vocabulary.normalization;
        let mut out: Vec<char> = Vec::with_capacity(text.len());
        let mut push = |c: char| {
            if !(c == ' ' && out.last() == Some(&' ')) {
                out.push(c);
            }
        };
        for c in text.chars() {
            match map.binary_search_by_key(&(c as u32), |(cp, _)| *cp) {
                Ok(i) => map[i]
                    .1
                    .iter()
                    .filter_map(|&cp| char::from_u32(cp))
                    .for_each(&mut push),
                Err(_) => push(c),
            }
        }
        out
    }

    /// The content piece ids of `text` (no `<s>`/`</s>`), at most `max`.
    pub fn encode(&self, text: &str, max: usize) -> Vec<u32> {
        let chars = self.normalize(text);
        // The metaspace text as bytes, and where each character starts.
        let mut bytes = Vec::with_capacity(chars.len() * 3 + 3);
        let mut starts = Vec::with_capacity(chars.len() + 2);
        let mut put = |c: char, bytes: &mut Vec<u8>| {
            starts.push(bytes.len());
            let mut b = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        };
        if chars.first() != Some(&' ') {
            put(META, &mut bytes);
        }
        for &c in &chars {
            put(if c == ' ' { META } else { c }, &mut bytes);
        }
        let n = starts.len();
        starts.push(bytes.len());

        // best[i]: best score of a segmentation of the first i characters;
        // back[i]: (piece id or None for <unk>, start character).
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        let mut back: Vec<(Option<u32>, usize)> = vec![(None, 0); n + 1];
        best[0] = 0.0;
        let v = &self.vocabulary;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            for e in i + 1..=n {
                let piece = &bytes[starts[i]..starts[e]];
                if piece.len() > v.max_piece_bytes {
                    break;
                }
                if let Some(&id) = v.pieces.get(piece) {
                    let score = best[i] + v.scores[id as usize];
                    if score > best[e] {
                        best[e] = score;
                        back[e] = (Some(id), i);
                    }
                }
            }
            let unk = best[i] + self.unk_score;
            if unk > best[i + 1] {
                best[i + 1] = unk;
                back[i + 1] = (None, i);
            }
        }
        let mut ids = Vec::new();
        let mut i = n;
        while i > 0 {
            let (id, from) = back[i];
            ids.push(id.unwrap_or(v.unk));
            i = from;
        }
        ids.reverse();
        ids.truncate(max);
        ids
    }
}

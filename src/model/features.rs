//! Hashed n-gram features of normalized text.
//!
//! - Latin words: unigrams, bigrams, and character n-grams of each word
//!   with boundary markers (fastText style; 2–5-grams), so spelling variants and ASR
//!   slips share features.
//! - CJK runs: character 1–3-grams (Mandarin has no spaces; bigrams carry
//!   most words).
//!
//! Each feature is hashed (FNV-1a, 64-bit, with a kind byte so a word and
//! a character n-gram never collide by construction) into `2^bits` buckets.

use crate::text::normalize::{is_cjk, Normalized};
use std::borrow::Cow;

/// FNV-1a (64-bit) over a sequence of byte slices: the one hash of the
/// model code (feature buckets, hold-out splits, data fingerprints).
#[derive(Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    /// The FNV offset basis: a hash of nothing yet.
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// The bucket, with the feature's block in its lowest bit.
    fn bucket_in(self, mask: u64, kind: u8) -> u32 {
        (self.bucket(mask) & !1) | u32::from(block_of(kind))
    }

    /// A hash started with a feature-kind byte, so that features of
    /// different kinds never collide by construction.
    fn new(kind: u8) -> Self {
        Fnv::default().write(&[kind])
    }

    /// Hashes `bytes` in.
    pub(crate) fn write(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        self
    }

    /// The hash value.
    pub(crate) fn finish(self) -> u64 {
        self.0
    }

    fn bucket(self, mask: u64) -> u32 {
        // Fold the high bits in: FNV's low bits alone mix poorly.
        ((self.0 ^ (self.0 >> 29)) & mask) as u32
    }
}

/// The feature blocks, normalized separately so that the many character
/// n-grams do not drown the words (as a union of TF-IDF vectorizers would).
pub const BLOCKS: usize = 2;

/// The block of a feature kind: words and bigrams, or character n-grams
/// (Latin char n-grams and CJK n-grams).
fn block_of(kind: u8) -> u8 {
    match kind {
        WORD | BIGRAM => 0,
        _ => 1,
    }
}

const WORD: u8 = 1;
const BIGRAM: u8 = 2;
const CHAR_NGRAM: u8 = 3;
const CJK: u8 = 4;

/// The block of a bucket (see [`BLOCKS`]).
pub fn block(bucket: u32) -> usize {
    (bucket & 1) as usize
}

/// Turns text into sparse hashed feature counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Featurizer {
    /// log2 of the number of buckets.
    pub bits: u8,
}

impl Featurizer {
    /// Number of buckets.
    pub fn dims(&self) -> usize {
        1 << self.bits
    }

    /// The bucket of a single word (a unigram feature).
    pub fn word_bucket(&self, word: &str) -> u32 {
        Fnv::new(WORD)
            .write(word.as_bytes())
            .bucket_in((1u64 << self.bits) - 1, WORD)
    }

    /// The bucket of a pair of adjacent words (a bigram feature).
    pub fn bigram_bucket(&self, first: &str, second: &str) -> u32 {
        Fnv::new(BIGRAM)
            .write(first.as_bytes())
            .write(b" ")
            .write(second.as_bytes())
            .bucket_in((1u64 << self.bits) - 1, BIGRAM)
    }

    /// The bucket of a run of CJK characters (a CJK n-gram feature).
    pub fn cjk_bucket(&self, chars: &str) -> u32 {
        Fnv::new(CJK)
            .write(chars.as_bytes())
            .bucket_in((1u64 << self.bits) - 1, CJK)
    }

    /// The features of `text`, reusing those another model already computed
    /// for it when they are at least as wide: a bucket of `b` bits is the
    /// wider bucket masked to `b` bits (the block bit is the lowest bit), so
    /// narrower features are the wider ones masked and merged.
    pub fn features_of<'t>(&self, text: &'t Normalized<'_>) -> Cow<'t, [(u32, f32)]> {
        let (bits, cached) = text
            .features
            .get_or_init(|| (self.bits, self.features(text)));
        if *bits == self.bits {
            return Cow::Borrowed(cached);
        }
        if *bits < self.bits {
            return Cow::Owned(self.features(text));
        }
        let mask = (1u32 << self.bits) - 1;
        Cow::Owned(count(cached.iter().map(|&(b, n)| (b & mask, n))))
    }

    /// The features of `text` as (bucket, count), each bucket once, in the
    /// order of first occurrence.
    pub fn features(&self, text: &Normalized<'_>) -> Vec<(u32, f32)> {
        let mask = (1u64 << self.bits) - 1;
        let mut out: Vec<u32> = Vec::with_capacity(text.text.len() * 4);
        let mut prev_word: Option<&str> = None;
        let mut cjk_run: Vec<(usize, usize)> = Vec::new(); // byte ranges of chars
        let s = text.text.as_str();
        let mut chars = s.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if is_cjk(c) {
                cjk_run.push((at, at + c.len_utf8()));
                prev_word = None;
                continue;
            }
            Self::flush_cjk(s, &mut cjk_run, mask, &mut out);
            if c.is_alphanumeric() || c == '\'' {
                let mut end = at + c.len_utf8();
                while let Some(&(next_at, next)) = chars.peek() {
                    if (next.is_alphanumeric() || next == '\'') && !is_cjk(next) {
                        end = next_at + next.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &s[at..end];
                out.push(Fnv::new(WORD).write(word.as_bytes()).bucket_in(mask, WORD));
                if let Some(prev) = prev_word {
                    out.push(self.bigram_bucket(prev, word));
                }
                Self::char_ngrams(word, mask, &mut out);
                prev_word = Some(word);
            } else if !c.is_whitespace() && c != '\'' {
                // Punctuation separates phrases.
                prev_word = None;
            }
        }
        Self::flush_cjk(s, &mut cjk_run, mask, &mut out);
        count(out.into_iter().map(|b| (b, 1.0)))
    }

    fn char_ngrams(word: &str, mask: u64, out: &mut Vec<u32>) {
        let bytes = word.as_bytes();
        if !word.is_ascii() || bytes.len() < 2 {
            return;
        }
        // "<word>" with markers, n = 2..=5.
        let mut marked = Vec::with_capacity(bytes.len() + 2);
        marked.push(b'<');
        marked.extend_from_slice(bytes);
        marked.push(b'>');
        for n in 2..=5 {
            if marked.len() < n {
                break;
            }
            for w in marked.windows(n) {
                out.push(Fnv::new(CHAR_NGRAM).write(w).bucket_in(mask, CHAR_NGRAM));
            }
        }
    }

    fn flush_cjk(s: &str, run: &mut Vec<(usize, usize)>, mask: u64, out: &mut Vec<u32>) {
        for n in 1..=3 {
            for w in run.windows(n) {
                out.push(
                    Fnv::new(CJK)
                        .write(&s.as_bytes()[w[0].0..w[n - 1].1])
                        .bucket_in(mask, CJK),
                );
            }
        }
        run.clear();
    }
}

/// Sums the counts of equal buckets, keeping the order of first occurrence,
/// with a small open-addressing table: linear time, where sorting the
/// buckets had been most of the cost of featurization (BENCHMARKS.md).
fn count(buckets: impl ExactSizeIterator<Item = (u32, f32)>) -> Vec<(u32, f32)> {
    /// An empty slot (no bucket reaches 2^32 − 1: buckets have at most 26 bits).
    const EMPTY: u32 = u32::MAX;
    let capacity = (buckets.len() * 2).next_power_of_two().max(16);
    let mask = capacity - 1;
    let mut slots = vec![EMPTY; capacity];
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(buckets.len());
    for (bucket, n) in buckets {
        let mut i = (bucket.wrapping_mul(0x9E37_79B9) >> 8) as usize & mask;
        loop {
            match slots[i] {
                EMPTY => {
                    slots[i] = out.len() as u32;
                    out.push((bucket, n));
                    break;
                }
                k if out[k as usize].0 == bucket => {
                    out[k as usize].1 += n;
                    break;
                }
                _ => i = (i + 1) & mask,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_deterministic_and_cover_both_scripts() {
        let f = Featurizer { bits: 18 };
        let a = f.features(&Normalized::new("我想查余额 my balance"));
        let b = f.features(&Normalized::new("我想查余额 my balance"));
        assert_eq!(a, b);
        // 5 CJK unigrams + 4 bigrams + 3 trigrams; 2 words + 1 bigram;
        // char n-grams of "<my>" (3 + 2 + 1) and "<balance>" (8 + 7 + 6 + 5).
        let total: f32 = a.iter().map(|(_, n)| n).sum();
        assert_eq!(
            total,
            (5 + 4 + 3 + 2 + 1 + 3 + 2 + 1 + 8 + 7 + 6 + 5) as f32
        );
        let mut buckets: Vec<u32> = a.iter().map(|f| f.0).collect();
        buckets.sort_unstable();
        buckets.dedup();
        assert_eq!(buckets.len(), a.len(), "each bucket once");
    }

    #[test]
    fn narrower_features_reuse_wider_ones_exactly() {
        let text = "I was charged twice 我的卡被扣了两次 this is ridiculous";
        let wide = Featurizer { bits: 20 };
        let narrow = Featurizer { bits: 18 };
        let n = Normalized::new(text);
        assert_eq!(wide.features_of(&n).into_owned(), wide.features(&n));
        let sorted = |mut f: Vec<(u32, f32)>| {
            f.sort_unstable_by_key(|x| x.0);
            f
        };
        assert_eq!(
            sorted(narrow.features_of(&n).into_owned()),
            sorted(narrow.features(&Normalized::new(text)))
        );
    }

    #[test]
    fn empty_and_symbol_only_text_has_no_features() {
        let f = Featurizer { bits: 16 };
        assert!(f.features(&Normalized::new("")).is_empty());
        assert!(f.features(&Normalized::new("，。!?")).is_empty());
    }
}

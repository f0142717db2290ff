//! Text normalization, shared by every stage: NFKC (full-width →
//! half-width), Traditional → Simplified Chinese, lower-case, ASR fillers
//! removed, spoken numbers read as digits, and the language detected. Every normalized character remembers the byte range of
//! the original it came from, so evidence can quote what the caller said.
//!
//! The Traditional → Simplified table covers the characters of the banking
//! vocabulary the classifier and lexicons use; issue #3 extends this stage
//! (more of the Traditional vocabulary).

use super::numbers;
use crate::domain::Language;
use std::{ops::Range, sync::OnceLock};
use unicode_normalization::UnicodeNormalization;

/// Pairs of (Traditional, Simplified) characters.
const TRADITIONAL_SIMPLIFIED: &str = "餘余額额帳账賬账轉转錢钱銀银號号碼码詢询購购費费凍冻結结貸贷開开戶户關关問问題题說说話话麼么為为這这們们沒没辦办還还給给會会時时記记錄录細细資资訴诉換换匯汇財财產产氣气煩烦擔担憂忧謝谢滿满掛挂竊窃盜盗鎖锁單单損损補补銷销絡络聯联繫系係系電电郵邮證证業业務务經经員员處处應应該该嗎吗個个幫帮錯错誤误難难過过幾几兩两萬万塊块筆笔鐘钟現现實实際际當当與与從从對对啟启動动態态網网請请點点擊击據据險险隨随訊讯禮礼歡欢讓让專专爭争議议復复歸归屬属統统規规則则劃划撥拨區区邊边線线機机構构權权級级領领導导發发認认識识遺遗丟丢詐诈騙骗騷骚擾扰憤愤惱恼緊紧張张慮虑馬马趕赶傷伤幣币價价買买賣卖內内圍围歷历紀纪續续帶带約约衝冲歲岁憑凭簽签飛飞場场絕绝斷断設设頭头車车貨货漲涨親亲愛爱頁页稅税庫库審审營营齊齐樣样報报順顺賠赔償偿討讨厭厌總总數数優优訂订閱阅護护顧顾廳厅鬱郁悶闷剛刚讀读寫写聽听見见覺觉謂谓週周須须櫃柜臺台檯台選选擇择備备";

/// Filler words of spoken English removed before analysis (whole words).
const ENGLISH_FILLERS: &[&str] = &["um", "umm", "uh", "uhh", "uhm", "erm", "hmm", "mm"];

/// Filler characters of spoken Mandarin removed before analysis.
const CHINESE_FILLERS: &[char] = &['嗯', '呃', '唔'];

/// The (Traditional, Simplified) pairs sorted by Traditional character, for
/// binary search (faster here than hashing every character).
fn traditional_to_simplified() -> &'static [(char, char)] {
    static TABLE: OnceLock<Vec<(char, char)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let chars: Vec<char> = TRADITIONAL_SIMPLIFIED.chars().collect();
        let mut pairs: Vec<(char, char)> = chars.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        pairs.sort_unstable();
        pairs.dedup_by_key(|p| p.0);
        pairs
    })
}

fn simplified(table: &[(char, char)], c: char) -> Option<char> {
    table
        .binary_search_by_key(&c, |p| p.0)
        .ok()
        .map(|i| table[i].1)
}

/// True for CJK unified ideographs.
pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Whether the match `range` of `text` cuts no Latin word: where the match
/// begins (ends) with a letter or digit, the byte before (after) it is not
/// one. CJK text has no word boundaries to respect. Shared by every phrase
/// matcher of the pipeline.
pub fn whole_word(text: &str, range: Range<usize>) -> bool {
    let bytes = text.as_bytes();
    let latin = |b: u8| b.is_ascii_alphanumeric();
    let cut_at_start =
        range.start > 0 && latin(bytes[range.start]) && latin(bytes[range.start - 1]);
    let cut_at_end =
        range.end < bytes.len() && latin(bytes[range.end - 1]) && latin(bytes[range.end]);
    range.is_empty() || !cut_at_start && !cut_at_end
}

/// Normalized text with a map back to the original.
#[derive(Debug, Clone)]
pub struct Normalized<'a> {
    /// The text as received.
    pub original: &'a str,
    /// The canonical text the classifiers read.
    pub text: String,
    /// For each byte of `text` that starts a character, the byte range of the
    /// original it came from; indexed by the byte offset in `text`.
    origin: Vec<(usize, Range<usize>)>,
    /// The language the text is written in.
    pub language: Language,
    /// The hashed n-gram features of `text` (and their hash width in bits),
    /// computed by the first model that needs them and reused by the others:
    /// featurization is the larger part of a classification.
    pub(crate) features: std::cell::OnceCell<(u8, Vec<(u32, f32)>)>,
}

impl<'a> Normalized<'a> {
    /// Normalizes `original`.
    pub fn new(original: &'a str) -> Self {
        let table = traditional_to_simplified();
        let mut text = String::with_capacity(original.len());
        let mut origin = Vec::with_capacity(original.len());
        let (mut cjk, mut latin, mut traditional) = (0usize, 0usize, 0usize);
        let mut push = |c: char,
                        span: Range<usize>,
                        text: &mut String,
                        origin: &mut Vec<(usize, Range<usize>)>| {
            let c = if is_cjk(c) {
                match simplified(table, c) {
                    Some(s) => {
                        traditional += 1;
                        s
                    }
                    None => c,
                }
            } else {
                c
            };
            if CHINESE_FILLERS.contains(&c) || c.is_control() {
                return;
            }
            if is_cjk(c) {
                cjk += 1;
            } else if c.is_ascii_alphabetic() {
                latin += 1;
            }
            if c.is_ascii() {
                origin.push((text.len(), span));
                text.push(c.to_ascii_lowercase());
            } else {
                for lower in c.to_lowercase() {
                    origin.push((text.len(), span.clone()));
                    text.push(lower);
                }
            }
        };
        for (at, c) in original.char_indices() {
            let span = at..at + c.len_utf8();
            // NFKC per character (full-width → half-width, compatibility
            // forms such as ①, ﬁ, ㎏ → plain ones), so the map stays per
            // character. ASCII and CJK ideographs are already NFKC.
            if c.is_ascii() || ('\u{4E00}'..='\u{9FFF}').contains(&c) {
                push(c, span, &mut text, &mut origin);
            } else {
                for c in std::iter::once(c).nfkc() {
                    push(c, span.clone(), &mut text, &mut origin);
                }
            }
        }
        let language = if cjk > 0 && cjk * 3 >= latin {
            if traditional > 0 {
                Language::ZhTw
            } else {
                Language::ZhCn
            }
        } else {
            Language::EnUs
        };
        let mut normalized = Normalized {
            original,
            text,
            origin,
            language,
            features: std::cell::OnceCell::new(),
        };
        normalized.remove_english_fillers();
        normalized.read_numbers();
        normalized
    }

    /// Replaces spoken numbers by digits (see [`numbers`]); each digit maps
    /// back to the whole run of words it came from.
    fn read_numbers(&mut self) {
        let has_numbers = self.text.chars().any(numbers::is_zh_numeral)
            || self
                .text
                .split(|c: char| !c.is_ascii_alphabetic())
                .any(numbers::is_en_number_word);
        if !has_numbers {
            return;
        }
        let chars: Vec<(usize, char)> = self.text.char_indices().collect();
        let byte = |k: usize| chars.get(k).map_or(self.text.len(), |x| x.0);
        let mut text = String::with_capacity(self.text.len());
        let mut origin = Vec::with_capacity(self.origin.len());
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            let mut replaced = None;
            if numbers::is_zh_numeral(c) {
                let mut j = i;
                while j < chars.len() && numbers::is_zh_numeral(chars[j].1) {
                    j += 1;
                }
                if j - i >= 2 || numbers::currency_follows(&self.text[byte(j)..]) {
                    let run: Vec<char> = chars[i..j].iter().map(|x| x.1).collect();
                    replaced = numbers::zh_value(&run).map(|v| (v, j));
                }
            } else if c.is_ascii_alphabetic() && (i == 0 || !chars[i - 1].1.is_ascii_alphabetic()) {
                let (mut words, mut k, mut end) = (Vec::new(), i, i);
                loop {
                    let start = k;
                    while k < chars.len() && chars[k].1.is_ascii_alphabetic() {
                        k += 1;
                    }
                    let word = &self.text[byte(start)..byte(k)];
                    if !numbers::is_en_number_word(word) {
                        break;
                    }
                    words.push(word);
                    end = k;
                    let joined = k + 1 < chars.len()
                        && matches!(chars[k].1, ' ' | '-')
                        && chars[k + 1].1.is_ascii_alphabetic();
                    if !joined {
                        break;
                    }
                    k += 1;
                }
                if words.len() >= 2
                    || (!words.is_empty() && numbers::currency_follows(&self.text[byte(end)..]))
                {
                    replaced = numbers::en_value(&words).map(|v| (v, end));
                }
            }
            match replaced {
                Some((digits, next)) => {
                    let span = self.span_of(at).start..self.span_of(byte(next - 1)).end;
                    for d in digits.chars() {
                        origin.push((text.len(), span.clone()));
                        text.push(d);
                    }
                    i = next;
                }
                None => {
                    origin.push((text.len(), self.span_of(at)));
                    text.push(c);
                    i += 1;
                }
            }
        }
        self.text = text;
        self.origin = origin;
    }

    /// Drops English filler words, keeping the origin map aligned.
    fn remove_english_fillers(&mut self) {
        if !self
            .text
            .split(|c: char| !c.is_ascii_alphabetic())
            .any(|w| ENGLISH_FILLERS.contains(&w))
        {
            return;
        }
        let mut text = String::with_capacity(self.text.len());
        let mut origin = Vec::with_capacity(self.origin.len());
        let mut i = 0;
        let bytes = self.text.as_bytes();
        while i < self.text.len() {
            let word_end = self.text[i..]
                .find(|c: char| !c.is_ascii_alphabetic())
                .map_or(self.text.len(), |e| i + e);
            let at_word_start = i == 0 || !bytes[i - 1].is_ascii_alphabetic();
            if word_end > i && at_word_start && ENGLISH_FILLERS.contains(&&self.text[i..word_end]) {
                // Skip the filler and one following space or comma.
                i = word_end;
                while i < self.text.len() && matches!(bytes[i], b' ' | b',') {
                    i += 1;
                }
                continue;
            }
            let c = self.text[i..].chars().next().unwrap_or(' ');
            let span = self.span_of(i);
            origin.push((text.len(), span));
            text.push(c);
            i += c.len_utf8();
        }
        self.text = text;
        self.origin = origin;
    }

    fn span_of(&self, normalized_at: usize) -> Range<usize> {
        match self
            .origin
            .binary_search_by_key(&normalized_at, |(at, _)| *at)
        {
            Ok(k) => self.origin[k].1.clone(),
            Err(k) => self
                .origin
                .get(k.saturating_sub(1))
                .map_or(0..0, |o| o.1.clone()),
        }
    }

    /// The original words behind the normalized byte range `range`.
    pub fn quote(&self, range: Range<usize>) -> &'a str {
        if range.is_empty() {
            return "";
        }
        let start = self.span_of(range.start).start;
        let end = self.span_of(range.end - 1).end;
        self.original.get(start..end).unwrap_or("")
    }

    /// Finds `needle` (already normalized) in the text, not cutting a Latin
    /// word (see [`whole_word`]). Returns its byte range.
    pub fn find(&self, needle: &str) -> Option<Range<usize>> {
        let mut from = 0;
        while let Some(pos) = self.text[from..].find(needle) {
            let start = from + pos;
            let end = start + needle.len();
            if whole_word(&self.text, start..end) {
                return Some(start..end);
            }
            from = start + needle.len().max(1);
            while !self.text.is_char_boundary(from) {
                from += 1;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_fullwidth_and_case_are_folded() {
        let n = Normalized::new("我想查詢帳戶餘額ＡＢＣ");
        assert_eq!(n.text, "我想查询账户余额abc");
        assert_eq!(n.language, Language::ZhTw);
    }

    #[test]
    fn fillers_are_removed_and_quotes_point_at_the_original() {
        let n = Normalized::new("Um, I uh LOST my card");
        assert_eq!(n.text, "i lost my card");
        let r = n.find("lost my card").unwrap();
        assert_eq!(n.quote(r), "LOST my card");
        let n = Normalized::new("嗯我的卡丟了");
        assert_eq!(n.text, "我的卡丢了");
        assert_eq!(n.quote(n.find("卡丢了").unwrap()), "卡丟了");
        assert_eq!(n.language, Language::ZhTw);
    }

    #[test]
    fn spoken_numbers_become_digits_and_quote_the_words() {
        let n = Normalized::new("尾号三六八二，被扣了五千块");
        assert_eq!(n.text, "尾号3682,被扣了5000块");
        let r = n.find("5000").unwrap();
        assert_eq!(n.quote(r), "五千");
        assert_eq!(
            Normalized::new("查一下余额").text,
            "查一下余额",
            "single numerals stay words"
        );
        let n = Normalized::new("I paid four hundred dollars, no one told me");
        assert_eq!(n.text, "i paid 400 dollars, no one told me");
        assert_eq!(n.quote(n.find("400").unwrap()), "four hundred");
        assert_eq!(
            Normalized::new("card ending one two three four").text,
            "card ending 1234"
        );
    }

    #[test]
    fn english_words_match_only_whole() {
        let n = Normalized::new("my balance is low");
        assert!(n.find("balance").is_some());
        assert!(n.find("ban").is_none());
        assert_eq!(Normalized::new("hello").language, Language::EnUs);
        assert_eq!(
            Normalized::new("查一下余额 please").language,
            Language::ZhCn
        );
    }

    mod properties {
        use super::*;
        use crate::pipeline::{emotion::EmotionDetector, entities};
        use proptest::prelude::*;

        /// Text mixing the pieces normalization treats specially.
        fn spoken() -> impl Strategy<Value = String> {
            let pieces = prop::sample::select(vec![
                "嗯",
                "呃",
                "um ",
                "uh, ",
                "三六八二",
                "五千",
                "一万二",
                "块",
                "two ",
                "hundred ",
                "dollars",
                "餘額",
                "帳戶",
                "ＡＢＣ",
                "①",
                "ﬁ",
                "\u{0301}",
                "\u{3000}",
                "太过分",
                "担心",
                "尾号",
                "1234",
                "I'm worried",
                " ",
                "，",
                "?",
                "e\u{301}",
                "🙂",
                "\u{200b}",
                "\t",
            ]);
            prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
        }

        fn check(text: &str) {
            let n = Normalized::new(text);
            for (at, span) in &n.origin {
                assert!(n.text.is_char_boundary(*at));
                assert!(span.start < span.end, "empty span for {text:?}");
                assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
            }
            // Any range of the normalized text quotes valid original text.
            let bounds: Vec<usize> = (0..=n.text.len())
                .filter(|&b| n.text.is_char_boundary(b))
                .collect();
            for w in bounds.windows(2).take(64) {
                let quote = n.quote(w[0]..w[1]);
                assert!(!quote.is_empty() && text.contains(quote), "{text:?} {w:?}");
            }
            for cue in EmotionDetector::default().detect(&n) {
                assert!(
                    text.contains(&cue.evidence),
                    "evidence {:?} not in {text:?}",
                    cue.evidence
                );
            }
            for e in entities::extract(&n) {
                assert!(
                    text.contains(&e.text),
                    "entity {:?} not in {text:?}",
                    e.text
                );
            }
        }

        proptest! {
            #[test]
            fn arbitrary_unicode_never_panics_and_maps_back(text in "\\PC{0,64}") {
                check(&text);
            }

            #[test]
            fn spoken_text_never_panics_and_maps_back(text in spoken()) {
                check(&text);
            }
        }
    }
}

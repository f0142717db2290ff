//! Personal data: finds card numbers, Chinese resident ID numbers, phone
//! numbers, account numbers and e-mail addresses in what a caller said, and
//! masks them so that only the last four digits leave the service.
//!
//! Works on the text as received (not the normalized text), because what it
//! masks is what goes out: entity quotes, suggestion text and rationales, the
//! summary. Digits may be written (`6222 0212…`, full-width `６２２２`) or
//! spoken one by one (`六二二二…`, `幺三八…`, `four five six…`); a run of
//! digits may be broken by spaces and dashes (and, between spoken English
//! digits, commas). Ordinary numbers stay: amounts (`1,000,000`, `5000元`),
//! dates and times are shorter than [`MIN_DIGITS`] or broken by `,`/`.`.
//!
//! Classification of a run (its digits only):
//! - 18 characters with a valid GB 11643 check character: `id_number`;
//! - 13–19 digits passing the Luhn check: `card_number`;
//! - 11 digits starting with `1` (mainland mobile), 13 starting with `861`,
//!   or 10 (North American): `phone`;
//! - any other run of at least [`MIN_DIGITS`] digits: `account_number`.

use std::{borrow::Cow, ops::Range};

/// Shortest digit run treated as a personal number. Seven-digit runs are
/// left alone so that amounts such as `5000000元` stay readable.
pub const MIN_DIGITS: usize = 8;

/// Digits kept at the end of a masked number.
pub const KEEP_LAST: usize = 4;

/// The character that replaces a hidden digit or digit word.
const MASK: char = '*';

/// The entity kinds of personal data.
pub const KINDS: &[&str] = &[
    "card_number",
    "id_number",
    "phone",
    "account_number",
    "email",
];

/// One piece of personal data in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Personal {
    /// `card_number`, `id_number`, `phone`, `account_number` or `email`.
    pub kind: &'static str,
    /// Where it is in the text (bytes).
    pub span: Range<usize>,
    /// What may be shown: the last four digits (`7890`), or for an e-mail
    /// address its first character and domain (`j***@example.com`).
    pub shown: String,
}

/// A digit read from the text: where it is and its value (`X` for the check
/// character of an ID number).
#[derive(Debug, Clone, Copy)]
struct Digit {
    span: (usize, usize),
    value: char,
}

const ENGLISH_DIGITS: &[(&str, char)] = &[
    ("zero", '0'),
    ("oh", '0'),
    ("one", '1'),
    ("two", '2'),
    ("three", '3'),
    ("four", '4'),
    ("five", '5'),
    ("six", '6'),
    ("seven", '7'),
    ("eight", '8'),
    ("nine", '9'),
];

/// The digit a character stands for, written or spoken in Chinese.
fn digit_char(c: char) -> Option<char> {
    Some(match c {
        '0'..='9' => c,
        '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
        '零' | '〇' => '0',
        '一' | '幺' => '1',
        '二' => '2',
        '三' => '3',
        '四' => '4',
        '五' => '5',
        '六' => '6',
        '七' => '7',
        '八' => '8',
        '九' => '9',
        _ => return None,
    })
}

/// Splits `text` into runs of digits (see the module docs for what may
/// separate the digits of one run).
fn digit_runs(text: &str) -> Vec<Vec<Digit>> {
    let mut runs = Vec::new();
    let mut run: Vec<Digit> = Vec::new();
    // Separator characters since the last digit, and whether a comma was one.
    let mut gap = 0usize;
    let mut comma = false;
    // Digits since the last separator: written groups of one or two digits
    // (`2026-11-30`, `10:30`) are dates and times, not parts of a number.
    let mut group = 0usize;
    let mut close = |run: &mut Vec<Digit>| {
        if !run.is_empty() {
            runs.push(std::mem::take(run));
        }
    };
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let spoken_word = c.is_ascii_alphabetic();
        let digit = if spoken_word {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !d.is_ascii_alphabetic() {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            let word = &text[i..end];
            // Digit words are 2 to 5 letters long.
            let value = (2..=5)
                .contains(&word.len())
                .then(|| {
                    ENGLISH_DIGITS
                        .iter()
                        .find(|(w, _)| word.eq_ignore_ascii_case(w))
                        .map(|&(_, d)| d)
                })
                .flatten()
                .or_else(|| {
                    // The check character of an ID number ends its run.
                    (word.eq_ignore_ascii_case("x") && run.len() == 17 && gap == 0).then_some('X')
                });
            value.map(|value| Digit {
                span: (i, end),
                value,
            })
        } else {
            digit_char(c).map(|value| Digit {
                span: (i, i + c.len_utf8()),
                value,
            })
        };
        match digit {
            Some(d) => {
                let written = !spoken_word;
                let joins = run.last().is_some_and(|last| {
                    let last_written = text[last.span.0..last.span.1].is_ascii();
                    // Written digits may not be split by commas (amounts).
                    !(comma && written && last_written)
                        && !(gap > 0 && written && last_written && group < 3)
                });
                if !joins {
                    close(&mut run);
                    group = 0;
                }
                if gap > 0 {
                    group = 0;
                }
                run.push(d);
                group += 1;
                gap = 0;
                comma = false;
            }
            None if matches!(c, ' ' | '-' | ',' | '，' | '、') && !run.is_empty() && gap < 2 => {
                gap += 1;
                comma |= matches!(c, ',' | '，' | '、');
            }
            None => {
                close(&mut run);
                gap = 0;
                group = 0;
                comma = false;
            }
        }
    }
    close(&mut run);
    runs
}

/// Whether `digits` (17 digits and a check character) is a valid Chinese
/// resident ID number (GB 11643-1999 check).
fn is_resident_id(digits: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let bytes = digits.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] == bytes[17].to_ascii_uppercase()
}

/// Whether `digits` passes the Luhn check (card numbers).
fn is_luhn(digits: &str) -> bool {
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// The kind of personal number `digits` is, if it is one.
fn classify(digits: &str) -> Option<&'static str> {
    let n = digits.len();
    if n < MIN_DIGITS {
        return None;
    }
    Some(if is_resident_id(digits) {
        "id_number"
    } else if (13..=19).contains(&n) && is_luhn(digits) {
        "card_number"
    } else if (n == 11 && digits.starts_with('1'))
        || (n == 13 && digits.starts_with("861"))
        || n == 10
    {
        "phone"
    } else {
        "account_number"
    })
}

/// E-mail addresses written out (`name@example.com`): (span, shown).
fn emails(text: &str, out: &mut Vec<Personal>) {
    let local = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-');
    let domain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-');
    for (at, _) in text.match_indices('@') {
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| local(c))
            .last()
            .map_or(at, |(i, _)| i);
        let end = text[at + 1..]
            .char_indices()
            .take_while(|&(_, c)| domain(c))
            .last()
            .map_or(at + 1, |(i, c)| at + 1 + i + c.len_utf8());
        let host = text[at + 1..end].trim_end_matches('.');
        let end = at + 1 + host.len();
        let has_tld = host
            .rsplit_once('.')
            .is_some_and(|(name, tld)| !name.is_empty() && tld.len() >= 2);
        if start == at || !has_tld {
            continue;
        }
        let first = text[start..].chars().next().unwrap_or(MASK);
        out.push(Personal {
            kind: "email",
            span: start..end,
            shown: format!("{first}***@{host}"),
        });
    }
}

/// Every piece of personal data in `text`, in order.
pub fn find(text: &str) -> Vec<Personal> {
    scan(text).into_iter().map(|(p, _)| p).collect()
}

/// Every piece of personal data in `text`, in order and not overlapping
/// (where an e-mail address and a digit run overlap, the one that starts
/// first, or else the longer, wins), each with its digits (none for an
/// e-mail address).
fn scan(text: &str) -> Vec<(Personal, Vec<Digit>)> {
    let mut found = Vec::new();
    if !might_contain(text) {
        return found;
    }
    for run in digit_runs(text) {
        let digits: String = run.iter().map(|d| d.value).collect();
        let Some(kind) = classify(&digits) else {
            continue;
        };
        let personal = Personal {
            kind,
            span: run[0].span.0..run[run.len() - 1].span.1,
            shown: digits[digits.len() - KEEP_LAST..].to_string(),
        };
        found.push((personal, run));
    }
    let mut addresses = Vec::new();
    emails(text, &mut addresses);
    found.extend(addresses.into_iter().map(|p| (p, Vec::new())));
    found.sort_by_key(|(p, _)| (p.span.start, std::cmp::Reverse(p.span.end)));
    let mut end = 0;
    found.retain(|(p, _)| {
        let keep = p.span.start >= end;
        if keep {
            end = p.span.end;
        }
        keep
    });
    found
}

/// A cheap test that rules out most texts: personal data needs an `@`, at
/// least [`MIN_DIGITS`] digit characters, or words (spoken digits).
fn might_contain(text: &str) -> bool {
    if text.contains('@') {
        return true;
    }
    // Spoken English digits are words, so any Latin text must be read.
    text.bytes().any(|b| b.is_ascii_alphabetic())
        || text.chars().filter(|&c| digit_char(c).is_some()).count() >= MIN_DIGITS
}

/// `text` with its personal data masked: every digit but the last four of a
/// personal number becomes `*` (a spoken digit word too), separators stay;
/// an e-mail address keeps its first character and its domain. Borrowed when
/// there is nothing to mask.
pub fn mask(text: &str) -> Cow<'_, str> {
    let found = scan(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (p, run) in &found {
        out.push_str(&text[at..p.span.start]);
        if run.is_empty() {
            out.push_str(&p.shown);
        } else {
            let hidden = run.len().saturating_sub(KEEP_LAST);
            let mut pos = p.span.start;
            for (k, d) in run.iter().enumerate() {
                out.push_str(&text[pos..d.span.0]);
                if k < hidden {
                    out.push(MASK);
                } else {
                    out.push_str(&text[d.span.0..d.span.1]);
                }
                pos = d.span.1;
            }
        }
        at = p.span.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Masks `text` in place if it holds personal data.
pub fn mask_in_place(text: &mut String) {
    if let Cow::Owned(masked) = mask(text) {
        *text = masked;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_card_numbers_keep_only_the_last_four_digits() {
        assert_eq!(
            mask("my card is 4111 1111 1111 1111 thanks"),
            "my card is **** **** **** 1111 thanks"
        );
        let found = find("卡号6222021234567894");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "card_number");
        assert_eq!(found[0].shown, "7894");
        assert_eq!(mask("卡号6222021234567894"), "卡号************7894");
    }

    #[test]
    fn spoken_digits_are_masked_in_both_languages() {
        // 13800138000, a mainland mobile number, read digit by digit.
        assert_eq!(
            mask("电话是幺三八零零幺三八零零零"),
            "电话是*******八零零零"
        );
        assert_eq!(find("电话是幺三八零零幺三八零零零")[0].kind, "phone");
        assert_eq!(
            mask("it's four one one one, one one one one, one one one one, one one one one"),
            "it's * * * *, * * * *, * * * *, one one one one"
        );
    }

    #[test]
    fn resident_ids_are_recognized_by_their_check_character() {
        // A well-known sample ID with a valid check character.
        let id = "11010519491231002X";
        assert_eq!(find(id)[0].kind, "id_number");
        assert_eq!(mask(&format!("身份证{id}")), "身份证**************002X");
        // A wrong check character is still a long number, and still masked.
        assert_eq!(find("110105194912310021")[0].kind, "account_number");
    }

    #[test]
    fn email_addresses_keep_the_first_character_and_domain() {
        assert_eq!(
            mask("write to jane.doe@example.com."),
            "write to j***@example.com."
        );
        assert_eq!(mask("at@ or a@b"), "at@ or a@b");
        // An address made of a long number is masked once, as an address.
        assert_eq!(mask("mail 13800138000@qq.com"), "mail 1***@qq.com");
    }

    #[test]
    fn ordinary_numbers_and_words_stay() {
        for text in [
            "I want to transfer 1,000,000 dollars",
            "转五千块，5000000元",
            "2026-11-30 at 10:30",
            "我想查一下余额，一二三",
            "one or two things, someone said nine",
        ] {
            assert_eq!(mask(text), text, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn masking_never_panics_and_never_leaves_a_long_digit_run(text in "\\PC{0,80}") {
            let masked = mask(&text);
            for p in find(&masked) {
                // Whatever is still found keeps at most the last four digits.
                let digits = masked[p.span.clone()].chars().filter(|c| c.is_ascii_digit()).count();
                proptest::prop_assert!(digits <= KEEP_LAST || p.kind == "email");
            }
        }

        #[test]
        fn luhn_valid_card_numbers_are_always_masked(body in proptest::collection::vec(0u8..10, 15)) {
            let mut digits: String = std::iter::once('4').chain(body.iter().map(|d| (b'0' + d) as char)).collect();
            let check = (0..10).find(|c| is_luhn(&format!("{digits}{c}"))).unwrap();
            digits.push(char::from(b'0' + check as u8));
            let text = format!("card {digits} please");
            let masked = mask(&text);
            let (hidden, kept) = digits.split_at(digits.len() - KEEP_LAST);
            proptest::prop_assert!(!masked.contains(hidden));
            let tail = format!("{kept} please");
            proptest::prop_assert!(masked.ends_with(&tail));
        }
    }
}

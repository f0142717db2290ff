//! Entities: the facts a customer names that the playbook fills into its
//! confirmations: amounts (spoken numbers are already digits after
//! normalization), the last four digits of a card, currencies (ISO 4217),
//! countries and regions, account types, relative dates and weekdays, and
//! personal data (card, ID, phone and account numbers, e-mail addresses:
//! see [`super::pii`]).

use super::{
    normalize::{whole_word, Normalized},
    Entity,
};
use aho_corasick::AhoCorasick;
use std::sync::OnceLock;

/// Relative date expressions: (normalized phrase, value).
const RELATIVE_DATES: &[(&str, &str)] = &[
    ("今天", "today"),
    ("昨天", "yesterday"),
    ("前天", "day_before_yesterday"),
    ("明天", "tomorrow"),
    ("上个月", "last_month"),
    ("这个月", "this_month"),
    ("上周", "last_week"),
    ("上星期", "last_week"),
    ("today", "today"),
    ("yesterday", "yesterday"),
    ("tomorrow", "tomorrow"),
    ("last week", "last_week"),
    ("last month", "last_month"),
    ("this month", "this_month"),
];

const WEEKDAYS_ZH: &[(char, &str)] = &[
    ('一', "monday"),
    ('二', "tuesday"),
    ('三', "wednesday"),
    ('四', "thursday"),
    ('五', "friday"),
    ('六', "saturday"),
    ('日', "sunday"),
    ('天', "sunday"),
];

const WEEKDAYS_EN: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

const MONTHS_EN: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The digits at the start of `s` (at most `max`), with their value.
fn leading_number(s: &str, max: usize) -> Option<(u32, usize)> {
    let len = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    (len > 0).then(|| (s[..len].parse().unwrap_or(0), len))
}

fn iso(year: Option<u32>, month: u32, day: u32) -> Option<String> {
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then(|| match year {
        Some(y) => format!("{y:04}-{month:02}-{day:02}"),
        None => format!("--{month:02}-{day:02}"),
    })
}

/// Prefixes of the relative weekday forms in Mandarin (上周五, 这周三),
/// with the week they mean.
const WEEKDAY_PREFIXES_ZH: &[(&str, &str)] = &[
    ("上周", "last"),
    ("上星期", "last"),
    ("这周", "this"),
    ("本周", "this"),
    ("周", "this"),
    ("星期", "this"),
];

/// Prefixes of the relative weekday forms in English (last friday).
const WEEKDAY_PREFIXES_EN: &[&str] = &["last", "this", "next"];

/// The first bytes a date can start with: the scan tries the date patterns
/// only where one of them could begin (most positions of a sentence cannot).
fn date_start_bytes() -> &'static [bool; 256] {
    static TABLE: std::sync::OnceLock<[bool; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = [false; 256];
        for digit in b'0'..=b'9' {
            table[usize::from(digit)] = true;
        }
        let words = MONTHS_EN
            .iter()
            .chain(WEEKDAYS_EN)
            .chain(WEEKDAY_PREFIXES_EN)
            .chain(WEEKDAY_PREFIXES_ZH.iter().map(|(p, _)| p))
            .chain(RELATIVE_DATES.iter().map(|(p, _)| p));
        for word in words {
            table[usize::from(word.as_bytes()[0])] = true;
        }
        table
    })
}

/// Dates: 2026-11-30, 2026年11月30日, 11月30号, November 30th, and relative
/// expressions (昨天, 上周五, yesterday, last friday).
fn dates(text: &Normalized<'_>, out: &mut Vec<Entity>) {
    let s = text.text.as_str();
    let mut push = |range: std::ops::Range<usize>, value: String| {
        out.push(Entity {
            kind: "date",
            text: text.quote(range).to_string(),
            value,
        });
    };
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let at_boundary = (i == 0 || !s.as_bytes()[i - 1].is_ascii_alphanumeric())
            && date_start_bytes()[usize::from(s.as_bytes()[i])];
        let mut consumed = 0;
        if at_boundary {
            // 2026-11-30, 2026/11/30, 2026年11月30日 or 11月30号.
            if let Some((first, n1)) = leading_number(rest, 4) {
                let after = &rest[n1..];
                let sep = ["-", "/", "年"].iter().find(|p| after.starts_with(**p));
                if let (4, Some(sep)) = (n1, sep) {
                    let after_year = &after[sep.len()..];
                    if let Some((month, n2)) = leading_number(after_year, 2) {
                        let month_sep = if *sep == "年" { "月" } else { sep };
                        if let Some(day_part) = after_year[n2..].strip_prefix(month_sep) {
                            if let Some((day, n3)) = leading_number(day_part, 2) {
                                let tail = ["日", "号"]
                                    .iter()
                                    .find(|t| day_part[n3..].starts_with(**t))
                                    .map_or(0, |t| t.len());
                                let end = n1 + sep.len() + n2 + month_sep.len() + n3 + tail;
                                if let Some(v) = iso(Some(first), month, day) {
                                    push(i..i + end, v);
                                    consumed = end;
                                }
                            }
                        }
                    }
                } else if let Some(day_part) = after.strip_prefix("月") {
                    if let Some((day, n2)) = leading_number(day_part, 2) {
                        if let Some(t) = ["日", "号"]
                            .iter()
                            .find(|t| day_part[n2..].starts_with(**t))
                        {
                            let end = n1 + "月".len() + n2 + t.len();
                            if let Some(v) = iso(None, first, day) {
                                push(i..i + end, v);
                                consumed = end;
                            }
                        }
                    }
                }
            }
            // November 30(th).
            if consumed == 0 {
                if let Some((m, name)) = MONTHS_EN
                    .iter()
                    .enumerate()
                    .find(|(_, m)| rest.starts_with(**m))
                {
                    let after = &rest[name.len()..];
                    if let Some((day, n)) =
                        after.strip_prefix(' ').and_then(|a| leading_number(a, 2))
                    {
                        let suffix = ["st", "nd", "rd", "th"]
                            .iter()
                            .find(|x| after[1 + n..].starts_with(**x))
                            .map_or(0, |x| x.len());
                        let end = name.len() + 1 + n + suffix;
                        if let Some(v) = iso(None, m as u32 + 1, day) {
                            push(i..i + end, v);
                            consumed = end;
                        }
                    }
                }
            }
            // 上周五 / 上星期五 / 这周三, last friday.
            if consumed == 0 {
                for (prefix, when) in WEEKDAY_PREFIXES_ZH {
                    if let Some(day) = rest.strip_prefix(*prefix).and_then(|r| r.chars().next()) {
                        if let Some((_, name)) = WEEKDAYS_ZH.iter().find(|(c, _)| *c == day) {
                            consumed = prefix.len() + day.len_utf8();
                            push(i..i + consumed, format!("{when}_{name}"));
                            break;
                        }
                    }
                }
            }
            if consumed == 0 {
                for when in WEEKDAY_PREFIXES_EN {
                    if let Some(day) = rest.strip_prefix(when).and_then(|r| r.strip_prefix(' ')) {
                        if let Some(name) = WEEKDAYS_EN.iter().find(|d| day.starts_with(**d)) {
                            consumed = when.len() + 1 + name.len();
                            push(i..i + consumed, format!("{when}_{name}"));
                            break;
                        }
                    }
                }
            }
            // A bare weekday: "on Monday".
            if consumed == 0 {
                if let Some(name) = WEEKDAYS_EN.iter().find(|d| rest.starts_with(**d)) {
                    if whole_word(s, i..i + name.len()) {
                        consumed = name.len();
                        push(i..i + consumed, name.to_string());
                    }
                }
            }
            if consumed == 0 {
                if let Some((phrase, value)) =
                    RELATIVE_DATES.iter().find(|(p, _)| rest.starts_with(*p))
                {
                    let end = i + phrase.len();
                    if whole_word(s, i..end) {
                        push(i..end, value.to_string());
                        consumed = phrase.len();
                    }
                }
            }
        }
        i += consumed.max(rest.chars().next().map_or(1, char::len_utf8));
    }
}

/// Named things found by phrase: (kind, normalized phrase, value).
const GAZETTEER: &[(&str, &str, &str)] = &[
    ("currency", "美元", "USD"),
    ("currency", "美金", "USD"),
    ("currency", "dollars", "USD"),
    ("currency", "usd", "USD"),
    ("currency", "人民币", "CNY"),
    ("currency", "rmb", "CNY"),
    ("currency", "yuan", "CNY"),
    ("currency", "欧元", "EUR"),
    ("currency", "euros", "EUR"),
    ("currency", "euro", "EUR"),
    ("currency", "港币", "HKD"),
    ("currency", "港元", "HKD"),
    ("currency", "日元", "JPY"),
    ("currency", "yen", "JPY"),
    ("currency", "英镑", "GBP"),
    ("currency", "pounds", "GBP"),
    ("currency", "新台币", "TWD"),
    ("currency", "澳元", "AUD"),
    ("currency", "加元", "CAD"),
    ("country", "美国", "US"),
    ("country", "america", "US"),
    ("country", "the us", "US"),
    ("country", "usa", "US"),
    ("country", "日本", "JP"),
    ("country", "japan", "JP"),
    ("country", "英国", "GB"),
    ("country", "the uk", "GB"),
    ("country", "england", "GB"),
    ("country", "泰国", "TH"),
    ("country", "thailand", "TH"),
    ("country", "新加坡", "SG"),
    ("country", "singapore", "SG"),
    ("country", "香港", "HK"),
    ("country", "hong kong", "HK"),
    ("country", "澳门", "MO"),
    ("country", "台湾", "TW"),
    ("country", "taiwan", "TW"),
    ("country", "韩国", "KR"),
    ("country", "korea", "KR"),
    ("country", "法国", "FR"),
    ("country", "france", "FR"),
    ("country", "德国", "DE"),
    ("country", "germany", "DE"),
    ("country", "澳大利亚", "AU"),
    ("country", "australia", "AU"),
    ("country", "加拿大", "CA"),
    ("country", "canada", "CA"),
    ("country", "境外", "abroad"),
    ("country", "国外", "abroad"),
    ("country", "abroad", "abroad"),
    ("country", "overseas", "abroad"),
    ("account_type", "储蓄卡", "savings"),
    ("account_type", "借记卡", "debit"),
    ("account_type", "信用卡", "credit"),
    ("account_type", "工资卡", "payroll"),
    ("account_type", "活期", "current"),
    ("account_type", "定期", "fixed_deposit"),
    ("account_type", "savings account", "savings"),
    ("account_type", "checking account", "checking"),
    ("account_type", "credit card", "credit"),
    ("account_type", "debit card", "debit"),
];

fn gazetteer() -> &'static AhoCorasick {
    static MATCHER: OnceLock<AhoCorasick> = OnceLock::new();
    MATCHER.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(GAZETTEER.iter().map(|g| g.1))
            .expect("the gazetteer compiles")
    })
}

/// Words after a number that make it an amount.
const AMOUNT_UNITS: &[&str] = &[
    "元",
    "块",
    "dollars",
    "dollar",
    "usd",
    "rmb",
    "美元",
    "人民币",
];

/// Words before four digits that make them the end of a card number.
const CARD_TAIL_MARKERS: &[&str] = &["尾号", "后四位", "ending in", "ends in", "last four digits"];

/// Extracts the entities of one utterance.
pub fn extract(text: &Normalized<'_>) -> Vec<Entity> {
    let mut out = Vec::new();
    let s = text.text.as_str();
    let mut i = 0;
    while i < s.len() {
        let Some(start) = s[i..].find(|c: char| c.is_ascii_digit()).map(|k| k + i) else {
            break;
        };
        let end = s[start..]
            .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
            .map_or(s.len(), |k| k + start);
        let end = start + s[start..end].trim_end_matches([',', '.']).len();
        let digits: String = s[start..end].chars().filter(|c| *c != ',').collect();
        let before = s[..start].trim_end();
        let after = s[end..].trim_start();
        if digits.len() == 4 && CARD_TAIL_MARKERS.iter().any(|m| before.ends_with(m)) {
            out.push(Entity {
                kind: "card_last4",
                text: text.quote(start..end).to_string(),
                value: digits,
            });
        } else if before.ends_with(['$', '¥']) || AMOUNT_UNITS.iter().any(|u| after.starts_with(u))
        {
            out.push(Entity {
                kind: "amount",
                text: text.quote(start..end).to_string(),
                value: digits,
            });
        }
        i = end.max(start + 1);
    }
    dates(text, &mut out);
    // Personal numbers and e-mail addresses: the value keeps only what may
    // be shown (the last four digits); the quote is masked on the way out.
    for p in super::pii::find(text.original) {
        out.push(Entity {
            kind: p.kind,
            text: text.original[p.span].to_string(),
            value: p.shown,
        });
    }
    for m in gazetteer().find_iter(s) {
        let (start, end) = (m.start(), m.end());
        if !whole_word(s, start..end) {
            continue;
        }
        let (kind, _, value) = GAZETTEER[m.pattern().as_usize()];
        if !out.iter().any(|e| e.kind == kind && e.value == value) {
            out.push(Entity {
                kind,
                text: text.quote(start..end).to_string(),
                value: value.to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_card_tails() {
        let e = extract(&Normalized::new("尾号1234的卡被扣了5000元"));
        assert_eq!(e[0].kind, "card_last4");
        assert_eq!(e[0].value, "1234");
        assert_eq!(e[1].kind, "amount");
        assert_eq!(e[1].value, "5000");
        let e = extract(&Normalized::new(
            "I was charged $1,200.50 on the card ending in 9876",
        ));
        assert_eq!(e[0].value, "1200.50");
        assert_eq!(e[1].kind, "card_last4");
    }

    #[test]
    fn currencies_countries_and_account_types() {
        let e = extract(&Normalized::new("我的信用卡在日本被扣了三百美元"));
        let found: Vec<(&str, &str)> = e.iter().map(|e| (e.kind, e.value.as_str())).collect();
        assert!(found.contains(&("amount", "300")), "{found:?}");
        assert!(found.contains(&("currency", "USD")), "{found:?}");
        assert!(found.contains(&("country", "JP")), "{found:?}");
        assert!(found.contains(&("account_type", "credit")), "{found:?}");
        let e = extract(&Normalized::new("I used my Credit Card in Thailand"));
        assert!(e
            .iter()
            .any(|e| e.kind == "country" && e.text == "Thailand"));
        assert!(
            extract(&Normalized::new("the usage was fine")).is_empty(),
            "no match inside words"
        );
    }

    #[test]
    fn absolute_and_relative_dates() {
        let values = |t: &str| -> Vec<String> {
            extract(&Normalized::new(t))
                .into_iter()
                .filter(|e| e.kind == "date")
                .map(|e| e.value)
                .collect()
        };
        assert_eq!(values("我十一月三十号转的账"), ["--11-30"]);
        assert_eq!(values("2026年3月5日那笔"), ["2026-03-05"]);
        assert_eq!(
            values("on 2026-11-02 and yesterday"),
            ["2026-11-02", "yesterday"]
        );
        assert_eq!(
            values("上周五刷的卡，昨天又扣了"),
            ["last_friday", "yesterday"]
        );
        assert_eq!(
            values("I paid on November 3rd, last friday"),
            ["--11-03", "last_friday"]
        );
        assert_eq!(
            values("I sent it on Monday and the rent is due today"),
            ["monday", "today"]
        );
        assert!(values("mondays are slow").is_empty());
        let e = extract(&Normalized::new("上週五"));
        assert_eq!(e[0].text, "上週五", "the quote is the caller's words");
        assert!(values("todays special").is_empty());
    }

    #[test]
    fn bare_numbers_are_not_entities() {
        assert!(extract(&Normalized::new("I called 3 times")).is_empty());
    }

    proptest::proptest! {
        /// Extraction never panics on any text, and every entity quotes a
        /// part of what was said.
        #[test]
        fn every_entity_quotes_the_original(text in "\\PC{0,120}") {
            let normalized = Normalized::new(&text);
            for entity in extract(&normalized) {
                proptest::prop_assert!(text.contains(&entity.text), "{:?} not in {:?}", entity.text, text);
            }
        }
    }
}

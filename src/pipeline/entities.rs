//! Entities: the facts a customer names that the playbook fills into its
//! confirmations: amounts (spoken numbers are already digits after
//! normalization), the last four digits of a card, currencies (ISO 4217),
//! countries and regions, and account types. Dates are not extracted yet.

use super::{normalize::Normalized, Entity};
use aho_corasick::AhoCorasick;
use std::sync::OnceLock;

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
    let bytes = s.as_bytes();
    for m in gazetteer().find_iter(s) {
        let (start, end) = (m.start(), m.end());
        let latin = |b: u8| b.is_ascii_alphanumeric();
        if (start > 0 && latin(bytes[start]) && latin(bytes[start - 1]))
            || (end < bytes.len() && latin(bytes[end - 1]) && latin(bytes[end]))
        {
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
    fn bare_numbers_are_not_entities() {
        assert!(extract(&Normalized::new("I called 3 times")).is_empty());
    }
}

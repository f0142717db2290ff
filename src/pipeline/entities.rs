//! Entities: the facts a customer names that the playbook fills into its
//! confirmations (amounts, the last digits of a card). Interim, pattern-based;
//! issue #3 adds number words, dates and currencies.

use super::{normalize::Normalized, Entity};

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
    fn bare_numbers_are_not_entities() {
        assert!(extract(&Normalized::new("I called 3 times")).is_empty());
    }
}

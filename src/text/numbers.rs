//! Spoken numbers read as numbers: 三六八二 → 3682, 五千块 → 5000块,
//! 一万二 → 12000, "four hundred dollars" → 400 dollars, "one two three
//! four" → 1234. Used by [`super::normalize`], which keeps the map back to
//! the words as said.
//!
//! Single numeral words are left alone unless a currency follows ("一下",
//! "no one" stay words; "五块", "one dollar" become numbers).

/// What a numeral character means.
#[derive(Clone, Copy, PartialEq)]
enum Zh {
    Digit(u64),
    Unit(u64),
}

fn zh(c: char) -> Option<Zh> {
    Some(match c {
        '零' | '〇' => Zh::Digit(0),
        '一' | '幺' => Zh::Digit(1),
        '二' | '两' => Zh::Digit(2),
        '三' => Zh::Digit(3),
        '四' => Zh::Digit(4),
        '五' => Zh::Digit(5),
        '六' => Zh::Digit(6),
        '七' => Zh::Digit(7),
        '八' => Zh::Digit(8),
        '九' => Zh::Digit(9),
        '十' => Zh::Unit(10),
        '百' => Zh::Unit(100),
        '千' => Zh::Unit(1000),
        '万' => Zh::Unit(10_000),
        '亿' => Zh::Unit(100_000_000),
        _ => return None,
    })
}

/// Whether `c` can be part of a Chinese numeral.
pub fn is_zh_numeral(c: char) -> bool {
    zh(c).is_some()
}

/// Words after a number that make even a single numeral a number.
const CURRENCY_AFTER: &[&str] = &[
    "块", "元", "美元", "欧元", "港币", "日元", "英镑", "dollar", "dollars", "bucks", "euros",
    "pounds", "yuan",
];

/// Whether the text right after a numeral run names a currency.
pub fn currency_follows(rest: &str) -> bool {
    let rest = rest.trim_start();
    CURRENCY_AFTER.iter().any(|c| {
        rest.starts_with(c) && !rest[c.len()..].starts_with(|n: char| n.is_ascii_alphabetic())
    })
}

/// The value of a Chinese numeral run, as digits.
pub fn zh_value(run: &[char]) -> Option<String> {
    let parts: Vec<Zh> = run.iter().map(|&c| zh(c)).collect::<Option<_>>()?;
    if parts.iter().all(|p| matches!(p, Zh::Digit(_))) {
        // Read digit by digit: 三六八二 → 3682.
        return Some(
            parts
                .iter()
                .map(|p| {
                    if let Zh::Digit(d) = p {
                        char::from(b'0' + *d as u8)
                    } else {
                        '0'
                    }
                })
                .collect(),
        );
    }
    let (mut total, mut section, mut current) = (0u64, 0u64, 0u64);
    let mut last_unit = 1u64;
    let mut previous: Option<Zh> = None;
    for &p in &parts {
        match p {
            Zh::Digit(d) => current = d,
            Zh::Unit(u) if u >= 10_000 => {
                total = total.checked_add((section + current).max(1).checked_mul(u)?)?;
                section = 0;
                current = 0;
                last_unit = u;
            }
            Zh::Unit(u) => {
                // 十五 = 15: a unit with no digit before it counts one.
                let n = if current == 0 && previous != Some(Zh::Digit(0)) {
                    1
                } else {
                    current
                };
                section = section.checked_add(n.checked_mul(u)?)?;
                current = 0;
                last_unit = u;
            }
        }
        previous = Some(p);
    }
    // 一万二 = 12000, 三千五 = 3500, 两百五 = 250: a trailing digit right after
    // a unit counts in the next lower unit.
    if let (Some(Zh::Digit(_)), Some(Zh::Unit(_))) =
        (parts.last(), parts.get(parts.len().wrapping_sub(2)))
    {
        if last_unit >= 100 {
            current *= last_unit / 10;
        }
    }
    Some(
        total
            .checked_add(section)?
            .checked_add(current)?
            .to_string(),
    )
}

fn en_small(word: &str) -> Option<u64> {
    Some(match word {
        "zero" | "oh" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

fn en_scale(word: &str) -> Option<u64> {
    Some(match word {
        "hundred" => 100,
        "thousand" => 1_000,
        "million" => 1_000_000,
        _ => return None,
    })
}

/// Whether `word` can be part of an English number.
pub fn is_en_number_word(word: &str) -> bool {
    en_small(word).is_some() || en_scale(word).is_some()
}

/// The value of a run of English number words (no "and"), as digits.
pub fn en_value(words: &[&str]) -> Option<String> {
    if words.len() >= 2 && words.iter().all(|w| en_small(w).is_some_and(|n| n < 10)) {
        // Read digit by digit: "one two three four" → 1234.
        return Some(
            words
                .iter()
                .map(|w| char::from(b'0' + en_small(w).unwrap_or(0) as u8))
                .collect(),
        );
    }
    let (mut total, mut current) = (0u64, 0u64);
    for w in words {
        if let Some(n) = en_small(w) {
            current = current.checked_add(n)?;
        } else if let Some(s) = en_scale(w) {
            if s == 100 {
                current = current.max(1).checked_mul(100)?;
            } else {
                total = total.checked_add(current.max(1).checked_mul(s)?)?;
                current = 0;
            }
        } else {
            return None;
        }
    }
    Some(total.checked_add(current)?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(s: &str) -> String {
        zh_value(&s.chars().collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn chinese_numerals() {
        assert_eq!(z("三六八二"), "3682");
        assert_eq!(z("五千"), "5000");
        assert_eq!(z("十五"), "15");
        assert_eq!(z("二十"), "20");
        assert_eq!(z("两百五十"), "250");
        assert_eq!(z("一万二千"), "12000");
        assert_eq!(z("一万二"), "12000");
        assert_eq!(z("三千五"), "3500");
        assert_eq!(z("一千零五"), "1005");
        assert_eq!(z("十万"), "100000");
    }

    #[test]
    fn english_number_words() {
        let e = |s: &str| en_value(&s.split(' ').collect::<Vec<_>>()).unwrap();
        assert_eq!(e("four hundred"), "400");
        assert_eq!(e("twenty five"), "25");
        assert_eq!(e("one two three four"), "1234");
        assert_eq!(e("two thousand five hundred"), "2500");
        assert_eq!(e("twelve"), "12");
        assert!(currency_follows(" dollars please"));
        assert!(!currency_follows("dollarsign"));
    }
}

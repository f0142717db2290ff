//! Suggestion templates: text with `{slot}`s and `[optional parts]`.
//!
//! `您的卡片[（尾号{card_last4}）]被拒了` renders as `您的卡片（尾号1234）被拒了`
//! when the call has a `card_last4`, and as `您的卡片被拒了` when it has not:
//! an optional part is dropped as a whole when any slot inside it has no
//! value. A slot outside an optional part must always have a value; the
//! playbook loader checks that every slot name is one the rule provides.

use std::fmt;

/// One parsed piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// Literal text.
    Text(String),
    /// A slot, by name.
    Slot(String),
    /// Text and slots dropped together when a slot has no value.
    Optional(Vec<Piece>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The pieces in order.
    pieces: Vec<Piece>,
    /// The source, for diagnostics and for telling variants apart.
    source: String,
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{` without `}`, `[` without `]`, a nested `[`, or a stray `]`/`}`.
    #[error("unbalanced {0:?} in template")]
    Unbalanced(char),
    /// A slot not provided by the rule.
    #[error("unknown slot {{{slot}}}; this rule provides: {allowed}")]
    UnknownSlot {
        /// The slot named in the template.
        slot: String,
        /// The slots the rule provides, comma-separated.
        allowed: String,
    },
    /// Empty text.
    #[error("template is empty")]
    Empty,
}

impl Template {
    /// Parses `source`, accepting only the slot names in `allowed`.
    pub fn parse(source: &str, allowed: &[&str]) -> Result<Self, TemplateError> {
        if source.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let mut stack: Vec<Vec<Piece>> = vec![Vec::new()];
        let mut text = String::new();
        let mut chars = source.chars();
        let flush = |text: &mut String, stack: &mut Vec<Vec<Piece>>| {
            if !text.is_empty() {
                let top = stack.last_mut().expect("the stack is never empty");
                top.push(Piece::Text(std::mem::take(text)));
            }
        };
        while let Some(c) = chars.next() {
            match c {
                '{' => {
                    flush(&mut text, &mut stack);
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    let name = name.trim();
                    if !closed || name.is_empty() || name.contains(['{', '[', ']']) {
                        return Err(TemplateError::Unbalanced('{'));
                    }
                    if !allowed.contains(&name) {
                        return Err(TemplateError::UnknownSlot {
                            slot: name.to_string(),
                            allowed: if allowed.is_empty() {
                                "no slots".into()
                            } else {
                                allowed.join(", ")
                            },
                        });
                    }
                    let top = stack.last_mut().expect("the stack is never empty");
                    top.push(Piece::Slot(name.to_string()));
                }
                '[' if stack.len() == 1 => {
                    flush(&mut text, &mut stack);
                    stack.push(Vec::new());
                }
                '[' => return Err(TemplateError::Unbalanced('[')),
                ']' if stack.len() == 2 => {
                    flush(&mut text, &mut stack);
                    let inner = stack.pop().expect("checked above");
                    stack[0].push(Piece::Optional(inner));
                }
                ']' | '}' => return Err(TemplateError::Unbalanced(c)),
                _ => text.push(c),
            }
        }
        if stack.len() != 1 {
            return Err(TemplateError::Unbalanced('['));
        }
        flush(&mut text, &mut stack);
        Ok(Template {
            pieces: stack.pop().expect("one level left"),
            source: source.to_string(),
        })
    }

    /// Renders with `value(slot)`; `None` when a required slot has no value.
    pub fn render<'v>(&self, value: impl Fn(&str) -> Option<&'v str>) -> Option<String> {
        let mut out = String::with_capacity(self.source.len() + 16);
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(name) => out.push_str(value(name)?),
                Piece::Optional(inner) => {
                    let mut part = String::new();
                    let complete = inner.iter().all(|p| match p {
                        Piece::Text(t) => {
                            part.push_str(t);
                            true
                        }
                        Piece::Slot(name) => value(name).map(|v| part.push_str(v)).is_some(),
                        Piece::Optional(_) => unreachable!("optional parts do not nest"),
                    });
                    if complete {
                        out.push_str(&part);
                    }
                }
            }
        }
        Some(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |slot| pairs.iter().find(|(k, _)| *k == slot).map(|(_, v)| *v)
    }

    #[test]
    fn optional_parts_are_dropped_when_a_slot_is_missing() {
        let t = Template::parse(
            "您的卡片[（尾号{card_last4}）][在{country}]消费时被拒了",
            &["card_last4", "country"],
        )
        .unwrap();
        assert_eq!(
            t.render(values(&[("card_last4", "1234")])).unwrap(),
            "您的卡片（尾号1234）消费时被拒了"
        );
        assert_eq!(
            t.render(values(&[("country", "泰国"), ("card_last4", "1234")]))
                .unwrap(),
            "您的卡片（尾号1234）在泰国消费时被拒了"
        );
        assert_eq!(t.render(values(&[])).unwrap(), "您的卡片消费时被拒了");
    }

    #[test]
    fn a_required_slot_without_value_renders_nothing() {
        let t = Template::parse(
            "Are you asking about {first} or {second}?",
            &["first", "second"],
        )
        .unwrap();
        assert_eq!(t.render(values(&[("first", "a")])), None);
        assert_eq!(
            t.render(values(&[("first", "a"), ("second", "b")]))
                .unwrap(),
            "Are you asking about a or b?"
        );
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        assert_eq!(
            Template::parse("x {amount", &["amount"]),
            Err(TemplateError::Unbalanced('{'))
        );
        assert_eq!(
            Template::parse("x [a [b] c]", &[]),
            Err(TemplateError::Unbalanced('['))
        );
        assert_eq!(
            Template::parse("x ] y", &[]),
            Err(TemplateError::Unbalanced(']'))
        );
        assert_eq!(Template::parse("  ", &[]), Err(TemplateError::Empty));
        let e = Template::parse("{amont}", &["amount", "date"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown slot {amont}; this rule provides: amount, date"
        );
    }
}

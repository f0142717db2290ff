//! The service playbook: turns an [`Analysis`] and the call's [`CallContext`]
//! into suggestions for the agent and alerts for a supervisor.
//!
//! Order follows how bank service teams are trained: the mood before the
//! matter (empathy first), then finding the need (closed question between two
//! close intents, open question when nothing fits), then confirming it and the
//! next step. This is the interim rule set; issue #4 makes the playbook
//! complete and editable by the bank.

use super::{
    Alert, AlertKind, Analysis, Assist, CallContext, Emotion, Speaker, Suggestion, SuggestionKind,
    Timing,
};

/// Minimum intensity of a negative emotion that calls for an empathetic line.
const EMPATHY_MIN_INTENSITY: f32 = 0.5;

/// The runner-up intent is "close" when its score is at least this share of
/// the best one: then a closed question chooses between them.
const CLOSE_ALTERNATIVE_RATIO: f32 = 0.6;

/// Minimum confidence to confirm a need and offer its next step.
const CONFIRM_MIN_CONFIDENCE: f32 = 0.5;

/// How the agent can name an intent, and its next step: (id, zh name, en name,
/// zh next step, en next step).
const INTENT_TEXTS: &[(&str, &str, &str, &str, &str)] = &[
    ("check_balance", "查询余额", "your balance", "核实身份后为您查询账户余额。", "Verify the customer's identity, then read out the available balance."),
    ("transaction_history", "查询交易明细", "your recent transactions", "核实身份后为您查询近期交易明细，并可发送电子对账单。", "Verify identity, then go through the recent transactions or send an e-statement."),
    ("unrecognized_charge", "核查一笔不认识的扣款", "checking a charge you don't recognize", "与客户逐笔核对交易，必要时冻结卡片并发起争议调查。", "Go through the charge with the customer; if it is not theirs, block the card and open a dispute."),
    ("card_lost_stolen", "办理卡片挂失", "reporting a lost or stolen card", "立即为客户办理挂失并冻结卡片，再说明补卡流程。", "Block the card right away, then explain how the replacement card is sent."),
    ("card_declined", "处理刷卡被拒", "your card being declined", "查询拒绝原因（额度、风控、卡片状态），并告知解决方法。", "Look up the decline reason (limit, fraud check, card status) and explain the fix."),
    ("transfer_money", "办理转账", "making a transfer", "确认收款人和金额，引导客户通过手机银行或柜台转账。", "Confirm payee and amount, and guide the transfer in the app or at a branch."),
    ("transfer_not_received", "查询未到账的转账", "a transfer that hasn't arrived", "查询转账状态和流水号，告知预计到账时间，必要时发起查询。", "Look up the transfer status and reference, give the expected arrival time, open a trace if needed."),
    ("credit_card_bill", "信用卡账单和还款", "your credit card bill", "告知本期账单金额、最低还款额和还款日，并介绍还款方式。", "Give the statement balance, minimum payment and due date, and the ways to pay."),
    ("credit_limit", "调整信用额度", "your credit limit", "查询当前额度，说明提额条件并可提交提额申请。", "Check the current limit, explain the criteria and offer to submit an increase request."),
    ("loan_inquiry", "咨询贷款", "a loan", "了解贷款用途和金额，介绍适合的产品并预约客户经理。", "Ask about purpose and amount, present suitable products and book an adviser."),
    ("wealth_products", "咨询理财产品", "investment products", "先了解客户对安全性和流动性的需求，再介绍相应风险等级的产品。", "First ask what matters most (safety, liquidity, return), then present products of the matching risk level."),
    ("deposit_rates", "咨询存款利率", "deposit rates", "告知当前各期限存款利率，并说明办理渠道。", "Give the current rates per term and how to open the deposit."),
    ("password_reset", "重置密码", "resetting your password or PIN", "核实身份后引导客户通过手机银行或柜台重置密码。", "Verify identity, then guide the reset in the app or at a branch."),
    ("account_frozen", "处理账户冻结", "your account being frozen", "查询冻结原因，说明解冻所需材料和渠道。", "Look up why the account is frozen and explain what is needed to lift it."),
    ("fees_charges", "咨询费用", "fees and charges", "说明该项费用的标准，符合条件时可申请减免。", "Explain the fee and whether a waiver can be requested."),
    ("exchange_rate", "查询汇率", "exchange rates", "告知当前牌价，并说明购汇渠道和额度。", "Give the current rate and the ways and limits to buy currency."),
    ("open_account", "开立账户", "opening an account", "说明开户所需证件和渠道，可预约网点。", "Explain the documents needed and the channels; offer a branch appointment."),
    ("close_account", "销户", "closing your account", "先了解销户原因并尝试挽留，再说明销户流程。", "Ask why and whether something can be fixed, then explain how to close."),
    ("update_contact_info", "更新联系信息", "updating your contact details", "核实身份后更新联系方式，并确认更新结果。", "Verify identity, update the details and read them back."),
    ("complaint", "受理投诉", "a complaint", "认真倾听并记录投诉内容，告知处理时限和跟进方式。", "Listen, record the complaint, and give the handling time and how you will follow up."),
    ("speak_to_human", "转接主管", "speaking to a supervisor", "先尝试解决客户问题；如客户坚持，按流程转接主管。", "Try to resolve the issue first; if the customer insists, transfer to a supervisor per procedure."),
];

fn intent_texts(
    intent: &str,
) -> Option<&'static (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    INTENT_TEXTS.iter().find(|t| t.0 == intent)
}

/// The playbook's rules.
#[derive(Debug, Default, Clone, Copy)]
pub struct Playbook;

impl Playbook {
    /// The advice for one analyzed utterance, most urgent first.
    pub fn advise(
        &self,
        analysis: &Analysis,
        timing: Timing,
        context: &CallContext,
    ) -> Vec<Assist> {
        let zh = analysis.language.is_chinese();
        let mut out = Vec::new();
        match analysis.speaker {
            Speaker::Customer => {
                alerts(analysis, context, zh, &mut out);
                if let Some(s) = empathy(analysis, zh) {
                    out.push(Assist::Suggestion(s));
                }
                need(analysis, zh, &mut out);
            }
            Speaker::Agent => {
                if let Some(customer_end) = context.last_customer_end_ms() {
                    if timing.start_ms < customer_end {
                        out.push(Assist::Suggestion(Suggestion {
                            kind: SuggestionKind::Coaching,
                            text: pick(
                                zh,
                                "请等客户说完再回应，避免打断。",
                                "Let the customer finish before you answer.",
                            ),
                            rationale: format!(
                                "Agent started at {} ms, before the customer finished at {} ms.",
                                timing.start_ms, customer_end
                            ),
                            confidence: 0.9,
                            priority: 1,
                            rule_id: "coaching.interruption",
                        }));
                    }
                }
            }
        }
        out
    }
}

fn pick(zh: bool, zh_text: &str, en_text: &str) -> String {
    if zh { zh_text } else { en_text }.to_string()
}

/// Empathy first: one line matched to the strongest negative emotion.
fn empathy(analysis: &Analysis, zh: bool) -> Option<Suggestion> {
    let cue = analysis.emotions.iter().find(|c| {
        c.emotion != Emotion::Satisfaction
            && c.emotion != Emotion::Confusion
            && c.intensity >= EMPATHY_MIN_INTENSITY
    })?;
    let (rule_id, zh_text, en_text) = match cue.emotion {
        Emotion::Frustration => ("empathy.frustration", "非常抱歉给您带来不便，我理解您现在的心情，我马上帮您处理。", "I'm really sorry for the trouble — I understand how frustrating this is, and I'll sort it out with you now."),
        Emotion::Anxiety => ("empathy.anxiety", "您别着急，我们一起来看怎么处理。", "Please don't worry, we'll go through this together."),
        Emotion::Urgency => ("empathy.urgency", "明白您很着急，我这就优先为您处理。", "I understand this is urgent; I'm on it right now."),
        Emotion::Sadness => ("empathy.sadness", "听到这个消息我很难过，我们会尽力帮您。", "I'm so sorry to hear that. We'll do everything we can to help."),
        Emotion::Confusion | Emotion::Satisfaction => return None,
    };
    Some(Suggestion {
        kind: SuggestionKind::Empathy,
        text: pick(zh, zh_text, en_text),
        rationale: format!(
            "Customer shows {:?} (\"{}\"): deal with the mood before the matter.",
            cue.emotion, cue.evidence
        )
        .to_lowercase(),
        confidence: cue.intensity,
        priority: 0,
        rule_id,
    })
}

/// Finding the need: a question when it is unclear, else confirm and guide.
fn need(analysis: &Analysis, zh: bool, out: &mut Vec<Assist>) {
    let intent = &analysis.intent;
    if intent.is_out_of_scope() {
        if !analysis.is_final {
            // An interim that fits nothing yet: the customer is still talking.
            return;
        }
        out.push(Assist::Suggestion(Suggestion {
            kind: SuggestionKind::ClarifyingQuestion,
            text: pick(
                zh,
                "您能具体说说遇到什么问题了吗？",
                "Could you tell me a bit more about what's happening?",
            ),
            rationale: "No known need fits what the customer said: ask an open question.".into(),
            confidence: 0.6,
            priority: 2,
            rule_id: "clarify.open",
        }));
        return;
    }
    if let (Some((second, score)), Some(first)) =
        (intent.alternatives.first(), intent_texts(&intent.intent))
    {
        let score = *score;
        if let Some(second_texts) =
            intent_texts(second).filter(|_| score >= CLOSE_ALTERNATIVE_RATIO * intent.confidence)
        {
            let text = if zh {
                format!("您是想{}还是{}呢？", first.1, second_texts.1)
            } else {
                format!("Are you asking about {} or {}?", first.2, second_texts.2)
            };
            out.push(Assist::Suggestion(Suggestion {
                kind: SuggestionKind::ClarifyingQuestion,
                text,
                rationale: format!(
                    "Two needs are close ({} {:.2} vs {} {:.2}): ask a closed question.",
                    intent.intent, intent.confidence, second, score
                ),
                confidence: 0.7,
                priority: 2,
                rule_id: "clarify.closed",
            }));
            return;
        }
    }
    let Some(texts) = intent_texts(&intent.intent) else {
        return;
    };
    if intent.confidence < CONFIRM_MIN_CONFIDENCE && !analysis.intent_carried_over {
        return;
    }
    if !analysis.intent_carried_over {
        let facts: Vec<&str> = analysis.entities.iter().map(|e| e.text.as_str()).collect();
        let detail = if facts.is_empty() {
            String::new()
        } else {
            format!("（{}）", facts.join("，"))
        };
        let text = if zh {
            format!("我确认一下，您是想{}{}，对吗？", texts.1, detail)
        } else {
            format!(
                "Just to confirm, you're calling about {}{}, is that right?",
                texts.2,
                if facts.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", facts.join(", "))
                }
            )
        };
        out.push(Assist::Suggestion(Suggestion {
            kind: SuggestionKind::Confirmation,
            text,
            rationale: format!(
                "The need is clear ({} {:.2}): paraphrase it back to confirm.",
                intent.intent, intent.confidence
            ),
            confidence: intent.confidence,
            priority: 3,
            rule_id: "confirm.need",
        }));
    }
    if analysis.intent_carried_over && !analysis.asks_what_next {
        // A follow-up turn on a known need: the next step was already offered.
        return;
    }
    out.push(Assist::Suggestion(Suggestion {
        kind: SuggestionKind::NextStep,
        text: pick(zh, texts.3, texts.4),
        rationale: format!("Next step for {}.", intent.intent),
        confidence: intent.confidence,
        priority: 4,
        rule_id: "next_step",
    }));
}

/// Supervisor alerts, each raised once per call.
fn alerts(analysis: &Analysis, context: &CallContext, zh: bool, out: &mut Vec<Assist>) {
    let frustrated = analysis
        .emotions
        .iter()
        .any(|c| c.emotion == Emotion::Frustration);
    let sad = analysis
        .emotions
        .iter()
        .any(|c| c.emotion == Emotion::Sadness && c.intensity >= 0.7);
    let candidates = [
        (
            &*analysis.intent.intent == "speak_to_human",
            AlertKind::SupervisorRequest,
            "客户要求转接主管",
            "Customer asks for a supervisor",
            "Intent speak_to_human.",
        ),
        (
            &*analysis.intent.intent == "complaint",
            AlertKind::Complaint,
            "客户提出投诉",
            "Customer is making a complaint",
            "Intent complaint.",
        ),
        (
            frustrated && context.frustrated_turns() >= 1,
            AlertKind::EscalationRisk,
            "客户连续表现出不满，存在升级风险",
            "Customer frustrated in consecutive turns",
            "Frustration in two or more customer turns in a row.",
        ),
        (
            sad,
            AlertKind::VulnerableCustomer,
            "客户可能处于困难或悲伤中",
            "Customer may be vulnerable (hardship or grief)",
            "Strong sadness cue.",
        ),
    ];
    for (hit, kind, zh_text, en_text, rationale) in candidates {
        if hit && !context.alert_raised(kind) {
            out.push(Assist::Alert(Alert {
                kind,
                text: pick(zh, zh_text, en_text),
                rationale: rationale.into(),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Pipeline, Utterance};

    fn advise(text: &str, context: &CallContext) -> Vec<Assist> {
        let p = Pipeline::new();
        let u = Utterance {
            text,
            speaker: Speaker::Customer,
            language: None,
            is_final: true,
        };
        let a = p.analyze(&u, context);
        p.assist(&a, Timing::default(), context)
    }

    fn kinds(assists: &[Assist]) -> Vec<SuggestionKind> {
        assists
            .iter()
            .filter_map(|a| match a {
                Assist::Suggestion(s) => Some(s.kind),
                Assist::Alert(_) => None,
            })
            .collect()
    }

    #[test]
    fn empathy_comes_before_the_matter() {
        let k = kinds(&advise("我的卡丢了，我好担心", &CallContext::default()));
        assert_eq!(
            k,
            vec![
                SuggestionKind::Empathy,
                SuggestionKind::Confirmation,
                SuggestionKind::NextStep
            ]
        );
    }

    #[test]
    fn close_needs_get_a_closed_question() {
        // Built by hand: this tests the rule, not the model.
        let analysis = Analysis {
            speaker: Speaker::Customer,
            language: crate::pipeline::Language::ZhCn,
            intent: crate::pipeline::IntentPrediction {
                intent: "check_balance".into(),
                confidence: 0.48,
                alternatives: vec![("transaction_history".into(), 0.41)],
            },
            emotions: Vec::new(),
            entities: Vec::new(),
            is_final: true,
            intent_carried_over: false,
            asks_what_next: false,
        };
        let a = Playbook.advise(&analysis, Timing::default(), &CallContext::default());
        assert_eq!(a.len(), 1, "{a:?}");
        let Assist::Suggestion(s) = &a[0] else {
            panic!("expected a suggestion")
        };
        assert_eq!(s.kind, SuggestionKind::ClarifyingQuestion);
        assert_eq!(s.text, "您是想查询余额还是查询交易明细呢？");
        let clear = Analysis {
            intent: crate::pipeline::IntentPrediction {
                alternatives: vec![("transaction_history".into(), 0.1)],
                confidence: 0.85,
                ..analysis.intent.clone()
            },
            ..analysis
        };
        let a = Playbook.advise(&clear, Timing::default(), &CallContext::default());
        assert_eq!(
            kinds(&a),
            vec![SuggestionKind::Confirmation, SuggestionKind::NextStep]
        );
    }

    #[test]
    fn unknown_need_gets_an_open_question() {
        let a = advise("hello there", &CallContext::default());
        assert_eq!(kinds(&a), vec![SuggestionKind::ClarifyingQuestion]);
    }

    #[test]
    fn supervisor_request_raises_an_alert_once() {
        let mut ctx = CallContext::default();
        assert!(advise("I want to talk to your supervisor", &ctx)
            .iter()
            .any(|a| matches!(a, Assist::Alert(al) if al.kind == AlertKind::SupervisorRequest)));
        ctx.record_alert(AlertKind::SupervisorRequest);
        assert!(!advise("I want to talk to your supervisor", &ctx)
            .iter()
            .any(|a| matches!(a, Assist::Alert(_))));
    }
}

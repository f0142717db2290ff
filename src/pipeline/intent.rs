//! Intent classification.
//!
//! This is the interim keyword classifier over the bank contact-center
//! taxonomy: each intent has weighted cue phrases in Mandarin and English, an
//! utterance scores the sum of the cues it contains, and the scores are turned
//! into confidences. It is explainable and fast, but it is not trained and not
//! measured; issue #3 replaces it with a trained n-gram model behind the same
//! [`IntentClassifier::classify`] signature.

use super::{normalize::Normalized, IntentPrediction};

/// The intent id returned when nothing fits.
pub const OUT_OF_SCOPE: &str = "out_of_scope";

/// Confidence reported for an intent carried over from earlier turns.
pub const CARRIED_OVER_CONFIDENCE: f32 = 0.5;

/// How many alternatives a prediction lists at most.
const MAX_ALTERNATIVES: usize = 3;

/// (intent id, [(normalized cue, weight)]).
type Cues = (&'static str, &'static [(&'static str, f32)]);

/// The embedded taxonomy with its cue phrases.
const TAXONOMY: &[Cues] = &[
    (
        "check_balance",
        &[
            ("余额", 2.0),
            ("还有多少钱", 2.0),
            ("剩多少钱", 2.0),
            ("多少钱", 0.5),
            ("balance", 2.0),
            ("how much money", 1.5),
            ("how much is in", 1.5),
        ],
    ),
    (
        "transaction_history",
        &[
            ("明细", 2.0),
            ("流水", 2.0),
            ("交易记录", 2.0),
            ("消费记录", 2.0),
            ("账单明细", 1.0),
            ("transactions", 2.0),
            ("transaction history", 2.5),
            ("statement", 1.5),
            ("recent payments", 1.5),
            ("spending history", 2.0),
        ],
    ),
    (
        "unrecognized_charge",
        &[
            ("不是我", 1.5),
            ("不认识", 1.0),
            ("莫名其妙", 1.0),
            ("被扣", 1.5),
            ("盗刷", 2.0),
            ("乱扣", 2.0),
            ("don't recognize", 2.0),
            ("didn't make", 1.5),
            ("unauthorized", 2.0),
            ("fraud", 2.0),
            ("charged twice", 2.0),
            ("charge i", 1.0),
        ],
    ),
    (
        "card_lost_stolen",
        &[
            ("卡丢", 2.5),
            ("卡不见", 2.5),
            ("丢了", 2.5),
            ("被偷", 2.0),
            ("挂失", 2.5),
            ("lost my card", 2.5),
            ("card was stolen", 2.5),
            ("stolen", 1.5),
            ("lost", 1.0),
            ("can't find my card", 2.5),
        ],
    ),
    (
        "card_declined",
        &[
            ("刷不了", 2.5),
            ("被拒", 2.0),
            ("支付失败", 2.0),
            ("刷卡失败", 2.5),
            ("用不了", 1.0),
            ("declined", 2.5),
            ("card doesn't work", 2.0),
            ("card not working", 2.0),
            ("rejected", 1.5),
        ],
    ),
    (
        "transfer_money",
        &[
            ("转账", 2.0),
            ("汇款", 2.0),
            ("转钱", 2.0),
            ("transfer", 2.0),
            ("send money", 2.0),
            ("wire", 1.5),
        ],
    ),
    (
        "transfer_not_received",
        &[
            ("没到账", 3.0),
            ("没收到", 2.0),
            ("还没到", 2.0),
            ("不到账", 3.0),
            ("hasn't arrived", 3.0),
            ("not received", 3.0),
            ("didn't receive", 2.5),
            ("hasn't come through", 3.0),
            ("still pending", 1.5),
        ],
    ),
    (
        "credit_card_bill",
        &[
            ("还款", 2.0),
            ("账单", 1.5),
            ("最低还款", 2.5),
            ("信用卡账单", 2.5),
            ("credit card bill", 2.5),
            ("pay my bill", 2.0),
            ("minimum payment", 2.5),
            ("due date", 2.0),
        ],
    ),
    (
        "credit_limit",
        &[
            ("额度", 2.5),
            ("提额", 3.0),
            ("credit limit", 3.0),
            ("raise my limit", 3.0),
            ("increase my limit", 3.0),
        ],
    ),
    (
        "loan_inquiry",
        &[
            ("贷款", 2.5),
            ("房贷", 2.5),
            ("车贷", 2.5),
            ("借钱", 1.5),
            ("loan", 2.5),
            ("mortgage", 2.5),
            ("borrow", 1.5),
        ],
    ),
    (
        "wealth_products",
        &[
            ("理财", 2.5),
            ("基金", 2.0),
            ("收益", 1.5),
            ("投资", 2.0),
            ("invest", 2.0),
            ("investment", 2.5),
            ("fund", 1.5),
            ("wealth management", 2.5),
        ],
    ),
    (
        "deposit_rates",
        &[
            ("利率", 2.0),
            ("定期", 2.0),
            ("存款利息", 2.5),
            ("利息", 1.5),
            ("interest rate", 2.5),
            ("savings rate", 2.5),
            ("fixed deposit", 2.5),
        ],
    ),
    (
        "password_reset",
        &[
            ("密码", 2.5),
            ("忘记密码", 3.0),
            ("重置", 1.5),
            ("password", 2.5),
            ("pin", 2.0),
            ("reset", 1.0),
            ("locked out", 2.0),
        ],
    ),
    (
        "account_frozen",
        &[
            ("冻结", 3.0),
            ("被锁", 2.0),
            ("账户锁", 2.0),
            ("frozen", 3.0),
            ("freeze", 2.0),
            ("blocked", 2.0),
            ("account is locked", 2.5),
        ],
    ),
    (
        "fees_charges",
        &[
            ("手续费", 2.5),
            ("年费", 2.5),
            ("管理费", 2.0),
            ("收费", 1.5),
            ("扣费", 1.5),
            ("fee", 2.0),
            ("fees", 2.0),
            ("service charge", 2.0),
        ],
    ),
    (
        "exchange_rate",
        &[
            ("汇率", 3.0),
            ("换汇", 2.5),
            ("美元", 1.0),
            ("外币", 2.0),
            ("exchange rate", 3.0),
            ("currency", 1.5),
            ("foreign exchange", 2.5),
        ],
    ),
    (
        "open_account",
        &[
            ("开户", 3.0),
            ("开个账户", 3.0),
            ("办卡", 2.0),
            ("办一张", 1.5),
            ("open an account", 3.0),
            ("new account", 2.5),
            ("sign up", 1.5),
        ],
    ),
    (
        "close_account",
        &[
            ("销户", 3.0),
            ("注销", 2.5),
            ("不用了", 1.0),
            ("close my account", 3.0),
            ("cancel my account", 3.0),
            ("close the account", 3.0),
        ],
    ),
    (
        "update_contact_info",
        &[
            ("改手机号", 3.0),
            ("换手机号", 3.0),
            ("修改地址", 3.0),
            ("更新信息", 2.0),
            ("联系方式", 2.0),
            ("change my address", 3.0),
            ("phone number", 1.5),
            ("update my", 1.5),
            ("new address", 2.5),
        ],
    ),
    (
        "complaint",
        &[
            ("投诉", 3.0),
            ("太差", 1.5),
            ("什么服务", 1.5),
            ("不满意", 2.0),
            ("complaint", 3.0),
            ("complain", 3.0),
            ("terrible service", 2.5),
            ("unacceptable", 1.5),
        ],
    ),
    (
        "speak_to_human",
        &[
            ("人工", 2.5),
            ("主管", 3.0),
            ("经理", 2.0),
            ("领导", 2.0),
            ("转人工", 3.0),
            ("supervisor", 3.0),
            ("manager", 2.5),
            ("real person", 3.0),
            ("speak to someone", 2.0),
        ],
    ),
];

/// Phrases by which a caller asks what to do next.
const WHAT_NEXT: &[&str] = &[
    "怎么办",
    "怎么弄",
    "怎么开通",
    "怎么操作",
    "然后呢",
    "接下来",
    "下一步",
    "what happens now",
    "what happens next",
    "what do i do",
    "what should i do",
    "what now",
    "what next",
    "next step",
    "how do i",
];

/// Whether the utterance asks what to do next.
pub fn asks_what_next(text: &Normalized<'_>) -> bool {
    WHAT_NEXT.iter().any(|p| text.find(p).is_some())
}

/// Classifies normalized utterances into the bank taxonomy.
#[derive(Debug, Default, Clone, Copy)]
pub struct IntentClassifier;

impl IntentClassifier {
    /// The intent ids this classifier knows, `out_of_scope` excluded.
    pub fn intents(&self) -> impl Iterator<Item = &'static str> {
        TAXONOMY.iter().map(|(id, _)| *id)
    }

    /// Classifies one utterance.
    pub fn classify(&self, text: &Normalized<'_>) -> IntentPrediction {
        let mut scored: Vec<(&'static str, f32)> = TAXONOMY
            .iter()
            .filter_map(|(id, cues)| {
                let score: f32 = cues
                    .iter()
                    .filter(|(cue, _)| text.find(cue).is_some())
                    .map(|(_, w)| w)
                    .sum();
                (score > 0.0).then_some((*id, score))
            })
            .collect();
        if scored.is_empty() {
            return IntentPrediction {
                intent: OUT_OF_SCOPE,
                confidence: 1.0,
                alternatives: Vec::new(),
            };
        }
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        // Softmax over the cue scores, with the out-of-scope option at 0.
        let norm: f32 = 1.0 + scored.iter().map(|(_, s)| s.exp()).sum::<f32>();
        let (best, best_score) = scored[0];
        IntentPrediction {
            intent: best,
            confidence: best_score.exp() / norm,
            alternatives: scored[1..]
                .iter()
                .take(MAX_ALTERNATIVES)
                .map(|(id, s)| (*id, s.exp() / norm))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(text: &str) -> IntentPrediction {
        IntentClassifier.classify(&Normalized::new(text))
    }

    #[test]
    fn balance_and_history_are_told_apart() {
        assert_eq!(classify("我想查一下卡里的余额").intent, "check_balance");
        assert_eq!(
            classify("帮我看看这个月的交易明细").intent,
            "transaction_history"
        );
        assert_eq!(classify("what's my balance").intent, "check_balance");
        assert_eq!(
            classify("show me my recent transactions").intent,
            "transaction_history"
        );
        assert_eq!(classify("我想查詢帳戶餘額").intent, "check_balance");
    }

    #[test]
    fn nothing_matching_is_out_of_scope() {
        let p = classify("今天天气不错");
        assert_eq!(p.intent, OUT_OF_SCOPE);
        assert!(p.alternatives.is_empty());
    }

    #[test]
    fn confidences_are_probabilities_and_alternatives_ordered() {
        let p = classify("余额和明细都想看");
        assert!(p.confidence > 0.0 && p.confidence < 1.0);
        assert_eq!(p.alternatives.len(), 1);
        assert!(p.alternatives[0].1 <= p.confidence);
    }
}

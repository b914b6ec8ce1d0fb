#!/usr/bin/env bash
# The refiner against llama-diffusion-cli on the same weights with a long canvas (1,024 tokens,
# the shipped refiner's context), end to end, the two programs alternating, REPS repetitions:
#   long_context: 256 new tokens after a 768-token prompt, 64 steps. Sculpt: `sculpt generate`
#                 in diffusion_only mode with its prefix cache; llama.cpp recomputes the whole
#                 canvas every step.
#   spans:        the pipeline's span workload: 32 tokens in four spans of a 1,024-token text,
#                 32 steps. Sculpt: `sculpt refine --rewrite` with the span cache; llama.cpp
#                 writes the same number of tokens after a 992-token prompt, which costs it the
#                 same whole-canvas pass per step.
# Prints JSON: wall seconds and peak RSS (medians) and the ratios llama.cpp ÷ Sculpt (above 1 =
# Sculpt faster).
#
# usage: scripts/bench_refiner_vs_llama.sh LLAMA_CPP_DIR [REPS]
#   LLAMA_CPP_DIR: the prebuilt llama.cpp package (bin/ and scripts/compare.sh); its
#   `compare.sh diffusion` must have run once from this folder, which writes the refiner as a
#   Dream GGUF to build/llamacpp/models/. Environment: SCULPT (default build/sculpt), THREADS (2),
#   LLAMA_BIN (default LLAMA_CPP_DIR/bin; a llama.cpp rebuilt for this CPU).
set -euo pipefail
COMPARE_STEP=diffusion
source "$(dirname "$0")/llama_compare_env.sh" "$@"
require_models refiner-dream-f32-raw.gguf
GGUF=$MODELS/refiner-dream-f32-raw.gguf

# Brown validation text cut to exactly N tokens of the refiner's tokenizer (no BOS); the spans
# text also gets four character ranges of about 8 tokens each, at 1/8, 3/8, 5/8 and 7/8.
"$PY" - "$ROOT" "$W" <<'PY'
import glob, sys, sentencepiece as spm
root, w = sys.argv[1], sys.argv[2]
sp = spm.SentencePieceProcessor(model_file=f"{root}/models/refiner/tokenizer.model")
text = " ".join(" ".join(open(f).read().split()) for f in sorted(glob.glob(f"{root}/data/brown/validation/*.txt"))[:4])
ids = sp.encode(text)
def cut(n):
    t = sp.decode(ids[:n])
    assert len(sp.encode(t)) == n, f"{n} tokens do not survive a round trip"
    return t
open(f"{w}/prompt768.txt", "w").write(cut(767))
open(f"{w}/prompt992.txt", "w").write(cut(991))
full = cut(1023)
open(f"{w}/text1024.txt", "w").write(full)
ranges = []
for k in (1, 3, 5, 7):
    b = full.index(" ", len(full) * k // 8) + 1
    e = b + len(sp.decode(sp.encode(full[b:])[:8]))
    ranges.append(f"{b}:{e}")
open(f"{w}/ranges", "w").write(",".join(ranges))
PY

cat > "$W/diffusion_only.yaml" <<YAML
runtime: {seed: 1, n_threads: $THREADS}
pipeline:
  mode: diffusion_only
  refiner: $ROOT/models/refiner
  retrieve_for_prompt: false
  retrieve_for_refine: false
  max_tokens: 256
refine:
  rule: low_confidence
  steps: 64
YAML

timed() { # NAME COMMAND...: wall seconds and peak RSS of one run into $W/NAME.time
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$W/$name.time" "$@" > "$W/$name.out" 2> "$W/$name.err" < /dev/null \
    || { echo "$name failed:" >&2; tail -3 "$W/$name.err" >&2; exit 1; }
}
llama() { # NAME PROMPT_FILE STEPS
  timed "$1" "$LLAMA_BIN/llama-diffusion-cli" -m "$GGUF" -f "$2" -t "$THREADS" -ub 1024 -b 1024 -c 1024 \
    --diffusion-steps "$3" --diffusion-block-length 1024 --temp 0 --top-k 1 --seed 1
}
for rep in $(seq 1 "$REPS"); do
  llama "long_llama_$rep" "$W/prompt768.txt" 64
  timed "long_sculpt_$rep" "$SCULPT" generate --config "$W/diffusion_only.yaml" --prompt "$(cat "$W/prompt768.txt")" --json
  llama "spans_llama_$rep" "$W/prompt992.txt" 32
  timed "spans_sculpt_$rep" "$SCULPT" refine --model "$ROOT/models/refiner" --input "$W/text1024.txt" \
    --rewrite "$(cat "$W/ranges")" --steps 32 --set refine.cache=spans --set runtime.n_threads="$THREADS" --json
done

"$PY" - "$W" "$REPS" "$THREADS" <<'PY'
import json, statistics, sys
w, reps = sys.argv[1], int(sys.argv[2])
def runs(name):
    rows = [open(f"{w}/{name}_{r}.time").read().split()[-2:] for r in range(1, reps + 1)]
    return statistics.median(float(a) for a, _ in rows), statistics.median(int(b) for _, b in rows) / 1024
out = {"threads": int(sys.argv[3]), "repetitions": reps}
for case in ("long_context", "spans"):
    key = "long" if case == "long_context" else "spans"
    (lw, lr), (sw, sr) = runs(f"{key}_llama"), runs(f"{key}_sculpt")
    out[case] = {"llama_wall_s": lw, "sculpt_wall_s": sw, "wall_ratio_llama_over_sculpt": round(lw / sw, 3),
                 "llama_peak_rss_mib": round(lr), "sculpt_peak_rss_mib": round(sr)}
stage = [s for s in json.load(open(f"{w}/spans_sculpt_1.out"))["trace"]["stages"] if s["stage"] == "refine"][0]
out["spans"]["sculpt_rewritten_tokens"], out["spans"]["sculpt_forward_passes"] = stage["tokens"], stage["forward_passes"]
print(json.dumps(out, indent=2))
PY

#!/usr/bin/env bash
# Int8 weights against llama.cpp, the two programs alternating, REPS repetitions, 2 threads:
#   throughput: prefill 512 and decode 128 tokens (`sculpt bench draft` against `llama-bench`)
#               with the 88M Llama and the shipped drafter quantized by `sculpt model quantize`,
#               against llama.cpp's Q8_0 and F16 of the same weights. A llama.cpp build that
#               cannot run Q8_0 on this CPU ("Illegal instruction") is reported as such.
#   quality:    perplexity on held-out Brown text (data/brown/test) of each model as stored and
#               in int8 (`sculpt score`, sliding windows of the model's context), and beside it
#               llama.cpp's as stored and in Q8_0 (`llama-perplexity`, when the build has it).
# Prints JSON: medians in tokens/s, ratios Sculpt ÷ llama.cpp (above 1 = Sculpt faster), and the
# perplexities with their relative change.
#
# usage: scripts/bench_int8_vs_llama.sh LLAMA_CPP_DIR [REPS]
#   LLAMA_CPP_DIR: the prebuilt llama.cpp package (bin/ and scripts/compare.sh); its
#   `compare.sh ar` must have run once from this folder, which writes the 88M model and the GGUF
#   files to build/llamacpp/models/. Environment: SCULPT (default build/sculpt), THREADS (2),
#   LLAMA_BIN (default LLAMA_CPP_DIR/bin; a llama.cpp rebuilt for this CPU).
set -euo pipefail
source "$(dirname "$0")/llama_compare_env.sh" "$@"
require_models m88_f32_ctx640/config.json m88-q8_0.gguf m88-f16.gguf drafter-f16.gguf

# The int8 copies; the 88M one keeps compare.sh's 640-token context, so that bench draft's
# cache-against-recompute check stays short.
"$SCULPT" model quantize "$MODELS/m88_f32_ctx640" --out "$W/m88_int8" > /dev/null
"$SCULPT" model quantize "$ROOT/models/drafter" --out "$W/drafter_int8" > /dev/null
cat "$ROOT"/data/brown/test/*.txt > "$W/brown_test.txt"

sculpt_bench() { # NAME MODEL_DIR
  "$SCULPT" bench draft --model "$2" --prefill-tokens 512 --decode-tokens 128 --set runtime.n_threads="$THREADS" \
    > "$W/$1.json" 2> "$W/$1.err" || { echo "$1 failed:" >&2; tail -3 "$W/$1.err" >&2; exit 1; }
}
llama_bench() { # NAME GGUF: an "Illegal instruction" (exit 132) is recorded, anything else fails
  local rc=0
  "$LLAMA_BIN/llama-bench" -m "$2" -p 512 -n 128 -t "$THREADS" -r 1 -o json > "$W/$1.json" 2> "$W/$1.err" || rc=$?
  if [ "$rc" -eq 132 ]; then echo '"illegal instruction"' > "$W/$1.json"
  elif [ "$rc" -ne 0 ]; then echo "$1 failed:" >&2; tail -3 "$W/$1.err" >&2; exit 1; fi
}
for rep in $(seq 1 "$REPS"); do
  sculpt_bench "m88_sculpt_$rep" "$W/m88_int8"
  llama_bench "m88_q8_0_$rep" "$MODELS/m88-q8_0.gguf"
  llama_bench "m88_f16_$rep" "$MODELS/m88-f16.gguf"
  sculpt_bench "drafter_sculpt_$rep" "$W/drafter_int8"
  llama_bench "drafter_f16_$rep" "$MODELS/drafter-f16.gguf"
done
for m in m88:"$MODELS/m88_f32_ctx640" m88_int8:"$W/m88_int8" drafter:"$ROOT/models/drafter" drafter_int8:"$W/drafter_int8"; do
  "$SCULPT" score --model "${m#*:}" --input "$W/brown_test.txt" --json > "$W/score_${m%%:*}.json"
done
# llama.cpp's perplexity of the same text, as stored and in Q8_0, when the build has
# llama-perplexity (in build_llama.sh's tree:
#   cmake --build build/llamacpp/llama.cpp-build --target llama-perplexity).
# It scores the second half of each chunk of the context, where `sculpt score` slides its
# windows, so the two tools' perplexities differ; their relative changes compare.
# This llama.cpp build sometimes exits 0 without printing its last chunk and the final estimate
# (1 run in 5 measured here), so a run without one is retried, up to three times.
llama_perplexity() { # NAME GGUF CONTEXT
  for attempt in 1 2 3; do
    "$LLAMA_BIN/llama-perplexity" -m "$2" -f "$W/brown_test.txt" -c "$3" -t "$THREADS" > "$W/ppl_$1.log" 2>&1 \
      || { echo "llama-perplexity $1 failed:" >&2; tail -3 "$W/ppl_$1.log" >&2; exit 1; }
    sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p' "$W/ppl_$1.log" > "$W/ppl_$1.txt"
    [ -s "$W/ppl_$1.txt" ] && return 0
  done
  echo "llama-perplexity $1 printed no final estimate in 3 runs:" >&2; tail -3 "$W/ppl_$1.log" >&2; exit 1
}
if [ -x "$LLAMA_BIN/llama-perplexity" ] && [ -x "$LLAMA_BIN/llama-quantize" ]; then
  "$LLAMA_BIN/llama-quantize" "$MODELS/drafter-f16.gguf" "$W/drafter-q8_0.gguf" q8_0 > "$W/quantize.log" 2>&1 \
    || { echo "llama-quantize failed:" >&2; tail -3 "$W/quantize.log" >&2; exit 1; }
  llama_perplexity m88 "$MODELS/m88-f32.gguf" 640
  llama_perplexity m88_q8_0 "$MODELS/m88-q8_0.gguf" 640
  llama_perplexity drafter "$MODELS/drafter-f16.gguf" 512
  llama_perplexity drafter_q8_0 "$W/drafter-q8_0.gguf" 512
fi

"$PY" - "$W" "$REPS" "$THREADS" <<'PY'
import json, statistics, sys
w, reps = sys.argv[1], int(sys.argv[2])
def load(name, r): return json.load(open(f"{w}/{name}_{r}.json"))
def sculpt(name):
    runs = [load(name, r) for r in range(1, reps + 1)]
    return {"prefill": statistics.median(x["prefill_tokens_per_second"] for x in runs),
            "decode": statistics.median(x["decode_tokens_per_second_batch1"] for x in runs),
            "backend": runs[0]["backend"], "weights_dtype": runs[0]["model"]["weights_dtype"]}
def llama(name):
    runs = [load(name, r) for r in range(1, reps + 1)]
    if any(isinstance(x, str) for x in runs): return {"unavailable": "this llama.cpp build dies with Illegal instruction"}
    pick = lambda x, pp: next(t["avg_ts"] for t in x if (t["n_prompt"] > 0) == pp)
    return {"prefill": statistics.median(pick(x, True) for x in runs), "decode": statistics.median(pick(x, False) for x in runs)}
def ratios(s, l): return {k: round(s[k] / l[k], 3) for k in ("prefill", "decode")} if "decode" in l else None
out = {"threads": int(sys.argv[3]), "repetitions": reps, "tokens_per_second": {}, "perplexity_brown_test": {}}
for model, refs in (("m88", ("q8_0", "f16")), ("drafter", ("f16",))):
    s = sculpt(f"{model}_sculpt")
    entry = {"sculpt_int8": s}
    for ref in refs:
        l = llama(f"{model}_{ref}")
        entry[f"llama_{ref}"] = l
        entry[f"ratio_sculpt_int8_over_llama_{ref}"] = ratios(s, l)
    out["tokens_per_second"][model] = entry
    base, q = (json.load(open(f"{w}/score_{n}.json")) for n in (model, f"{model}_int8"))
    out["perplexity_brown_test"][model] = {"tokens": base["n_tokens"], "as_stored": round(base["perplexity"], 4),
                                          "int8": round(q["perplexity"], 4),
                                          "relative_change": round(q["perplexity"] / base["perplexity"] - 1, 6)}
    try:
        lb, lq = (float(open(f"{w}/ppl_{n}.txt").read()) for n in (model, f"{model}_q8_0"))
        out["perplexity_brown_test"][model]["llama_cpp"] = {"as_stored": lb, "q8_0": lq,
                                                             "relative_change": round(lq / lb - 1, 6)}
    except OSError:  # the shell above ran llama-perplexity only when the build has it
        out["perplexity_brown_test"][model]["llama_cpp"] = "llama-perplexity not built"
print(json.dumps(out, indent=2))
PY

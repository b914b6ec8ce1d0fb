#!/usr/bin/env bash
# Sampled drafts end to end against llama.cpp: one process each, 256 new tokens after the same
# 64-token prompt, past EOS, the two programs alternating, REPS repetitions, 2 threads; wall time
# and peak resident memory from GNU time.
#   Sculpt:    sculpt draft --model DIR --prompt P --max-tokens 256 --ignore-eos --seed S ...
#   llama.cpp: llama-completion -m GGUF -p P -n 256 --ignore-eos --seed S ... -fa off -ctk f32 -ctv f32
# with the same sampler settings on both sides, every other filter off:
#   plain:   temperature 0.8 (`sculpt draft`'s defaults)
#   nucleus: temperature 0.7, top-p 0.95 (the shipped pipelines')
# Models: the shipped drafter (float16) against its F16 GGUF, and the 88M model in float16
# against its F16 GGUF. Prints JSON: medians, ratios Sculpt ÷ llama.cpp (below 1 = Sculpt faster
# or smaller), and whether Sculpt's sampled draft loaded LibTorch (an untimed run under LD_DEBUG).
#
# usage: scripts/bench_sampled_draft_vs_llama.sh LLAMA_CPP_DIR [REPS]
#   LLAMA_CPP_DIR: the prebuilt llama.cpp package; its `compare.sh ar` must have run once from
#   this folder, which writes the 88M model and the GGUF files to build/llamacpp/models/.
#   Environment: SCULPT (default build/sculpt), THREADS (2), LLAMA_BIN (default LLAMA_CPP_DIR/bin;
#   a llama.cpp rebuilt for this CPU).
set -euo pipefail
source "$(dirname "$0")/llama_compare_env.sh" "$@"
require_models m88_f16/config.json m88-f16.gguf drafter-f16.gguf
PROMPT=$(cat "$PKG/scripts/prompt64.txt")

declare -A SCULPT_SAMPLER=([plain]="--temperature 0.8" [nucleus]="--temperature 0.7 --top-p 0.95")
declare -A LLAMA_SAMPLER=([plain]="--temp 0.8 --top-k 0 --top-p 1 --min-p 0"
                          [nucleus]="--temp 0.7 --top-k 0 --top-p 0.95 --min-p 0")
timed() { # OUT COMMAND...: runs COMMAND with its stdout in OUT.out, its time in OUT.time
  local out=$1; shift
  /usr/bin/time -f "%e %M" -o "$out.time" "$@" > "$out.out" 2> "$out.err" < /dev/null \
    || { echo "failed: $*" >&2; tail -3 "$out.err" >&2; exit 1; }
}
for model in drafter:"$ROOT/models/drafter" m88:"$MODELS/m88_f16"; do
  LD_DEBUG=libs "$SCULPT" draft --model "${model#*:}" --prompt "$PROMPT" --max-tokens 4 > /dev/null 2> "$W/libs_${model%%:*}.txt"
done
for rep in $(seq 1 "$REPS"); do
  for model in drafter:"$ROOT/models/drafter":drafter-f16 m88:"$MODELS/m88_f16":m88-f16; do
    IFS=: read -r name dir gguf <<< "$model"
    for s in plain nucleus; do
      # shellcheck disable=SC2086  # the sampler settings are words
      timed "$W/sculpt_${name}_${s}_$rep" "$SCULPT" draft --model "$dir" --prompt "$PROMPT" --max-tokens 256 \
        --ignore-eos --seed "$rep" ${SCULPT_SAMPLER[$s]} --json
      # shellcheck disable=SC2086
      timed "$W/llama_${name}_${s}_$rep" "$LLAMA_BIN/llama-completion" -m "$MODELS/$gguf.gguf" -p "$PROMPT" -n 256 \
        --ignore-eos --seed "$rep" ${LLAMA_SAMPLER[$s]} -t "$THREADS" -fa off -ctk f32 -ctv f32 -no-cnv \
        --no-display-prompt
    done
  done
done

/usr/bin/python3 - "$W" "$REPS" <<'PY'
import json, statistics, sys
w, reps = sys.argv[1], int(sys.argv[2])
def timing(prefix):  # (wall seconds, peak RSS MiB) per repetition
    runs = [open(f"{w}/{prefix}_{r}.time").read().split() for r in range(1, reps + 1)]
    return [float(t[0]) for t in runs], [int(t[1]) / 1024 for t in runs]
out = {"reps": reps, "new_tokens": 256, "cases": []}
for name in ("drafter", "m88"):
    for s in ("plain", "nucleus"):
        sw, sm = timing(f"sculpt_{name}_{s}")
        lw, lm = timing(f"llama_{name}_{s}")
        drafts = [json.load(open(f"{w}/sculpt_{name}_{s}_{r}.out")) for r in range(1, reps + 1)]
        out["cases"].append({
            "model": name, "sampler": s,
            "sculpt_wall_s": statistics.median(sw), "llama_wall_s": statistics.median(lw),
            "wall_ratio": round(statistics.median(sw) / statistics.median(lw), 3),
            "sculpt_peak_rss_mib": round(statistics.median(sm), 1), "llama_peak_rss_mib": round(statistics.median(lm), 1),
            "rss_ratio": round(statistics.median(sm) / statistics.median(lm), 3),
            "sculpt_tokens": [len(d["token_ids"]) for d in drafts],
            "sculpt_loads_libtorch": "libtorch_cpu" in open(f"{w}/libs_{name}.txt").read()})
print(json.dumps(out, indent=1))
PY

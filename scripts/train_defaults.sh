#!/usr/bin/env bash
# Trains Sculpt's default models from scratch on the Brown corpus's training split
# (data/brown/train; scripts/prepare_brown.sh) and exports each as a Hugging Face folder with
# float16 weights:
#   1. the tokenizer   sentencepiece BPE, 4,096 pieces, byte fallback, [MASK]  (~5 s)
#   2. models/drafter  configs/train/default_drafter.yaml    2.5M causal, 2 layers: drafts fast
#   3. models/ar_base  configs/train/default_ar_base.yaml    4.0M causal, 4 layers: the strong baseline
#   4. models/refiner  configs/train/default_refiner.yaml    ar_base adapted to masked diffusion
#   5. models/evaluator configs/train/default_evaluator.yaml 4.0M causal, scores outputs only
# Two lanes run side by side on one thread each, drafter then evaluator and ar_base then
# refiner: about 1 h 50 min on 2 cores (each stage's time is on its model card). Why these
# sizes: on Brown's 1.45M training tokens, causal models larger than 4.0M (6.9M to 10.6M, any width,
# depth or learning rate tried) trail the 4.0M model at equal tokens (README, Default models),
# so 4.0M is the larger model and the drafter is made smaller and shallower than it. All four
# exports are committed (models/*/README.md are their model cards, about 29 MB in all).
# Interrupted, it resumes: run it again and each stage continues from its last checkpoint in
# build/defaults/; finished stages are skipped.
#   bash scripts/train_defaults.sh [STAGE...]    # default: all of them
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(drafter ar_base refiner evaluator)
for stage in "${stages[@]}"; do
  [ -f "configs/train/default_$stage.yaml" ] || { echo "train_defaults: unknown stage '$stage'" >&2; exit 1; }
done

declare -A roles=(
  [drafter]="The drafter of Sculpt's default pipeline (configs/pipeline/brown.yaml): a small causal model that writes the draft fast and records each token's log-probability and entropy."
  [ar_base]="The autoregressive base the default refiner is adapted from, and the ablations' strong baseline (AR only with a model of the evaluator's size)."
  [refiner]="The refiner of Sculpt's default pipeline: a masked-diffusion model (bidirectional attention, [MASK] token) that re-masks the draft's weak spans and denoises them in parallel over the whole context. It loads in Sculpt; Hugging Face's LlamaForCausalLM reads the weights but would run them causally."
  [evaluator]="The evaluator: a causal model larger than the drafter, used only to score what the other models write (evaluator NLL in sculpt ablate and sculpt generate --score). No model it scores starts from its weights."
)

bash scripts/build_cli.sh

mkdir -p build/defaults
if [ ! -f build/defaults/tokenizer.model ]; then
  ./build/sculpt tokenizer train --config configs/train/default_drafter.yaml --input data/brown/train/*.txt \
    --out build/defaults/tokenizer
fi
# One stage, to the end: train (resuming from its last checkpoint), export, model card.
train_stage() {
  local stage=$1 threads=$2 out=build/defaults/$1 resume=
  if [ -f "$out/trained.json" ]; then echo "train_defaults: $stage already trained"; else
    [ -f "$out/trainer_state/state.json" ] && resume=--resume
    ./build/sculpt train --config "configs/train/default_$stage.yaml" --set runtime.n_threads="$threads" $resume
    ./build/sculpt model export "$out" --out "$out.export" --dtype float16
    echo "{\"finished\": \"$(date -u +%FT%TZ)\"}" > "$out/trained.json"
  fi
  python3 scripts/model_card.py "$out.export" "$out" "configs/train/default_$stage.yaml" "${roles[$stage]}"
}
wanted() { [[ " ${stages[*]} " == *" $1 "* ]]; }

# Two lanes at one thread each: these models are too small for a second thread to help much
# (the 10.6M model: 947 tokens/s on one thread, 1.1k on two), so two stages side by side do
# ~1.7x the work of one stage on both cores. The refiner needs ar_base; the others only the
# tokenizer. Lane a builds the token shards both lanes read; lane b waits for them.
lane_a=0 lane_b=0
{ wanted drafter || wanted evaluator; } && lane_a=1
{ wanted ar_base || wanted refiner; } && lane_b=1
threads=$((lane_a + lane_b == 2 ? 1 : 2))
pids=()
if [ "$lane_a" = 1 ]; then
  ( for s in drafter evaluator; do if wanted $s; then train_stage $s "$threads"; fi; done ) & pids+=($!)
fi
if [ "$lane_b" = 1 ]; then
  ( if [ "$lane_a" = 1 ]; then
      until [ -f build/defaults/brown.shards/manifest.json ] || ! kill -0 "${pids[0]}" 2>/dev/null; do sleep 5; done
    fi
    for s in ar_base refiner; do if wanted $s; then train_stage $s "$threads"; fi; done ) & pids+=($!)
fi
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" = 0 ] || { echo "train_defaults: a stage failed (see above); run again to resume" >&2; exit 1; }
# Published together at the end: models/ never holds a drafter and a refiner of two generations
# (two tokenizers) while a run is under way.
for stage in "${stages[@]}"; do
  rm -rf "models/$stage.tmp" && cp -r "build/defaults/$stage.export" "models/$stage.tmp"
done
for stage in "${stages[@]}"; do
  rm -rf "models/$stage" && mv "models/$stage.tmp" "models/$stage"
done
echo "train_defaults: ${stages[*]} ready in models/; commit them to ship them"

#!/usr/bin/env bash
# Trains Sculpt's default models from scratch on the Brown corpus's training split
# (data/brown/train; scripts/prepare_brown.sh) and exports each as a Hugging Face folder with
# float16 weights:
#   1. the tokenizer   sentencepiece BPE, 4,096 pieces, byte fallback, [MASK]  (~5 s)
#   2. models/drafter  configs/train/default_drafter.yaml    4.0M causal        (~30 min)
#   3. models/ar_base  configs/train/default_ar_base.yaml    10.6M causal       (~55 min)
#   4. models/refiner  configs/train/default_refiner.yaml    ar_base adapted to masked diffusion (~50 min)
#   5. models/evaluator configs/train/default_evaluator.yaml 10.6M causal, scores outputs only (~55 min)
# About three hours on 2 cores. The drafter and the refiner are committed (models/*/README.md
# are their model cards); ar_base (the strong baseline of the ablations) and the evaluator are
# not, this command rebuilds them. Interrupted, it resumes: run it again and each stage
# continues from its last checkpoint in build/defaults/; finished stages are skipped.
#   bash scripts/train_defaults.sh [STAGE...]    # default: all of them, in this order
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
  [ar_base]="The autoregressive base the default refiner is adapted from, and the ablations' strong baseline (AR only with a model of the evaluator's size). Not shipped."
  [refiner]="The refiner of Sculpt's default pipeline: a masked-diffusion model (bidirectional attention, [MASK] token) that re-masks the draft's weak spans and denoises them in parallel over the whole context. It loads in Sculpt; Hugging Face's LlamaForCausalLM reads the weights but would run them causally."
  [evaluator]="The evaluator: a causal model larger than the drafter, used only to score what the other models write (evaluator NLL in sculpt ablate and sculpt generate --score). No model it scores starts from its weights. Not shipped."
)

bash scripts/build_cli.sh

mkdir -p build/defaults
if [ ! -f build/defaults/tokenizer.model ]; then
  ./build/sculpt tokenizer train --config configs/train/default_drafter.yaml --input data/brown/train/*.txt \
    --out build/defaults/tokenizer
fi
for stage in "${stages[@]}"; do
  out=build/defaults/$stage
  if [ -f "$out/trained.json" ]; then echo "train_defaults: $stage already trained"; else
    if [ -f "$out/trainer_state/state.json" ]; then resume=--resume; else resume=; fi
    ./build/sculpt train --config "configs/train/default_$stage.yaml" $resume
    ./build/sculpt model export "$out" --out "$out.export" --dtype float16
    echo "{\"finished\": \"$(date -u +%FT%TZ)\"}" > "$out/trained.json"
  fi
  python3 scripts/model_card.py "$out.export" "$out" "configs/train/default_$stage.yaml" "${roles[$stage]}"
done
# Published together at the end: models/ never holds a drafter and a refiner of two generations
# (two tokenizers) while a run is under way.
for stage in "${stages[@]}"; do
  rm -rf "models/$stage.tmp" && cp -r "build/defaults/$stage.export" "models/$stage.tmp"
done
for stage in "${stages[@]}"; do
  rm -rf "models/$stage" && mv "models/$stage.tmp" "models/$stage"
done
echo "train_defaults: ${stages[*]} ready in models/; commit models/drafter and models/refiner to ship them"

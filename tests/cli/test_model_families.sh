#!/usr/bin/env bash
# The model families through the CLI: each family's reference folder (families_reference.py, with
# the shipped refiner's tokenizer beside it) is described by `sculpt model info` as the family
# publishes it, drafts (causal families), refines and refines in the pipeline (diffusion
# families). Usage: test_model_families.sh SCULPT_BINARY REFERENCE_PYTHON SOURCE_DIR
set -u
sculpt=$1 python=$2 source=$3
"$python" -c 'import torch, numpy' 2>/dev/null || { echo "Debian python3 with torch/numpy not found"; exit 77; }
work=$(mktemp -d /tmp/sculpt_families_XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0; passed=0
check() {  # check NAME COMMAND...: the command must succeed
  local name=$1; shift
  if "$@" >"$work/out" 2>"$work/err"; then passed=$((passed + 1)); else
    echo "FAIL $name:"; sed 's/^/    /' "$work/err" | head -5; failures=$((failures + 1)); fi
}

printf 'The jury said the election was conducted fairly and the county was pleased.\n' >"$work/text.txt"
# family|extra reference arguments|then what `model info --json` must say: family name, attention,
# logits alignment (- for causal), config.json's mask id (null = none), block size (- = none)
while IFS='|' read -r family args name attention alignment mask block; do
  dir="$work/$family"
  check "${family}_fixture" "$python" "$source/tests/reference/families_reference.py" --family "$family" --out "$dir" $args
  cp "$source/models/refiner/tokenizer.model" "$dir/"
  check "${family}_info" sh -c "'$sculpt' model info '$dir' --json >'$dir/info.json' && '$python' -c \"
import json, sys
j = json.load(open('$dir/info.json'))
want = {'family': '$name', 'attention': '$attention', 'logits_alignment': None if '$alignment' == '-' else '$alignment',
        'mask_token_id': json.loads('$mask'), 'block_size': None if '$block' == '-' else int('$block')}
got = {k: j.get(k) for k in want}
assert got == want, (got, want)
assert j['tokenizer']['pieces'] == j['vocab_size'] == 4096
if '$attention' != 'causal':  # the refiner's mask: config.json's, else the tokenizer's [MASK] (3)
    assert j['refiner_mask_id'] == (3 if want['mask_token_id'] is None else want['mask_token_id']), j['refiner_mask_id']
\" && '$sculpt' model info '$dir' | grep -q '^architecture $name'"
  if [ "$attention" = causal ]; then
    check "${family}_draft" "$sculpt" draft --model "$dir" --prompt "The jury said" --max-tokens 6
  else
    check "${family}_refine" "$sculpt" refine --model "$dir" --input "$work/text.txt" --rewrite 4:30
    printf 'pipeline:\n  drafter: %s\n  refiner: %s\n  max_tokens: 12\nspans: {logprob_threshold: -1.0}\n' \
      "$work/qwen3" "$dir" >"$work/$family.yaml"
    check "${family}_pipeline" "$sculpt" generate --config "$work/$family.yaml" --prompt "The jury said" --json
  fi
done <<'EOF'
qwen3||Qwen3|causal|-|null|-
llama3|--position-offset 40|Llama|causal|-|null|-
dream|--mask-id 5|Dream|bidirectional|shifted|5|-
llada|--mask-id 7|LLaDA|bidirectional|unshifted|7|-
sdar|--mask-id 9|SDAR|block_causal|unshifted|9|4
fast_dllm_v2|--mask-id 3|Fast-dLLM v2|block_causal|shifted|null|4
EOF

# The hub recipes (configs/hub, docs/hub_models.md) with these folders standing in for the models
# they name. Qwen drafting for Dream and SDAR shares the tokenizer; for LLaDA, a Llama drafter with
# a tokenizer of its own (300 pieces) takes the cross-tokenizer path: the trace's spans event
# carries the draft's text cut at LLaDA's tokens.
for i in $(seq 1 60); do echo "The jury said the election in county $i was conducted fairly."; done >"$work/corpus.txt"
printf 'tokenizer:\n  vocab_size: 300\n' >"$work/tok300.yaml"
check llama300_tokenizer "$sculpt" tokenizer train --config "$work/tok300.yaml" --input "$work/corpus.txt" --out "$work/tok300"
check llama300_fixture "$python" "$source/tests/reference/families_reference.py" --family llama3 --vocab-size 300 --out "$work/llama300"
cp "$work/tok300.model" "$work/llama300/tokenizer.model"
while IFS='|' read -r recipe drafter refiner crossing; do
  check "recipe_$recipe" "$sculpt" generate --config "$source/configs/hub/$recipe.yaml" --set pipeline.drafter="$work/$drafter" \
    --set pipeline.refiner="$work/$refiner" --set pipeline.max_tokens=12 --set spans.logprob_threshold=-1.0 \
    --prompt "The jury said" --trace "$work/$recipe.trace"
  check "recipe_${recipe}_path" "$python" -c "
import json
t = json.load(open('$work/$recipe.trace'))
spans = [e for e in t['events'] if e['event'] == 'spans']
assert spans, 'no spans event'
crossed = 'token_texts' in spans[0]
assert crossed == ('$crossing' == 'yes'), (crossed, '$crossing')
section = [e for e in t['events'] if e['event'] == 'section'][0]
if crossed: assert ''.join(spans[0]['token_texts']) == section['draft'], (spans[0]['token_texts'], section['draft'])
assert t['text'], t"
done <<'RECIPES'
qwen2.5-0.5b_dream-7b|qwen3|dream|no
qwen3-0.6b_sdar-1.7b|qwen3|sdar|no
llama3.2-1b_llada-8b|llama300|llada|yes
RECIPES

echo "$passed passed, $failures failed"
[ $failures -eq 0 ]

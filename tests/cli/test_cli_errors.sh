#!/usr/bin/env bash
# Bad input at the CLI (plus one round trip of the default config): every case must exit non-zero with exactly one line on stderr that names
# the problem, never a crash, a signal or a stack trace. Usage: test_cli_errors.sh SCULPT_BINARY
set -u
sculpt=$1
work=$(mktemp -d /tmp/sculpt_cli_XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0; passed=0

# pass_case; fail_case NAME WHY [OUTPUT_FILE]: count one case; a failure prints WHY and the first
# lines of OUTPUT_FILE.
pass_case() { passed=$((passed + 1)); }
fail_case() {
  echo "FAIL $1: $2"
  [ -n "${3:-}" ] && sed 's/^/    /' "$3" | head -5
  failures=$((failures + 1))
}

# expect_error NAME EXPECTED_SUBSTRING -- COMMAND...
expect_error() {
  local name=$1 want=$2; shift 3
  "$@" >"$work/out" 2>"$work/err"
  local rc=$? lines
  lines=$(wc -l <"$work/err")
  if [ $rc -eq 0 ] || [ $rc -ge 128 ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$want" "$work/err"; then
    fail_case "$name" "exit $rc, $lines stderr lines, wanted '$want':" "$work/err"
  else
    pass_case
  fi
}

# expect_warned_error NAME EXPECTED_SUBSTRING -- COMMAND...: like expect_error, but progress and
# warning lines (one per skipped input) may come before the one error line.
expect_warned_error() {
  local name=$1 want=$2; shift 3
  "$@" >"$work/out" 2>"$work/err"
  local rc=$? others
  others=$(head -n -1 "$work/err" | grep -c "error")
  if [ $rc -eq 0 ] || [ $rc -ge 128 ] || [ "$others" -ne 0 ] || ! tail -n 1 "$work/err" | grep -qF -- "$want"; then
    fail_case "$name" "exit $rc, wanted warnings then '$want':" "$work/err"
  else
    pass_case
  fi
}

# expect_policy NAME EXPECTED_SUBSTRING -- COMMAND...: input with a documented policy (README,
# "Bad input"): exit 0, no signal, and EXPECTED_SUBSTRING somewhere in stdout or stderr.
expect_policy() {
  local name=$1 want=$2; shift 3
  "$@" >"$work/out" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] || ! grep -qF -- "$want" "$work/out"; then
    fail_case "$name" "exit $rc, wanted '$want':" "$work/out"
  else
    pass_case
  fi
}

printf 'model:\n  hidden_size: 64\n  hiden_size: 3\n' >"$work/typo.yaml"
printf 'model:\n  hidden_size: sixty\n' >"$work/type.yaml"
printf 'model: [1, 2\n' >"$work/syntax.yaml"
printf 'runtime:\n  n_threads: -4\n' >"$work/range.yaml"
head -c 3000 /dev/urandom >"$work/garbage.model"
mkdir -p "$work/empty_model" "$work/bad_model"
printf '{"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2}' >"$work/bad_model/config.json"
printf '\x10\x00\x00\x00\x00\x00\x00\x00{"a":1}' >"$work/bad_model/model.safetensors"

expect_error unknown_command      "unknown command 'frobnicate'" -- "$sculpt" frobnicate
expect_error unknown_option       "unrecognised option"          -- "$sculpt" model info --bogus x
expect_error missing_model_dir    "does not exist"               -- "$sculpt" model info "$work/nope"
expect_error model_dir_no_config  "config.json"                  -- "$sculpt" model info "$work/empty_model"
expect_error bad_safetensors      "model.safetensors"            -- "$sculpt" model info "$work/bad_model"
expect_error config_unknown_key   "typo.yaml:3: model.hiden_size: unknown key" -- "$sculpt" config show "$work/typo.yaml"
expect_error config_wrong_type    "type.yaml:2: model.hidden_size" -- "$sculpt" config show "$work/type.yaml"
expect_error config_syntax        "syntax.yaml"                  -- "$sculpt" config show "$work/syntax.yaml"
expect_error config_range         "range.yaml:2: runtime.n_threads" -- "$sculpt" config show "$work/range.yaml"
expect_error config_missing       "nope.yaml"                    -- "$sculpt" config show "$work/nope.yaml"
expect_error set_unknown_key      "--set model.hidden_sise=3"    -- "$sculpt" config show --set model.hidden_sise=3
expect_error set_no_equals        "--set model.hidden_size"      -- "$sculpt" config show --set model.hidden_size
expect_error garbage_tokenizer    "garbage.model"                -- "$sculpt" tokenizer encode --model "$work/garbage.model" hi
expect_error train_missing_input  "does not exist"               -- "$sculpt" tokenizer train --input "$work/none.txt" --out "$work/t"
expect_error draft_missing_model   "does not exist"               -- "$sculpt" draft --model "$work/nope" --prompt hi
expect_error draft_bad_top_p      "top_p"                        -- "$sculpt" draft --model "$work/nope" --prompt hi --top-p 0
expect_error score_missing_input  "nope.txt"                     -- "$sculpt" score --model "$work/bad_model" --input "$work/nope.txt"
expect_error train_no_tokenizer   "tokenizer"                    -- "$sculpt" train --set data.corpus="$work" --set train.out_dir="$work/out"
expect_error init_bad_dtype       "--dtype"                      -- "$sculpt" model init --tokenizer x --out y --dtype int8

# Refinement: a random-weight refiner (and two checkpoints that cannot refine) made with the CLI.
mkdir -p "$work/docs"
for i in $(seq 1 200); do echo "The jury said the election in county $i was conducted fairly."; done >"$work/corpus.txt"
cp "$work/corpus.txt" "$work/docs/a.txt"
printf 'The jury said the election was fair.\n' >"$work/text.txt"
printf 'The jury [___:x] said.\n' >"$work/gap.txt"
printf 'model:\n  hidden_size: 32\n  intermediate_size: 64\n  num_hidden_layers: 1\n  num_attention_heads: 2\n  max_position_embeddings: 64\n  attention: bidirectional\n' >"$work/refiner.yaml"
printf 'tokenizer:\n  vocab_size: 300\n' >"$work/tok.yaml"
printf 'tokenizer:\n  vocab_size: 300\n  mask_piece: ""\n' >"$work/tok_nomask.yaml"
if "$sculpt" tokenizer train --config "$work/tok.yaml" --input "$work/corpus.txt" --out "$work/tok" >/dev/null 2>&1 &&
   "$sculpt" tokenizer train --config "$work/tok_nomask.yaml" --input "$work/corpus.txt" --out "$work/tok_nomask" >/dev/null 2>&1 &&
   "$sculpt" model init --config "$work/refiner.yaml" --tokenizer "$work/tok.model" --out "$work/refiner" >/dev/null &&
   "$sculpt" model init --config "$work/refiner.yaml" --set model.attention=causal --tokenizer "$work/tok.model" --out "$work/causal" >/dev/null &&
   "$sculpt" model init --config "$work/refiner.yaml" --tokenizer "$work/tok_nomask.model" --out "$work/nomask" >/dev/null; then
  pass_case
else
  fail_case refiner_fixtures "could not make the test models"
fi
expect_error refine_missing_input "nope.txt"                     -- "$sculpt" refine --model "$work/refiner" --input "$work/nope.txt"
expect_error refine_missing_model "does not exist"               -- "$sculpt" refine --model "$work/nope" --input "$work/text.txt"
expect_error refine_range_outside "rewrite[0] 0:999: is empty or outside the text's 37 characters" -- "$sculpt" refine --model "$work/refiner" --input "$work/text.txt" --rewrite 0:999
expect_error refine_range_syntax  "--rewrite '5-9': expected begin:end" -- "$sculpt" refine --model "$work/refiner" --input "$work/text.txt" --rewrite 5-9
expect_error refine_lock_overlap  "lock[0] 0:10: overlaps rewrite[0] 5:12" -- "$sculpt" refine --model "$work/refiner" --input "$work/text.txt" --lock 0:10 --rewrite 5:12
expect_error refine_phrase_no_room "'hello' needs room"          -- "$sculpt" refine --model "$work/refiner" --input "$work/text.txt" --require hello
expect_error refine_require_at_syntax "--require-at 'x:hello'"   -- "$sculpt" refine --model "$work/refiner" --input "$work/text.txt" --require-at x:hello
expect_error refine_bad_gap       "gap marker at 9: expected [___] or [___:N]" -- "$sculpt" refine --model "$work/refiner" --input "$work/gap.txt"
expect_error refine_bad_tau       "--tau"                        -- "$sculpt" refine --model "$work/refiner" --input "$work/text.txt" --tau 1.5
expect_error refine_causal_model  "bidirectional or block_causal" -- "$sculpt" refine --model "$work/causal" --input "$work/text.txt" --rewrite 0:5
expect_error refine_no_mask_token "mask token"                   -- "$sculpt" refine --model "$work/nomask" --input "$work/text.txt" --rewrite 0:5
expect_error refine_empty_input   "empty"                        -- "$sculpt" refine --model "$work/refiner" --input /dev/null
expect_error train_mdm_causal     "bidirectional or block_causal" -- "$sculpt" train --set data.corpus="$work/docs" --set train.tokenizer="$work/tok.model" --set train.out_dir="$work/mdm" --set train.objective=masked_diffusion --set model.hidden_size=32 --set model.intermediate_size=64 --set model.num_hidden_layers=1 --set model.num_attention_heads=2 --set data.seq_len=16
# The pipeline over those models (the causal one drafts, the bidirectional one refines).
printf 'pipeline:\n  drafter: %s\n  refiner: %s\n  max_tokens: 12\nspans: {logprob_threshold: -1.0}\n' "$work/causal" "$work/refiner" >"$work/pipeline.yaml"
printf 'pipeline:\n  drafter: %s\n  refiner: %s\n' "$work/nope" "$work/refiner" >"$work/pipeline_missing.yaml"
expect_error generate_no_config    "--config is required"         -- "$sculpt" generate --prompt hi
expect_error generate_missing_model "pipeline_missing.yaml: pipeline.drafter" -- "$sculpt" generate --config "$work/pipeline_missing.yaml" --prompt hi
expect_error generate_bad_backend  "pipeline.yaml: retrieval.backend: unknown backend 'elastic'" -- "$sculpt" generate --config "$work/pipeline.yaml" --prompt hi --set retrieval.backend=elastic
expect_error generate_bad_max      "--max-tokens"                 -- "$sculpt" generate --config "$work/pipeline.yaml" --prompt hi --max-tokens 0
expect_error serve_no_config       "--config is required"         -- "$sculpt" serve --port 0
expect_error serve_bad_parallel    "--parallel must be in [1, 256]" -- "$sculpt" serve --config "$work/pipeline.yaml" --parallel 0
expect_error serve_bad_config_key  "--set refine.stpes=2: unknown key 'refine.stpes'" -- "$sculpt" serve --config "$work/pipeline.yaml" --set refine.stpes=2
expect_error serve_empty_key_file  "is empty: no API key in it"   -- "$sculpt" serve --config "$work/pipeline.yaml" --api-key-file /dev/null
expect_warned_error serve_missing_model "pipeline_missing.yaml: pipeline.drafter" -- "$sculpt" serve --config "$work/pipeline_missing.yaml" --port 0
expect_error generate_old_mode_key "--set draft.enabled=false: not a key any more; use pipeline.mode" -- "$sculpt" generate --config "$work/pipeline.yaml" --prompt hi --set draft.enabled=false
expect_error generate_bad_mode     "--set pipeline.mode=both: expected one of hybrid, ar_only, diffusion_only" -- "$sculpt" generate --config "$work/pipeline.yaml" --prompt hi --set pipeline.mode=both
printf 'pipeline:\n  drafter: %s\n  refiner: %s\nrefine:\n  span_cache: true\n' "$work/causal" "$work/refiner" >"$work/pipeline_old_keys.yaml"
expect_error generate_old_cache_key "pipeline_old_keys.yaml:5: refine.span_cache: not a key any more; use refine.cache" -- "$sculpt" generate --config "$work/pipeline_old_keys.yaml" --prompt hi
printf '{"prompt": "The jury"}\n{"prompt": \n' >"$work/bad_prompts.jsonl"
: >"$work/empty_prompts.jsonl"
expect_error batch_needs_out      "--prompts and --out go together" -- "$sculpt" generate --config "$work/pipeline.yaml" --prompts "$work/bad_prompts.jsonl"
expect_error batch_and_prompt     "not both"                     -- "$sculpt" generate --config "$work/pipeline.yaml" --prompt hi --prompts "$work/bad_prompts.jsonl" --out "$work/o.jsonl"
expect_error batch_bad_line       "bad_prompts.jsonl:2: not JSON" -- "$sculpt" generate --config "$work/pipeline.yaml" --prompts "$work/bad_prompts.jsonl" --out "$work/o.jsonl"
expect_error batch_empty_file     "empty_prompts.jsonl: no prompt in the file" -- "$sculpt" generate --config "$work/pipeline.yaml" --prompts "$work/empty_prompts.jsonl" --out "$work/o.jsonl"
expect_error launch_no_command    "no command"                   -- "$sculpt" launch --nproc 2
expect_error launch_bad_nproc     "--nproc: 0 must be in [1, 1024]" -- "$sculpt" launch --nproc 0 -- true
expect_error launch_nodes_no_port "--master-port: is required with --nnodes 2" -- "$sculpt" launch --nnodes 2 -- true
expect_error launch_bad_env       "WORLD_SIZE: 'x' is not an integer" -- env WORLD_SIZE=x "$sculpt" train --config "$work/refiner.yaml"
expect_error refine_config_no_refiner "pipeline.refiner"          -- "$sculpt" refine --config "$work/pipeline_missing.yaml" --set pipeline.refiner= --input "$work/text.txt"
expect_error generate_score_no_evaluator "pipeline.yaml: --score needs pipeline.evaluator" -- "$sculpt" generate --config "$work/pipeline.yaml" --prompt hi --score
expect_error generate_score_missing_evaluator "nope" -- "$sculpt" generate --config "$work/pipeline.yaml" --prompt hi --score --set pipeline.evaluator="$work/nope"
if "$sculpt" generate --config "$work/pipeline.yaml" --prompt "The jury" --json >"$work/gen.json" 2>"$work/err" &&
   grep -q '"stages"' "$work/gen.json" &&
   "$sculpt" generate --config "$work/pipeline.yaml" --prompt "The jury" --trace "$work/trace.json" | grep -q "^The jury" &&
   grep -q '"stages"' "$work/trace.json" &&
   "$sculpt" generate --config "$work/pipeline.yaml" --prompt "The jury" --score --set pipeline.evaluator="$work/causal" 2>&1 >/dev/null |
     grep -q "^evaluator .*causal: NLL [0-9.]* nats/token" &&
   "$sculpt" refine --config "$work/pipeline.yaml" --input "$work/text.txt" --rewrite 4:12 --show-edits >/dev/null 2>"$work/err"; then
  pass_case
else
  fail_case generate_ok "" "$work/err"
fi
# Mixture of experts: a Mixtral-layout model reports total and active parameters; a bad top-k is refused.
printf 'model:\n  hidden_size: 32\n  intermediate_size: 64\n  num_hidden_layers: 2\n  num_attention_heads: 2\n  num_local_experts: 4\n  num_experts_per_tok: 2\n' >"$work/moe.yaml"
if "$sculpt" model init --config "$work/moe.yaml" --tokenizer "$work/tok.model" --out "$work/moe" >/dev/null 2>"$work/err" &&
   "$sculpt" model info "$work/moe" --json >"$work/moe.json" 2>"$work/err" &&
   python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['architecture']=='mixtral' and j['experts']['per_layer']==4 and j['active_parameters'] < j['parameters'], j" "$work/moe.json" 2>"$work/err"; then
  pass_case
else
  fail_case moe_info "" "$work/err"
fi
expect_error moe_bad_top_k       "num_experts_per_tok"          -- "$sculpt" model init --config "$work/moe.yaml" --set model.num_experts_per_tok=5 --tokenizer "$work/tok.model" --out "$work/moe5"
expect_error bench_moe_bad_top_k  "--top-k"                      -- "$sculpt" bench moe --experts 2 --top-k 3
expect_error bench_refine_no_spans "--remasked-tokens"             -- "$sculpt" bench refine --model "$work/nope" --remasked-tokens 0 --windows 0 --span-windows 0
expect_error refine_bad_backend   "refine.backend"               -- "$sculpt" refine --model "$work/nope" --input - --set refine.backend=fast
# Ablations over that pipeline: bad files, then one small good run that a rerun keeps.
printf 'base: %s\nevaluator: %s\neval: {corpus: %s, split: all, n_prompts: 2, prompt_tokens: 4, max_tokens: 4, warmup: false}\n' \
  "$work/pipeline.yaml" "$work/causal" "$work/docs" >"$work/ablation_head.yaml"
{ cat "$work/ablation_head.yaml"; printf 'grid:\n  refine.stepz: [2]\n'; } >"$work/ablation_typo.yaml"
{ cat "$work/ablation_head.yaml"; printf 'grid:\n  refine.steps: [2]\n'; } >"$work/ablation.yaml"
printf 'base: %s\nevaluator: %s\neval: {corpus: %s}\n' "$work/pipeline.yaml" "$work/nope" "$work/docs" >"$work/ablation_no_eval.yaml"
expect_error ablate_missing_file   "nope.yaml"                    -- "$sculpt" ablate "$work/nope.yaml"
expect_error ablate_unknown_key    "ablation_typo.yaml:5: variant 'refine.stepz=2'" -- "$sculpt" ablate "$work/ablation_typo.yaml"
expect_error ablate_missing_evaluator "ablation_no_eval.yaml:2: evaluator" -- "$sculpt" ablate "$work/ablation_no_eval.yaml"
expect_error ablate_no_file        "--file"                       -- "$sculpt" ablate
if "$sculpt" ablate "$work/ablation.yaml" --out "$work/abl" >/dev/null 2>"$work/err" &&
   [ "$(wc -l <"$work/abl/results.csv")" -eq 5 ] && grep -q "<svg" "$work/abl/report.html" &&
   "$sculpt" ablate "$work/ablation.yaml" --out "$work/abl" 2>/dev/null | grep -q "(4 kept from an earlier run)"; then
  pass_case
else
  fail_case ablate_ok "" "$work/err"
fi
# Export: a trained-model directory published as float16 weights + config + tokenizer.
expect_error export_missing_dir  "does not exist"               -- "$sculpt" model export "$work/nope" --out "$work/x"
expect_error export_bad_weights  "model.safetensors"            -- "$sculpt" model export "$work/bad_model" --out "$work/x"
expect_error export_same_dir      "--out must differ"            -- "$sculpt" model export "$work/refiner" --out "$work/refiner"
mkdir -p "$work/no_tokenizer" && cp "$work/refiner/config.json" "$work/refiner/model.safetensors" "$work/no_tokenizer/"
expect_error export_no_tokenizer  "no_tokenizer: no tokenizer: a model directory needs tokenizer.json or tokenizer.model" -- "$sculpt" model export "$work/no_tokenizer" --out "$work/x"
if "$sculpt" model export "$work/refiner" --out "$work/refiner16" >/dev/null 2>"$work/err" &&
   "$sculpt" model info "$work/refiner16" --json | grep -q '"dtype": "float16"' &&
   "$sculpt" refine --model "$work/refiner16" --input "$work/text.txt" --rewrite 4:12 >/dev/null 2>"$work/err"; then
  pass_case
else
  fail_case export_ok "" "$work/err"
fi
# Int8: a quantized copy drafts on the kernels; quantizing it again, or into itself, is an error,
# and so is another tool's quantization_config.
if "$sculpt" model quantize "$work/causal" --out "$work/causal8" >/dev/null 2>"$work/err" &&
   "$sculpt" model info "$work/causal8" --json | grep -q '"dtype": "int8"' &&
   "$sculpt" draft --model "$work/causal8" --prompt "the" --max-tokens 4 --json 2>"$work/err" | grep -q '"backend": "kernels'; then
  pass_case
else
  fail_case quantize_ok "" "$work/err"
fi
expect_error quantize_twice      "is already int8"             -- "$sculpt" model quantize "$work/causal8" --out "$work/x"
expect_error quantize_same_dir   "--out must differ"           -- "$sculpt" model quantize "$work/causal" --out "$work/causal"
mkdir -p "$work/gptq" && cp "$work/causal8/"* "$work/gptq/" && sed -i 's/sculpt_int8/gptq/' "$work/gptq/config.json"
expect_error quantize_foreign    "quant_method 'gptq' is not supported" -- "$sculpt" draft --model "$work/gptq" --prompt "the" --max-tokens 2
# Model directories with a tokenizer.json: none at all, truncated, a feature not implemented, a
# vocabulary other than config.json's (a good 3-token file against the 300 of the models above).
tiny_tok='{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}}'
for d in trunc_tok wordpiece_tok small_tok; do mkdir -p "$work/$d" && cp "$work/causal/config.json" "$work/causal/model.safetensors" "$work/$d/"; done
printf '%s' "$tiny_tok" | head -c 60 >"$work/trunc_tok/tokenizer.json"
printf '%s' "$tiny_tok" | sed 's/"type": "BPE"/"type": "WordPiece"/' >"$work/wordpiece_tok/tokenizer.json"
printf '%s' "$tiny_tok" >"$work/small_tok/tokenizer.json"
expect_error draft_no_tokenizer    "no_tokenizer: no tokenizer: a model directory needs tokenizer.json or tokenizer.model" -- "$sculpt" draft --model "$work/no_tokenizer" --prompt hi
expect_error tokenizer_json_truncated "trunc_tok/tokenizer.json: not valid JSON" -- "$sculpt" tokenizer encode --model "$work/trunc_tok/tokenizer.json" hi
expect_error draft_tokenizer_truncated "trunc_tok/tokenizer.json: not valid JSON" -- "$sculpt" draft --model "$work/trunc_tok" --prompt hi
expect_error tokenizer_json_unsupported "wordpiece_tok/tokenizer.json: model.type 'WordPiece' is not supported" -- "$sculpt" score --model "$work/wordpiece_tok" --input "$work/text.txt"
expect_error draft_vocab_mismatch  "small_tok/tokenizer.json: the tokenizer has 3 tokens but the model's vocab_size (config.json) is 300" -- "$sculpt" draft --model "$work/small_tok" --prompt ab
expect_error info_vocab_mismatch   "small_tok/tokenizer.json: the tokenizer has 3 tokens but $work/small_tok/config.json says vocab_size 300" -- "$sculpt" model info "$work/small_tok"
if "$sculpt" tokenizer encode --model "$work/small_tok" --json abba | python3 -c "import json,sys; assert json.load(sys.stdin)['ids'] == [2, 1, 0]" 2>"$work/err"; then
  pass_case
else
  fail_case tokenizer_json_encode "" "$work/err"
fi
# Chat: a conversation file that is not JSON, a bad role, models without a chat template.
printf '[{"role": "user", "content": "hi"' >"$work/chat_bad.json"
printf '[{"role": "robot", "content": "hi"}]' >"$work/chat_role.json"
printf '[{"role": "user", "content": "hi"}]' >"$work/chat.json"
expect_error generate_chat_bad_json "chat_bad.json: not valid JSON" -- "$sculpt" generate --config "$work/pipeline.yaml" --chat "$work/chat_bad.json"
expect_error generate_chat_bad_role "chat_role.json: messages[0].role: 'robot' is not one of system, user, assistant, tool" -- "$sculpt" generate --config "$work/pipeline.yaml" --chat "$work/chat_role.json"
expect_error generate_chat_missing "nope.json"                   -- "$sculpt" generate --config "$work/pipeline.yaml" --chat "$work/nope.json"
expect_error generate_chat_no_template "causal: the model has no chat template" -- "$sculpt" generate --config "$work/pipeline.yaml" --chat "$work/chat.json"
expect_error generate_chat_and_prompt "give --prompt or --chat, not both" -- "$sculpt" generate --config "$work/pipeline.yaml" --chat "$work/chat.json" --prompt hi
# A good refinement for contrast: exit 0 and JSON with a trace.
if "$sculpt" refine --model "$work/refiner" --input "$work/text.txt" --rewrite 4:12 --json >"$work/out.json" 2>"$work/err" &&
   grep -q '"forward_passes"' "$work/out.json"; then
  pass_case
else
  fail_case refine_ok "" "$work/err"
fi
# In a pipe: a gap filled, a lock and a required phrase kept byte for byte, nothing else touched.
if printf 'The jury said [___:12] was fair.' |
   "$sculpt" refine --model "$work/refiner" --input - --lock 0:8 --require election >"$work/out" 2>"$work/err" &&
   grep -q '^The jury said.*election.* was fair\.$' "$work/out" && ! grep -q '\[___' "$work/out"; then
  pass_case
else
  fail_case refine_pipe_gap_lock_require "" "$work/out"
fi
# Retrieval: a small good index to damage, then bad corpora, indexes, options and a server that is down.
mkdir -p "$work/corpus" "$work/empty_corpus"
printf 'The zebra crossed the savannah.\n' >"$work/corpus/a.txt"
printf 'A glacier carves the valley.\n' >"$work/corpus/b.txt"
"$sculpt" index build --corpus "$work/corpus" --out "$work/good.idx" >/dev/null 2>&1 || echo "FAIL: cannot build the small index"
head -c 50 "$work/good.idx" >"$work/truncated.idx"
cp "$work/good.idx" "$work/corrupt.idx"; printf '\377' | dd of="$work/corrupt.idx" bs=1 seek=40 conv=notrunc 2>/dev/null
printf '{"query": "zebra"}\n' >"$work/bad_queries.jsonl"
expect_error index_empty_corpus    "empty corpus"                 -- "$sculpt" index build --corpus "$work/empty_corpus" --out "$work/x.idx"
expect_error index_missing_corpus  "does not exist"               -- "$sculpt" index build --corpus "$work/nope" --out "$work/x.idx"
expect_error index_bad_backend     "unknown retrieval backend 'nope'" -- "$sculpt" index build --corpus "$work/corpus" --out "$work/x.idx" --backend nope
expect_error index_dense_no_model  "no embedding model"           -- "$sculpt" index build --corpus "$work/corpus" --out "$work/x.idx" --backend dense
expect_error index_add_duplicate   "'a.txt' is already in the index"  -- "$sculpt" index add --index "$work/good.idx" --corpus "$work/corpus"
expect_error search_missing_index  "nope.idx"                     -- "$sculpt" search --index "$work/nope.idx" zebra
expect_error search_truncated      "truncated.idx: truncated"     -- "$sculpt" search --index "$work/truncated.idx" zebra
expect_error search_corrupt        "corrupt.idx: corrupt index: checksum" -- "$sculpt" search --index "$work/corrupt.idx" zebra
expect_error search_not_an_index   "garbage.model: not a Sculpt index" -- "$sculpt" search --index "$work/garbage.model" zebra
expect_error search_bad_k          "--k must be at least 1"       -- "$sculpt" search --index "$work/good.idx" --k 0 zebra
expect_error search_k_not_a_number "--k"                          -- "$sculpt" search --index "$work/good.idx" --k many zebra
expect_error search_no_query       "query"                        -- "$sculpt" search --index "$work/good.idx"
expect_error eval_missing_queries  "nope.jsonl"                   -- "$sculpt" eval retrieval --index "$work/good.idx" --queries "$work/nope.jsonl"
expect_error eval_bad_queries      "bad_queries.jsonl:1"          -- "$sculpt" eval retrieval --index "$work/good.idx" --queries "$work/bad_queries.jsonl"
expect_error postgres_down         "cannot connect after 2 attempt(s)" -- "$sculpt" index build --corpus "$work/corpus" --out "$work/pg.idx" --backend postgres --set retrieval.postgres.conninfo="host=127.0.0.1 port=1 connect_timeout=2" --set retrieval.postgres.connect_attempts=2 --set retrieval.postgres.retry_delay_ms=100

# The bad-input table by kind of input (the README's "Bad input" lists the policies).
# Corpora: binary, invalid UTF-8, empty, one huge line.
mkdir -p "$work/bin_corpus" "$work/latin1_corpus" "$work/huge_corpus"
head -c 4000 /dev/urandom >"$work/bin_corpus/noise.txt"; printf 'PNG\0\0\1' >"$work/bin_corpus/image.png"
printf 'caf\xe9 au lait, cr\xe8me br\xfbl\xe9e\n' >"$work/latin1_corpus/menu.txt"
python3 -c "print('the jury said the election was fair ' * 60000)" >"$work/huge_corpus/one_line.txt"
expect_warned_error index_binary_corpus  "empty corpus"           -- "$sculpt" index build --corpus "$work/bin_corpus" --out "$work/x.idx"
expect_warned_error index_latin1_corpus  "empty corpus"           -- "$sculpt" index build --corpus "$work/latin1_corpus" --out "$work/x.idx"
expect_warned_error train_binary_corpus  "corpus has no text documents" -- "$sculpt" train --set data.corpus="$work/bin_corpus" --set train.tokenizer="$work/tok.model" --set train.out_dir="$work/bin_model"
expect_warned_error train_latin1_corpus  "corpus has no text documents" -- "$sculpt" train --set data.corpus="$work/latin1_corpus" --set train.tokenizer="$work/tok.model" --set train.out_dir="$work/lat_model"
expect_error train_empty_corpus   "corpus has no documents" -- "$sculpt" train --set data.corpus="$work/empty_corpus" --set train.tokenizer="$work/tok.model" --set train.out_dir="$work/empty_model_out"
expect_policy index_huge_line     "1 documents"                  -- "$sculpt" index build --corpus "$work/huge_corpus" --out "$work/huge.idx"
expect_policy search_huge_line    "one_line"                     -- "$sculpt" search --index "$work/huge.idx" jury
# Index files: empty, and adding to one that is not an index.
: >"$work/empty.idx"
expect_error search_empty_index   "empty.idx"                    -- "$sculpt" search --index "$work/empty.idx" zebra
expect_error index_add_not_index  "garbage.model: not a Sculpt index" -- "$sculpt" index add --index "$work/garbage.model" --corpus "$work/corpus"
# Checkpoints: truncated weights, config.json that is not JSON, weights of another shape.
mkdir -p "$work/trunc_model" "$work/badjson_model" "$work/shape_model"
cp "$work/refiner/config.json" "$work/refiner/tokenizer.model" "$work/trunc_model/"
head -c 20000 "$work/refiner/model.safetensors" >"$work/trunc_model/model.safetensors"
cp "$work/refiner/model.safetensors" "$work/refiner/tokenizer.model" "$work/badjson_model/"; printf '{"hidden_size": 32,' >"$work/badjson_model/config.json"
cp "$work/refiner/model.safetensors" "$work/refiner/tokenizer.model" "$work/shape_model/"
sed 's/"hidden_size": 32/"hidden_size": 48/' "$work/refiner/config.json" >"$work/shape_model/config.json"
expect_error model_truncated_weights "trunc_model/model.safetensors" -- "$sculpt" refine --model "$work/trunc_model" --input "$work/text.txt" --rewrite 0:5
expect_error model_config_not_json  "badjson_model/config.json"  -- "$sculpt" model info "$work/badjson_model"
expect_error model_wrong_shapes     "shape_model"                -- "$sculpt" refine --model "$work/shape_model" --input "$work/text.txt" --rewrite 0:5
expect_error model_shapes_named     "has shape [300, 32], the config needs [300, 48]" -- "$sculpt" model info "$work/shape_model"
# Model families: an unsupported model_type, a missing required key, a family's own tensor missing,
# a LLaDA config with another block type, a tokenizer of another vocabulary size.
family_model() {  # family_model NAME PYTHON: NAME holds the refiner's weights and tokenizer, its config changed by PYTHON on c
  mkdir -p "$work/$1" && cp "$work/refiner/model.safetensors" "$work/refiner/tokenizer.model" "$work/$1/" &&
    python3 -c "import json,sys; c=json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(c, open(sys.argv[2], 'w'))" \
      "$work/refiner/config.json" "$work/$1/config.json" "$2"
}
family_model gpt2_model "c['model_type'] = 'gpt2'"
family_model nokey_model "del c['num_hidden_layers']"
family_model qwen3_model "c['model_type'] = 'qwen3'"
family_model llada_model "c.update(model_type='llada', d_model=32, n_heads=2, n_layers=1, block_type='sequential')"
family_model vocab_model "pass"
# A config of about 4.4 trillion parameters: refused by the memory guard before anything is allocated.
family_model huge_model "c.update(hidden_size=65536, intermediate_size=262144, num_hidden_layers=64)"
printf 'tokenizer:\n  vocab_size: 320\n' >"$work/tok320.yaml"
"$sculpt" tokenizer train --config "$work/tok320.yaml" --input "$work/corpus.txt" --out "$work/tok320" >/dev/null 2>&1 &&
  cp "$work/tok320.model" "$work/vocab_model/tokenizer.model" || echo "FAIL: cannot train the 320-piece tokenizer"
expect_error model_type_unsupported "gpt2_model/config.json: model_type 'gpt2' is not supported (supported: llama, mistral, mixtral, qwen2, qwen3, Dream, llada, sdar, Fast_dLLM_Qwen)" -- "$sculpt" model info "$work/gpt2_model"
expect_error model_key_missing      "nokey_model/config.json: required key 'num_hidden_layers' is missing" -- "$sculpt" model info "$work/nokey_model"
expect_error model_family_tensor_missing "missing tensor 'model.layers.0.self_attn.q_norm.weight' with shape [16]" -- "$sculpt" refine --model "$work/qwen3_model" --input "$work/text.txt" --rewrite 0:5
expect_error draft_diffusion_model  "the drafter needs a causal model, but this Llama model (model_type 'llama') has bidirectional attention: use it as the refiner" -- "$sculpt" draft --model "$work/refiner" --prompt hi
expect_error model_llada_block_type "llada_model/config.json: 'block_type' \"sequential\" is not supported" -- "$sculpt" model info "$work/llada_model"
expect_error model_too_big          "the weights of $work/huge_model: needs" -- "$sculpt" refine --model "$work/huge_model" --input "$work/text.txt" --rewrite 0:5
printf 'runtime: {dtype: float32}\npipeline: {drafter: %s, mode: ar_only}\n' "$work/huge_model" >"$work/huge_f32.yaml"
expect_error model_too_big_f32      "GiB of memory are available; use a smaller model or hold the weights in bfloat16 (runtime.dtype)" -- "$sculpt" generate --config "$work/huge_f32.yaml" --prompt hi
expect_error model_vocab_mismatch   "vocab_model/tokenizer.model: the tokenizer has 320 tokens but $work/vocab_model/config.json says vocab_size 300" -- "$sculpt" model info "$work/vocab_model"
expect_error refine_vocab_mismatch  "vocab_model/tokenizer.model: the tokenizer has 320 tokens but the refiner's vocab_size (config.json) is 300" -- "$sculpt" refine --model "$work/vocab_model" --input "$work/text.txt" --rewrite 0:5
# Tokenizer files: empty.
: >"$work/empty.model"
expect_error tokenizer_empty_file "empty.model"                  -- "$sculpt" tokenizer encode --model "$work/empty.model" hi
# YAML: binary bytes; an empty file means the defaults.
printf '\0\1\2binary' >"$work/binary.yaml"; : >"$work/empty.yaml"
printf ' ,' >"$work/comma.yaml"   # yaml-cpp 0.7's LoadAll allocates without bound on it
expect_error config_binary        "binary.yaml:1: not YAML text (column 1): non-printable character U+0000" -- "$sculpt" config show "$work/binary.yaml"
expect_error config_stray_comma  "comma.yaml:1: invalid YAML (column 2): unexpected ','" -- "$sculpt" config show "$work/comma.yaml"
expect_policy config_empty        "hidden_size"                  -- "$sculpt" config show "$work/empty.yaml"
# Prompts: longer than the drafter's context (an error for `draft`, the last tokens for the
# pipeline), empty (a continuation of BOS), control characters and invalid UTF-8 (bytes).
long_prompt=$(python3 -c "print('the jury said ' * 400)")
expect_error draft_prompt_too_long "do not fit the model's context" -- "$sculpt" draft --model "$work/causal" --prompt "$long_prompt" --max-tokens 2
expect_policy generate_long_prompt '"tokens": 12'                -- "$sculpt" generate --config "$work/pipeline.yaml" --prompt "$long_prompt" --json
expect_policy draft_empty_prompt  '"stop_reason"'                -- "$sculpt" draft --model "$work/causal" --prompt "" --max-tokens 3 --json
expect_policy draft_control_chars '"stop_reason"'                -- "$sculpt" draft --model "$work/causal" --prompt $'The\x01 jury\x1b[31m' --max-tokens 3 --json
expect_policy draft_invalid_utf8  '"stop_reason"'                -- "$sculpt" draft --model "$work/causal" --prompt $'caf\xe9' --max-tokens 3 --json
# Retrieval queries: empty, stop words only, control characters, very long.
expect_policy search_empty_query  "no hits"                      -- "$sculpt" search --index "$work/good.idx" ""
expect_policy search_stop_words   "no hits"                      -- "$sculpt" search --index "$work/good.idx" "the of and"
expect_policy search_control_chars "no hits"                     -- "$sculpt" search --index "$work/good.idx" $'\x01\x02\x1b'
expect_policy search_long_query   "zebra"                        -- "$sculpt" search --index "$work/good.idx" "$(python3 -c "print('zebra ' * 20000)")"

# LoRA: fine-tune adapters on the causal model, describe, merge and use them; bad adapters and
# targets are refused.
printf 'lora: {rank: 2, alpha: 4, target_modules: [q_proj, v_proj]}\ndata: {corpus: %s, seq_len: 16, cache_dir: %s}\ntrain: {init_from: %s, out_dir: %s, tokenizer: %s, batch_size: 2, max_steps: 3, warmup_steps: 1, eval_every: 0, save_every: 0, log_every: 1}\n' \
  "$work/docs" "$work/ft.shards" "$work/causal" "$work/adapter" "$work/tok.model" >"$work/finetune.yaml"
if "$sculpt" finetune --config "$work/finetune.yaml" >/dev/null 2>"$work/err" &&
   "$sculpt" lora info "$work/adapter" --base "$work/causal" 2>"$work/err" | grep -q "LoRA rank 2, alpha 4 (scaling 2), dropout 0.05, 2 layers" &&
   "$sculpt" lora merge --base "$work/causal" --adapter "$work/adapter" --out "$work/merged" >/dev/null 2>"$work/err" &&
   "$sculpt" model info "$work/merged" >/dev/null 2>"$work/err" &&
   "$sculpt" generate --config "$work/pipeline.yaml" --prompt "The jury" --set pipeline.drafter_adapter="$work/adapter" >/dev/null 2>"$work/err"; then
  pass_case
else
  fail_case lora_ok "" "$work/err"
fi
expect_error finetune_no_match    "lora.target_modules: [qkv] match no linear layer of the model; its layers are q_proj" -- "$sculpt" finetune --config "$work/finetune.yaml" --set 'lora.target_modules=[qkv]' --set train.out_dir="$work/adapter2"
expect_error finetune_big_rank    "lora.rank: 64 is larger than layer" -- "$sculpt" finetune --config "$work/finetune.yaml" --set lora.rank=64 --set train.out_dir="$work/adapter3"
expect_error finetune_no_base     "train.init_from: is empty"    -- "$sculpt" finetune --config "$work/finetune.yaml" --set 'train.init_from=""' --set train.out_dir="$work/adapter4"
expect_error lora_other_base      "was trained on other base weights" -- "$sculpt" lora merge --base "$work/moe" --adapter "$work/adapter" --out "$work/merged2"
expect_error lora_missing_adapter "adapter_config.json"          -- "$sculpt" lora info "$work/nope" --base "$work/causal"
expect_error generate_bad_adapter "pipeline.drafter"             -- "$sculpt" generate --config "$work/pipeline.yaml" --prompt hi --set pipeline.drafter_adapter="$work/nope"

# The effective default config of each kind, printed, loads back to the same text.
for kind in pipeline training; do
  if "$sculpt" config show --kind $kind >"$work/defaults.yaml" && "$sculpt" config show "$work/defaults.yaml" | cmp -s - "$work/defaults.yaml"; then
    pass_case
  else
    fail_case "config_defaults_round_trip_$kind" ""
  fi
done

# Scripts learn which keys this version knows with `config keys | grep -q` under pipefail: the
# list must reach grep whole before grep stops reading, or the SIGPIPE fails the pipeline.
if (set -o pipefail; "$sculpt" config keys | grep -q 'pipeline\.mode'); then
  pass_case
else
  fail_case "config_keys_early_reader" "sculpt config keys | grep -q failed under pipefail"
fi

echo "$passed passed, $failures failed"
[ $failures -eq 0 ]

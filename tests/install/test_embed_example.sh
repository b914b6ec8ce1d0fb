#!/usr/bin/env bash
# The installed package works for another project: `cmake --install` into a temporary prefix,
# examples/embed configured against it with find_package(Sculpt), built (linking no training
# code), and run on the shipped default models with a small BM25 index; the tokenizer shim must
# come from the prefix.
# Usage: test_embed_example.sh BUILD_DIR SOURCE_DIR SCULPT_BINARY
set -euo pipefail
build=$1 source=$2 sculpt=$3
work=$(mktemp -d /tmp/sculpt_embed_XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; [ -f "$work/err" ] && sed 's/^/    /' "$work/err" | tail -20; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >"$work/err" 2>&1 || fail "cmake --install"
[ -f "$work/prefix/lib/cmake/Sculpt/SculptConfig.cmake" ] || fail "no package config installed"
[ -f "$work/prefix/include/sculpt/hybrid/pipeline.h" ] || fail "no headers installed"
[ ! -e "$work/prefix/include/sculpt/diffusion_refine/refiner.h" ] || fail "an internal header was installed"
[ -x "$work/prefix/bin/sculpt" ] || fail "no sculpt CLI installed"
# The installed launcher finds the installed program, also when the prefix is moved, and runs it
# with its thread environment set.
mv "$work/prefix" "$work/moved" && ln -s "$work/moved" "$work/prefix"
"$work/moved/bin/sculpt" tokenizer encode --model "$source/models/drafter" --text "The jury" >"$work/out" 2>"$work/err" ||
  fail "the installed sculpt does not run"
grep -q "ury" "$work/out" || fail "the installed sculpt printed no pieces"
rm "$work/prefix" && mv "$work/moved" "$work/prefix"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$source/examples/embed" -B "$work/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/err" 2>&1 ||
  fail "configuring examples/embed against the installed package"
cmake --build "$work/build" >"$work/err" 2>&1 || fail "building examples/embed"
# A program that only generates links no training code: no trainer, objective, token shards,
# LoRA training, gradient averaging or tokenizer training in the binary.
training='sculpt::(train\(|TrainingRun|LoraAdapter::|GradientReducer|add_mask_noise|masked_diffusion_loss|build_shards|train_tokenizer|write_training_checkpoint)'
nm -C "$work/build/sculpt_embed" >"$work/symbols" || fail "nm on sculpt_embed"
[ "$(grep -c 'sculpt::Pipeline::generate' "$work/symbols")" -gt 0 ] || fail "nm found no sculpt::Pipeline symbol (stripped binary?)"
if grep -qE "$training" "$work/symbols"; then fail "sculpt_embed links training code: $(grep -E "$training" "$work/symbols" | head -3)"; fi

mkdir -p "$work/corpus"
printf 'The jury said the election was conducted fairly and the city council agreed.\n' >"$work/corpus/a.txt"
printf 'The governor spoke to the legislature about taxes and the new school budget.\n' >"$work/corpus/b.txt"
"$sculpt" index build --corpus "$work/corpus" --out "$work/index.bm25" >/dev/null 2>"$work/err" || fail "index build"
cat >"$work/pipeline.yaml" <<YAML
runtime: {seed: 1}
pipeline: {drafter: $source/models/drafter, refiner: $source/models/refiner, index: $work/index.bm25, max_tokens: 24}
spans: {strategy: logprob, logprob_threshold: -3.0}
refine: {steps: 4}
retrieval: {k: 2, inject: {budget_tokens: 48, max_passages: 1}}
YAML
export OMP_WAIT_POLICY=PASSIVE
LD_DEBUG=files "$work/build/sculpt_embed" "$work/pipeline.yaml" "The jury said" >"$work/out" 2>"$work/err" ||
  fail "sculpt_embed exited with $?"
grep -q "^The jury said" "$work/out" || fail "the output does not start with the prompt"
grep -q "24 tokens in" "$work/out" || fail "no trace line: $(head -c 400 "$work/out")"
grep -q "refine .*forward passes" "$work/out" || fail "no refine stage in the trace"
grep -q "file=$work/prefix/lib/libsculpt_spm_shim.so" "$work/err" || fail "the tokenizer shim was not loaded from the installed prefix"
# Bad input through the library: one clear error line, exit 1.
if "$work/build/sculpt_embed" "$work/nope.yaml" "x" >/dev/null 2>"$work/err"; then fail "a missing config was accepted"; fi
[ "$(wc -l <"$work/err")" -eq 1 ] && grep -q "nope.yaml" "$work/err" || fail "missing config: wanted one line naming the file"
echo "embed example: installed, built against find_package(Sculpt), ran"

#!/usr/bin/env bash
# The libraries, the CLI and the test suite built with AddressSanitizer and
# UndefinedBehaviorSanitizer (clang) in build-asan/, then ctest. Any report fails the run: UB is
# made fatal at compile time (-fno-sanitize-recover) and ASan aborts on its first error.
# The sentencepiece shim stays uninstrumented in its own dlmopen namespace (fuzz/README.md).
#   bash scripts/sanitize.sh           # the whole suite
#   bash scripts/sanitize.sh --ci      # the CI subset (below)
#
# The CI subset leaves out the test programs whose time goes into training loops inside
# LibTorch, which is not instrumented (trainer, masked diffusion, MoE, distributed, crash
# safety, determinism, ablation, default models), the published tokenizer.json files run through
# tiny models by the binary (its time is LibTorch's too; the tokenizer.json code itself runs
# instrumented in test_hf_tokenizer, test_tokenizer_formats and fuzz_hf_tokenizer), `sculpt draft`
# through the launcher against the full program (draft_fast_start: mostly LibTorch's start-up; the
# drafter it runs is instrumented in test_kernel_drafter), the model families through the CLI
# (model_families_cli: LibTorch's time again; the families' code runs instrumented in
# test_model_families), the fast decoder re-run on the lower CPU levels (the kernels of every
# level run instrumented in test_kernels), the public headers' compile check and the packaging
# test; they still run in the normal build. Everything else runs: parsers, checkpoints,
# tokenizer, the transformer and its caches, drafter, refiner, pipeline, retrieval, the server
# and the CLI's bad-input table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
subset=false
[ "${1:-}" = "--ci" ] && subset=true

for tool in clang clang++; do
  command -v $tool >/dev/null || { echo "sanitize: $tool not found (scripts/setup.sh installs clang)" >&2; exit 1; }
done
# clang, not gcc: gcc's UBSan instrumentation of LibTorch's templates makes each translation unit
# about 1.5x slower to compile. -O1 -g1: line tables are all the reports need. The header check
# is compile-only and is left to the normal build.
CC=clang CXX=clang++ cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DSCULPT_SANITIZE=ON -DSCULPT_HEADER_CHECK=OFF >/dev/null

skipped=(test_trainer test_masked_diffusion test_moe test_distributed test_distributed_runs
         test_crash_safety test_determinism test_ablation test_default_models test_tokenizer_json_models)
if $subset; then
  targets=(sculpt)
  for program in $(sed -n 's/^sculpt_add_test(\(test_[a-z0-9_]*\) .*/\1/p' "$root/tests/CMakeLists.txt"); do
    [[ " ${skipped[*]} " == *" $program "* ]] || targets+=("$program")
  done
  cmake --build "$root/build-asan" --target "${targets[@]}"
  exclude="^(embed_example|draft_fast_start|model_families_cli|test_fast_decoder_(portable|avx2)|public_headers)\$"
  exclude+="|^($(IFS='|'; echo "${skipped[*]}"))\$"
else
  cmake --build "$root/build-asan"
  exclude='^embed_example$'  # builds examples/embed uninstrumented against the install: packaging only
fi

# LeakSanitizer is left on: it reports leaks at exit, which the tests' own allocations must
# not have. LibTorch's and libgomp's process-lifetime singletons are suppressed by name.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:suppressions=$root/scripts/sanitize.supp:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
ctest --test-dir "$root/build-asan" --output-on-failure -j2 -E "$exclude"

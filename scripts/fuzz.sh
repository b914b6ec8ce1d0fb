#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, AddressSanitizer + UndefinedBehaviorSanitizer) in
# build-fuzz/ and runs each for a bounded time from the committed seed corpus in fuzz/corpus/
# (copied to build-fuzz/corpus/, so the new inputs a run finds are not written into the tree),
# after replaying the kept crash inputs in fuzz/regressions/. Prints one JSON line per target:
# executions, corpus size, and whether it crashed. Exit status 1 if any target crashed.
#   bash scripts/fuzz.sh            # 60 s per target, one target per core at a time
#   SCULPT_FUZZ_SECONDS=600 bash scripts/fuzz.sh fuzz_bm25_index
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${SCULPT_FUZZ_SECONDS:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_safetensors fuzz_model_config fuzz_yaml_config fuzz_bm25_index fuzz_tokenizer fuzz_chat_template
                                   fuzz_hf_tokenizer fuzz_request)

for tool in clang clang++; do
  command -v $tool >/dev/null || { echo "fuzz: $tool not found (scripts/setup.sh installs clang)" >&2; exit 1; }
done
CC=clang CXX=clang++ cmake -S "$root" -B "$root/build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSCULPT_FUZZ=ON -DSCULPT_BUILD_TESTS=OFF >/dev/null
cmake --build "$root/build-fuzz" --target "${targets[@]}"

# One target: its kept regression inputs, then `seconds` of fuzzing. Returns 1 if either failed.
run_target() {
  local target=$1 status=0
  local name=${target#fuzz_}
  local corpus="$root/build-fuzz/corpus/$name" artifacts="$root/build-fuzz/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  cp -n "$root/fuzz/corpus/$name"/* "$corpus/" 2>/dev/null || true
  local log="$root/build-fuzz/$target.log"
  # Kept crash inputs first: each must now pass.
  local regressions=("$root/fuzz/regressions/$name"/*)
  if [ -e "${regressions[0]}" ]; then
    if ! timeout -s KILL 300 "$root/build-fuzz/fuzz/$target" -rss_limit_mb=2048 "${regressions[@]}" \
         >"$log.regressions" 2>&1; then
      echo "fuzz: $target fails on a kept regression input (see $log.regressions)" >&2
      status=1
    fi
  fi
  local crashed=false
  # The outer timeout bounds a run whose crash handler stalls (printing the live heap of an
  # out-of-memory run under symbolisation can take many minutes); the input is written first.
  if ! timeout -s KILL $((seconds + 180)) "$root/build-fuzz/fuzz/$target" -max_total_time="$seconds" \
       -print_final_stats=1 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1; then
    crashed=true
    status=1
    echo "fuzz: $target crashed; the input is in $artifacts (keep it in fuzz/regressions/$name once fixed):" >&2
    grep -E "ERROR|SUMMARY" "$log" | head -5 >&2
  fi
  local runs
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  echo "{\"target\": \"$target\", \"seconds\": $seconds, \"executions\": ${runs:-0}, \"corpus_files\": $(ls "$corpus" | wc -l), \"crashed\": $crashed}"
  return $status
}

# libFuzzer runs one thread: the targets run SCULPT_FUZZ_JOBS at a time (default: one per core),
# each job taking every n-th target in turn.
jobs=${SCULPT_FUZZ_JOBS:-$(nproc)}
pids=()
for ((job = 0; job < jobs && job < ${#targets[@]}; job++)); do
  (
    failed=0
    for ((i = job; i < ${#targets[@]}; i += jobs)); do run_target "${targets[i]}" || failed=1; done
    exit $failed
  ) &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status

#!/usr/bin/env bash
# The libraries, the CLI and the whole test suite built with AddressSanitizer and
# UndefinedBehaviorSanitizer (gcc) in build-asan/, then ctest. Any report fails the run: UB is
# made fatal at compile time (-fno-sanitize-recover) and ASan aborts on its first error.
# The sentencepiece shim stays uninstrumented in its own dlmopen namespace (fuzz/README.md).
#   bash scripts/sanitize.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCULPT_SANITIZE=ON >/dev/null
cmake --build "$root/build-asan"
# LeakSanitizer is left on: it reports leaks at exit, which the tests' own allocations must
# not have. LibTorch's and libgomp's process-lifetime singletons are suppressed by name.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:suppressions=$root/scripts/sanitize.supp:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
ctest --test-dir "$root/build-asan" --output-on-failure -j2

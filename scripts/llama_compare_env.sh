# The common start of the scripts that measure Sculpt against llama.cpp (bench_*_vs_llama.sh),
# sourced with the script's arguments "LLAMA_CPP_DIR [REPS]": sets PKG (the llama.cpp package),
# REPS (default 3), ROOT, SCULPT (default build/sculpt), THREADS (2), LLAMA_BIN (default
# PKG/bin; a llama.cpp rebuilt for this CPU), MODELS (build/llamacpp/models, where the package's
# compare.sh writes the models and GGUF files), PY (Debian's python3) and W, a scratch folder
# removed at exit; checks that the sculpt binary exists.
# require_models FILE...: fails unless each FILE is in MODELS, naming the compare.sh step
# (COMPARE_STEP, default "ar") that writes it.
[ $# -ge 1 ] || { echo "usage: $0 LLAMA_CPP_DIR [REPS]" >&2; exit 2; }
PKG=$(realpath "$1"); REPS=${2:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SCULPT=$(realpath "${SCULPT:-$ROOT/build/sculpt}")
THREADS=${THREADS:-2}
LLAMA_BIN=$(realpath "${LLAMA_BIN:-$PKG/bin}")
MODELS=$ROOT/build/llamacpp/models
PY=/usr/bin/python3  # Debian's, with python3-sentencepiece
[ -x "$SCULPT" ] || { echo "no sculpt binary at $SCULPT (build first or set SCULPT)" >&2; exit 1; }
export LD_LIBRARY_PATH=$LLAMA_BIN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} OMP_NUM_THREADS=$THREADS
W=$(mktemp -d "/tmp/sculpt_$(basename "$0" .sh)_XXXXXX")
trap 'rm -rf "$W"' EXIT

require_models() {
  local f
  for f in "$@"; do
    [ -e "$MODELS/$f" ] || { echo "$MODELS/$f is missing: run $PKG/scripts/compare.sh ${COMPARE_STEP:-ar} once from $ROOT" >&2; exit 1; }
  done
}

#!/usr/bin/env bash
# The BM25 index of the Brown corpus's training split that the pipeline configs name
# (build/brown.bm25), built by the CLI that scripts/build_cli.sh made; rebuilt when
# scripts/prepare_brown.sh has remade the text since. Held-out documents (validation, test)
# are not in it, so prompts cut from them cannot retrieve their own continuation. Also the index
# of the private corpus's training half (build/private.bm25, data/brown/private/train) that
# private-document ablations (configs/ablations/private_*.yaml) retrieve from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ ! build/brown.bm25 -nt data/brown/.complete ]; then
  ./build/sculpt index build --corpus data/brown/train --out build/brown.bm25
fi
if [ ! build/private.bm25 -nt data/brown/.complete ]; then
  ./build/sculpt index build --corpus data/brown/private/train --out build/private.bm25
fi

#!/usr/bin/env bash
# The BM25 index of the Brown corpus that the pipeline configs name (build/brown.bm25), built
# once by the CLI that scripts/build_cli.sh made.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -f build/brown.bm25 ] || ./build/sculpt index build --corpus data/brown-text --out build/brown.bm25

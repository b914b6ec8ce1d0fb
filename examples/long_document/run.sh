#!/usr/bin/env bash
# Drafts then refines a document far longer than the models' contexts, with retrieval over the
# Brown corpus; sections stream to stdout as they are finished, the trace goes to
# build/long_document.json.
#   bash examples/long_document/run.sh ["PROMPT"]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash scripts/build_cli.sh
bash scripts/build_brown_index.sh
prompt=${1:-"The committee reported that the new county budget"}
./build/sculpt generate --config examples/long_document/pipeline.yaml --prompt "$prompt" --trace build/long_document.json
python3 - <<'PY'
import json
t = json.load(open("build/long_document.json"))["trace"]
print(f"\n{t['tokens']} tokens in {t['sections']} sections, {t['seconds']:.1f} s ({t['tokens_per_second']:.0f} tokens/s), "
      f"{len(t['edits'])} edits, {len(t['passages'])} passages injected; trace in build/long_document.json")
PY

#!/usr/bin/env bash
# Sculpt's main job on a fresh clone: the hybrid pipeline on the shipped default models
# (models/drafter, models/refiner; trained on the Brown corpus by scripts/train_defaults.sh).
# Installs what is missing, builds the CLI, indexes the Brown corpus with BM25, then retrieves,
# drafts, re-masks the drafter's weak spans and refines them, showing what the refiner changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/build_cli.sh
bash scripts/build_brown_index.sh
./build/sculpt generate --config configs/pipeline/brown.yaml --prompt "The jury said that the city" --show-edits

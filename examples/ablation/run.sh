#!/usr/bin/env bash
# Runs examples/ablation/span_thresholds.yaml and prints its table; the HTML report with the
# quality-versus-speed plot is build/ablations/span_thresholds/report.html. A second run keeps the
# finished variants (add --rerun to redo them).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash scripts/build_cli.sh
bash scripts/build_brown_index.sh
./build/sculpt ablate examples/ablation/span_thresholds.yaml "$@"
cat build/ablations/span_thresholds/results.md

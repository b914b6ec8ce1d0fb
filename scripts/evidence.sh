#!/usr/bin/env bash
# Runs the evidence ablations on the shipped default models and copies each report into docs/
# (docs/ablations/NAME.md with its plot NAME.svg beside it), ready to commit:
#   brown_hybrid    AR only, diffusion only, the hybrid over span thresholds x steps, and the
#                   strong baseline, on held-out Brown prompts
#   brown_grounded  token F1 of grounded continuations, retrieval on and off
# Other names (configs/ablations/NAME.yaml) may be given instead. A second run keeps the
# variants already finished in build/ablations/NAME (add `-- --rerun` to redo them).
#   bash scripts/evidence.sh [NAME...] [-- SCULPT_ABLATE_OPTIONS...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

names=() options=()
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then shift; options=("$@"); break; fi
  names+=("$1"); shift
done
[ ${#names[@]} -gt 0 ] || names=(brown_hybrid brown_grounded)
for name in "${names[@]}"; do
  [ -f "configs/ablations/$name.yaml" ] || { echo "evidence: no configs/ablations/$name.yaml" >&2; exit 1; }
done

bash scripts/build_cli.sh
bash scripts/build_brown_index.sh
mkdir -p docs/ablations
for name in "${names[@]}"; do
  ./build/sculpt ablate "configs/ablations/$name.yaml" --out "build/ablations/$name" ${options[@]+"${options[@]}"}
  # The report names its plot plot.svg; in docs/ the plot is NAME.svg beside NAME.md.
  sed "s|(plot\.svg)|($name.svg)|g" "build/ablations/$name/results.md" > "docs/ablations/$name.md"
  cp "build/ablations/$name/plot.svg" "docs/ablations/$name.svg"
  echo "evidence: docs/ablations/$name.md"
done

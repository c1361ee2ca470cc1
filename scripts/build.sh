#!/usr/bin/env bash
# Builds the browser package into pkg/ (wasm-pack --target web, release, wasm-opt -Oz from binaryen).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
wasm-pack --log-level warn build --target web --release

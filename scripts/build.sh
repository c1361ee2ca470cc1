#!/usr/bin/env bash
# Builds the browser package into pkg/ (wasm-pack --target web, release, wasm-opt -Oz from binaryen), then
# minifies the JavaScript glue and the inline snippets with esbuild (a transform, not a bundle: the module
# keeps its exports and its `new URL('authfetch_bg.wasm', import.meta.url)`; names are kept). The types and
# docs ship in authfetch.d.ts, so the glue's copies of the doc comments are left out of what users download.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
wasm-pack --log-level warn build --target web --release
find pkg -name '*.js' -not -path 'pkg/node_modules/*' -print0 |
  xargs -0 -I{} esbuild {} --minify --keep-names --format=esm --target=es2020 --log-level=error --outfile={} --allow-overwrite

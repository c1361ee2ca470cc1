#!/usr/bin/env bash
# Prints the gzip -9 size of what users download: pkg/authfetch_bg.wasm plus the JS glue pkg/authfetch.js.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm=$(gzip -9 -c pkg/authfetch_bg.wasm | wc -c)
glue=$(gzip -9 -c pkg/authfetch.js | wc -c)
echo "download size (gzip -9): wasm $wasm B + glue $glue B = $((wasm + glue)) B"

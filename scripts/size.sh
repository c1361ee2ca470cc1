#!/usr/bin/env bash
# Prints the gzip -9 size of what users download: pkg/authfetch_bg.wasm plus the JavaScript glue
# (pkg/authfetch.js and the inline snippets it imports, pkg/snippets/**.js), each file compressed on its
# own as a server would send it.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm=$(gzip -9 -c pkg/authfetch_bg.wasm | wc -c)
glue=0
while IFS= read -r file; do
  glue=$((glue + $(gzip -9 -c "$file" | wc -c)))
done < <(find pkg -name '*.js' -not -path 'pkg/node_modules/*' | sort)
echo "download size (gzip -9): wasm $wasm B + glue $glue B = $((wasm + glue)) B"

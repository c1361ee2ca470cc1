#!/usr/bin/env bash
# Sets up what is missing, builds the package and serves the demo on http://127.0.0.1:${PORT:-8080}.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec node www/server.mjs

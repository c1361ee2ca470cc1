#!/usr/bin/env bash
# Installs what authfetch's build, demo and tests need, skipping whatever is already there. Safe to rerun.
#   scripts/setup.sh            toolchain + npm dev dependencies (enough for the demo)
#   scripts/setup.sh --browsers also Chromium + chromedriver, Firefox ESR + geckodriver (for the tests)
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first (https://rustup.rs)" >&2; exit 1; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    say "adding the $component component"
    rustup component add "$component"
  fi
done

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-pack --version 2>/dev/null || true)" != "wasm-pack $WASM_PACK_VERSION" ]; then
  say "installing wasm-pack $WASM_PACK_VERSION (about 2 minutes)"
  cargo install wasm-pack --version "$WASM_PACK_VERSION"
fi

# The wasm-bindgen CLI must be exactly the version in Cargo.lock, or wasm-pack tries to download one.
BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$BINDGEN_VERSION" ]; then echo "could not read the wasm-bindgen version from Cargo.lock" >&2; exit 1; fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $BINDGEN_VERSION (about 5 minutes)"
  cargo install wasm-bindgen-cli --version "$BINDGEN_VERSION" --force
fi

# npm dev dependencies: binaryen (wasm-opt, which wasm-pack would otherwise download), jose, playwright-core,
# and for the package's consumer tests vite (a fresh Vite 7 app) and typescript (tsc on the declarations).
if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/vite ] || [ ! -x node_modules/.bin/tsc ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dev dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" = "--browsers" ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  command -v firefox-esr >/dev/null || command -v firefox >/dev/null || missing+=(firefox-esr)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
  if ! command -v geckodriver >/dev/null; then
    say "installing geckodriver"
    cargo install geckodriver
  fi
fi
say "ready"

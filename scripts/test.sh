#!/usr/bin/env bash
# Sets up what is missing, then runs every suite: clippy, native tests, browser tests in headless Chromium
# and Firefox, and the page-level tests against the demo server. Fails if any suite fails or runs no test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browsers

export PATH="$PWD/node_modules/.bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export GECKODRIVER="${GECKODRIVER:-$(command -v geckodriver)}"
LOGS=$(mktemp -d)
TOTAL_PASSED=0
SUMMARY=()

# run_suite NAME PARSER COMMAND...: runs COMMAND, shows its output, and requires that it passed and ran tests.
run_suite() {
  local name=$1 parser=$2; shift 2
  local log="$LOGS/$name.log" passed
  printf '\n\033[1m== %s ==\033[0m\n' "$name"
  if ! "$@" 2>&1 | tee "$log"; then
    echo "FAILED: $name (see above)" >&2
    exit 1
  fi
  case $parser in
    cargo) passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{ s += $4 } END { print s + 0 }') ;;
    node) passed=$(grep -Eo '^# pass [0-9]+' "$log" | awk '{ s += $3 } END { print s + 0 }') ;;
  esac
  if [ "$passed" -eq 0 ]; then
    echo "FAILED: $name ran no test" >&2
    exit 1
  fi
  SUMMARY+=("$name: $passed passed")
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
}

printf '\n\033[1m== rustfmt, clippy ==\033[0m\n'
cargo fmt --check
cargo clippy --quiet --target wasm32-unknown-unknown --lib -- -D warnings
cargo clippy --quiet --all-targets -- -D warnings
printf '\n\033[1m== rustdoc (no missing docs, no broken links) ==\033[0m\n'
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --target wasm32-unknown-unknown

run_suite native cargo cargo test
run_suite chromium cargo wasm-pack --log-level warn test --headless --chrome
run_suite firefox cargo wasm-pack --log-level warn test --headless --firefox
printf '\n\033[1m== build pkg/ ==\033[0m\n'
scripts/build.sh
scripts/size.sh
run_suite size node node --test tests/size/
run_suite e2e node node --test tests/e2e/
scripts/package.sh --no-build
run_suite consumers node node --test tests/consumers/

printf '\n'
printf '%s\n' "${SUMMARY[@]}"
echo "$TOTAL_PASSED passed, 0 failed"

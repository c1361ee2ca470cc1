#!/usr/bin/env bash
# Assembles the npm package into dist/authfetch/ and packs it into dist/authfetch-<version>.tgz, the file
# users install (`npm publish dist/authfetch-<version>.tgz` publishes it).
#
#   scripts/package.sh             build pkg/ (scripts/build.sh), then assemble and pack
#   scripts/package.sh --no-build  reuse the pkg/ that is there (scripts/test.sh builds it just before)
#
# Layout of the package:
#   index.js, index.d.ts   the entry for browsers, workers and bundlers (initialises itself on first use)
#   node.js                the entry for Node (`node` export condition): the same .wasm, instantiated on import
#   web/                   the wasm-pack `--target web` build: authfetch.js (glue), authfetch.d.ts, authfetch_bg.wasm,
#                          and snippets/ (the crate's inline JavaScript, imported by the glue)
#   README.md, CHANGELOG.md, package.json (version, description, license, keywords from Cargo.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m[package]\033[0m %s\n' "$*"; }

if [ "${1:-}" != "--no-build" ]; then
  scripts/build.sh
fi
for file in authfetch.js authfetch.d.ts authfetch_bg.wasm; do
  if [ ! -f "pkg/$file" ]; then
    echo "pkg/$file is missing: run scripts/build.sh (or scripts/package.sh without --no-build)" >&2
    exit 1
  fi
done

OUT=dist/authfetch
rm -rf "$OUT" dist/authfetch-*.tgz
mkdir -p "$OUT/web"
cp pkg/authfetch.js pkg/authfetch.d.ts pkg/authfetch_bg.wasm "$OUT/web/"
if [ -d pkg/snippets ]; then cp -r pkg/snippets "$OUT/web/"; fi
cp js/index.js js/index.d.ts js/node.js "$OUT/"
# `[Symbol.dispose]()` needs TypeScript's esnext.disposable lib: without it (lib es2022, skipLibCheck off)
# the declarations would not type-check. The method stays in the JavaScript; `free()` is declared.
sed -i '/\[Symbol\.dispose\]()/d' "$OUT/web/authfetch.d.ts"
cp CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$OUT/"
# npm shows the README on the package page, where relative links would break: point them at the repository.
REPO_URL=$(awk -F'"' '/^repository = / { print $2; exit }' Cargo.toml)
sed -e "s#](docs/\([^)]*\.png\))#](${REPO_URL/github.com/raw.githubusercontent.com}/main/docs/\1)#g" \
    -e "s#](docs/#](${REPO_URL}/blob/main/docs/#g" README.md > "$OUT/README.md"

node --input-type=module - "$OUT" <<'EOF'
import { readFileSync, writeFileSync } from 'node:fs';
const out = process.argv[2];
// The [package] table of Cargo.toml: simple `key = "value"` and `key = ["a", "b"]` lines.
const cargo = readFileSync('Cargo.toml', 'utf8').split(/^\[/m).find((table) => table.startsWith('package]'));
const field = (key) => {
  const match = cargo.match(new RegExp(`^${key} = (.*)$`, 'm'));
  if (!match) throw new Error(`Cargo.toml has no ${key} in [package]`);
  return JSON.parse(match[1]);
};
const repository = field('repository');
const pkg = {
  name: 'authfetch',
  version: field('version'),
  description: field('description'),
  license: field('license'),
  repository: { type: 'git', url: `git+${repository}.git` },
  homepage: `${repository}#readme`,
  bugs: { url: `${repository}/issues` },
  keywords: [...new Set([...field('keywords'), 'authorization', 'refresh-token', 'access-token', 'oauth', 'webassembly', 'service-worker'])],
  type: 'module',
  main: './index.js',
  module: './index.js',
  types: './index.d.ts',
  exports: {
    '.': {
      types: './index.d.ts',
      node: './node.js',
      default: './index.js',
    },
    './web': {
      types: './index.d.ts',
      default: './index.js',
    },
    './authfetch_bg.wasm': './web/authfetch_bg.wasm',
    './package.json': './package.json',
  },
  files: ['index.js', 'index.d.ts', 'node.js', 'web/authfetch.js', 'web/authfetch.d.ts', 'web/authfetch_bg.wasm', 'web/snippets/', 'CHANGELOG.md', 'LICENSE-MIT', 'LICENSE-APACHE'],
  sideEffects: false,
  engines: { node: '>=20' },
};
writeFileSync(`${out}/package.json`, JSON.stringify(pkg, null, 2) + '\n');
console.log(`[package] ${pkg.name}@${pkg.version}`);
EOF

# The wrapper relies on these glue exports; a renamed export would otherwise only fail at run time.
# (The glue is minified, so this imports it rather than reading it.)
node --input-type=module -e "
  const glue = await import('./$OUT/web/authfetch.js');
  for (const name of ['AuthClient', 'authFetch', 'configure', 'state', 'initSync', 'default']) {
    if (typeof glue[name] !== 'function') { console.error('the wasm-pack glue lacks \\\`' + name + '\\\`, which js/index.js uses'); process.exit(1); }
  }
"
# Smoke test: the Node entry loads and instantiates the module.
node --input-type=module -e "
  const m = await import('./$OUT/node.js');
  for (const name of ['authFetch', 'configure', 'state', 'AuthClient', 'ready', 'isAuthFetchError', 'default']) {
    if (typeof m[name] !== 'function') throw new Error('the Node entry does not export ' + name);
  }
  if (!m.isReady()) throw new Error('the Node entry is not ready after import');
"

(cd dist && npm pack ./authfetch --silent --pack-destination . >/dev/null)
TARBALL=$(ls dist/authfetch-*.tgz)
say "$TARBALL ($(wc -c < "$TARBALL") B): $(tar -tzf "$TARBALL" | sed 's#^package/##' | sort | tr '\n' ' ')"

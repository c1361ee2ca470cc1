// The size budget: what a browser downloads (the .wasm and the JavaScript glue, each file gzip -9 as a
// server would send it) must not grow past the recorded guard in tests/size/budget.json. A size is
// deterministic for a given toolchain, so this is a test; timings stay in bench/.
//
//   node --test tests/size/     (after scripts/build.sh)

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PKG = path.join(ROOT, 'pkg');
const budget = JSON.parse(readFileSync(path.join(ROOT, 'tests/size/budget.json'), 'utf8'));

/** Every .js file under `dir`, recursively. */
function scripts(dir) {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return scripts(file);
    return name.endsWith('.js') ? [file] : [];
  });
}

// GNU gzip, as scripts/size.sh and the README measure (zlib's level 9 comes out a few hundred bytes larger).
const gzipped = (file) => execFileSync('gzip', ['-9', '-c', file], { maxBuffer: 1 << 26 }).length;

test('the gzipped download (wasm + JavaScript glue) stays within its recorded budget', (t) => {
  const wasm = gzipped(path.join(PKG, 'authfetch_bg.wasm'));
  const glueFiles = scripts(PKG);
  assert.ok(glueFiles.includes(path.join(PKG, 'authfetch.js')), 'pkg/authfetch.js is built');
  const glue = glueFiles.reduce((sum, file) => sum + gzipped(file), 0);
  const total = wasm + glue;
  t.diagnostic(`download: wasm ${wasm} B + glue ${glue} B (${glueFiles.length} files) = ${total} B`);
  t.diagnostic(`guard ${budget.guardBytes} B; the issue's target is ${budget.targetBytes} B (${(total / budget.targetBytes).toFixed(1)}x that)`);
  assert.ok(total <= budget.guardBytes, `the download grew to ${total} B, past the guard of ${budget.guardBytes} B (tests/size/budget.json)`);
});

// TypeScript consumers: types-check.ts type-checks (tsc --noEmit, strict) against the installed tarball,
// with `moduleResolution: nodenext` (Node, `types` condition of the exports map) and `bundler`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { consumerProject, ROOT, runBin } from './helpers.mjs';

const SETTINGS = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
};

test('types-check.ts type-checks against the package (nodenext and bundler resolution)', { timeout: 60_000 }, async (t) => {
  const dir = consumerProject(t, 'typescript');
  cpSync(path.join(ROOT, 'tests', 'consumers', 'types-check.ts'), path.join(dir, 'types-check.ts'));
  for (const [name, resolution] of Object.entries(SETTINGS)) {
    const config = {
      compilerOptions: {
        ...resolution, target: 'es2022', lib: ['es2022', 'dom'], types: [], strict: true, noEmit: true,
        skipLibCheck: false, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, isolatedModules: true,
      },
      files: ['types-check.ts'],
    };
    writeFileSync(path.join(dir, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
    const output = runBin('tsc', ['-p', `tsconfig.${name}.json`], dir);
    assert.equal(output.trim(), '', `tsc (${name}) printed nothing`);
  }
});

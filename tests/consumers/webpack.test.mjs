// A webpack 5 app (production mode, no loaders or plugins, no wasm experiment) that installs the packed
// tarball, is built with webpack's Node API and runs in headless Chromium against the demo server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import webpack from 'webpack';
import { api, browser, consumerProject, demoServer, runPage } from './helpers.mjs';

function build(config) {
  return new Promise((resolve, reject) => {
    webpack(config, (error, stats) => {
      if (error) return reject(error);
      if (stats.hasErrors() || stats.hasWarnings()) return reject(new Error(stats.toString({ all: false, errors: true, warnings: true })));
      resolve(stats);
    });
  });
}

test('a webpack 5 app builds with the package and authFetch works without init()', { timeout: 90_000 }, async (t) => {
  const app = consumerProject(t, 'webpack-app', { 'src/browser-checks.js': 'browser-checks.js' });
  const out = path.join(app, 'dist');
  await build({
    mode: 'production',
    context: app,
    entry: './src/main.js',
    output: { path: out, filename: 'main.js', publicPath: '/pkg/' },
    performance: { hints: false },
  });
  const emitted = readdirSync(out);
  assert.ok(emitted.some((name) => name.endsWith('.wasm')), `the .wasm is emitted as an asset: ${emitted.join(', ')}`);
  copyFileSync(path.join(app, 'index.html'), path.join(out, 'index.html'));

  const server = await demoServer(t, out);
  const chromium = await browser(t);
  const { result } = await runPage(chromium, `${server.url}/pkg/`);
  assert.equal(result.configureBeforeInit.code, 'not_initialized');
  assert.equal(result.firstStatus, 200);
  assert.equal(result.firstUser, 'demo');
  assert.equal(result.secondStatus, 200);
  assert.deepEqual(result.refreshes, ['expiring']);
  assert.equal(result.clientStorage, 'memory storage');
  assert.equal(result.isAuthFetchError, true);
  const stats = await api(server, '/api/stats');
  assert.equal(stats.refreshCalls, 1);
});

// A fresh Vite 7 app (no plugins, no config) that installs the packed tarball, is built with `vite build`
// and runs in headless Chromium against the demo server: `authFetch` works without calling init(). Then
// the same app under `vite` (the dev server) with the one setting the README asks for in development,
// `optimizeDeps: { exclude: ['authfetch'] }`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { createServer } from 'vite';
import { api, browser, consumerProject, demoServer, runBin, runPage } from './helpers.mjs';

test('a Vite 7 app builds with the package and authFetch works without init()', { timeout: 90_000 }, async (t) => {
  const app = consumerProject(t, 'vite-app', { 'src/browser-checks.js': 'browser-checks.js' });
  const version = runBin('vite', ['--version'], app);
  assert.match(version, /^vite\/7\./, 'the pinned devDependency is Vite 7');
  // Served under /pkg/ by the demo server, on the same origin as its /api/.
  runBin('vite', ['build', '--base', '/pkg/', '--outDir', 'dist', '--logLevel', 'warn'], app);
  const assets = readdirSync(path.join(app, 'dist', 'assets'));
  assert.ok(assets.some((name) => /^authfetch_bg-.*\.wasm$/.test(name)), `the .wasm is emitted as an asset: ${assets.join(', ')}`);

  const server = await demoServer(t, path.join(app, 'dist'));
  const chromium = await browser(t);
  const { result } = await runPage(chromium, `${server.url}/pkg/`);

  assert.equal(result.readyBefore, false);
  for (const key of ['configureBeforeInit', 'clientBeforeInit', 'stateBeforeInit']) {
    assert.equal(result[key].name, 'AuthFetchError', key);
    assert.equal(result[key].code, 'not_initialized', key);
    assert.match(result[key].message, /await ready\(\)/, key);
  }
  assert.equal(result.firstStatus, 200, 'the first authFetch initialised the module and sent the token');
  assert.equal(result.firstUser, 'demo');
  assert.equal(result.readyAfter, true);
  assert.deepEqual(result.state, { storage: 'localStorage', hasAccessToken: true, isJwt: true, sub: 'demo' });
  assert.equal(result.secondStatus, 200, 'an expired token was refreshed before sending');
  assert.deepEqual(result.refreshes, ['expiring']);
  assert.equal(result.storedRotated, true);
  assert.equal(result.clientIsInstance, true);
  assert.equal(result.clientStorage, 'memory storage');
  assert.equal(result.badOption.code, 'invalid_options');
  assert.equal(result.isAuthFetchError, true);

  const stats = await api(server, '/api/stats');
  assert.equal(stats.refreshCalls, 1);
  assert.equal(stats.protectedCalls, 2);
});

test('the Vite 7 dev server serves the package with optimizeDeps.exclude', { timeout: 90_000 }, async (t) => {
  const app = consumerProject(t, 'vite-app', { 'src/browser-checks.js': 'browser-checks.js' });
  const server = await demoServer(t, app);
  const vite = await createServer({
    root: app,
    configFile: false,
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, proxy: { '/api': server.url } },
    optimizeDeps: { exclude: ['authfetch'] },
  });
  t.after(() => vite.close());
  await vite.listen();
  const chromium = await browser(t);
  const { result } = await runPage(chromium, vite.resolvedUrls.local[0]);
  assert.equal(result.configureBeforeInit.code, 'not_initialized');
  assert.equal(result.firstStatus, 200);
  assert.equal(result.secondStatus, 200);
  assert.deepEqual(result.refreshes, ['expiring']);
});

// No bundler: a plain HTML page whose <script type="module"> imports the installed package's files
// directly, then a module Web Worker and a module Service Worker doing the same, in headless Chromium
// against the demo server (which serves the temp project at /pkg/, under a strict CSP).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, browser, consumerProject, demoServer, runPage } from './helpers.mjs';

async function setup(t) {
  const dir = consumerProject(t, 'plain-page', { 'browser-checks.js': 'browser-checks.js', 'worker-checks.js': 'worker-checks.js' });
  const server = await demoServer(t, dir);
  const chromium = await browser(t);
  return { server, chromium };
}

test('plain page: import from node_modules/authfetch/index.js, the 0.1 way with init()', { timeout: 60_000 }, async (t) => {
  const { server, chromium } = await setup(t);
  const { result } = await runPage(chromium, `${server.url}/pkg/`);
  assert.equal(result.configureBeforeInit.code, 'not_initialized');
  assert.equal(result.clientBeforeInit.code, 'not_initialized');
  assert.equal(result.initOutputHasMemory, true, 'init() resolves to the wasm exports, as before');
  assert.equal(result.initAgainSame, true, 'init() twice gives the same instance');
  assert.equal(result.firstStatus, 200);
  assert.equal(result.secondStatus, 200);
  assert.deepEqual(result.refreshes, ['expiring']);
  assert.equal(result.badOption.code, 'invalid_options');
  const stats = await api(server, '/api/stats');
  assert.equal(stats.protectedCalls, 2);
});

function assertWorkerResult(result, where) {
  assert.equal(result.hasLocalStorage, false, `${where}: no localStorage`);
  assert.equal(result.hasWindow, false, `${where}: no window`);
  assert.equal(result.readyBefore, false);
  assert.equal(result.defaultStatus, 401, 'authFetch initialised the module; no token is stored, so the 401 comes back');
  assert.equal(result.defaultStorage, 'memory storage', 'memory is the default where there is no localStorage');
  assert.equal(result.clientStorage, 'memory storage');
  assert.equal(result.clientStatus, 200);
  assert.equal(result.user, 'demo');
  assert.equal(result.refreshed, true);
  assert.equal(result.afterRefreshStatus, 200);
  assert.deepEqual(result.events, ['refreshing', 'refreshed']);
  assert.deepEqual(result.warnings.filter((line) => /cannot be used|fallback/.test(line)), [], 'no storage fallback warning');
}

test('a module Web Worker uses authFetch and AuthClient with memory storage', { timeout: 60_000 }, async (t) => {
  const { server, chromium } = await setup(t);
  const { result } = await runPage(chromium, `${server.url}/pkg/?worker`);
  assertWorkerResult(result, 'worker');
  const stats = await api(server, '/api/stats');
  assert.equal(stats.refreshCalls, 1);
});

test('a module Service Worker uses authFetch and AuthClient with memory storage', { timeout: 60_000 }, async (t) => {
  const { server, chromium } = await setup(t);
  const { result } = await runPage(chromium, `${server.url}/pkg/?serviceworker`);
  assertWorkerResult(result, 'service worker');
});

// What every page-level test file shares: the demo server started in-process on a random port and one
// headless Chromium (never downloaded: Debian's, or CHROMIUM=…), both started on first use and closed
// after the file's tests; and the demo server's JSON API.
//
// Env: CHROMIUM=/path/to/chromium (default /usr/bin/chromium), AUTHFETCH_PKG_DIR=/other/pkg (default <repo>/pkg).

import { after } from 'node:test';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../www/server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PKG_DIR = path.resolve(process.env.AUTHFETCH_PKG_DIR || path.join(ROOT, 'pkg'));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

let envPromise = null;

/** The demo server and the browser, started once per test file. */
export function env() {
  envPromise ??= (async () => {
    if (!existsSync(path.join(PKG_DIR, 'authfetch.js')) || !existsSync(path.join(PKG_DIR, 'authfetch_bg.wasm'))) {
      throw new Error(`${path.join(PKG_DIR, 'authfetch.js')} (or authfetch_bg.wasm) is missing: build the package first with ` +
        '`scripts/build.sh` in the repository root, then rerun `node --test tests/e2e/`.');
    }
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}; install it (apt-get install chromium) or set CHROMIUM=/path/to/chromium.`);
    }
    const server = await startServer({ port: 0, quiet: true, pkgDir: PKG_DIR });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    return { server, browser };
  })();
  return envPromise;
}

after(async () => {
  if (!envPromise) return;
  const { server, browser } = await envPromise.catch(() => ({}));
  await browser?.close().catch(() => {});
  await server?.close().catch(() => {});
});

/** Calls the demo server's JSON API: a GET, or a POST when `body` is given. */
export async function api(server, p, body) {
  const res = await fetch(server.url + p, body === undefined ? undefined : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return res.json();
}

/** The demo server's counters. */
export const stats = (server) => api(server, '/api/stats');

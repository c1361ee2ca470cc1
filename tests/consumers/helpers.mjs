// Shared by the consumer tests: the packed tarball, a temp project with it installed, the demo server and
// headless Chromium. Never downloads a browser; installs nothing from the network (the package has no
// dependencies, so `npm install <tgz> --offline` works; Vite and TypeScript come from the repository's
// own devDependencies in node_modules/).

import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(ROOT, 'tests', 'consumers', 'fixtures');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

/** The tarball scripts/package.sh made (dist/authfetch-<version>.tgz). */
export function tarball() {
  const dist = path.join(ROOT, 'dist');
  const found = existsSync(dist) ? readdirSync(dist).filter((name) => /^authfetch-.*\.tgz$/.test(name)) : [];
  if (found.length !== 1) {
    throw new Error(`expected one dist/authfetch-<version>.tgz, found ${found.length}: run scripts/package.sh first`);
  }
  return path.join(dist, found[0]);
}

/**
 * A fresh temp project, removed after the test: the fixture directory `fixture` copied in (when there is
 * one), plus `extras` ({ 'target/path': 'file in fixtures/' }), a package.json, and the tarball installed with
 * `npm install <tgz>` (offline: the package has no dependencies; about half a second).
 */
export function consumerProject(t, fixture, extras = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `authfetch-consumer-${fixture}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  if (existsSync(path.join(FIXTURES, fixture))) cpSync(path.join(FIXTURES, fixture), dir, { recursive: true });
  for (const [target, source] of Object.entries(extras)) cpSync(path.join(FIXTURES, source), path.join(dir, target));
  if (!existsSync(path.join(dir, 'package.json'))) {
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${fixture}`, private: true, type: 'module' }, null, 2));
  }
  execFileSync('npm', ['install', tarball(), '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'pipe' });
  return dir;
}

/** Runs a Node script of the repository's node_modules/.bin (vite, tsc) in `cwd`; returns its output. */
export function runBin(name, args, cwd) {
  const bin = path.join(ROOT, 'node_modules', '.bin', name);
  try {
    return execFileSync(bin, args, { cwd, stdio: 'pipe', encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  } catch (error) {
    throw new Error(`${name} ${args.join(' ')} failed:\n${error.stdout || ''}${error.stderr || ''}`);
  }
}

/** The demo server serving `dir` at /pkg/ (same origin as its /api/). */
export async function demoServer(t, dir) {
  const { startServer } = await import(path.join(ROOT, 'www', 'server.mjs'));
  const server = await startServer({ port: 0, quiet: true, pkgDir: dir });
  t.after(() => server.close());
  return server;
}

/** POST/GET helper against the demo server's API, from Node. */
export async function api(server, p, body) {
  const res = await fetch(server.url + p, body === undefined ? undefined : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return res.json();
}

/** Headless Chromium (never downloaded: /usr/bin/chromium or $CHROMIUM), closed after the test. */
export async function browser(t) {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}; set CHROMIUM=/path/to/chromium`);
  const { chromium } = await import('playwright-core');
  const instance = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.after(() => instance.close());
  return instance;
}

/**
 * Opens `url` in a fresh context and waits for the page to set `window.__result` (or `window.__error`).
 * Returns { result, console } where console holds every console line the page and its workers printed.
 */
export async function runPage(instance, url, { timeout = 20_000 } = {}) {
  const context = await instance.newContext();
  const lines = [];
  const errors = [];
  try {
    const page = await context.newPage();
    page.on('console', (message) => lines.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(url);
    await page.waitForFunction(() => window.__result !== undefined || window.__error !== undefined, null, { timeout });
    const { result, error } = await page.evaluate(() => ({ result: window.__result, error: window.__error }));
    if (error !== undefined) throw new Error(`the page failed: ${error}\nconsole:\n${lines.join('\n')}`);
    if (errors.length) throw new Error(`uncaught page errors: ${errors.join('\n')}`);
    return { result, console: lines };
  } finally {
    await context.close();
  }
}

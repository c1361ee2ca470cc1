#!/usr/bin/env node
// authfetch randomized soak: N calls with random faults against a strict in-page auth server, invariants
// checked live. See soak/README.md.
//
//   node soak/run.mjs [--calls 10000] [--seed N] [--clients 2] [--batch-max 20] [--max-minutes 10] [--build] [--json FILE]
//
// Exit code: 0 all invariants held; 1 a must-be-0 counter is not 0 (or the page crashed); 2 the run could not
// finish (time limit, setup failure) without any violation. Never downloads a browser.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const SOAK_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(SOAK_DIR, '..');
const PKG_DIR = path.join(ROOT, 'pkg');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

function parseArgs(argv) {
  const opts = { calls: 10000, seed: null, clients: 2, batchMax: 20, maxMinutes: 10, build: false, json: null, trace: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    const int = (v, lo, hi) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) usage(`${flag} must be an integer from ${lo} to ${hi}; got ${v}`);
      return n;
    };
    switch (flag) {
      case '--calls': opts.calls = int(value(), 1, 10_000_000); break;
      case '--seed': opts.seed = int(value(), 0, 0xffffffff); break;
      case '--clients': opts.clients = int(value(), 1, 2); break;
      case '--batch-max': opts.batchMax = int(value(), 11, 100); break;
      case '--max-minutes': opts.maxMinutes = Number(value()); if (!(opts.maxMinutes > 0)) usage('--max-minutes must be > 0'); break;
      case '--build': opts.build = true; break;
      case '--trace': opts.trace = true; break;
      case '--json': opts.json = value(); break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${arg}`);
    }
  }
  opts.seed ??= (Date.now() ^ (process.pid << 16)) >>> 0;
  return opts;
}

function usage(error) {
  const text = 'usage: node soak/run.mjs [--calls 10000] [--seed N] [--clients 1|2] [--batch-max 20] [--max-minutes 10] [--build] [--trace] [--json FILE]';
  if (error) { console.error(`soak: ${error}\n${text}`); process.exit(2); }
  console.log(text);
  process.exit(0);
}

const log = (...a) => console.error('[soak]', ...a);

function ensurePkg(build) {
  const have = existsSync(path.join(PKG_DIR, 'authfetch.js')) && existsSync(path.join(PKG_DIR, 'authfetch_bg.wasm'));
  if (have && !build) return;
  log('building pkg/ with scripts/build.sh');
  execFileSync('bash', [path.join(ROOT, 'scripts', 'build.sh')], { stdio: ['ignore', 2, 2] });
}

/** A copy of pkg/, so that a rebuild during the run does not mix builds. */
function snapshotPkg() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'authfetch-soak-pkg-'));
  cpSync(PKG_DIR, dir, { recursive: true });
  const wasm = readFileSync(path.join(dir, 'authfetch_bg.wasm'));
  return { dir, built: statSync(path.join(PKG_DIR, 'authfetch_bg.wasm')).mtime.toISOString(), sha: createHash('sha256').update(wasm).digest('hex').slice(0, 12) };
}

function gitDescribe() {
  try {
    let commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'Cargo.toml', 'Cargo.lock'], { encoding: 'utf8' }).trim();
    if (dirty) commit += ' (src/ has uncommitted changes)';
    return commit;
  } catch {
    return '?';
  }
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json', '.ts': 'text/plain' };

function startServer(pkgDir) {
  const roots = { '/pkg/': pkgDir, '/soak/': SOAK_DIR };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file = null;
    if (url.pathname === '/') { res.writeHead(302, { location: '/soak/page.html' }); res.end(); return; }
    for (const [prefix, dir] of Object.entries(roots)) {
      if (url.pathname.startsWith(prefix)) {
        const rel = decodeURIComponent(url.pathname.slice(prefix.length));
        const full = path.resolve(dir, rel);
        if (full.startsWith(dir + path.sep) && existsSync(full) && statSync(full).isFile()) file = full;
      }
    }
    if (!file || req.method !== 'GET') { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found'); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// ---------------------------------------------------------------------------------------------------
// Report

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
const fmtGroup = (g) => (g ? Object.entries(g).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ') : '—');

function report(result, opts, meta, extraPanics) {
  const c = result.counters;
  const v = result.violations;
  const count = (kind) => (v[kind]?.count || 0) + (kind === 'panics' ? extraPanics.length : 0);
  const refreshFailures = Object.fromEntries(Object.entries(c['refresh outcomes (server)'] || {}).filter(([k]) => !k.startsWith('ok') && !k.startsWith('slow but')));
  const rows = [
    ['calls', result.calls, ''],
    ['responses by status', fmtGroup(c['responses by status']), ''],
    ['aborted (rejected with AbortError)', c['aborted (rejected with AbortError)'] || 0, ''],
    ['retries (second attempts)', c.retries || 0, ''],
    ['refreshes (server-side requests)', result.refreshRequests, ''],
    ['refresh outcomes', fmtGroup(c['refresh outcomes (server)']), ''],
    ['refresh failures by kind', fmtGroup(refreshFailures) || '—', ''],
    ['token generations issued', result.generations, ''],
    ['logins (sessions)', result.families, ''],
    ['random 401s (access token expired by the server)', c['access tokens expired by the server (random 401s)'] || 0, ''],
    ['requests to non-allowed origins', c['requests to non-allowed origins'] || 0, ''],
    ['onRefresh by trigger', fmtGroup(c['onRefresh by trigger']), ''],
    ['onAuthFailure by reason', fmtGroup(c['onAuthFailure by reason']), ''],
    ['diagnostics by code', fmtGroup(c['diagnostics by code']), ''],
    ['client counts (state().counts)', result.clientCounts.map((x, i) => `#${i}: ${x.requests} req, ${x.unauthorized} 401, ${x.refreshes} refreshes, ${x.refreshFailures} failed`).join('; '), ''],
    ['401s returned after a failed refresh', c['401s returned after a failed refresh'] || 0, ''],
    ['401s to a token the call had just refreshed before sending (returned as is)', c['401s to a token this call had just refreshed (returned as is)'] || 0, ''],
    ['401s after the retry (still unauthorized)', c['401s after the retry (still unauthorized)'] || 0, ''],
    ['refresh replies lost to refreshTimeout after commit', c['refresh replies lost to refreshTimeout after the server committed'] || 0, ''],
    ['batches / bursts / single-call batches / manual refresh()', `${result.batches} / ${c['burst batches'] || 0} / ${c['single-call batches'] || 0} / ${c['manual refresh() calls'] || 0}`, ''],
    ['reuse detections after a reply lost to refreshTimeout (not counted as client-caused)', c['reuse detections after a reply lost to refreshTimeout (server committed, client timed out)'] || 0, ''],
    ['checkpoints where a client briefly saw older tokens than storage (longest lag ms)', `${c['checkpoints where a client briefly saw older tokens than storage'] || 0} (${c['longest such lag ms'] || 0})`, ''],
    ['batches that did not quiesce within 4 s', c['batches that did not quiesce within 4 s'] || 0, ''],
    ['call latency ms (p50 / p90 / p99 / max)', `${result.latencyMs.p50} / ${result.latencyMs.p90} / ${result.latencyMs.p99} / ${result.latencyMs.max}`, ''],
  ];
  for (const kind of Object.keys(result.mustBeZero)) rows.push([`**${kind}**`, count(kind), count(kind) ? '**must be 0: VIOLATED**' : 'must be 0: ok']);
  const lines = [];
  lines.push(`authfetch soak — seed ${result.seed}, ${result.calls}/${result.requestedCalls} calls, ${result.clients} client(s) sharing localStorage, ${(result.elapsedMs / 1000).toFixed(1)} s`);
  lines.push(`build: ${meta.commit}; pkg/ built ${meta.pkg.built}, wasm sha256 ${meta.pkg.sha}…; Chromium ${meta.browserVersion}`);
  lines.push('');
  lines.push(table(['counter', 'value', 'invariant'], rows));
  const failing = Object.keys(result.mustBeZero).filter((k) => count(k) > 0);
  if (failing.length) {
    lines.push('');
    lines.push('## Violations (first examples; rerun with the same --seed to reproduce the call plan)');
    for (const kind of failing) {
      lines.push(`- **${kind}** ×${count(kind)} — ${result.mustBeZero[kind]}`);
      for (const ex of v[kind]?.examples || []) lines.push(`  - ${opts.trace ? JSON.stringify(ex, null, 1).replace(/\n\s*/g, ' ').replace(/\}, \{/g, '},\n      {') : JSON.stringify(ex).slice(0, 700)}`);
      if (kind === 'panics') for (const ex of extraPanics.slice(0, 6)) lines.push(`  - (node side) ${ex.slice(0, 700)}`);
    }
  }
  const notes = Object.entries(result.notes || {});
  if (notes.length) {
    lines.push('');
    lines.push('## Notable but allowed events (caused by injected faults or by the machine, not counted as violations)');
    for (const [kind, n] of notes) {
      lines.push(`- ${kind} ×${n.count}`);
      for (const ex of n.examples) lines.push(`  - ${JSON.stringify({ ...ex, recent: ex.recent ? `(${ex.recent.length} trace events in --json)` : undefined }).slice(0, 500)}`);
    }
  }
  if (result.stopped) lines.push('', `**Stopped early: ${result.stopped}.**`);
  const summary = `soak: ${result.calls} calls, seed ${result.seed}, ${(result.elapsedMs / 1000).toFixed(1)} s — status ${fmtGroup(c['responses by status'])}; ` +
    `aborted ${c['aborted (rejected with AbortError)'] || 0}; refreshes ${result.refreshRequests} (failures: ${fmtGroup(refreshFailures) || 'none'}); ` +
    `generations ${result.generations}; tokens lost ${count('tokens lost')}; third-party tokens ${count('tokens seen by a non-allowed origin')} (Authorization headers ${count('Authorization header sent to a non-allowed origin')}); ` +
    `client reuse detections ${count('reuse detections triggered by the client')}; retries with a different body ${count('retries with a different body')}; ` +
    `panics ${count('panics')}; >1 retry ${count('more than one retry per call')}; other must-be-0 ${failing.filter((k) => !['tokens lost', 'tokens seen by a non-allowed origin', 'Authorization header sent to a non-allowed origin', 'reuse detections triggered by the client', 'retries with a different body', 'panics', 'more than one retry per call'].includes(k)).map((k) => `${k} ${count(k)}`).join(', ') || 0}` +
    ` — ${failing.length ? `FAILED (${failing.join(', ')})` : result.stopped ? 'INCOMPLETE' : 'OK'}`;
  return { text: lines.join('\n'), summary, failing };
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const budgetMs = opts.maxMinutes * 60_000;
  const hardStop = setTimeout(() => {
    console.error(`soak: hard time limit (${opts.maxMinutes} min + 60 s) exceeded: the page did not finish; giving up`);
    process.exit(2);
  }, budgetMs + 60_000);
  hardStop.unref();

  if (!existsSync(CHROMIUM)) { console.error(`soak: no Chromium at ${CHROMIUM} (set CHROMIUM=…); this script never downloads one`); process.exit(2); }
  ensurePkg(opts.build);
  const pkg = snapshotPkg();
  const server = await startServer(pkg.dir);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const meta = { commit: gitDescribe(), pkg, browserVersion: browser.version() };
  const nodePanics = [];
  let crashed = false;
  let exitCode = 2;
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (error) => nodePanics.push(`pageerror: ${error.stack || error.message}`));
    page.on('crash', () => { crashed = true; nodePanics.push('the page crashed'); });
    page.on('console', (msg) => {
      const text = msg.text();
      if (text.startsWith('[soak]')) console.error(text);
      else if (/panicked|unreachable|RuntimeError/i.test(text)) nodePanics.push(`console.${msg.type()}: ${text}`);
      else if (msg.type() === 'error' || msg.type() === 'warning') console.error(`[page console.${msg.type()}] ${text.slice(0, 300)}`);
    });
    await page.goto(`${origin}/soak/page.html`);
    await page.waitForFunction(() => window.soakReady === true, null, { timeout: 30_000 });
    log(`seed ${opts.seed}: ${opts.calls} calls, ${opts.clients} client(s), batches of 1–${opts.batchMax}, time limit ${opts.maxMinutes} min; ${meta.commit}, wasm ${pkg.sha}`);
    const result = await page.evaluate((o) => window.runSoak(o), { calls: opts.calls, seed: opts.seed, clients: opts.clients, batchMax: opts.batchMax, deadlineMs: budgetMs, traceEvents: opts.trace });
    // pageerror duplicates what the page's own error listeners counted; keep only what the page missed.
    const inPage = await page.evaluate(() => window.__soakErrors.length);
    const missed = nodePanics.filter((p) => !p.startsWith('pageerror:')).concat(nodePanics.filter((p) => p.startsWith('pageerror:')).slice(inPage));
    const { text, summary, failing } = report(result, opts, meta, missed);
    console.log(text);
    console.log('');
    console.log(summary);
    if (opts.json) writeFileSync(opts.json, JSON.stringify({ meta, result, nodePanics }, null, 2));
    exitCode = failing.length || crashed ? 1 : result.stopped ? 2 : 0;
  } catch (error) {
    console.error(`soak: the run failed: ${error.stack || error}`);
    if (nodePanics.length) console.error(`page errors:\n${nodePanics.join('\n')}`);
    exitCode = crashed || nodePanics.length ? 1 : 2;
  } finally {
    await browser.close().catch(() => {});
    server.close();
    rmSync(pkg.dir, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

main();

#!/usr/bin/env node
// authfetch benchmark harness ("Fast and small").
//
//   node bench/run.mjs            # from the repository root; the whole run, ~1–2 minutes
//   node bench/run.mjs --quick    # few iterations, only to check the wiring (does not write results.md)
//   node bench/run.mjs --build    # rebuild pkg/ with scripts/build.sh first
//
// Installs bench/node_modules itself (`npm ci --prefix bench`) when it is missing, and builds pkg/ with
// scripts/build.sh when pkg/ has no package. Needs Chromium at /usr/bin/chromium (CHROMIUM=… overrides)
// and playwright-core from the repository's own node_modules; never downloads a browser.
//
// Measures, in headless Chromium against a local server on 127.0.0.1 (random port):
//   1. per-call overhead with a stubbed transport (fetch replaced by a resolved Response), clients
//      interleaved over several rounds, medians and ratios to raw fetch;
//   2. the same with real loopback requests;
//   3. a refresh cycle: N concurrent calls with a stale token → refresh calls, 401s, round trips, time;
//   4. initialisation: import of the glue, `await init()` in fresh contexts, the first calls;
//   5. download sizes (gzip -9, brotli) of authfetch and its peers.
// Prints markdown tables and writes them to bench/results.md. Ratios only; nothing here passes or fails.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const PKG_DIR = path.join(ROOT, 'pkg');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage',
  '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const PEERS = ['ofetch', 'ky', 'axios', 'axios-auth-refresh', 'oidc-client-ts', '@auth0/auth0-spa-js', 'esbuild'];

const QUICK = process.argv.includes('--quick');
const BUILD = process.argv.includes('--build');

// Iteration counts: bounded, sized for a 2-core machine.
const CONFIG = QUICK
  ? {
    stub: { rounds: 3, calls: 100, warmupCalls: 50 },
    real: { rounds: 3, calls: 10, warmupCalls: 5 },
    refresh: { concurrency: 20, trials: 3, warmupTrials: 1 },
    refreshStub: { concurrency: 20, trials: 5, warmupTrials: 2 },
    initRuns: 2,
  }
  : {
    stub: { rounds: 10, calls: 2000, warmupCalls: 1000 },
    real: { rounds: 15, calls: 60, warmupCalls: 30 },
    refresh: { concurrency: 20, trials: 30, warmupTrials: 3 },
    refreshStub: { concurrency: 20, trials: 100, warmupTrials: 10 },
    initRuns: 11,
  };
const HARD_TIMEOUT_MS = 6 * 60 * 1000; // the run stops by itself whatever happens

const log = (...a) => console.error('[bench]', ...a); // progress on stderr, tables on stdout

// ---------------------------------------------------------------------------------------------------
// Setup

function ensureDeps() {
  const missing = PEERS.filter((p) => !existsSync(path.join(BENCH_DIR, 'node_modules', p, 'package.json')));
  if (missing.length === 0) return;
  log(`installing bench dependencies (missing: ${missing.join(', ')}): npm ci --prefix bench`);
  execFileSync('npm', ['ci', '--prefix', BENCH_DIR, '--no-audit', '--no-fund'], { stdio: ['ignore', 2, 2] });
}

function ensurePkg() {
  const have = existsSync(path.join(PKG_DIR, 'authfetch.js')) && existsSync(path.join(PKG_DIR, 'authfetch_bg.wasm'));
  if (have && !BUILD) return;
  log('building pkg/ with scripts/build.sh');
  execFileSync('bash', [path.join(ROOT, 'scripts', 'build.sh')], { stdio: ['ignore', 2, 2] });
}

/**
 * Copies pkg/ to a temporary directory so that the whole run measures one build even if pkg/ is
 * rebuilt meanwhile (src/ is edited concurrently). A build in progress rewrites pkg/ file by file, so
 * the copy is only taken once the files' sizes and mtimes have been stable for a second, and kept only
 * if they did not change during the copy; otherwise it waits and tries again (30 s at most).
 * Returns `{ dir, built, sha }`.
 */
async function snapshotPkg() {
  const required = ['authfetch.js', 'authfetch_bg.wasm', 'package.json'];
  const stamp = () => {
    try {
      return JSON.stringify(required.map((f) => {
        const st = statSync(path.join(PKG_DIR, f));
        return [f, st.size, st.mtimeMs];
      }));
    } catch {
      return null; // a file is missing: a build is rewriting pkg/
    }
  };
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  for (let attempt = 0; attempt < 30; attempt++) {
    const first = stamp();
    await sleep(1000);
    if (first === null || stamp() !== first) continue;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'authfetch-bench-pkg-'));
    cpSync(PKG_DIR, dir, { recursive: true, preserveTimestamps: true });
    if (stamp() === first && required.every((f) => existsSync(path.join(dir, f)))) {
      const wasm = readFileSync(path.join(dir, 'authfetch_bg.wasm'));
      return {
        dir,
        built: statSync(path.join(dir, 'authfetch_bg.wasm')).mtime.toISOString(),
        sha: createHash('sha256').update(wasm).digest('hex').slice(0, 12),
      };
    }
    rmSync(dir, { recursive: true, force: true });
  }
  throw new Error('pkg/ kept changing for 30 s (a build in progress?); run again when it is done');
}

function describeMachine(browserVersion, pkg, loadAtStart) {
  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m) || [])[1] || os.cpus()[0]?.model || '?';
  let commit = '?';
  try {
    commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'Cargo.toml', 'Cargo.lock'], { encoding: 'utf8' }).trim();
    if (dirty) commit += ' (src/ has uncommitted changes)';
  } catch { /* not a git checkout */ }
  const uname = (() => { try { return execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim(); } catch { return os.machine(); } })();
  return [
    `Date: ${new Date().toISOString()}`,
    `Machine: \`uname -m\` ${uname}; CPU: ${cpu} × ${os.cpus().length} logical cores; ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; ` +
      `load average at start ${loadAtStart.map((x) => x.toFixed(2)).join(' / ')} (1/5/15 min)` +
      (loadAtStart[0] > os.cpus().length / 2 ? ' — **the machine was busy: absolute times are noisy, prefer the ratios**' : ''),
    `Software: Node ${process.version}; Chromium ${browserVersion} (headless); authfetch commit ${commit}; pkg/ built ${pkg.built}, wasm sha256 ${pkg.sha}…`,
  ];
}

// ---------------------------------------------------------------------------------------------------
// Statistics and formatting

const sorted = (xs) => [...xs].sort((a, b) => a - b);
function quantile(xs, q) {
  const s = sorted(xs);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (pos - lo);
}
const median = (xs) => quantile(xs, 0.5);
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const fmtUs = (x) => fmt(x, x < 10 ? 2 : 1);
const fmtRatio = (x) => `${fmt(x, 2)}×`;
const fmtRange = (xs, f = fmt) => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? f(lo) : `${f(lo)}–${f(hi)}`;
};
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Overhead table: median µs/call, interquartile range, and the ratio to raw fetch paired per round. */
function overheadTable({ samples }) {
  const base = samples['raw fetch'];
  return table(
    ['client', 'µs per call (median)', 'p25–p75 of rounds', 'ratio to raw fetch'],
    Object.entries(samples).map(([name, xs]) => {
      const ratios = xs.map((x, i) => x / base[i]);
      return [name, fmtUs(median(xs)), `${fmtUs(quantile(xs, 0.25))}–${fmtUs(quantile(xs, 0.75))}`, fmtRatio(median(ratios))];
    }),
  );
}

/** Median over trials of a.ms ÷ b.ms in the same trial (the clients run interleaved within each trial). */
const pairedRatio = (a, b) => median(a.map((t, i) => t.ms / b[i].ms));

function refreshTable(results, concurrency) {
  const base = results['hand-written wrapper'];
  const rows = Object.entries(results).map(([name, trials]) => {
    const ms = trials.map((t) => t.ms);
    const trips = trials.map((t) => t.protectedCalls + t.refreshCalls);
    const okAll = trials.every((t) => t.ok === concurrency);
    return [
      name,
      fmt(median(ms), 2),
      fmtRatio(pairedRatio(trials, base)),
      fmtRange(trials.map((t) => t.refreshCalls), (x) => String(x)),
      fmtRange(trials.map((t) => t.unauthorized), (x) => String(x)),
      fmtRange(trips, (x) => String(x)),
      okAll ? `${concurrency}/${concurrency}` : `${Math.min(...trials.map((t) => t.ok))}/${concurrency} (some failed)`,
    ];
  });
  return table(['client', 'ms (median)', 'ratio to hand-written', 'refresh calls', '401s at server',
    'round trips (protected + refresh)', '200s per trial'], rows);
}

// ---------------------------------------------------------------------------------------------------
// Phases

/** Cold initialisation: each run in a fresh browser context (own HTTP cache; the server says no-store). */
async function measureInit(browser, origin, token, runs) {
  const out = { importGlue: [], init: [], firstCall: [], secondCall: [], rawFetch: [], wasmDownload: [], wasmCompile: [] };
  for (let i = 0; i < runs; i++) {
    // A: import the glue, init(), first and second authFetch, then a raw fetch for scale.
    let ctx = await browser.newContext();
    let page = await ctx.newPage();
    await page.goto(`${origin}/init.html`);
    const a = await page.evaluate(async (tok) => {
      const t0 = performance.now();
      const mod = await import('/pkg/authfetch.js');
      const t1 = performance.now();
      await mod.default();
      const t2 = performance.now();
      localStorage.setItem('access_token', tok);
      mod.configure({ logLevel: 'silent' });
      const t3 = performance.now();
      const r1 = await mod.authFetch('/api/data');
      const t4 = performance.now();
      const r2 = await mod.authFetch('/api/data');
      const t5 = performance.now();
      const r3 = await fetch('/api/data', { headers: { Authorization: 'Bearer ' + localStorage.getItem('access_token') } });
      const t6 = performance.now();
      if (r1.status !== 200 || r2.status !== 200 || r3.status !== 200) throw new Error('init page: unexpected status');
      return { importGlue: t1 - t0, init: t2 - t1, firstCall: t4 - t3, secondCall: t5 - t4, rawFetch: t6 - t5 };
    }, token);
    await ctx.close();
    // B: the wasm download and compile alone, in another fresh context (V8 would reuse a module it
    // already compiled in the same page, so this cannot follow A).
    ctx = await browser.newContext();
    page = await ctx.newPage();
    await page.goto(`${origin}/init.html`);
    const b = await page.evaluate(async () => {
      const t0 = performance.now();
      const bytes = await (await fetch('/pkg/authfetch_bg.wasm')).arrayBuffer();
      const t1 = performance.now();
      await WebAssembly.compile(bytes);
      const t2 = performance.now();
      return { wasmDownload: t1 - t0, wasmCompile: t2 - t1 };
    });
    await ctx.close();
    for (const [k, v] of Object.entries({ ...a, ...b })) out[k].push(v);
  }
  return out;
}

function initTable(m) {
  const rows = [
    ['`import` of pkg/authfetch.js (glue download + parse)', m.importGlue],
    ['`await init()` (wasm download + compile + instantiate)', m.init],
    ['  of which: wasm download alone (fetch + arrayBuffer)', m.wasmDownload],
    ['  of which: `WebAssembly.compile` of the bytes alone', m.wasmCompile],
    ['first `authFetch()` after init (loopback)', m.firstCall],
    ['second `authFetch()` (loopback)', m.secondCall],
    ['raw `fetch()` with the header, same page (loopback)', m.rawFetch],
  ];
  return table(['measure (fresh browser context each run)', 'ms (median)', 'min–max', 'runs'],
    rows.map(([label, xs]) => [label, fmt(median(xs), 2), fmtRange(xs, (x) => fmt(x, 2)), String(xs.length)]));
}

function sizesTable(rows) {
  return table(
    ['package', 'version', 'files', 'as published: raw', 'gzip -9', 'brotli', 'min bundle: raw', 'gzip -9', 'brotli'],
    rows.map((r) => [r.name, r.version, String(r.files), kb(r.published.raw), kb(r.published.gzip), kb(r.published.brotli),
      kb(r.bundle.raw), kb(r.bundle.gzip), kb(r.bundle.brotli)]),
  );
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const hardStop = setTimeout(() => {
    console.error('[bench] hard timeout reached, exiting');
    process.exit(2);
  }, HARD_TIMEOUT_MS);
  hardStop.unref();
  const started = Date.now();
  const loadAtStart = os.loadavg();

  ensureDeps();
  ensurePkg();
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM=…)`);
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    throw new Error('playwright-core is missing: run `npm ci` in the repository root (or scripts/setup.sh) first');
  }
  const { startBenchServer, STATIC_ACCESS_TOKEN } = await import('./server.mjs');
  const { measureSizes } = await import('./sizes.mjs');
  const esbuild = await import('esbuild');

  const pkg = await snapshotPkg();
  let server = null;
  let browser = null;
  const sections = [];
  try {
    server = await startBenchServer({
      pageDir: path.join(BENCH_DIR, 'page'),
      pkgDir: pkg.dir,
      nodeModulesDir: path.join(BENCH_DIR, 'node_modules'),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    log(`server ${server.origin}; Chromium ${browser.version()}`);
    const context = await browser.newContext();
    const page = await context.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
    await page.goto(server.origin + '/');
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 }).catch(() => {
      throw new Error(`bench page did not load: ${pageErrors.join('; ') || 'no error reported'}`);
    });
    page.setDefaultTimeout(120_000);

    log('verifying that every client sends the bearer token (stub and loopback)');
    await page.evaluate((t) => window.bench.verify('stub', t), STATIC_ACCESS_TOKEN);
    await page.evaluate((t) => window.bench.verify('real', t), STATIC_ACCESS_TOKEN);

    log(`per-call overhead, stubbed transport: ${JSON.stringify(CONFIG.stub)}`);
    const stub = await page.evaluate(([t, c]) => window.bench.overhead('stub', t, c), [STATIC_ACCESS_TOKEN, CONFIG.stub]);
    log(`per-call time, real loopback: ${JSON.stringify(CONFIG.real)}`);
    const real = await page.evaluate(([t, c]) => window.bench.overhead('real', t, c), [STATIC_ACCESS_TOKEN, CONFIG.real]);
    if (real.server.unauthorized !== 0) throw new Error(`loopback run saw ${real.server.unauthorized} 401s`);
    log(`refresh cycle, real loopback: ${JSON.stringify(CONFIG.refresh)}`);
    const refresh = await page.evaluate((c) => window.bench.refreshCycle('real', c), CONFIG.refresh);
    log(`refresh cycle, in-memory server: ${JSON.stringify(CONFIG.refreshStub)}`);
    const refreshStub = await page.evaluate((c) => window.bench.refreshCycle('stub', c), CONFIG.refreshStub);
    await context.close();

    log(`initialisation: ${CONFIG.initRuns} fresh contexts`);
    const initTimes = await measureInit(browser, server.origin, STATIC_ACCESS_TOKEN, CONFIG.initRuns);

    log('sizes');
    const sizes = await measureSizes(esbuild, { pkgDir: pkg.dir, benchDir: BENCH_DIR });

    const { concurrency } = CONFIG.refresh;
    const afRatio = (r) => fmtRatio(pairedRatio(r.authfetch, r['hand-written wrapper']));
    const aarNote = 'axios-auth-refresh with its default options (`deduplicateRefresh: true`) rejects the 401s that ' +
      'arrive while its refresh is in flight, so only the first request succeeds and its time is not comparable; with ' +
      '`deduplicateRefresh: false` they wait for the refresh (Flyrell/axios-auth-refresh#307).';
    const timerNote = stub.crossOriginIsolated ? 'cross-origin isolated page, performance.now() ≈ 5 µs resolution'
      : 'page NOT cross-origin isolated: performance.now() is coarsened to 100 µs, batches keep it below 1 % of a sample';

    sections.push(
      `# authfetch benchmark results${QUICK ? ' (--quick: too few iterations to quote)' : ''}`,
      describeMachine(browser.version(), pkg, loadAtStart).map((l) => `${l}  `).join('\n'),
      `Command: \`node bench/run.mjs\`. Peers: ${sizes.filter((s) => s.name !== 'authfetch').map((s) => `${s.name} ${s.version}`).join(', ')}.`,
      '## Per-call overhead, stubbed transport',
      `Each client's fetch is replaced by a stub that resolves \`new Response('{}', {status: 200})\` at once; every ` +
        `client reads the token from localStorage and adds \`Authorization: Bearer …\`. ${CONFIG.stub.rounds} rounds × ` +
        `${CONFIG.stub.calls} sequential awaited calls per client, clients interleaved (rotating start) after a warm-up of ` +
        `${CONFIG.stub.warmupCalls} calls each; one sample = mean µs/call of one round. Every client calls the same URL, ` +
        `except "authfetch, a new URL each call", which cycles through 64 (authfetch skips re-checking the URL it checked ` +
        `last). Ratio = median over rounds of ` +
        `client ÷ raw fetch in the same round. (${timerNote}.)`,
      overheadTable(stub),
      '## Per-call time, real loopback',
      `Real requests to \`GET /api/data\` on the bench server (127.0.0.1, HTTP/1.1 keep-alive). ${CONFIG.real.rounds} rounds × ` +
        `${CONFIG.real.calls} sequential calls per client, interleaved, after ${CONFIG.real.warmupCalls} warm-up calls each; ` +
        `the server saw ${real.server.protectedCalls} calls and ${real.server.unauthorized} 401s.`,
      overheadTable(real),
      '## Refresh cycle, real loopback',
      `${concurrency} concurrent GETs with a stale opaque access token: the server answers 401 to it, \`POST /api/refresh-token\` ` +
        `issues a new one (no rotation of the refresh token, no artificial delay). ${CONFIG.refresh.trials} trials per client, ` +
        `interleaved, after ${CONFIG.refresh.warmupTrials} warm-up trials; counts are min–max over trials; ratio = median over ` +
        'trials of client ÷ hand-written in the same trial. The last row stores an ' +
        'already-expired JWT instead, which authfetch can see and refresh before sending.',
      refreshTable(refresh, concurrency),
      `authfetch ÷ hand-written wrapper (time, median of per-trial ratios): **${afRatio(refresh)}** (target ≤ 1.05×). ${aarNote}`,
      '## Refresh cycle, in-memory server',
      `The same cycle with the server played in memory by a fetch function passed to every client (axios: an adapter over ` +
        `it), resolving at once: no network, so this is the clients' own cost (plus, for authfetch, its cross-tab refresh ` +
        `coordination). ${CONFIG.refreshStub.trials} trials per client after ${CONFIG.refreshStub.warmupTrials} warm-up trials.`,
      refreshTable(refreshStub, CONFIG.refreshStub.concurrency),
      `authfetch ÷ hand-written wrapper: **${afRatio(refreshStub)}**.`,
      '## Initialisation',
      `Each run in a fresh browser context (own HTTP cache; the server sends \`Cache-Control: no-store\`, so nothing is ` +
        `cached and V8's wasm code cache cannot apply). ${CONFIG.initRuns} runs; median.`,
      initTable(initTimes),
      '## Download size',
      '"As published": the files a browser fetches importing the package\'s browser ESM entry unbundled (the module graph ' +
        'from that entry; each file compressed separately). "Min bundle": that graph bundled and minified by esbuild ' +
        '(`--bundle --minify --format=esm`, every export kept). authfetch = pkg/authfetch.js + pkg/authfetch_bg.wasm in both ' +
        '(the .wasm is not minified further). gzip level 9 and brotli quality 11 from node:zlib; 1 KiB = 1024 B.',
      sizesTable(sizes),
      '## Notes on the wiring',
      [
        '- Every client reads `access_token` from localStorage on each call. authfetch: `configure({ fetch, logLevel: ' +
          "'silent' })` + `authFetch(url)` (default client, allowed origin = page origin). ofetch: `ofetch.create({ onRequest }, " +
          '{ fetch })`, header set on `options.headers`. ky: `ky.create({ fetch, hooks: { beforeRequest } })`. axios: ' +
          '`axios.create({ adapter })` + a request interceptor + `createAuthRefreshInterceptor` (refresh POST through an ' +
          'interceptor-free axios instance, `skipAuthRefresh: true`). Hand-written: bearer header by hand, one shared refresh promise, one retry.',
        '- What a call resolves to differs, as in real use: raw fetch, authfetch, the hand-written wrapper and ky resolve to ' +
          'the `Response` without reading the body; ofetch reads and parses it (`{}`); axios parses the text ' +
          'its adapter returns.',
        '- Stub and in-memory modes, axios: a custom adapter calls the same fetch function (so each client builds exactly ' +
          'one `Response` per call), reads the body as text and rejects outside `validateStatus` like axios\'s own adapters. ' +
          'Loopback mode, axios: its default browser adapter (XMLHttpRequest).',
        '- authfetch coordinates a refresh across tabs (Web Lock + BroadcastChannel, src/tabs.rs); the hand-written wrapper ' +
          'and axios-auth-refresh share a refresh within one tab only. The refresh rows include that difference.',
        '- Loopback is HTTP/1.1 on 127.0.0.1, so Chromium opens at most 6 connections: 20 concurrent calls queue.',
        '- authfetch is measured from a copy of pkg/ taken at the start of the run (wasm hash above).',
      ].join('\n'),
      `_Run time: ${((Date.now() - started) / 1000).toFixed(0)} s._`,
    );
  } finally {
    await browser?.close().catch(() => {});
    await server?.close().catch(() => {});
    rmSync(pkg.dir, { recursive: true, force: true });
  }

  const markdown = sections.join('\n\n') + '\n';
  process.stdout.write(markdown);
  if (!QUICK) {
    writeFileSync(path.join(BENCH_DIR, 'results.md'), markdown);
    log('written to bench/results.md');
  }
}

main().catch((err) => {
  console.error('[bench] failed:', err && err.stack ? err.stack : err);
  process.exit(1);
});

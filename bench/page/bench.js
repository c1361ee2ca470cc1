// In-page measurements, driven by bench/run.mjs through page.evaluate(() => window.bench.…).
// All loops are bounded; all traffic goes to this page's origin (the bench server on 127.0.0.1).

import init from 'authfetch';
import { makeClients, makeRefreshClients, makeServerStub, stubHooks, authorizationOf } from './clients.js';

const STATIC_TOKEN_KEY = 'access_token';
const DATA_URL = new URL('/api/data', location.origin).href;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Bypasses every client: the page's own calls to the bench control endpoints. */
const control = {
  reset: () => fetch('/bench/reset', { method: 'POST' }).then((r) => r.json()),
  stats: () => fetch('/bench/stats').then((r) => r.json()),
};

function setTokens(accessToken, refreshToken) {
  localStorage.setItem(STATIC_TOKEN_KEY, accessToken);
  localStorage.setItem('refresh_token', refreshToken);
}

/** µs per call of `n` sequential awaited calls. */
async function timeBatch(call, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await call();
  return ((performance.now() - t0) * 1000) / n;
}

/**
 * Checks that every client really sends `Bearer <static token>`: in stub mode by looking at what the
 * stub receives, in real mode by the server's count of 401s. Throws on a miswired client.
 */
async function verify(mode, staticToken) {
  setTokens(staticToken, 'rt-static');
  const clients = makeClients(mode, DATA_URL);
  const seen = {};
  if (mode === 'stub') {
    for (const c of clients) {
      let header = null;
      stubHooks.onCall = (input, initArg) => { header = authorizationOf(input, initArg); };
      try { await c.call(); } finally { stubHooks.onCall = null; }
      seen[c.name] = header;
      if (header !== 'Bearer ' + staticToken) throw new Error(`${c.name} sent Authorization=${header}`);
    }
  } else {
    for (const c of clients) {
      await control.reset();
      await c.call();
      const s = await control.stats();
      seen[c.name] = s;
      if (s.unauthorized !== 0 || s.protectedCalls !== 1) throw new Error(`${c.name}: server saw ${JSON.stringify(s)}`);
    }
  }
  return seen;
}

/**
 * Per-call overhead. Warm-up, then `rounds` rounds; in each round every client runs `calls`
 * sequential awaited calls, clients interleaved (A B C … then B C … A, rotating the starting client
 * so that no client always follows the same one). Returns per-client samples (µs/call, one per round)
 * and the server's counters for the real mode.
 */
async function overhead(mode, staticToken, { rounds, calls, warmupCalls }) {
  setTokens(staticToken, 'rt-static');
  const clients = makeClients(mode, DATA_URL);
  await control.reset();
  for (const c of clients) await timeBatch(c.call, warmupCalls);
  const samples = Object.fromEntries(clients.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < clients.length; k++) {
      const c = clients[(r + k) % clients.length];
      samples[c.name].push(await timeBatch(c.call, calls));
    }
  }
  const server = await control.stats();
  return { samples, server, crossOriginIsolated: self.crossOriginIsolated };
}

/** An unsigned JWT whose `exp` is a minute in the past (the server rejects it like any stale token). */
function expiredJwt() {
  const b64url = (o) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  const now = Math.floor(Date.now() / 1000);
  return `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'bench', iat: now - 3600, exp: now - 60 })}.c2lnbmF0dXJl`;
}

/**
 * Refresh cycle: `concurrency` concurrent GETs with a stale access token. The server answers 401 for
 * it, the refresh endpoint issues a new one. Per trial: reset the server, store the stale token, fire
 * all calls at once, wait for all, read the server's counters. Clients interleaved per trial (rotating).
 * The extra case 'authfetch (expired JWT)' stores an expired JWT instead of an opaque token, so
 * authfetch can refresh before sending. `mode`: 'real' (the bench server over loopback) or 'stub' (the
 * same server played in memory by a fetch function that resolves at once: the clients' own cost).
 */
async function refreshCycle(mode, { concurrency, trials, warmupTrials }) {
  const server = mode === 'real' ? control : makeServerStub();
  const clients = makeRefreshClients(mode === 'real' ? null : server.fetch);
  const cases = [
    ...Object.entries(clients).map(([name, call]) => ({ name, call, stale: (t) => `stale-opaque-${t}` })),
    { name: 'authfetch (expired JWT)', call: clients.authfetch, stale: () => expiredJwt() },
  ];
  const results = Object.fromEntries(cases.map((c) => [c.name, []]));
  for (let t = 0; t < warmupTrials + trials; t++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(t + k) % cases.length];
      await server.reset();
      setTokens(c.stale(t), `rt-${t}`);
      const t0 = performance.now();
      const statuses = await Promise.all(Array.from({ length: concurrency }, () => c.call(DATA_URL)));
      const ms = performance.now() - t0;
      const s = await server.stats();
      if (t < warmupTrials) continue;
      results[c.name].push({
        ms,
        ok: statuses.filter((x) => x === 200).length,
        refreshCalls: s.refreshCalls,
        unauthorized: s.unauthorized,
        protectedCalls: s.protectedCalls,
      });
    }
  }
  return results;
}

await init();
window.bench = { verify, overhead, refreshCycle, median };
window.benchReady = true;
document.getElementById('status').textContent = 'ready';

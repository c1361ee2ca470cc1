// The soak itself, running in the page: a strict auth server played by an injected `fetch`, authfetch
// clients using it, randomized calls with faults, and the invariants checked as the calls settle.
// Driven by soak/run.mjs (`window.runSoak(options)`); see soak/README.md.

import init, { AuthClient } from '/pkg/authfetch.js';

const PAGE = location.origin;
const API2 = 'https://api.soak.example'; // a second allowed origin (absolute, cross-origin)
const ALLOWED = new Set([PAGE, API2]);
const NOT_ALLOWED = [
  'https://third-party.example',
  'https://third-party.example',
  'http://api.soak.example', // scheme differs
  'https://api.soak.example:8443', // port differs
  'https://api.soak.example.evil.test', // suffix
  `http://localhost:${location.port}`, // same server, other host name: another origin
  `http://127.0.0.1:${Number(location.port) >= 65535 ? 1 : Number(location.port) + 1}`, // port differs
];
const REFRESH_PATH = '/api/refresh-token';
const AK = 'soak_access_token';
const RK = 'soak_refresh_token';
const REFRESH_TIMEOUT_MS = 100; // the clients' refreshTimeout
const SLOW_MS = 150; // an injected slow refresh: longer than refreshTimeout
const LEEWAY_S = 30; // the clients' refreshLeeway (the default)
const CALL_WATCHDOG_MS = 8000; // a call not settled by then is reported as hung
const QUIESCE_LIMIT_MS = 4000;
const VIEW_CONVERGE_MS = 500; // a client may see another client's broadcast late, but not for longer than this

// ---------------------------------------------------------------------------------------------------
// Randomness: mulberry32, one stream for the call plan (deterministic from the seed) and one for the
// server's draws (refresh faults, token kinds, random parts), which follow the order requests arrive in.

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const intIn = (rng, lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));
function weighted(rng, table) {
  let x = rng() * table.reduce((s, [, w]) => s + w, 0);
  for (const [value, w] of table) {
    if ((x -= w) < 0) return value;
  }
  return table[table.length - 1][0];
}
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randId = (rng, n) => Array.from({ length: n }, () => ALNUM[Math.floor(rng() * ALNUM.length)]).join('');
const TEXT_CHARS = ['a', 'b', 'z', '0', '9', ' ', '"', '\\', '&', '=', '+', '%', '\n', '\r\n', 'é', '✓', '💥', '\u0000', '€', '{', '}'];
const randText = (rng, n) => Array.from({ length: n }, () => TEXT_CHARS[Math.floor(rng() * TEXT_CHARS.length)]).join('');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.now();

// ---------------------------------------------------------------------------------------------------
// Bookkeeping: invariant violations (with examples) and informational counters.

const MUST_BE_ZERO = {
  'tokens lost': 'a refresh failed transiently (or nothing failed) but the stored tokens are no longer the valid ones, or they changed without a delivered refresh/login',
  'tokens seen by a non-allowed origin': 'a whole token (access or refresh) in the URL, a header or the body of a request to an origin not in allowedOrigins',
  'Authorization header sent to a non-allowed origin': 'any Authorization header reaching the third-party handler',
  'reuse detections triggered by the client': 'a rotated-away refresh token presented again (the server revokes the family)',
  'retries with a different body': 'a retry whose method, URL, headers (but Authorization) or body bytes differ from the first attempt',
  'bodies altered on the first attempt': 'the first attempt differs from what the caller passed',
  'panics': 'page errors, unhandled rejections, wasm traps (RuntimeError: unreachable), console panics',
  'more than one retry per call': 'a call reaching the server more than twice',
  'more than one refresh per call': 'a call alone in its batch during which the server saw more than one refresh (README: "at most one refresh and one retry per call")',
  'concurrent refreshes at the server': 'a refresh request arriving while another was in flight (the refresh is shared by calls and serialized across clients)',
  'expiring token sent without a refresh': 'a JWT already within refreshLeeway when the call started was sent with no refresh attempted during the call',
  'aborted calls not rejected': 'a call whose signal aborted while authfetch still worked on it, that resolved anyway',
  'unexpected rejections': 'a call rejected with anything but AbortError after its own abort',
  'hung calls': `a call not settled after ${CALL_WATCHDOG_MS} ms`,
  'stream bodies resent': 'a ReadableStream body sent twice',
  '401 returned unretried with no refresh failure': 'a call answered 401, not retried, while no refresh failed, no login happened during it, and its token was not one it had just refreshed',
  'tokens in diagnostics or callbacks': 'a whole token in an onDiagnostic event, onRefresh or onAuthFailure info',
  'responses not from this call': 'the Response returned is not the server\'s answer to this call\'s last attempt',
  'harness errors': 'the soak itself failed to set up or check a call (a bug in the soak, or a broken invariant of fetch)',
};
const violations = new Map(); // kind -> { count, examples }
function violate(kind, detail) {
  let v = violations.get(kind);
  if (!v) violations.set(kind, (v = { count: 0, examples: [] }));
  v.count++;
  if (v.examples.length < 6) v.examples.push(tracing && v.examples.length < 2 ? { ...detail, recent: traceLog.slice(-60) } : detail);
  if (v.count === 1) console.log(`[soak] VIOLATION ${kind}: ${JSON.stringify(detail).slice(0, 600)}`);
}
// A ring buffer of recent events, attached to the first examples of each violation with --trace.
const traceLog = [];
let tracing = false;
function trace(what, detail = {}) {
  if (!tracing) return;
  traceLog.push({ t: +now().toFixed(1), what, ...detail });
  if (traceLog.length > 400) traceLog.splice(0, traceLog.length - 300);
}
const notes = new Map(); // notable, allowed events: kind -> { count, examples }
function note(kind, detail) {
  let v = notes.get(kind);
  if (!v) notes.set(kind, (v = { count: 0, examples: [] }));
  v.count++;
  if (v.examples.length < 3) v.examples.push(tracing && v.examples.length < 1 ? { ...detail, recent: traceLog.slice(-50) } : detail);
}
const counters = {};
const inc = (name, by = 1) => { counters[name] = (counters[name] || 0) + by; };
const tally = (group, key) => { const g = (counters[group] ||= {}); g[key] = (g[key] || 0) + 1; };

// ---------------------------------------------------------------------------------------------------
// Tokens: every token the server issued, for leak scans. Opaque access tokens are `gen-<n>-<random>`,
// JWT access tokens end with the signature `gen-<n>-<random>`, refresh tokens are `rt-<family>-<n>-<random>`.

const issuedBySig = new Map(); // signature part -> whole token
const SIG = /(?:gen-\d+|rt-\d+-\d+)-[a-z0-9]{10}/g;
function wholeTokensIn(text) {
  const found = new Set();
  for (const m of String(text).matchAll(SIG)) {
    const whole = issuedBySig.get(m[0]);
    if (whole && text.includes(whole)) found.add(whole);
  }
  return [...found];
}
const short = (token) => (token == null ? null : token.length > 24 ? `…${token.slice(-18)}` : token);
const b64url = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

// ---------------------------------------------------------------------------------------------------
// The server: rotating refresh tokens with reuse detection (RFC 9700 §4.14.2), one valid access token per
// session ("family"), every token remembered. It is only ever reached through the injected fetch.

const server = {
  rng: null,
  gen: 0, // access-token generations issued
  seq: 0,
  families: [],
  current: null, // the family of the latest login
  access: new Map(), // token -> { family, gen, seq, kind, iat, exp, revoked, refresh, delivered, lostReply, issuedAt, sub }
  refresh: new Map(), // token -> { family, used, rotatedBy }
  calls: new Map(), // call id -> call record (attempts)
  responses: new Map(), // response id -> { callId, attempt, resolvedAt }
  refreshLog: [], // { arrival, end, outcome, ok, lostReply, aborted }
  pending: 0,
  refreshInFlight: 0,
  rid: 0,
  faults: { r500: 0.08, slow: 0.05, garbage: 0.06, invalidGrant: 0.03 },
};

function accessKind() {
  return weighted(server.rng, [['jwt', 70], ['jwt-expiring', 10], ['jwt-expired', 3], ['opaque', 17]]);
}

function issueAccess(family, refreshToken, source) {
  const n = ++server.gen;
  const rand = randId(server.rng, 10);
  const kind = accessKind();
  const nowS = Math.floor(Date.now() / 1000);
  let token;
  let iat = null;
  let exp = null;
  const sub = `soak-gen-${n}`;
  const sig = `gen-${n}-${rand}`;
  if (kind === 'opaque') {
    token = sig;
  } else {
    if (kind === 'jwt') { iat = nowS; exp = nowS + 3600; }
    if (kind === 'jwt-expiring') { iat = nowS - 100; exp = nowS + 12; } // 12 s left, leeway min(30, 56) = 30: refresh first
    if (kind === 'jwt-expired') { iat = nowS - 100; exp = nowS - 2; } // issued expired (server clock behind)
    token = `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(JSON.stringify({ sub, iat, exp, iss: 'soak' }))}.${sig}`;
  }
  for (const t of family.accessTokens) server.access.get(t).revoked = 'superseded'; // strict: one valid access token
  family.accessTokens.push(token);
  family.latestAccess = token;
  const info = { family, gen: n, seq: ++server.seq, kind, iat, exp, revoked: null, refresh: refreshToken, delivered: source === 'login', lostReply: false, issuedAt: now(), sub };
  server.access.set(token, info);
  issuedBySig.set(sig, token);
  return token;
}

function issueRefresh(family) {
  const token = `rt-${family.id}-${++family.rotations}-${randId(server.rng, 10)}`;
  server.refresh.set(token, { family, used: false, rotatedBy: null });
  issuedBySig.set(token.match(SIG)[0], token);
  family.currentRefresh = token;
  return token;
}

function login() {
  const family = { id: server.families.length + 1, revoked: null, accessTokens: [], rotations: 0, currentRefresh: null, latestAccess: null, lostReply: false, loginAt: now() };
  server.families.push(family);
  server.current = family;
  const refreshToken = issueRefresh(family);
  const accessToken = issueAccess(family, refreshToken, 'login');
  inc('logins');
  return { accessToken, refreshToken };
}

function accessValid(token) {
  const info = token && server.access.get(token);
  if (!info) return 'unknown token';
  if (info.family.revoked) return `session revoked (${info.family.revoked})`;
  if (info.revoked) return `revoked (${info.revoked})`;
  if (info.exp != null && info.exp <= Date.now() / 1000) return 'expired';
  return null;
}

/** The random-401 fault: the server expires the current access token. */
function expireCurrentAccess(why) {
  const t = server.current && server.current.latestAccess;
  const info = t && server.access.get(t);
  if (info && !info.revoked) {
    info.revoked = why;
    inc('access tokens expired by the server (random 401s)');
  }
}

function describeRefreshToken(token) {
  if (token == null) return 'none stored';
  const rec = server.refresh.get(token);
  if (!rec) return 'never issued';
  if (rec.family.revoked) return `its session was revoked (${rec.family.revoked})`;
  if (rec.used) return `already rotated away (by a refresh ${rec.rotatedBy?.lostReply ? 'whose reply was lost to refreshTimeout' : 'whose reply was delivered'})`;
  return 'valid';
}

// A promise that resolves after `ms`, or rejects with the signal's reason when it aborts first.
function wait(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason); return; }
    const onAbort = () => { clearTimeout(timer); reject(signal.reason); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function latin1(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return out;
}

/** What must not change between attempts: method, URL, headers but Authorization, body bytes. */
async function canonical(req) {
  const headers = [];
  for (const [k, v] of req.headers) {
    if (k === 'authorization') continue;
    headers.push([k, k === 'content-type' ? v.replace(/;\s*boundary=[^;]*/i, '') : v]);
  }
  headers.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  let body;
  if ((req.headers.get('content-type') || '').toLowerCase().startsWith('multipart/form-data')) {
    const parts = [];
    for (const [k, v] of await req.formData()) {
      parts.push(typeof v === 'string' ? [k, v] : [k, `file:${v.name}:${v.type}:${latin1(new Uint8Array(await v.arrayBuffer()))}`]);
    }
    body = `multipart:${JSON.stringify(parts)}`;
  } else {
    body = `bytes:${latin1(new Uint8Array(await req.arrayBuffer()))}`;
  }
  return JSON.stringify([req.method, req.url, headers, body]);
}

function reply(status, body, headers = {}, meta = {}) {
  const rid = String(++server.rid);
  server.responses.set(rid, { ...meta, resolvedAt: now() });
  return new Response(body, { status, headers: { 'content-type': 'application/json', 'x-soak-rid': rid, ...headers } });
}

/** The injected fetch: routes to the refresh endpoint, the API, or the third-party handler. */
async function serverFetch(input, init, clientIndex) {
  const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
  if (signal?.aborted) throw signal.reason;
  let req;
  try {
    req = new Request(input, init);
  } catch (error) {
    // Real fetch throws the same TypeError; note who caused it first.
    if (init?.body instanceof ReadableStream && /disturbed|locked/i.test(String(error))) {
      const callId = new Headers(init.headers).get('x-soak-call');
      const call = server.calls.get(callId);
      violate('stream bodies resent', { seed: state.seed, batch: state.batch, call: callId, client: clientIndex, attemptsBefore: call ? call.attempts.map((a) => `${a.status}:${a.token ? server.access.get(a.token)?.gen : '-'}`).join(' ') : '?', error: String(error) });
      if (call) call.streamResent = true;
    }
    throw error;
  }
  const url = new URL(req.url);
  server.pending++;
  try {
    if (!ALLOWED.has(url.origin)) return await thirdParty(req, url, signal);
    if (url.origin === PAGE && url.pathname === REFRESH_PATH) return await refreshEndpoint(req, signal, clientIndex);
    return await api(req, url, signal);
  } finally {
    server.pending--;
  }
}

async function thirdParty(req, url, signal) {
  inc('requests to non-allowed origins');
  const callId = req.headers.get('x-soak-call');
  const call = server.calls.get(callId);
  const headerText = [...req.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
  const bodyText = latin1(new Uint8Array(await req.clone().arrayBuffer()));
  if (req.headers.has('authorization')) {
    violate('Authorization header sent to a non-allowed origin', { seed: state.seed, call: callId, origin: url.origin, value: short(req.headers.get('authorization')) });
  }
  const leaked = wholeTokensIn(`${req.url}\n${headerText}\n${bodyText}`);
  if (leaked.length) violate('tokens seen by a non-allowed origin', { seed: state.seed, call: callId, origin: url.origin, tokens: leaked.map(short) });
  if (call) call.attempts.push({ canon: await canonical(req), token: null, arrival: now(), status: 200, third: true });
  await wait(call ? call.plan.serverDelay : 0, signal);
  return reply(200, '{"thirdParty":true}', {}, { callId, attempt: call ? call.attempts.length : 0 });
}

async function api(req, url, signal) {
  const callId = req.headers.get('x-soak-call');
  const call = server.calls.get(callId);
  if (!call) {
    violate('harness errors', { seed: state.seed, what: 'an API request without a known x-soak-call header', url: req.url });
    return reply(400, '{"error":"no call id"}');
  }
  const auth = req.headers.get('authorization');
  const token = auth && auth.startsWith('Bearer ') ? auth.slice(7) : null;
  const attempt = { canon: await canonical(req), token, arrival: now(), status: null };
  call.attempts.push(attempt);
  const n = call.attempts.length;
  if (n === 1 && attempt.canon !== call.expected) {
    violate('bodies altered on the first attempt', { seed: state.seed, call: callId, kind: call.plan.body, sent: attempt.canon.slice(0, 300), expected: call.expected.slice(0, 300) });
  }
  if (n > 1 && attempt.canon !== call.attempts[0].canon) {
    violate('retries with a different body', { seed: state.seed, call: callId, kind: call.plan.body, attempt: n, first: call.attempts[0].canon.slice(0, 300), this: attempt.canon.slice(0, 300) });
  }
  if (n > 2) violate('more than one retry per call', { seed: state.seed, call: callId, attempts: n });
  if (n > 1 && call.plan.body === 'stream') violate('stream bodies resent', { seed: state.seed, call: callId, attempts: n });
  // A JWT already within the leeway when the call started must have been refreshed first (or a refresh tried).
  const info = token && server.access.get(token);
  if (n === 1 && info && info.exp != null && info.issuedAt < call.start) {
    const leeway = Math.min(LEEWAY_S, (info.exp - info.iat) / 2);
    if (info.exp - leeway <= call.startWall / 1000) {
      const tried = server.refreshLog.some((r) => r.arrival <= attempt.arrival && (r.end == null || r.end >= call.start));
      if (!tried) violate('expiring token sent without a refresh', { seed: state.seed, call: callId, kind: info.kind, gen: info.gen, secondsLeftAtStart: +(info.exp - call.startWall / 1000).toFixed(1) });
    }
  }
  try {
    await wait(call.plan.serverDelay, signal);
  } catch (e) {
    attempt.status = 'aborted';
    throw e;
  }
  const invalid = token ? accessValid(token) : 'no token';
  attempt.status = invalid ? 401 : 200;
  if (invalid) {
    return reply(401, JSON.stringify({ error: 'invalid_token' }), { 'www-authenticate': `Bearer error="invalid_token", error_description="${invalid}"` }, { callId, attempt: n });
  }
  return reply(200, JSON.stringify({ ok: true, call: callId, gen: info.gen }), {}, { callId, attempt: n });
}

const GARBAGE = ['<html><body>Bad gateway</body></html>', '{}', '{"accessToken":42}', '{"accessToken":"', '[]', '{"access_token":"wrong-format"}', '{"accessToken":"bad token with spaces"}'];

async function refreshEndpoint(req, signal, clientIndex) {
  const entry = { arrival: now(), end: null, outcome: null, ok: false, lostReply: false, client: clientIndex };
  if (server.refreshInFlight > 0) violate('concurrent refreshes at the server', { seed: state.seed, batch: state.batch, inFlight: server.refreshInFlight + 1 });
  server.refreshInFlight++;
  server.refreshLog.push(entry);
  inc('refresh requests (server)');
  const f = server.faults;
  const fault = weighted(server.rng, [['500', f.r500], ['slow', f.slow], ['garbage', f.garbage], ['invalid_grant', f.invalidGrant], ['ok', 1 - f.r500 - f.slow - f.garbage - f.invalidGrant]]);
  const delay = fault === 'slow' ? SLOW_MS : intIn(server.rng, 0, 10);
  const garbage = GARBAGE[intIn(server.rng, 0, GARBAGE.length - 1)];
  const rotate = server.rng() < 0.9;
  const sendExpiresIn = server.rng() < 0.5;
  const outcome = (what) => { entry.outcome = what; tally('refresh outcomes (server)', what); trace('refresh answered', { client: clientIndex, outcome: what }); };
  try {
    const text = await req.text();
    let presented;
    try { presented = JSON.parse(text).refreshToken; } catch { /* below */ }
    if (typeof presented !== 'string' || !(req.headers.get('content-type') || '').startsWith('application/json') || req.method !== 'POST') {
      violate('harness errors', { seed: state.seed, what: 'malformed refresh request', method: req.method, contentType: req.headers.get('content-type'), body: wholeTokensIn(text).length ? '(contains a token)' : text.slice(0, 80) });
    }
    try {
      await wait(delay, signal);
    } catch (e) {
      outcome(fault === 'slow' ? 'timeout (injected slow refresh)' : 'aborted by the client (not injected)');
      entry.aborted = true;
      throw e;
    }
    // Decided atomically when the reply is produced.
    const rec = server.refresh.get(presented);
    trace('refresh presented', { client: clientIndex, token: describeRefreshToken(presented), family: rec?.family.id, n: presented?.split('-')[2] });
    if (!rec) {
      outcome('rejected: unknown refresh token');
      violate('harness errors', { seed: state.seed, what: 'a refresh token the server never issued', token: short(presented) });
      return reply(400, '{"error":"invalid_grant","error_description":"unknown"}');
    }
    const family = rec.family;
    if (family.revoked) {
      outcome(`rejected: session already revoked (${family.revoked})`);
      note(`a refresh token of a session revoked by ${family.revoked} was presented`, { seed: state.seed, batch: state.batch, client: clientIndex, family: family.id, currentFamily: server.current.id, msSinceRevocation: Math.round(now() - family.revokedAt) });
      return reply(400, '{"error":"invalid_grant","error_description":"revoked"}');
    }
    if (rec.used) {
      family.revoked = 'reuse detected';
      family.revokedAt = now();
      const lost = rec.rotatedBy && rec.rotatedBy.lostReply;
      if (lost) {
        outcome('rejected: reuse detected after a reply lost to refreshTimeout');
        inc('reuse detections after a reply lost to refreshTimeout (server committed, client timed out)');
      } else {
        outcome('rejected: reuse detected (client)');
        violate('reuse detections triggered by the client', { seed: state.seed, batch: state.batch, family: family.id, token: short(presented), rotatedAtGen: rec.rotatedBy?.gen });
      }
      return reply(400, '{"error":"invalid_grant","error_description":"refresh token reuse detected"}');
    }
    if (fault === '500') { outcome('500 (injected)'); return reply(500, '{"error":"server_error"}'); }
    if (fault === 'garbage') { outcome('garbage 200 (injected)'); return reply(200, garbage, { 'content-type': garbage.startsWith('<') ? 'text/html' : 'application/json' }); }
    if (fault === 'invalid_grant') {
      family.revoked = 'invalid_grant injected';
      family.revokedAt = now();
      outcome('invalid_grant (injected)');
      return reply(400, '{"error":"invalid_grant","error_description":"injected"}');
    }
    if (fault === 'slow') outcome('slow but not timed out (ok)');
    else outcome('ok');
    let newRefresh = presented;
    if (rotate) {
      rec.used = true;
      newRefresh = issueRefresh(family);
    }
    const accessToken = issueAccess(family, newRefresh, 'refresh');
    const info = server.access.get(accessToken);
    rec.rotatedBy = rotate ? info : null;
    info.delivered = true;
    entry.ok = true;
    // A reply that the client abandons after the server committed (refreshTimeout fired in between).
    signal?.addEventListener('abort', () => {
      info.lostReply = true;
      entry.lostReply = true;
      family.lostReply = true;
      inc('refresh replies lost to refreshTimeout after the server committed');
      note('a refresh reply was lost to refreshTimeout after the server committed', { seed: state.seed, batch: state.batch, client: clientIndex, serverDelayMs: delay, msFromArrivalToAbort: Math.round(now() - entry.arrival) });
    }, { once: true });
    const body = { accessToken };
    if (rotate) body.refreshToken = newRefresh;
    if (sendExpiresIn) body.expiresIn = info.exp != null ? Math.max(0, info.exp - Math.floor(Date.now() / 1000)) : 3600;
    return reply(200, JSON.stringify(body));
  } finally {
    entry.end = now();
    server.refreshInFlight--;
  }
}

// ---------------------------------------------------------------------------------------------------
// The clients, and what their callbacks report.

const state = { seed: 0, batch: 0, clients: [], lastStored: { A: null, R: null }, inRejection: false };

function scanForTokens(what, value) {
  const leaked = wholeTokensIn(JSON.stringify(value));
  if (leaked.length) violate('tokens in diagnostics or callbacks', { seed: state.seed, what, tokens: leaked.map(short), code: value && value.code });
}

function makeClient(index) {
  const client = new AuthClient({
    fetch: (input, init) => serverFetch(input, init, index),
    storage: 'local',
    accessTokenKey: AK,
    refreshTokenKey: RK,
    refreshUrl: REFRESH_PATH,
    refreshTimeout: REFRESH_TIMEOUT_MS,
    refreshLeeway: LEEWAY_S,
    allowedOrigins: [...ALLOWED],
    logLevel: 'silent',
    onDiagnostic: (event) => {
      if (event.level !== 'debug') trace('diagnostic', { code: event.code, message: event.message.slice(0, 160) });
      tally('diagnostics by code', event.code);
      scanForTokens('onDiagnostic', event);
    },
    onRefresh: (info) => {
      trace('onRefresh', { client: index, trigger: info.trigger, rotated: info.rotated });
      tally('onRefresh by trigger', info.trigger);
      scanForTokens('onRefresh', info);
      observeStorage(`client ${index} onRefresh`);
    },
    onAuthFailure: (info) => {
      trace('onAuthFailure', { client: index, reason: info.reason });
      tally('onAuthFailure by reason', info.reason);
      scanForTokens('onAuthFailure', info);
      if (info.reason === 'refresh_rejected') {
        // The app logs in again, as it would from onAuthFailure.
        if (localStorage.getItem(AK) !== null || localStorage.getItem(RK) !== null) {
          violate('tokens lost', { seed: state.seed, batch: state.batch, where: `client ${index} onAuthFailure`, what: 'a rejected refresh did not clear the tokens', refresh: describeRefreshToken(localStorage.getItem(RK)) });
        }
        state.inRejection = true;
        observeStorage(`client ${index} onAuthFailure(refresh_rejected)`);
        state.inRejection = false;
        const tokens = login();
        client.setTokens(tokens);
        observeStorage(`client ${index} login`);
      }
    },
  });
  return client;
}

/** Checks every change of the stored tokens: only a delivered refresh reply or a login may write them. */
function observeStorage(where) {
  const A = localStorage.getItem(AK);
  const R = localStorage.getItem(RK);
  const last = state.lastStored;
  if (A === last.A && R === last.R) return;
  state.lastStored = { A, R };
  inc('stored-token changes observed');
  trace('storage changed', { where, gen: A && server.access.get(A)?.gen, refresh: R && R.split('-').slice(1, 3).join('-') });
  const lost = (what, extra = {}) => violate('tokens lost', { seed: state.seed, batch: state.batch, where, what, ...extra });
  if (A === null && R === null) {
    if (!state.inRejection) lost('tokens cleared without a refresh rejection');
    return;
  }
  if (A === null || R === null) { lost('only one of the two tokens is stored', { hasAccess: A !== null, refresh: describeRefreshToken(R) }); return; }
  const info = server.access.get(A);
  if (!info) { lost('the stored access token was never issued by the server'); return; }
  if (!info.delivered) lost('the stored access token came from a reply that was never delivered', { gen: info.gen });
  if (info.refresh !== R) lost('the stored refresh token is not the one issued with the stored access token', { gen: info.gen, refresh: describeRefreshToken(R) });
  const before = last.A && server.access.get(last.A);
  if (before && info.seq < before.seq) lost('the stored tokens went back to an older generation', { from: before.gen, to: info.gen });
}

/** At quiescence the stored tokens must be the session's valid ones, and every client must see them. */
function checkpoint() {
  observeStorage('checkpoint');
  const A = localStorage.getItem(AK);
  const R = localStorage.getItem(RK);
  const family = server.current;
  const lost = (what, extra = {}) => violate('tokens lost', { seed: state.seed, batch: state.batch, where: 'checkpoint', what, ...extra });
  if (family.revoked) {
    lost('the session was revoked and no login followed', { revoked: family.revoked });
  } else if (R !== family.currentRefresh) {
    if (family.lostReply) inc('checkpoints after a refresh reply lost to refreshTimeout');
    else lost('the stored refresh token is not the valid one', { stored: describeRefreshToken(R) });
  } else if (A !== family.latestAccess) {
    if (!family.lostReply) lost('the stored access token is not the latest issued', { storedGen: server.access.get(A)?.gen, latestGen: server.access.get(family.latestAccess)?.gen });
  }
  const expected = server.access.get(A);
  state.clients.forEach((client, i) => {
    const st = client.state();
    if (!st.hasAccessToken || !st.hasRefreshToken) lost(`client ${i} reports no ${st.hasAccessToken ? 'refresh' : 'access'} token`);
    else if (expected) {
      const sub = st.claims ? st.claims.sub : null;
      const want = expected.kind === 'opaque' ? null : expected.sub;
      if (sub !== want) lost(`client ${i} still sees other tokens than the stored ones ${VIEW_CONVERGE_MS} ms after quiescence (a stale broadcast overlay?)`, { sees: sub, stored: want });
    }
  });
  inc('checkpoints');
}

/** Whether every client sees the stored tokens (a client's view can be another client's broadcast). */
function viewsAgree() {
  const expected = server.access.get(localStorage.getItem(AK));
  const want = expected && expected.kind !== 'opaque' ? expected.sub : null;
  return state.clients.every((c) => {
    const st = c.state();
    return st.hasAccessToken && st.hasRefreshToken && (st.claims ? st.claims.sub : null) === want;
  });
}

/** Waits until nothing is in flight, then (briefly) until the clients' broadcasts have been delivered. */
async function quiesce() {
  const t0 = now();
  for (;;) {
    const busy = server.pending > 0 || state.clients.some((c) => c.state().refreshInFlight);
    if (!busy) break;
    if (now() - t0 > QUIESCE_LIMIT_MS) {
      inc('batches that did not quiesce within 4 s');
      return false;
    }
    await sleep(5);
  }
  const t1 = now();
  while (state.clients.length > 1 && !viewsAgree() && now() - t1 < VIEW_CONVERGE_MS) await sleep(2);
  const lag = now() - t1;
  if (lag > 1) { inc('checkpoints where a client briefly saw older tokens than storage'); counters['longest such lag ms'] = Math.max(counters['longest such lag ms'] || 0, Math.round(lag)); }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Calls.

function planBatch(rng, firstId, maxSize, nClients, remaining) {
  const size = Math.min(remaining, weighted(rng, [[() => intIn(rng, 1, 3), 40], [() => intIn(rng, 4, 10), 40], [() => intIn(rng, 11, maxSize), 20]])());
  const batch = {
    burst: rng() < 0.05, // the server expires the access token before the batch: every call gets a 401
    manualRefresh: rng() < 0.03 ? intIn(rng, 0, nClients - 1) : null,
    calls: [],
  };
  for (let i = 0; i < size; i++) {
    const id = String(firstId + i);
    const target = weighted(rng, [['page', 84], ['api2', 10], ['third', 6]]);
    const body = weighted(rng, [['none', 38], ['string', 14], ['json', 14], ['formdata', 10], ['urlsearchparams', 5], ['blob', 5], ['arraybuffer', 5], ['request', 7], ['stream', 2]]);
    const abortRoll = rng();
    batch.calls.push({
      id,
      client: nClients > 1 && rng() < 0.3 ? 1 : 0,
      target,
      thirdOrigin: NOT_ALLOWED[intIn(rng, 0, NOT_ALLOWED.length - 1)],
      body,
      text: randText(rng, intIn(rng, 0, 120)),
      text2: randText(rng, intIn(rng, 0, 40)),
      bytes: Array.from({ length: intIn(rng, 0, 64) }, () => intIn(rng, 0, 255)),
      extraHeader: rng() < 0.3 ? randId(rng, 8) : null,
      method: weighted(rng, [['POST', 3], ['PUT', 1], ['PATCH', 1]]),
      revokeFirst: rng() < 0.06, // random 401: the server expires the current access token as the call starts
      abort: abortRoll < 0.012 ? 'pre' : abortRoll < 0.08 ? intIn(rng, 0, 40) : null,
      skipAuth: rng() < 0.02,
      serverDelay: intIn(rng, 0, 8),
      stagger: rng() < 0.3 ? intIn(rng, 0, 6) : 0,
    });
  }
  return batch;
}

/** fetch arguments for a plan, and a twin Request (no signal) from which the expected bytes are read. */
function buildCall(plan, signal) {
  const base = plan.target === 'page' ? '' : plan.target === 'api2' ? API2 : plan.thirdOrigin;
  const url = `${base}/api/data/${plan.id}?q=${encodeURIComponent(plan.text2)}`;
  const headers = { 'x-soak-call': plan.id, 'x-soak-client': String(plan.client) };
  if (plan.extraHeader) headers['x-soak-extra'] = plan.extraHeader;
  let method = plan.method;
  let body;
  let duplex;
  switch (plan.body) {
    case 'none': method = 'GET'; break;
    case 'string': body = plan.text; break;
    case 'json': body = JSON.stringify({ text: plan.text, n: Number(plan.id), nested: { list: [1, 'two', null] } }); headers['content-type'] = 'application/json'; break;
    case 'formdata': {
      body = new FormData();
      body.append('text', plan.text);
      body.append('id', plan.id);
      body.append('file', new Blob([plan.text2, new Uint8Array(plan.bytes)], { type: 'application/octet-stream' }), 'upload.bin');
      break;
    }
    case 'urlsearchparams': body = new URLSearchParams({ text: plan.text, id: plan.id }); break;
    case 'blob': body = new Blob([plan.text, new Uint8Array(plan.bytes)], { type: 'application/x-soak' }); break;
    case 'arraybuffer': body = new Uint8Array(plan.bytes).buffer; break;
    case 'request': body = plan.text; break;
    case 'stream': body = null; duplex = 'half'; method = 'POST'; break;
    default: throw new Error(`unknown body kind ${plan.body}`);
  }
  const twinBody = plan.body === 'stream' ? new Uint8Array(plan.bytes) : body;
  const twin = new Request(new URL(url, PAGE), { method, headers, body: twinBody });
  let input = url;
  const fetchInit = {};
  if (plan.body === 'request') {
    input = new Request(url, { method, headers, body, signal });
  } else {
    fetchInit.method = method;
    fetchInit.headers = headers;
    if (plan.body === 'stream') {
      const bytes = new Uint8Array(plan.bytes);
      fetchInit.body = new ReadableStream({ start(controller) { if (bytes.length) controller.enqueue(bytes); controller.close(); } });
      fetchInit.duplex = duplex;
    } else if (body !== undefined) {
      fetchInit.body = body;
    }
    if (signal) fetchInit.signal = signal;
  }
  if (plan.skipAuth) fetchInit.skipAuth = true;
  return { input, init: fetchInit, twin };
}

const isTrap = (e) => (typeof WebAssembly !== 'undefined' && e instanceof WebAssembly.RuntimeError) || /unreachable|RuntimeError|panicked/i.test(String(e && (e.stack || e.message || e)));

async function runCall(plan, expected) {
  const client = state.clients[plan.client];
  const call = { plan, expected, attempts: [], start: now(), startWall: Date.now(), end: null, abortedAt: null };
  server.calls.set(plan.id, call);
  trace('call start', { call: plan.id, client: plan.client, target: plan.target, revokeFirst: plan.revokeFirst, abort: plan.abort });
  if (plan.revokeFirst) expireCurrentAccess('random 401');
  let signal;
  if (plan.abort !== null) {
    const controller = new AbortController();
    signal = controller.signal;
    signal.addEventListener('abort', () => { call.abortedAt = now(); }, { once: true });
    if (plan.abort === 'pre') controller.abort();
    else setTimeout(() => controller.abort(), plan.abort);
  }
  const { input, init: fetchInit } = buildCall(plan, signal);
  let response = null;
  let error = null;
  try {
    response = await client.fetch(input, fetchInit);
    call.resolvedAt = now();
    await response.arrayBuffer();
  } catch (e) {
    error = e;
  }
  call.end = now();
  trace('call end', { call: plan.id, status: response?.status, error: error?.name, attempts: call.attempts.map((a) => `${a.status}:${a.token ? server.access.get(a.token)?.gen : '-'}`).join(' ') });
  judgeCall(call, response, error);
  observeStorage(`after call ${plan.id}`);
}

function judgeCall(call, response, error) {
  const { plan } = call;
  const id = plan.id;
  inc('calls');
  if (error) {
    if (isTrap(error)) {
      violate('panics', { seed: state.seed, call: id, error: String(error.stack || error).slice(0, 400) });
    } else if (error.name === 'AbortError' && call.abortedAt !== null) {
      inc('aborted (rejected with AbortError)');
    } else if (call.streamResent) {
      inc('calls rejected because authfetch resent a stream body (counted under stream bodies resent)');
    } else {
      violate('unexpected rejections', { seed: state.seed, call: id, name: error.name, error: String(error).slice(0, 300), aborted: call.abortedAt !== null });
    }
    return;
  }
  tally('responses by status', String(response.status));
  if (plan.target === 'third') tally('responses from non-allowed origins by status', String(response.status));
  const rid = response.headers.get('x-soak-rid');
  const meta = rid && server.responses.get(rid);
  if (!meta || meta.callId !== id || meta.attempt !== call.attempts.length) {
    violate('responses not from this call', { seed: state.seed, call: id, rid, meta, attempts: call.attempts.length });
  }
  if (call.abortedAt !== null) {
    if (call.abortedAt < call.resolvedAt && meta && meta.resolvedAt < call.abortedAt) {
      violate('aborted calls not rejected', { seed: state.seed, call: id, responseAt: +meta.resolvedAt.toFixed(1), abortedAt: +call.abortedAt.toFixed(1), settledAt: +call.end.toFixed(1), status: response.status, attempts: call.attempts.length });
    } else {
      inc('aborted too late (resolved before the abort)');
    }
  }
  if (plan.target === 'third') return;
  const n = call.attempts.length;
  if (n === 2) inc('retries');
  if (response.status === 401 && n === 1 && !plan.skipAuth && plan.body !== 'stream') {
    const failed = server.refreshLog.some((r) => (!r.ok || r.lostReply) && r.arrival <= call.end && (r.end ?? Infinity) >= call.start);
    const loggedIn = server.families.some((f) => f.loginAt >= call.start && f.loginAt <= call.end);
    const firstInfo = call.attempts[0].token && server.access.get(call.attempts[0].token);
    // A token issued after the call started can only have been sent after this call's own refresh before
    // sending: with at most one refresh per call, its 401 is returned as is.
    const refreshedBeforeSending = firstInfo && firstInfo.issuedAt >= call.start;
    if (failed || loggedIn) inc('401s returned after a failed refresh');
    else if (refreshedBeforeSending) inc('401s to a token this call had just refreshed (returned as is)');
    else violate('401 returned unretried with no refresh failure', { seed: state.seed, batch: state.batch, call: id, client: plan.client, sent: call.attempts[0].token ? `gen ${server.access.get(call.attempts[0].token)?.gen} (${accessValid(call.attempts[0].token)})` : 'no token' });
  } else if (response.status === 401 && n === 2) {
    inc('401s after the retry (still unauthorized)');
  }
}

// ---------------------------------------------------------------------------------------------------
// The run.

window.__soakErrors = [];
window.addEventListener('error', (e) => {
  window.__soakErrors.push(String(e.error?.stack || e.message));
  violate('panics', { seed: state.seed, source: 'window error', error: String(e.error?.stack || e.message).slice(0, 400) });
});
window.addEventListener('unhandledrejection', (e) => {
  window.__soakErrors.push(String(e.reason?.stack || e.reason));
  violate('panics', { seed: state.seed, source: 'unhandled rejection', error: String(e.reason?.stack || e.reason).slice(0, 400) });
});

/** With --trace: log what the clients publish to each other (access-token generation only). */
function monitorBroadcasts() {
  const gen = (token) => (token ? server.access.get(token)?.gen ?? '?' : null);
  const post = BroadcastChannel.prototype.postMessage;
  BroadcastChannel.prototype.postMessage = function (message) {
    trace('broadcast sent', { channel: this.name, access: gen(message?.access), hasRefresh: message?.refresh != null });
    return post.call(this, message);
  };
  const listen = new BroadcastChannel(`authfetch:${AK}|${RK}`);
  listen.onmessage = (e) => trace('broadcast delivered', { access: gen(e.data?.access) });
}

window.runSoak = async function runSoak({ calls, seed, clients: nClients, batchMax, deadlineMs, traceEvents }) {
  const started = now();
  tracing = !!traceEvents;
  if (tracing) monitorBroadcasts();
  const deadline = started + deadlineMs;
  state.seed = seed;
  server.rng = mulberry32(seed ^ 0x5bd1e995);
  const rng = mulberry32(seed);
  localStorage.removeItem(AK);
  localStorage.removeItem(RK);
  for (let i = 0; i < nClients; i++) state.clients.push(makeClient(i));
  const first = login();
  state.clients[0].setTokens(first);
  observeStorage('first login');

  let done = 0;
  let stopped = null;
  let nextProgress = 1000;
  const durations = [];
  while (done < calls) {
    if (now() > deadline) { stopped = `time limit reached after ${done} of ${calls} calls`; break; }
    state.batch++;
    const batch = planBatch(rng, done + 1, batchMax, nClients, calls - done);
    const expectations = await Promise.all(batch.calls.map((plan) => canonical(buildCall(plan, undefined).twin)));
    const refreshIndex = server.refreshLog.length;
    trace('batch', { batch: state.batch, size: batch.calls.length, burst: batch.burst, manualRefresh: batch.manualRefresh });
    if (batch.burst) { expireCurrentAccess('burst'); inc('burst batches'); }
    const settled = batch.calls.map((plan, i) => {
      const t0 = now();
      const run = (plan.stagger ? sleep(plan.stagger) : Promise.resolve()).then(() => runCall(plan, expectations[i])).then(() => durations.push(now() - t0));
      let timer;
      const watchdog = new Promise((resolve) => { timer = setTimeout(() => { violate('hung calls', { seed, call: plan.id, plan: { ...plan, text: undefined, text2: undefined, bytes: undefined } }); resolve(); }, CALL_WATCHDOG_MS); });
      return Promise.race([run.catch((e) => violate('harness errors', { seed, call: plan.id, error: String(e.stack || e).slice(0, 400) })), watchdog]).finally(() => clearTimeout(timer));
    });
    if (batch.manualRefresh !== null) {
      inc('manual refresh() calls');
      settled.push(state.clients[batch.manualRefresh].refresh().then(
        (result) => { if (typeof result !== 'boolean') violate('harness errors', { seed, what: 'refresh() resolved to a non-boolean', result: String(result) }); },
        (e) => violate(isTrap(e) ? 'panics' : 'unexpected rejections', { seed, what: 'refresh() rejected', error: String(e.stack || e).slice(0, 300) }),
      ));
    }
    await Promise.all(settled);
    await quiesce();
    trace('checkpoint', { batch: state.batch });
    checkpoint();
    if (batch.calls.length === 1 && batch.manualRefresh === null) {
      const refreshes = server.refreshLog.slice(refreshIndex);
      inc('single-call batches');
      if (refreshes.length > 1) {
        violate('more than one refresh per call', { seed, batch: state.batch, call: batch.calls[0].id, refreshes: refreshes.map((r) => r.outcome), attempts: server.calls.get(batch.calls[0].id).attempts.map((a) => a.status) });
      }
    }
    done += batch.calls.length;
    if (done >= nextProgress) {
      console.log(`[soak] ${done}/${calls} calls, ${server.refreshLog.length} refreshes, ${[...violations.values()].reduce((s, v) => s + v.count, 0)} violations, ${((now() - started) / 1000).toFixed(1)} s`);
      nextProgress += 1000;
    }
  }
  await sleep(50); // let late rejections surface
  durations.sort((a, b) => a - b);
  const q = (p) => (durations.length ? +durations[Math.min(durations.length - 1, Math.floor(p * durations.length))].toFixed(1) : null);
  return {
    seed,
    requestedCalls: calls,
    calls: counters.calls || 0,
    batches: state.batch,
    stopped,
    elapsedMs: Math.round(now() - started),
    clients: nClients,
    generations: server.gen,
    families: server.families.length,
    refreshRequests: server.refreshLog.length,
    counters,
    clientCounts: state.clients.map((c) => c.state().counts),
    latencyMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: durations.length ? +durations[durations.length - 1].toFixed(1) : null },
    violations: Object.fromEntries([...violations].map(([k, v]) => [k, v])),
    notes: Object.fromEntries([...notes].map(([k, v]) => [k, v])),
    mustBeZero: MUST_BE_ZERO,
  };
};

await init();
window.soakReady = true;

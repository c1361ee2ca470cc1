// authfetch demo page.
//
// Everything that talks to the protected API goes through authFetch(); the
// login / logout / fault / stats calls are plain fetch() because they are the
// demo server's own plumbing. Tokens are never rendered or logged whole: the
// page shows fingerprints in authfetch's format (`243 chars #5f2a9c1d`), the
// same ones the console and the server's /api/stats show.

const ACCESS_KEY = 'access_token';
const REFRESH_KEY = 'refresh_token';
const LEVEL_KEY = 'authfetch-demo:logLevel';
const API = '/api/protected-data';
const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'];
const LOG_LIMIT = 300;
const DIAG_LIMIT = 200;
const DOCS = 'https://github.com/authfetch/authfetch#';

const $ = (sel) => document.querySelector(sel);

let lib = null; // the authfetch module once loaded
let crossClient = null; // an AuthClient that may also send the token to the second origin
const results = []; // every call result, for tests and curiosity
let postCounter = 0;

// ---------------------------------------------------------------------------
// small utilities

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/**
 * The token's fingerprint in authfetch's own format: length in characters and
 * a 32-bit FNV-1a hash of its UTF-8 bytes (`243 chars #5f2a9c1d`), so what
 * this page shows matches the console and the server's stats.
 */
function fingerprint(token) {
  if (!token) return '';
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(token)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${[...token].length} chars #${hash.toString(16).padStart(8, '0')}`;
}

function decodeJwt(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(escape(atob(b64 + '==='.slice((b64.length + 3) % 4))));
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

function time(d = new Date()) {
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

/** Accept a plain object, a Map (serde-wasm-bindgen style) or nothing. */
function plain(v) {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  return v;
}

// ---------------------------------------------------------------------------
// the on-page log

let logCount = 0;

function addLog(entry) {
  const list = $('#log');
  const level = entry.level || 'info';
  const kind = entry.kind || 'note';
  const head = el('div', { class: 'entry-head' },
    el('span', { class: 'time' }, time()),
    el('span', { class: `badge lvl-${level}` }, entry.badge || level),
    entry.code ? el('code', { class: 'code' }, entry.code) : null,
    entry.request ? el('span', { class: 'req mono' }, `${entry.request.method || 'GET'} ${entry.request.url || ''}`) : null,
    entry.status !== undefined && entry.status !== null ? el('span', { class: `st s${String(entry.status)[0]}` }, String(entry.status)) : null,
    entry.ms !== undefined ? el('span', { class: 'ms muted' }, `${entry.ms} ms`) : null,
    entry.fp ? el('span', { class: 'fp-tag mono', title: 'token fingerprint' }, `token ${entry.fp}`) : null,
  );
  const li = el('li', {
    class: `entry kind-${kind} lvl-${level}`,
    dataset: {
      kind,
      level,
      ...(entry.code ? { code: entry.code } : {}),
      ...(entry.status !== undefined && entry.status !== null ? { status: String(entry.status) } : {}),
    },
  }, head,
  entry.message ? el('div', { class: 'msg' }, entry.message) : null,
  entry.hint ? el('div', { class: 'hint' }, el('span', { class: 'hint-label' }, 'hint'), ' ', entry.hint) : null,
  entry.detail ? el('div', { class: 'detail mono' }, entry.detail) : null);
  list.prepend(li);
  while (list.children.length > LOG_LIMIT) list.lastElementChild.remove();
  logCount++;
  $('#log-count').textContent = String(list.children.length);
}

function onDiagnostic(raw) {
  const e = plain(raw) || {};
  addDiagnostic(e);
  const token = plain(e.token);
  const details = [];
  if (token) {
    details.push(token.isJwt ? 'JWT' : 'opaque token');
    if (token.expiresAt !== undefined && token.expiresAt !== null) {
      const at = typeof token.expiresAt === 'number' ? new Date(token.expiresAt < 1e12 ? token.expiresAt * 1000 : token.expiresAt) : new Date(token.expiresAt);
      if (!Number.isNaN(at.getTime())) details.push(`expires ${at.toLocaleTimeString([], { hour12: false })}`);
    }
  }
  if (e.challenge) details.push(`challenge: ${typeof e.challenge === 'string' ? e.challenge : JSON.stringify(plain(e.challenge))}`);
  addLog({
    kind: 'diagnostic',
    level: e.level || 'info',
    code: e.code,
    message: e.message,
    hint: e.hint,
    request: plain(e.request),
    status: e.status,
    fp: token && token.fingerprint,
    detail: details.join(' · ') || undefined,
  });
}

function onRefresh(raw) {
  const info = plain(raw) || {};
  const parts = [`trigger: ${info.trigger ?? '?'}`, `rotated: ${info.rotated ? 'yes' : 'no'}`];
  if (info.expiresAt) {
    const at = new Date(typeof info.expiresAt === 'number' && info.expiresAt < 1e12 ? info.expiresAt * 1000 : info.expiresAt);
    if (!Number.isNaN(at.getTime())) parts.push(`new token expires ${at.toLocaleTimeString([], { hour12: false })}`);
  }
  addLog({ kind: 'refresh', level: 'info', badge: 'onRefresh', code: info.trigger ? `refresh:${info.trigger}` : 'refresh', fp: info.fingerprint, message: 'Tokens refreshed.', detail: parts.join(' · ') });
  updateSession();
}

function onAuthFailure(raw) {
  const info = plain(raw) || {};
  addLog({ kind: 'auth-failure', level: 'error', badge: 'onAuthFailure', code: info.reason || 'auth_failure', status: info.status, message: info.message || 'Authentication failed.', hint: info.reason === 'still_unauthorized' ? 'The server rejects even a fresh token: check its fault switches, audience and signing key.' : 'The session is over: log in again.' });
  updateSession();
}

// ---------------------------------------------------------------------------
// library configuration

function currentLevel() {
  return $('#log-level').value;
}

function currentLeeway() {
  const n = Number($('#leeway').value);
  return Number.isFinite(n) && n >= 0 ? n : 5;
}

/** The options this page passes to configure() / new AuthClient(). */
function libOptions() {
  return { logLevel: currentLevel(), refreshLeeway: currentLeeway(), onDiagnostic, onRefresh, onAuthFailure };
}

/** The page's other origin (http://localhost:PORT when served on 127.0.0.1, and the other way round). */
function otherOrigin() {
  const other = location.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
  return `${location.protocol}//${other}:${location.port}`;
}

/** Options of the cross-origin client: the page's options, plus the second origin in allowedOrigins. */
function crossOptions() {
  return { ...libOptions(), allowedOrigins: [location.origin, otherOrigin()] };
}

function applyConfig() {
  lib.configure(libOptions());
  // The cross-origin client picks up the new options when it is next needed.
  crossClient = null;
}

/**
 * The cross-origin client, created on first use: same storage and callbacks, only the allow-list differs.
 * `authFetch` keeps the default list so "Call other origin" still shows the token being withheld.
 */
function getCrossClient() {
  crossClient ??= new lib.AuthClient(crossOptions());
  return crossClient;
}

// ---------------------------------------------------------------------------
// session display

let shownAccess = null;
let shownRefresh = null;
let accessExp = null; // seconds since epoch
let accessIat = null;

async function updateSession() {
  const access = localStorage.getItem(ACCESS_KEY);
  const refresh = localStorage.getItem(REFRESH_KEY);
  if (access !== shownAccess) {
    shownAccess = access;
    const claims = decodeJwt(access);
    $('#access-fp').textContent = access ? fingerprint(access) : '—';
    $('#access-kind').textContent = access ? (claims ? 'JWT' : 'unreadable / not a JWT') : '';
    $('#claim-sub').textContent = claims?.sub ?? '—';
    $('#claim-scope').textContent = claims?.scope ?? '—';
    accessExp = typeof claims?.exp === 'number' ? claims.exp : null;
    accessIat = typeof claims?.iat === 'number' ? claims.iat : null;
    $('#claim-exp').textContent = accessExp ? new Date(accessExp * 1000).toLocaleTimeString([], { hour12: false }) : '—';
    document.body.dataset.loggedIn = access || refresh ? '1' : '0';
  }
  if (refresh !== shownRefresh) {
    shownRefresh = refresh;
    $('#refresh-fp').textContent = refresh ? fingerprint(refresh) : '—';
    document.body.dataset.loggedIn = access || refresh ? '1' : '0';
  }
  tickCountdown();
}

function tickCountdown() {
  const box = $('#countdown');
  const bar = $('#countdown-bar');
  if (!shownAccess) {
    box.textContent = 'no token';
    box.className = 'countdown none';
    bar.style.width = '0%';
    return;
  }
  if (!accessExp) {
    box.textContent = 'no expiry (not a readable JWT)';
    box.className = 'countdown none';
    bar.style.width = '0%';
    return;
  }
  const left = accessExp - Date.now() / 1000;
  const whole = Math.ceil(left);
  if (left <= 0) {
    box.textContent = `expired ${Math.floor(-left)} s ago`;
    box.className = 'countdown expired';
    bar.style.width = '0%';
  } else {
    box.textContent = `${whole} s left`;
    box.className = left <= currentLeeway() ? 'countdown soon' : 'countdown ok';
    const total = accessIat ? Math.max(1, accessExp - accessIat) : 60;
    bar.style.width = `${Math.max(0, Math.min(100, (left / total) * 100))}%`;
  }
  box.dataset.secondsLeft = String(whole);
}

// ---------------------------------------------------------------------------
// server plumbing (plain fetch)

async function api(path, body, method = body === undefined ? 'GET' : 'POST') {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  return { res, data };
}

async function refreshStats() {
  try {
    const { data } = await api('/api/stats');
    if (!data) return;
    $('#stat-refresh').textContent = data.refreshCalls;
    $('#stat-protected').textContent = data.protectedCalls;
    $('#stat-401').textContent = data.unauthorized;
    $('#stat-logins').textContent = data.logins;
    $('#stat-rejected').textContent = data.refreshRejected ?? 0;
    $('#stat-reuse').textContent = data.reuseDetected ?? 0;
    $('#stat-headers').textContent = data.headersSeen.length ? data.headersSeen.slice(-5).join(', ') : '–';
    $('#stats').dataset.refreshCalls = String(data.refreshCalls);
    if (data.faults) syncFaults(data.faults);
  } catch {
    /* server gone; the next action will show it */
  }
}

function syncFaults(f) {
  const active = document.activeElement;
  if (active !== $('#fault-refresh')) $('#fault-refresh').value = f.refresh;
  if (active !== $('#slow-ms')) $('#slow-ms').value = f.slowMs;
  if (active !== $('#access-ttl')) $('#access-ttl').value = f.accessTtl;
  $('#reject-all').checked = Boolean(f.rejectAllTokens);
  $('#faults-card').classList.toggle('faulty', f.refresh !== 'ok' || f.rejectAllTokens);
}

async function setFaults(patch) {
  const { res, data } = await api('/api/faults', patch);
  if (!res.ok) {
    addLog({ kind: 'note', level: 'error', badge: 'server', message: `Fault switch refused: ${data?.error_description || res.status}` });
    return;
  }
  syncFaults(data);
  const desc = Object.entries(patch).map(([k, v]) => `${k} = ${v}`).join(', ');
  addLog({ kind: 'note', level: 'info', badge: 'server', message: `Fault switch: ${desc}` });
}

// ---------------------------------------------------------------------------
// actions

let pending = 0;
let actionsDone = 0;

/** Run a UI action: counts in-flight work (for tests), logs exceptions, refreshes stats. */
async function action(fn) {
  pending++;
  document.body.dataset.pending = String(pending);
  try {
    await fn();
  } catch (e) {
    addLog({ kind: 'error', level: 'error', badge: 'exception', code: e?.code || e?.name, message: String(e?.message || e) });
  } finally {
    await refreshStats();
    await updateSession();
    renderState();
    pending--;
    actionsDone++;
    document.body.dataset.pending = String(pending);
    document.body.dataset.actionsDone = String(actionsDone);
  }
}

function summarize(data, res) {
  if (data && data.ok) {
    let s = `user ${data.user} · ${data.method}`;
    if (data.receivedBody) s += ` · server got ${data.receivedBody.length} bytes: ${data.receivedBody.slice(0, 80)}`;
    return s;
  }
  if (data && data.error) return `${data.error}${data.error_description ? ': ' + data.error_description : ''}`;
  const challenge = res.headers.get('www-authenticate');
  return challenge ? `WWW-Authenticate: ${challenge}` : '';
}

/** One authFetch call, logged with status and time. */
async function call(url = API, init = undefined, label = undefined, via = undefined) {
  const method = (init && init.method) || 'GET';
  const t0 = performance.now();
  const result = { label: label || `${method} ${url}`, url, method, status: null, ms: 0, error: null, body: null };
  try {
    const res = await (via ? via(url, init) : lib.authFetch(url, init));
    result.status = res.status;
    let data = null;
    try { data = await res.clone().json(); } catch { /* not JSON */ }
    result.body = data;
    result.ms = Math.round(performance.now() - t0);
    addLog({
      kind: 'result', level: res.ok ? 'ok' : 'warn', badge: 'result', request: { method, url }, status: res.status, ms: result.ms,
      message: summarize(data, res) || res.statusText,
    });
  } catch (e) {
    result.ms = Math.round(performance.now() - t0);
    result.error = { name: e?.name, code: e?.code, message: String(e?.message || e) };
    addLog({ kind: 'result', level: 'error', badge: 'rejected', request: { method, url }, ms: result.ms, code: e?.code || e?.name, message: String(e?.message || e) });
  }
  results.push(result);
  const last = $('#last-result');
  last.textContent = result.error ? `${result.label}: threw ${result.error.code || result.error.name} after ${result.ms} ms` : `${result.label}: ${result.status} in ${result.ms} ms`;
  last.dataset.status = String(result.status ?? 'error');
  last.className = `last-result ${result.status === 200 ? 'good' : 'bad'}`;
  return result;
}

async function login(ev) {
  ev?.preventDefault();
  const { res, data } = await api('/api/login', { username: $('#username').value, password: $('#password').value });
  if (!res.ok || !data?.accessToken) {
    addLog({ kind: 'note', level: 'error', badge: 'login', status: res.status, message: data?.error_description || 'Login failed.' });
    return;
  }
  localStorage.setItem(ACCESS_KEY, data.accessToken);
  localStorage.setItem(REFRESH_KEY, data.refreshToken);
  addLog({ kind: 'note', level: 'ok', badge: 'login', status: res.status, fp: fingerprint(data.accessToken), message: `Logged in as ${$('#username').value}; access token valid for ${data.expiresIn} s.` });
}

async function logout() {
  const refreshToken = localStorage.getItem(REFRESH_KEY);
  if (refreshToken) await api('/api/logout', { refreshToken });
  localStorage.removeItem(ACCESS_KEY);
  localStorage.removeItem(REFRESH_KEY);
  addLog({ kind: 'note', level: 'info', badge: 'logout', message: refreshToken ? 'Logged out: the refresh-token family is revoked and both tokens are removed.' : 'Nothing to log out of; tokens removed.' });
}

async function corrupt() {
  const token = localStorage.getItem(ACCESS_KEY);
  if (!token) {
    addLog({ kind: 'note', level: 'warn', badge: 'corrupt', message: 'No access token to corrupt: log in first.' });
    return;
  }
  // Flip the first character of the JWT signature (the last character may only
  // carry padding bits, so changing it can leave the signature unchanged).
  const parts = token.split('.');
  let i = parts.length === 3 ? parts[0].length + parts[1].length + 2 : Math.floor(token.length / 2);
  const c = token[i];
  const swapped = c === 'A' ? 'B' : 'A';
  const bad = token.slice(0, i) + swapped + token.slice(i + 1);
  localStorage.setItem(ACCESS_KEY, bad);
  addLog({ kind: 'note', level: 'warn', badge: 'corrupt', fp: fingerprint(bad), message: 'Changed one character of the stored access token signature. It still decodes and has not expired, so it will be sent — and the server will answer 401.' });
}

async function expire() {
  const { res, data } = await api('/api/debug/expired-token');
  if (!res.ok || !data?.accessToken) throw new Error(`could not get an expired token (${res.status})`);
  localStorage.setItem(ACCESS_KEY, data.accessToken);
  const hasRefresh = Boolean(localStorage.getItem(REFRESH_KEY));
  addLog({ kind: 'note', level: 'warn', badge: 'expire', fp: fingerprint(data.accessToken), message: `Stored a validly signed access token that expired a minute ago.${hasRefresh ? ' authfetch should refresh before sending.' : ' There is no refresh token, so log in first to see a refresh.'}` });
}

function removeTokens() {
  localStorage.removeItem(ACCESS_KEY);
  localStorage.removeItem(REFRESH_KEY);
  addLog({ kind: 'note', level: 'warn', badge: 'remove', message: 'Removed access_token and refresh_token from localStorage.' });
}

function dropAccess() {
  localStorage.removeItem(ACCESS_KEY);
  addLog({ kind: 'note', level: 'warn', badge: 'remove', message: 'Removed access_token (refresh_token kept).' });
}

async function callTen() {
  const t0 = performance.now();
  const all = await Promise.all(Array.from({ length: 10 }, (_, i) => call(API, undefined, `GET ${API} #${i + 1}`)));
  const ms = Math.round(performance.now() - t0);
  const byStatus = {};
  for (const r of all) {
    const k = r.status ?? (r.error?.code || 'error');
    byStatus[k] = (byStatus[k] || 0) + 1;
  }
  const ok = all.filter((r) => r.status === 200).length;
  addLog({
    kind: 'summary', level: ok === 10 ? 'ok' : 'warn', badge: '×10', ms,
    message: `10 concurrent calls: ${Object.entries(byStatus).map(([k, n]) => `${n} × ${k}`).join(', ')}.`,
  });
  const li = $('#log').firstElementChild;
  li.dataset.ok = String(ok);
  li.dataset.total = '10';
  $('#last-result').textContent = `×10: ${ok}/10 OK in ${ms} ms`;
}

async function postBody() {
  postCounter++;
  const payload = { hello: 'authfetch', n: postCounter, sentAt: new Date().toISOString() };
  await call(API, { method: 'POST', body: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
}

async function refreshNow() {
  const client = new lib.AuthClient(libOptions());
  const t0 = performance.now();
  const ok = await client.refresh();
  addLog({ kind: 'note', level: ok ? 'ok' : 'warn', badge: 'refresh()', ms: Math.round(performance.now() - t0), message: ok ? 'AuthClient.refresh() resolved true.' : 'AuthClient.refresh() resolved false.' });
}

async function callForeign() {
  // The same API on a different origin: authfetch must not attach the token.
  const other = location.hostname === 'localhost' ? '127.0.0.1' : 'localhost';
  const url = `${location.protocol}//${other}:${location.port}${API}`;
  await call(url, undefined, `GET ${url} (other origin)`);
}

// ---------------------------------------------------------------------------
// diagnostics panel: one collapsible group per onDiagnostic event, like the console

function updateDiagnosticsCount() {
  const n = document.querySelectorAll('#diagnostics > li.diag').length;
  $('#diagnostics-count').textContent = String(n);
  $('#diagnostics-empty').hidden = $('#diagnostics').children.length > 0;
}

/** The cause run in progress, whose first matching event is opened. */
let currentRun = null;

function addDiagnostic(e) {
  const code = String(e.code || 'unknown');
  const level = ['debug', 'info', 'warn', 'error'].includes(e.level) ? e.level : 'info';
  const evidence = Array.isArray(e.evidence) ? e.evidence.map(String) : [];
  const token = plain(e.token);
  const request = plain(e.request);
  const summary = el('summary', { class: 'diag-head' },
    el('span', { class: 'time' }, time()),
    el('span', { class: `badge lvl-${level}` }, level),
    el('a', { class: 'code', href: DOCS + code, target: '_blank', rel: 'noopener noreferrer', title: `What ${code} means` }, code),
    e.status !== undefined && e.status !== null ? el('span', { class: `st s${String(e.status)[0]}` }, String(e.status)) : null,
    el('span', { class: 'diag-msg' }, e.message || ''));
  const body = el('div', { class: 'diag-body' },
    request ? el('div', { class: 'diag-req mono' }, `${request.method || 'GET'} ${request.url || ''}`) : null,
    evidence.length
      ? el('ul', { class: 'evidence mono' }, evidence.map((line) => el('li', {}, line)))
      : el('p', { class: 'evidence-none small muted' }, 'no evidence lines'),
    token ? el('div', { class: 'diag-token small mono' }, `token ${token.fingerprint}${token.isJwt ? ', JWT' : ', opaque'}`) : null,
    e.hint ? el('div', { class: 'hint' }, el('span', { class: 'hint-label' }, 'hint'), ' ', el('span', { class: 'hint-text' }, e.hint)) : null,
    el('div', { class: 'more small' }, 'more: ', el('a', { href: DOCS + code, target: '_blank', rel: 'noopener noreferrer' }, DOCS + code)));
  const details = el('details', {}, summary, body);
  if (currentRun && !currentRun.opened && code === currentRun.code) {
    details.open = true;
    currentRun.opened = true;
  }
  const li = el('li', { class: `diag lvl-${level}`, dataset: { code, level, evidence: String(evidence.length), ...(e.status ? { status: String(e.status) } : {}) } }, details);
  if (currentRun) currentRun.codes.push(code);
  const list = $('#diagnostics');
  list.prepend(li);
  while (list.children.length > DIAG_LIMIT) list.lastElementChild.remove();
  updateDiagnosticsCount();
}

/** A separator naming the scenario whose events follow (newest first, so it sits below them). */
function addRunMarker(cause) {
  const li = el('li', { class: 'run', dataset: { run: cause.code } },
    el('span', { class: 'run-label' }, '▶ ', cause.title), ' ', el('code', { class: 'muted' }, `expects ${cause.code}`));
  $('#diagnostics').prepend(li);
  updateDiagnosticsCount();
}

// ---------------------------------------------------------------------------
// state() view

function stateOf(client) {
  try {
    return plain(client === 'default' ? lib.state() : crossClient?.state()) || null;
  } catch {
    return null;
  }
}

function renderState() {
  if (!lib) return;
  const clients = [['default', 'authFetch', stateOf('default')], ['cross', 'cross-origin', stateOf('cross')]];
  const fields = [
    ['requests', 'requests', (s) => s.counts?.requests],
    ['unauthorized', '401s seen', (s) => s.counts?.unauthorized],
    ['refreshes', 'refreshes', (s) => s.counts?.refreshes],
    ['refreshFailures', 'refresh failures', (s) => s.counts?.refreshFailures],
    ['refreshInFlight', 'refresh in flight', (s) => (s.refreshInFlight ? 'yes' : 'no')],
    ['expiresIn', 'expires in', (s) => (s.expiresIn === null || s.expiresIn === undefined ? '—' : `${Math.round(s.expiresIn)} s`)],
    ['lastDiagnostic', 'last diagnostic', (s) => plain(s.lastDiagnostic)?.code ?? '—'],
  ];
  const table = el('table', { class: 'state-table' },
    el('thead', {}, el('tr', {}, el('th', {}, ''), clients.map(([, label]) => el('th', { scope: 'col' }, label)))),
    el('tbody', {}, fields.map(([key, label, get]) => el('tr', {},
      el('th', { scope: 'row' }, label),
      clients.map(([id, , st]) => {
        const value = st ? get(st) : '—';
        return el('td', { class: key === 'lastDiagnostic' ? 'mono' : 'num', dataset: { client: id, field: key } }, value ?? '—');
      })))));
  const box = $('#state');
  box.replaceChildren(table);
  box.dataset.requests = String(clients[0][2]?.counts?.requests ?? '');
}

// ---------------------------------------------------------------------------
// "Diagnose a 401": one scenario per cause the demo server can produce

/** Log in with the form's credentials unless a refresh token is stored already. */
async function ensureSession() {
  if (localStorage.getItem(REFRESH_KEY)) return;
  await login();
  if (!localStorage.getItem(REFRESH_KEY)) throw new Error('could not log in for this scenario (see the log)');
}

async function currentFaults() {
  const { res, data } = await api('/api/faults');
  if (!res.ok || !data) throw new Error(`GET /api/faults answered ${res.status}`);
  return data;
}

/** Sets fault switches for the duration of fn, then puts back the values they had. */
async function withFaults(patch, fn) {
  const before = await currentFaults();
  const restore = Object.fromEntries(Object.keys(patch).map((k) => [k, before[k]]));
  await setFaults(patch);
  try {
    return await fn();
  } finally {
    await setFaults(restore);
  }
}

async function debugToken(path) {
  const { res, data } = await api(path);
  if (!res.ok || !data?.accessToken) throw new Error(`${path} answered ${res.status}`);
  return data.accessToken;
}

function storeAccess(token, badge, message) {
  localStorage.setItem(ACCESS_KEY, token);
  addLog({ kind: 'note', level: 'warn', badge, fp: fingerprint(token), message });
}

const crossFetch = (url, init) => getCrossClient().fetch(url, init);

/**
 * code -> { title, what (button tooltip and panel note), run() }. Each run leaves the app usable: faults
 * are restored; only "refresh rejected" ends the session, which is its point.
 */
const CAUSES = {
  token_expired: {
    title: 'Expired token',
    what: 'Stores a validly signed token that expired a minute ago while the refresh endpoint answers 500, so the expired token is sent and its 401 reaches the page.',
    async run() {
      await ensureSession();
      await withFaults({ refresh: '500' }, async () => {
        storeAccess(await debugToken('/api/debug/expired-token'), 'expire', 'Stored a token that expired a minute ago; the refresh endpoint fails (500) for this call.');
        await call(API, undefined, `GET ${API} (expired token)`);
      });
    },
  },
  invalid_token: {
    title: 'Forged signature',
    what: 'Stores a token with the right claims signed with another key: the server answers 401 invalid_token "signature verification failed"; authfetch refreshes and retries.',
    async run() {
      await ensureSession();
      storeAccess(await debugToken('/api/debug/forged-token'), 'forge', 'Stored a token signed with a key the server does not know.');
      await call(API, undefined, `GET ${API} (forged token)`);
    },
  },
  insufficient_scope: {
    title: 'Wrong scope (403)',
    what: 'GET /api/admin-data needs scope "admin"; the demo user has "read write": 403 insufficient_scope, no refresh.',
    async run() {
      await ensureSession();
      await call('/api/admin-data', undefined, 'GET /api/admin-data (needs scope admin)');
    },
  },
  no_token: {
    title: 'No token',
    what: 'Calls the API with both tokens set aside (put back afterwards): the request goes out without Authorization.',
    async run() {
      const saved = [localStorage.getItem(ACCESS_KEY), localStorage.getItem(REFRESH_KEY)];
      localStorage.removeItem(ACCESS_KEY);
      localStorage.removeItem(REFRESH_KEY);
      try {
        await call(API, undefined, `GET ${API} (no token stored)`);
      } finally {
        if (saved[0]) localStorage.setItem(ACCESS_KEY, saved[0]);
        if (saved[1]) localStorage.setItem(REFRESH_KEY, saved[1]);
      }
    },
  },
  wrong_scheme: {
    title: 'Wrong scheme',
    what: 'GET /api/basic-only is a legacy route that answers 401 WWW-Authenticate: Basic realm="legacy" to any bearer token. Sent with credentials: "omit": a same-origin Basic 401 otherwise makes the browser show its login dialog and the fetch waits on it.',
    async run() {
      await ensureSession();
      await call('/api/basic-only', { credentials: 'omit' }, 'GET /api/basic-only (credentials: omit)');
    },
  },
  no_challenge: {
    title: 'Silent 401',
    what: 'GET /api/silent-401: a misconfigured middleware rejects every token with a bare 401 and no WWW-Authenticate.',
    async run() {
      await ensureSession();
      await call('/api/silent-401', undefined, 'GET /api/silent-401');
    },
  },
  clock_skew: {
    title: 'Server clock skew',
    what: 'Sets the server fault clockSkew = 600 (its Date header runs 10 min ahead) and stores a token issued by that clock (iat/nbf 10 min in the future).',
    async run() {
      await ensureSession();
      await withFaults({ clockSkew: 600 }, async () => {
        storeAccess(await debugToken('/api/debug/skewed-token?seconds=600'), 'skew', 'Stored a token issued 10 min in the future, as by a server whose clock runs ahead.');
        await call(API, undefined, `GET ${API} (server clock +10 min)`);
      });
    },
  },
  token_not_yet_valid: {
    title: 'Token from the future',
    what: 'Stores a token whose iat/nbf are 10 min ahead while the server\'s Date agrees with this computer: not yet valid, no clock skew.',
    async run() {
      await ensureSession();
      storeAccess(await debugToken('/api/debug/skewed-token?seconds=600'), 'future', 'Stored a token that only becomes valid in 10 min; the clocks agree.');
      await call(API, undefined, `GET ${API} (nbf in the future)`);
    },
  },
  cors_preflight: {
    title: 'CORS-broken origin',
    what: 'The cross-origin client calls {other}/api/cors-broken, whose preflight omits Access-Control-Allow-Headers: Authorization: the browser blocks it (TypeError).',
    async run() {
      await ensureSession();
      const url = `${otherOrigin()}/api/cors-broken`;
      await call(url, undefined, `GET ${url} (cross-origin client)`, crossFetch);
    },
  },
  challenge_hidden: {
    title: 'CORS-hidden challenge',
    what: 'The cross-origin client calls {other}/api/cors-hidden: a proper CORS 401 without Access-Control-Expose-Headers, so WWW-Authenticate cannot be read.',
    async run() {
      await ensureSession();
      const url = `${otherOrigin()}/api/cors-hidden`;
      await call(url, undefined, `GET ${url} (cross-origin client)`, crossFetch);
    },
  },
  origin_not_allowed: {
    title: 'Origin not allowed',
    what: 'authFetch calls the same API on {other}, which is not in its allowedOrigins: the token is withheld and the API answers 401.',
    async run() {
      await ensureSession();
      await callForeign();
    },
  },
  refresh_failed: {
    title: 'Refresh endpoint down',
    what: 'Forged token with the refresh endpoint answering 500: the 401 cannot be fixed now, both tokens are kept for the next try.',
    async run() {
      await ensureSession();
      await withFaults({ refresh: '500' }, async () => {
        storeAccess(await debugToken('/api/debug/forged-token'), 'forge', 'Stored a forged token; the refresh endpoint fails (500) for this call.');
        await call(API, undefined, `GET ${API} (refresh answers 500)`);
      });
    },
  },
  refresh_rejected: {
    title: 'Refresh rejected',
    what: 'Forged token with the refresh endpoint answering 400 invalid_grant: the session is over, both tokens are cleared (log in again).',
    async run() {
      await ensureSession();
      await withFaults({ refresh: 'invalid_grant' }, async () => {
        storeAccess(await debugToken('/api/debug/forged-token'), 'forge', 'Stored a forged token; the refresh endpoint answers invalid_grant for this call.');
        await call(API, undefined, `GET ${API} (refresh rejected)`);
      });
    },
  },
  still_unauthorized: {
    title: 'Still 401 after refresh',
    what: 'Turns on "reject all access tokens" for one call: 401, a refresh that works, a retry with the fresh token, 401 again.',
    async run() {
      await ensureSession();
      await withFaults({ rejectAllTokens: true }, () => call(API, undefined, `GET ${API} (server rejects every token)`));
    },
  },
};

/** Every cause run, for tests: { code, codes (diagnostic codes seen), ok }. */
const causeRuns = [];

function buildCauses() {
  const box = $('#causes');
  for (const [code, cause] of Object.entries(CAUSES)) {
    cause.code = code;
    const what = cause.what.replaceAll('{other}', otherOrigin());
    box.append(el('button', { id: `cause-${code}`, type: 'button', class: 'cause needs-lib', disabled: true, title: what, dataset: { cause: code } },
      el('span', { class: 'cause-title' }, cause.title),
      el('code', { class: 'cause-code' }, code)));
  }
  box.addEventListener('click', (ev) => {
    const button = ev.target.closest('button[data-cause]');
    if (button) action(() => runCause(button.dataset.cause));
  });
}

async function runCause(code) {
  const cause = CAUSES[code];
  addRunMarker(cause);
  addLog({ kind: 'note', level: 'info', badge: 'diagnose', code, message: `${cause.title}: ${cause.what.replaceAll('{other}', otherOrigin())}` });
  const run = { code, codes: [], opened: false };
  currentRun = run;
  try {
    await cause.run();
  } finally {
    currentRun = null;
    const ok = run.codes.includes(code);
    causeRuns.push({ code, codes: [...run.codes], ok });
    const box = $('#cause-result');
    box.replaceChildren(
      el('span', { class: `badge ${ok ? 'lvl-ok' : 'lvl-error'}` }, ok ? 'diagnosed' : 'not diagnosed'), ' ',
      el('strong', {}, cause.title), ' → ',
      el('span', { class: 'mono' }, run.codes.length ? run.codes.join(' → ') : 'no events'));
    box.dataset.expected = code;
    box.dataset.codes = run.codes.join(' ');
    box.dataset.ok = String(ok);
    box.className = 'cause-result small';
  }
}

// ---------------------------------------------------------------------------
// wiring

function bindUi() {
  const saved = localStorage.getItem(LEVEL_KEY);
  const fromQuery = new URLSearchParams(location.search).get('logLevel');
  const level = LEVELS.includes(fromQuery) ? fromQuery : LEVELS.includes(saved) ? saved : 'debug';
  $('#log-level').value = level;

  $('#login-form').addEventListener('submit', (ev) => { ev.preventDefault(); action(() => login(ev)); });
  $('#logout').addEventListener('click', () => action(logout));
  $('#corrupt').addEventListener('click', () => action(corrupt));
  $('#expire').addEventListener('click', () => action(expire));
  $('#remove-token').addEventListener('click', () => action(removeTokens));
  $('#drop-access').addEventListener('click', () => action(dropAccess));
  $('#call').addEventListener('click', () => action(() => call()));
  $('#call10').addEventListener('click', () => action(callTen));
  $('#post').addEventListener('click', () => action(postBody));
  $('#refresh-now').addEventListener('click', () => action(refreshNow));
  $('#call-foreign').addEventListener('click', () => action(callForeign));

  $('#fault-refresh').addEventListener('change', (e) => action(() => setFaults({ refresh: e.target.value })));
  $('#slow-ms').addEventListener('change', (e) => action(() => setFaults({ slowMs: Number(e.target.value) })));
  $('#reject-all').addEventListener('change', (e) => action(() => setFaults({ rejectAllTokens: e.target.checked })));
  $('#apply-ttl').addEventListener('click', () => action(() => setFaults({ accessTtl: Number($('#access-ttl').value) })));
  $('#reset-server').addEventListener('click', () => action(async () => {
    await api('/api/stats/reset', {});
    addLog({ kind: 'note', level: 'info', badge: 'server', message: 'Server counters and faults reset.' });
  }));

  $('#log-level').addEventListener('change', (e) => {
    localStorage.setItem(LEVEL_KEY, e.target.value);
    if (!lib) return;
    applyConfig();
    addLog({ kind: 'note', level: 'info', badge: 'config', message: `configure({ logLevel: '${e.target.value}' })` });
  });
  $('#leeway').addEventListener('change', () => {
    if (!lib) return;
    applyConfig();
    addLog({ kind: 'note', level: 'info', badge: 'config', message: `configure({ refreshLeeway: ${currentLeeway()} })` });
  });
  $('#diag-clear').addEventListener('click', () => {
    $('#diagnostics').replaceChildren();
    updateDiagnosticsCount();
  });
  $('#diag-expand').addEventListener('click', () => { for (const d of document.querySelectorAll('#diagnostics details')) d.open = true; });
  $('#diag-collapse').addEventListener('click', () => { for (const d of document.querySelectorAll('#diagnostics details')) d.open = false; });
  $('#log-debug').addEventListener('change', (e) => $('#log').classList.toggle('hide-debug', !e.target.checked));
  $('#clear-log').addEventListener('click', () => {
    $('#log').replaceChildren();
    $('#log-count').textContent = '0';
  });

  // Other tabs (and the library, via storage events) may change tokens.
  window.addEventListener('storage', () => updateSession());
  setInterval(() => { updateSession(); }, 250);
  setInterval(() => { if (document.visibilityState === 'visible') renderState(); }, 1000);
  setInterval(() => { if (document.visibilityState === 'visible' && pending === 0) refreshStats(); }, 3000);
}

async function boot() {
  buildCauses();
  bindUi();
  updateSession();
  refreshStats();
  const status = $('#status');
  try {
    lib = await import('/pkg/authfetch.js');
    await lib.default();
  } catch (e) {
    lib = null;
    status.textContent = 'authfetch package missing';
    status.className = 'status bad';
    $('#pkg-error').hidden = false;
    $('#pkg-error-detail').textContent = `Loading /pkg/authfetch.js failed: ${e?.message || e}`;
    document.body.dataset.ready = 'error';
    return;
  }
  try {
    applyConfig();
  } catch (e) {
    // e.g. AuthFetchError / invalid_options
    addLog({ kind: 'error', level: 'error', badge: 'configure', code: e?.code || e?.name, message: String(e?.message || e) });
  }
  for (const b of document.querySelectorAll('.needs-lib')) b.disabled = false;
  window.authfetchDemo = {
    authFetch: lib.authFetch, configure: lib.configure, AuthClient: lib.AuthClient, state: lib.state, results, libOptions,
    get crossClient() { return getCrossClient(); }, causes: Object.keys(CAUSES), causeRuns,
  };
  renderState();
  status.textContent = 'authfetch ready';
  status.className = 'status good';
  addLog({ kind: 'note', level: 'info', badge: 'ready', message: `authfetch loaded: configure({ logLevel: '${currentLevel()}', refreshLeeway: ${currentLeeway()} }). Log in, then try the actions.` });
  document.body.dataset.ready = '1';
}

boot();

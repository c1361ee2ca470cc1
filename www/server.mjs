#!/usr/bin/env node
// authfetch demo auth server.
//
//   node www/server.mjs            # http://127.0.0.1:8080 (PORT=… to change)
//   ACCESS_TTL=60 node www/server.mjs
//
// Serves the demo page (www/) at / and the wasm-pack output (../pkg) at /pkg/,
// plus a small OAuth-style token API with rotating refresh tokens, reuse
// detection (RFC 9700 §4.14.2) and fault switches for trying out failure modes.
// node:http only, plus `jose` for the HS256 access tokens.
//
// Cause endpoints for the page's "Diagnose a 401" card, each answering one way
// a real API goes wrong (403 insufficient_scope, Basic-only, a silent 401, a
// forged or future-dated token, a skewed Date header, broken CORS on the
// second origin http://localhost:PORT).
//
// Tokens are never written to the server's own log; /api/stats only reports
// fingerprints of the Authorization headers it saw (same format as authfetch's).

import http from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WWW_ROOT = HERE;
const DEFAULT_PKG_ROOT = path.resolve(HERE, '..', 'pkg');

const ISSUER = 'authfetch-demo';
const AUDIENCE = 'authfetch-demo-api';
const REALM = 'authfetch-demo';
const DEMO_USER = { username: 'demo', password: 'demo', scope: 'read write' };
const MAX_BODY = 1024 * 1024; // 1 MB
const REFRESH_TTL_S = 8 * 60 * 60; // refresh tokens live 8 h
const MAX_HEADERS_SEEN = 50;

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};

const REFRESH_MODES = new Set(['ok', '500', 'invalid_grant', 'slow']);
const MAX_SKEW_S = 86400;

/**
 * Token fingerprint in the same format authfetch prints in the console:
 * the length in characters and a 32-bit FNV-1a hash of the UTF-8 bytes,
 * e.g. `243 chars #5f2a9c1d`. Lets people match "what the server saw" with
 * "what the library sent" without ever seeing the token.
 */
export function fingerprint(token) {
  const text = String(token);
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${[...text].length} chars #${hash.toString(16).padStart(8, '0')}`;
}

function defaultFaults(accessTtl) {
  return { refresh: 'ok', slowMs: 3000, rejectAllTokens: false, accessTtl, clockSkew: 0 };
}

function freshStats() {
  return { refreshCalls: 0, protectedCalls: 0, unauthorized: 0, logins: 0, refreshRejected: 0, reuseDetected: 0, headersSeen: [] };
}

class HttpError extends Error {
  constructor(status, body, headers = {}) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

function parseTtl(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) && n >= 1 && n <= 86400 ? Math.floor(n) : fallback;
}

/**
 * Start the demo server.
 * @param {{port?: number, host?: string, quiet?: boolean, accessTtl?: number, pkgDir?: string}} [opts]
 *   pkgDir defaults to $AUTHFETCH_PKG_DIR or ../pkg (the wasm-pack output).
 * @returns {Promise<{url: string, port: number, state: object, close: () => Promise<void>}>}
 */
export async function startServer({ port = Number(process.env.PORT || 8080), host = '127.0.0.1', quiet = false, accessTtl, pkgDir } = {}) {
  const PKG_ROOT = path.resolve(pkgDir || process.env.AUTHFETCH_PKG_DIR || DEFAULT_PKG_ROOT);
  const baseTtl = parseTtl(accessTtl ?? process.env.ACCESS_TTL, 20);
  const secret = randomBytes(32);

  const state = {
    baseAccessTtl: baseTtl,
    faults: defaultFaults(baseTtl),
    stats: freshStats(),
    /** Every token this server handed out (access + refresh), for leak checks in tests. */
    issuedTokens: [],
    /** refresh token -> { family, user, used, expiresAt } */
    refreshTokens: new Map(),
    /** family id -> { revoked: boolean, reason?: string } */
    families: new Map(),
  };

  const log = quiet ? () => {} : (...a) => console.log(...a);

  // ---------- tokens ----------

  /**
   * An HS256 access token for `user`. `expired`: iat 2 min and exp 1 min ago. `skewSeconds`: every time
   * claim (iat, nbf, exp) shifted as if the issuing server's clock ran that far ahead. `signingKey`: sign
   * with another key (a forged token). Every token is recorded in state.issuedTokens.
   */
  async function issueAccessToken(user, { expiresIn, expired = false, skewSeconds = 0, signingKey = secret } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const ttl = expiresIn ?? state.faults.accessTtl;
    const iat = (expired ? now - 120 : now) + skewSeconds;
    const exp = (expired ? now - 60 : now + ttl) + skewSeconds;
    const jwt = new SignJWT({ scope: user.scope })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(user.username)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(exp);
    if (skewSeconds) jwt.setNotBefore(iat);
    const token = await jwt.sign(signingKey);
    state.issuedTokens.push(token);
    return { token, expiresIn: exp - now };
  }

  function issueRefreshToken(user, family) {
    const token = 'rt_' + randomBytes(32).toString('base64url');
    state.refreshTokens.set(token, { family, user, used: false, expiresAt: Date.now() + REFRESH_TTL_S * 1000 });
    state.issuedTokens.push(token);
    return token;
  }

  function revokeFamily(family, reason) {
    const f = state.families.get(family);
    if (f) { f.revoked = true; f.reason = reason; }
  }

  async function issuePair(user, family) {
    const { token: accessToken, expiresIn } = await issueAccessToken(user);
    const refreshToken = issueRefreshToken(user, family);
    return { accessToken, refreshToken, expiresIn };
  }

  // ---------- helpers ----------

  function send(res, status, body, headers = {}) {
    if (res.headersSent || res.writableEnded) return;
    const isJson = body !== undefined && body !== null && typeof body === 'object' && !Buffer.isBuffer(body);
    const payload = body === undefined || body === null ? '' : isJson ? JSON.stringify(body) : body;
    res.writeHead(status, {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...(isJson ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      ...headers,
    });
    res.end(payload);
  }

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > MAX_BODY) {
        req.resume(); // discard
        reject(new HttpError(413, { error: 'payload_too_large', error_description: 'request body is over 1 MB' }, { Connection: 'close' }));
        return;
      }
      const chunks = [];
      let size = 0;
      let failed = false;
      req.on('data', (chunk) => {
        if (failed) return;
        size += chunk.length;
        if (size > MAX_BODY) {
          failed = true;
          chunks.length = 0;
          reject(new HttpError(413, { error: 'payload_too_large', error_description: 'request body is over 1 MB' }, { Connection: 'close' }));
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => { if (!failed) resolve(Buffer.concat(chunks).toString('utf8')); });
      req.on('error', (e) => { if (!failed) { failed = true; reject(new HttpError(400, { error: 'invalid_request', error_description: String(e.message || e) })); } });
    });
  }

  function mediaType(req) {
    return String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  }

  async function readJson(req, { optional = false } = {}) {
    const text = await readBody(req);
    if (!text.trim()) {
      if (optional) return {};
      throw new HttpError(400, { error: 'invalid_request', error_description: 'expected a JSON body' });
    }
    let value;
    try { value = JSON.parse(text); } catch {
      throw new HttpError(400, { error: 'invalid_request', error_description: 'body is not valid JSON' });
    }
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      throw new HttpError(400, { error: 'invalid_request', error_description: 'expected a JSON object' });
    }
    return value;
  }

  function bearerChallenge(error, description) {
    let v = `Bearer realm="${REALM}"`;
    if (error) v += `, error="${error}"`;
    if (description) v += `, error_description="${description.replace(/["\\]/g, '')}"`;
    return v;
  }

  function corsHeaders(req) {
    // Allow cross-origin reads (the demo page calls http://localhost:PORT from
    // http://127.0.0.1:PORT to show the origin allow-list at work).
    const origin = req.headers.origin;
    const h = { 'Access-Control-Expose-Headers': 'WWW-Authenticate' };
    if (origin) {
      h['Access-Control-Allow-Origin'] = origin;
      h['Vary'] = 'Origin';
    }
    return h;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // ---------- API handlers ----------

  async function handleLogin(req, res) {
    const body = await readJson(req);
    state.stats.logins++;
    if (body.username !== DEMO_USER.username || body.password !== DEMO_USER.password) {
      return send(res, 401, { error: 'invalid_credentials', error_description: 'unknown user or wrong password (try demo / demo)' });
    }
    const family = randomUUID();
    state.families.set(family, { revoked: false });
    const pair = await issuePair(DEMO_USER, family);
    log(`login ok (family ${family.slice(0, 8)})`);
    send(res, 200, pair);
  }

  async function handleRefresh(req, res) {
    state.stats.refreshCalls++;
    const type = mediaType(req);
    let format;
    let presented;
    if (type === 'application/x-www-form-urlencoded') {
      format = 'oauth2';
      const form = new URLSearchParams(await readBody(req));
      const grant = form.get('grant_type');
      if (grant !== 'refresh_token') {
        state.stats.refreshRejected++;
        return send(res, 400, { error: 'unsupported_grant_type', error_description: `grant_type must be "refresh_token"` });
      }
      presented = form.get('refresh_token');
    } else {
      format = 'json';
      const body = await readJson(req, { optional: true });
      presented = body.refreshToken;
    }
    const faults = state.faults;
    if (faults.refresh === 'slow') await sleep(faults.slowMs);
    if (faults.refresh === '500') {
      return send(res, 500, { error: 'server_error', error_description: 'refresh endpoint failing (fault switch)' });
    }
    const reject = (status, description) => {
      state.stats.refreshRejected++;
      return send(res, status, { error: 'invalid_grant', error_description: description });
    };
    if (faults.refresh === 'invalid_grant') return reject(400, 'refresh token rejected (fault switch)');
    if (typeof presented !== 'string' || !presented) return reject(400, 'missing refresh token');
    const record = state.refreshTokens.get(presented);
    if (!record) return reject(400, 'unknown refresh token');
    const family = state.families.get(record.family);
    if (!family || family.revoked) return reject(400, `refresh token revoked${family && family.reason ? ` (${family.reason})` : ''}`);
    if (record.expiresAt < Date.now()) return reject(400, 'refresh token expired');
    if (record.used) {
      // RFC 9700 §4.14.2: a rotated-out refresh token came back. Either the
      // client raced itself or someone stole it; revoke the whole family.
      state.stats.reuseDetected++;
      revokeFamily(record.family, 'reuse detected');
      log(`refresh token reuse detected: family ${record.family.slice(0, 8)} revoked`);
      return reject(401, 'refresh token reuse detected; family revoked');
    }
    record.used = true;
    const pair = await issuePair(record.user, record.family);
    if (format === 'oauth2') {
      return send(res, 200, { access_token: pair.accessToken, refresh_token: pair.refreshToken, expires_in: pair.expiresIn, token_type: 'Bearer' });
    }
    send(res, 200, pair);
  }

  async function handleLogout(req, res) {
    const body = await readJson(req, { optional: true });
    const record = typeof body.refreshToken === 'string' ? state.refreshTokens.get(body.refreshToken) : undefined;
    if (record) revokeFamily(record.family, 'logged out');
    send(res, 200, { ok: true, revoked: Boolean(record) });
  }

  /** Notes the Authorization header's fingerprint (never the token) in /api/stats. */
  function recordAuthorization(header) {
    const seen = state.stats.headersSeen;
    if (header) {
      const [scheme, ...rest] = header.trim().split(/\s+/);
      seen.push(`${scheme} ${rest.length ? fingerprint(rest.join(' ')) : '(empty)'}`);
    } else {
      seen.push('(none)');
    }
    if (seen.length > MAX_HEADERS_SEEN) seen.splice(0, seen.length - MAX_HEADERS_SEEN);
  }

  /**
   * Checks the request's bearer JWT the way every protected route does. Resolves to `{ payload }`, or to
   * `{ error, description }` (the Bearer error for a 401; `error: null` when no bearer token was sent).
   * `audience` lets a route be "misconfigured" for another API.
   */
  async function verifyBearer(req, { audience = AUDIENCE } = {}) {
    const header = req.headers.authorization;
    const m = header && /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
    if (!header || !/^bearer\b/i.test(header.trim())) return { error: null, description: null };
    if (!m) return { error: 'invalid_token', description: 'malformed bearer token' };
    if (state.faults.rejectAllTokens) return { error: 'invalid_token', description: 'all tokens are rejected (fault switch)' };
    try {
      const { payload } = await jwtVerify(m[1], secret, { issuer: ISSUER, audience, algorithms: ['HS256'] });
      return { payload };
    } catch (e) {
      let description = 'the access token is invalid';
      if (e instanceof joseErrors.JWTExpired) description = 'the access token expired';
      else if (e instanceof joseErrors.JWSSignatureVerificationFailed) description = 'signature verification failed';
      else if (e instanceof joseErrors.JWTClaimValidationFailed) description = `claim "${e.claim}" check failed`;
      else if (e instanceof joseErrors.JOSEAlgNotAllowed) description = 'algorithm not allowed';
      else if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid || e instanceof joseErrors.JOSEError) description = 'malformed token';
      return { error: 'invalid_token', description };
    }
  }

  /** Counts and sends a 401 with a Bearer challenge (or none / another scheme via `challenge`). */
  function sendUnauthorized(res, headers, error, description, challenge = bearerChallenge(error, description)) {
    state.stats.unauthorized++;
    send(res, 401, { error: error || 'unauthorized', error_description: description || 'a bearer token is required' },
      { ...headers, ...(challenge ? { 'WWW-Authenticate': challenge } : {}) });
  }

  /** The server's clock as the fault switch `clockSkew` says it reads (an HTTP date). */
  function skewedDateHeader() {
    const skew = state.faults.clockSkew || 0;
    return skew ? { Date: new Date(Date.now() + skew * 1000).toUTCString() } : {};
  }

  async function handleProtected(req, res) {
    state.stats.protectedCalls++;
    const headers = { ...corsHeaders(req), ...skewedDateHeader() };
    // Read the body first so it is consumed whatever the outcome.
    const bodyText = req.method === 'POST' ? await readBody(req) : null;
    recordAuthorization(req.headers.authorization);
    const { payload, error, description } = await verifyBearer(req);
    if (!payload) return sendUnauthorized(res, headers, error, description);
    send(res, 200, {
      ok: true,
      user: payload.sub,
      scope: payload.scope,
      method: req.method,
      receivedBody: bodyText,
      tokenExpiresAt: new Date(payload.exp * 1000).toISOString(),
      at: new Date().toISOString(),
    }, headers);
  }

  // ---------- cause endpoints (the page's "Diagnose a 401" card) ----------

  /** A valid token, but this API needs the `admin` scope, which the demo user never has: 403. */
  async function handleAdminData(req, res) {
    state.stats.protectedCalls++;
    const headers = corsHeaders(req);
    recordAuthorization(req.headers.authorization);
    const { payload, error, description } = await verifyBearer(req);
    if (!payload) return sendUnauthorized(res, headers, error, description);
    const granted = String(payload.scope || '').split(/\s+/);
    if (!granted.includes('admin')) {
      return send(res, 403, { error: 'insufficient_scope', error_description: 'this API needs the "admin" scope', scope: 'admin' },
        { ...headers, 'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="admin"` });
    }
    send(res, 200, { ok: true, user: payload.sub, scope: payload.scope, admin: true }, headers);
  }

  /** A legacy route whose middleware only knows HTTP Basic: every bearer token gets a Basic challenge. */
  async function handleBasicOnly(req, res) {
    state.stats.protectedCalls++;
    recordAuthorization(req.headers.authorization);
    sendUnauthorized(res, corsHeaders(req), 'unauthorized', 'this legacy route only accepts HTTP Basic credentials', 'Basic realm="legacy"');
  }

  /**
   * A route whose auth middleware is misconfigured (it checks the audience of another API) and answers
   * 401 without saying why: no WWW-Authenticate, a bare text body.
   */
  async function handleSilent401(req, res) {
    state.stats.protectedCalls++;
    recordAuthorization(req.headers.authorization);
    const { payload } = await verifyBearer(req, { audience: 'authfetch-legacy-api' });
    if (payload) return send(res, 200, { ok: true, user: payload.sub }, corsHeaders(req));
    state.stats.unauthorized++;
    send(res, 401, 'Unauthorized', { ...corsHeaders(req), 'Content-Type': 'text/plain; charset=utf-8' });
  }

  /**
   * The partner API on the second origin: proper CORS (preflight allows Authorization, errors carry
   * Access-Control-Allow-Origin) but no Access-Control-Expose-Headers, so the page cannot read the
   * WWW-Authenticate of its 401 (it expects another audience, so every demo token gets one).
   */
  async function handleCorsHidden(req, res) {
    state.stats.protectedCalls++;
    const { 'Access-Control-Expose-Headers': _hidden, ...headers } = corsHeaders(req);
    recordAuthorization(req.headers.authorization);
    const { payload, error, description } = await verifyBearer(req, { audience: 'authfetch-partner-api' });
    if (!payload) return sendUnauthorized(res, headers, error, description);
    send(res, 200, { ok: true, user: payload.sub }, headers);
  }

  /** Only reached without Authorization: the preflight of a request with it fails (see the router). */
  async function handleCorsBroken(req, res) {
    return handleProtected(req, res);
  }

  async function handleFaults(req, res) {
    if (req.method === 'POST') {
      const body = await readJson(req, { optional: true });
      const next = { ...state.faults };
      if ('refresh' in body) {
        const mode = String(body.refresh);
        if (!REFRESH_MODES.has(mode)) throw new HttpError(400, { error: 'invalid_request', error_description: `refresh must be one of ${[...REFRESH_MODES].join(', ')}` });
        next.refresh = mode;
      }
      if ('slowMs' in body) {
        const n = Number(body.slowMs);
        if (!Number.isFinite(n) || n < 0 || n > 120000) throw new HttpError(400, { error: 'invalid_request', error_description: 'slowMs must be 0..120000' });
        next.slowMs = Math.floor(n);
      }
      if ('rejectAllTokens' in body) next.rejectAllTokens = Boolean(body.rejectAllTokens);
      if ('clockSkew' in body) {
        const n = body.clockSkew === null ? 0 : Number(body.clockSkew);
        if (!Number.isFinite(n) || Math.abs(n) > MAX_SKEW_S) throw new HttpError(400, { error: 'invalid_request', error_description: `clockSkew must be -${MAX_SKEW_S}..${MAX_SKEW_S} seconds` });
        next.clockSkew = Math.trunc(n);
      }
      if ('accessTtl' in body) {
        if (body.accessTtl === null) next.accessTtl = state.baseAccessTtl;
        else {
          const n = Number(body.accessTtl);
          if (!Number.isFinite(n) || n < 1 || n > 86400) throw new HttpError(400, { error: 'invalid_request', error_description: 'accessTtl must be 1..86400 seconds' });
          next.accessTtl = Math.floor(n);
        }
      }
      state.faults = next;
    } else if (req.method !== 'GET') {
      throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'GET, POST' });
    }
    send(res, 200, state.faults);
  }

  async function handleStats(req, res, reset) {
    if (reset) {
      if (req.method !== 'POST') throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'POST' });
      await readBody(req);
      state.stats = freshStats();
      state.faults = defaultFaults(state.baseAccessTtl);
    }
    send(res, 200, { ...state.stats, headersSeen: [...state.stats.headersSeen], faults: state.faults });
  }

  // ---------- static files ----------

  async function serveStatic(req, res, pathname) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'GET, HEAD' });
    }
    let root = WWW_ROOT;
    let rel = pathname;
    if (pathname === '/pkg' || pathname.startsWith('/pkg/')) {
      root = PKG_ROOT;
      rel = pathname.slice(4);
    }
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    let decoded;
    try { decoded = decodeURIComponent(rel); } catch { throw new HttpError(400, { error: 'bad_path' }); }
    if (decoded.includes('\0')) throw new HttpError(400, { error: 'bad_path' });
    const file = path.resolve(root, '.' + path.posix.normalize('/' + decoded));
    if (file !== root && !file.startsWith(root + path.sep)) throw new HttpError(404, { error: 'not_found' });
    const base = path.basename(file);
    // Never serve the server itself or dotfiles.
    if (base.startsWith('.') || (root === WWW_ROOT && /\.mjs$/.test(base) && base === path.basename(fileURLToPath(import.meta.url)))) {
      throw new HttpError(404, { error: 'not_found' });
    }
    let info;
    try { info = await stat(file); } catch { info = null; }
    if (!info || !info.isFile()) {
      const pkgMissing = root === PKG_ROOT && !(await stat(path.join(PKG_ROOT, 'authfetch.js')).catch(() => null));
      const hint = pkgMissing
        ? 'the wasm package is not built: run `wasm-pack build --target web --release` in the repository root'
        : undefined;
      throw new HttpError(404, { error: 'not_found', ...(hint ? { error_description: hint } : {}) });
    }
    const data = await readFile(file);
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
    const headers = { 'Content-Type': type, 'Content-Length': data.length, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
    if (type.startsWith('text/html')) {
      headers['Content-Security-Policy'] = [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' data:",
        'connect-src \'self\' http://localhost:* http://127.0.0.1:*',
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
      ].join('; ');
      headers['Referrer-Policy'] = 'no-referrer';
    }
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : data);
  }

  // ---------- router ----------

  async function route(req, res) {
    let url;
    try { url = new URL(req.url, 'http://localhost'); } catch { throw new HttpError(400, { error: 'bad_request' }); }
    const p = url.pathname;
    if (p.startsWith('/api/')) {
      if (req.method === 'OPTIONS' && p === '/api/cors-broken') {
        // A preflight that forgets Access-Control-Allow-Headers: Authorization, so the browser blocks
        // the real request (the page sees a TypeError).
        return send(res, 204, null, {
          ...corsHeaders(req),
          'Access-Control-Allow-Methods': 'GET, POST',
          'Access-Control-Allow-Headers': 'Content-Type',
        });
      }
      if (req.method === 'OPTIONS' && p === '/api/cors-hidden') {
        const { 'Access-Control-Expose-Headers': _hidden, ...cors } = corsHeaders(req);
        return send(res, 204, null, {
          ...cors,
          'Access-Control-Allow-Methods': 'GET, POST',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type',
          'Access-Control-Max-Age': '600',
        });
      }
      if (req.method === 'OPTIONS') {
        return send(res, 204, null, {
          ...corsHeaders(req),
          'Access-Control-Allow-Methods': 'GET, POST',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type',
          'Access-Control-Max-Age': '600',
        });
      }
      const get = (fn) => { if (req.method !== 'GET') throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'GET' }); return fn(req, res); };
      const post = (fn) => { if (req.method !== 'POST') throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'POST' }); return fn(req, res); };
      switch (p) {
        case '/api/login': return post(handleLogin);
        case '/api/refresh-token': return post(handleRefresh);
        case '/api/logout': return post(handleLogout);
        case '/api/protected-data':
          if (req.method !== 'GET' && req.method !== 'POST') throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'GET, POST' });
          return handleProtected(req, res);
        case '/api/debug/expired-token': {
          if (req.method !== 'GET') throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'GET' });
          const { token } = await issueAccessToken(DEMO_USER, { expired: true });
          return send(res, 200, { accessToken: token });
        }
        case '/api/admin-data': return get(handleAdminData);
        case '/api/basic-only': return get(handleBasicOnly);
        case '/api/silent-401': return get(handleSilent401);
        case '/api/cors-hidden': return get(handleCorsHidden);
        case '/api/cors-broken': return get(handleCorsBroken);
        case '/api/debug/forged-token': {
          if (req.method !== 'GET') throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'GET' });
          // Same claims, signed with a key this server never trusted: "signature verification failed".
          const { token } = await issueAccessToken(DEMO_USER, { signingKey: randomBytes(32) });
          return send(res, 200, { accessToken: token });
        }
        case '/api/debug/skewed-token': {
          if (req.method !== 'GET') throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'GET' });
          const raw = url.searchParams.get('seconds');
          const seconds = raw === null ? 600 : Number(raw);
          if (!Number.isInteger(seconds) || Math.abs(seconds) > MAX_SKEW_S) {
            throw new HttpError(400, { error: 'invalid_request', error_description: `seconds must be an integer in -${MAX_SKEW_S}..${MAX_SKEW_S}` });
          }
          // As if the auth server's clock ran `seconds` ahead: iat and nbf lie in the future.
          const { token } = await issueAccessToken(DEMO_USER, { skewSeconds: seconds });
          return send(res, 200, { accessToken: token, skewSeconds: seconds });
        }
        case '/api/redirect': {
          // 302 to /api/echo-auth on this origin (?to=same) or on the other one (?to=other: 127.0.0.1 <-> localhost),
          // to show that a redirect never carries the Authorization header to another origin.
          if (req.method !== 'GET') throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'GET' });
          const host = String(req.headers.host || '');
          const port = host.includes(':') ? host.slice(host.lastIndexOf(':') + 1) : '80';
          const other = host.startsWith('localhost') ? `127.0.0.1:${port}` : `localhost:${port}`;
          const location = url.searchParams.get('to') === 'other' ? `http://${other}/api/echo-auth` : '/api/echo-auth';
          return send(res, 302, null, { ...corsHeaders(req), Location: location });
        }
        case '/api/echo-auth': {
          // What arrived: a fingerprint of the Authorization header (never the token), or null.
          if (req.method !== 'GET') throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'GET' });
          const auth = req.headers.authorization;
          return send(res, 200, { authorization: auth ? fingerprint(auth.replace(/^Bearer\s+/i, '')) : null, host: req.headers.host }, corsHeaders(req));
        }
        case '/api/faults': return handleFaults(req, res);
        case '/api/stats':
          if (req.method !== 'GET') throw new HttpError(405, { error: 'method_not_allowed' }, { Allow: 'GET' });
          return handleStats(req, res, false);
        case '/api/stats/reset': return handleStats(req, res, true);
        default: throw new HttpError(404, { error: 'not_found' });
      }
    }
    return serveStatic(req, res, p);
  }

  const server = http.createServer((req, res) => {
    const started = Date.now();
    req.on('error', () => {});
    res.on('error', () => {});
    Promise.resolve()
      .then(() => route(req, res))
      .catch((e) => {
        if (e instanceof HttpError) {
          send(res, e.status, e.body, e.headers);
          if (e.status === 413) res.on('finish', () => req.socket.destroy());
        } else {
          if (!quiet) console.error('internal error:', e && e.stack ? e.stack : e);
          send(res, 500, { error: 'server_error' });
        }
      })
      .finally(() => {
        if (req.url && req.url.startsWith('/api/') && !req.url.startsWith('/api/stats')) {
          log(`${req.method} ${req.url.split('?')[0]} -> ${res.statusCode} (${Date.now() - started} ms)`);
        }
      });
  });
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const actualPort = server.address().port;
  const url = `http://${host}:${actualPort}`;
  return {
    url,
    port: actualPort,
    state,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  startServer().then((srv) => {
    console.log(`authfetch demo on ${srv.url}`);
    const stop = () => srv.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }).catch((e) => {
    console.error(e.code === 'EADDRINUSE' ? `port already in use: ${e.message}` : e);
    process.exit(1);
  });
}

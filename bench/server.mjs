// Benchmark HTTP server (node:http only), bound to 127.0.0.1 on a random port.
//
// Serves:
//   /                      bench/page/index.html (the measurement page, with an import map)
//   /init.html             bench/page/init.html  (an empty page for cold init() timing)
//   /page/*                bench/page/*          (the page's scripts)
//   /pkg/*                 <repo>/pkg/*          (authfetch, as built by scripts/build.sh)
//   /nm/*                  bench/node_modules/*  (the peers' published ESM files, unbundled)
//   GET  /api/data         a protected endpoint: 200 `{}` for a valid bearer token, else 401
//   POST /api/refresh-token  `{"refreshToken":"rt-…"}` → `{accessToken, expiresIn}` (a new opaque token)
//   POST /bench/reset      forget every issued access token and zero the counters
//   GET  /bench/stats      the counters since the last reset (refresh calls, 401s, protected calls)
//
// Every response is `Cache-Control: no-store` (so each fresh browser context downloads and compiles the
// wasm again: no HTTP cache, hence no V8 wasm code cache) and carries COOP/COEP so the page is
// cross-origin isolated, which gives performance.now() 5 µs instead of 100 µs resolution.
// The server never talks to anything but the loopback clients that connect to it.

import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** The long-lived token the overhead phases use: valid until the process ends, opaque (not a JWT). */
export const STATIC_ACCESS_TOKEN = 'bench-static-access-token-0123456789abcdef';

/**
 * Starts the server. `roots` maps URL prefixes to directories. Resolves to
 * `{ origin, close() }`.
 */
export async function startBenchServer({ pageDir, pkgDir, nodeModulesDir }) {
  const roots = [
    ['/pkg/', pkgDir],
    ['/nm/', nodeModulesDir],
    ['/page/', pageDir],
  ];

  // Token state for the protected endpoint. `issued` holds the access tokens the refresh endpoint
  // handed out since the last /bench/reset; the static token is always valid.
  let issued = new Set();
  let tokenCounter = 0;
  let stats = freshStats();

  function freshStats() {
    return { protectedCalls: 0, unauthorized: 0, refreshCalls: 0, refreshRejected: 0 };
  }

  function send(res, status, body, headers = {}) {
    const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    res.writeHead(status, {
      ...COMMON_HEADERS,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(payload),
      ...headers,
    });
    res.end(payload);
  }

  async function readBody(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > 64 * 1024) throw new Error('body too large');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function serveFile(res, urlPath) {
    for (const [prefix, dir] of roots) {
      if (!urlPath.startsWith(prefix)) continue;
      const rel = decodeURIComponent(urlPath.slice(prefix.length));
      const file = path.resolve(dir, rel);
      if (!file.startsWith(path.resolve(dir) + path.sep)) return send(res, 403, { error: 'forbidden' });
      try {
        const data = await readFile(file);
        const type = CONTENT_TYPES[path.extname(file)] || 'application/octet-stream';
        res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': data.length });
        return res.end(data);
      } catch {
        return send(res, 404, { error: 'not found', path: urlPath });
      }
    }
    return send(res, 404, { error: 'not found', path: urlPath });
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const p = url.pathname;

    if (p === '/api/data' && req.method === 'GET') {
      stats.protectedCalls++;
      const auth = req.headers.authorization || '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (token === STATIC_ACCESS_TOKEN || issued.has(token)) return send(res, 200, '{}');
      stats.unauthorized++;
      return send(res, 401, { error: 'invalid_token' }, {
        'WWW-Authenticate': 'Bearer realm="bench", error="invalid_token"',
      });
    }

    if (p === '/api/refresh-token' && req.method === 'POST') {
      stats.refreshCalls++;
      let refreshToken = '';
      try {
        refreshToken = JSON.parse(await readBody(req)).refreshToken || '';
      } catch {
        /* falls through to the 400 below */
      }
      if (typeof refreshToken !== 'string' || !refreshToken.startsWith('rt-')) {
        stats.refreshRejected++;
        return send(res, 400, { error: 'invalid_grant' });
      }
      // Opaque access token, no rotation of the refresh token (so a late duplicate refresh still works
      // and is merely counted, not punished).
      const accessToken = `at-${++tokenCounter}-${Math.random().toString(36).slice(2)}`;
      issued.add(accessToken);
      return send(res, 200, { accessToken, expiresIn: 3600 });
    }

    if (p === '/bench/reset' && req.method === 'POST') {
      issued = new Set();
      stats = freshStats();
      return send(res, 200, { ok: true });
    }

    if (p === '/bench/stats' && req.method === 'GET') return send(res, 200, stats);

    if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' });
    if (p === '/' || p === '/index.html') return serveFile(res, '/page/index.html');
    if (p === '/init.html') return serveFile(res, '/page/init.html');
    if (p === '/favicon.ico') return send(res, 204, '');
    return serveFile(res, p);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) send(res, 500, { error: String(err && err.message) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

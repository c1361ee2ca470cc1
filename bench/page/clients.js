// How each client is wired, in one place. Every client reads the access token from localStorage
// ('access_token') on every call and sends `Authorization: Bearer <token>`, each in its idiomatic way:
//
//   raw fetch         the baseline: fetchImpl(url, { headers: { Authorization: 'Bearer ' + token } })
//   hand-written      a ~20-line wrapper: header by hand, one shared refresh promise on a 401, one retry
//   authfetch         configure({ fetch, logLevel: 'silent' }) + authFetch(url)
//   ofetch            ofetch.create({ onRequest }, { fetch })             → resolves to the parsed body
//   ky                ky.create({ fetch, hooks: { beforeRequest } })      → resolves to the Response
//   axios + a-a-r     axios.create({ adapter }) + request interceptor + createAuthRefreshInterceptor
//                     (refresh cycle: also with { deduplicateRefresh: false }, see makeRefreshClients)
//
// Transports:
//   'stub'  `stubFetch` resolves `new Response('{}', {status: 200})` at once (per-call overhead);
//   'real'  the browser's fetch against the bench server on 127.0.0.1;
//   a `makeServerStub()` fetch plays the bench server in memory (401 for stale tokens, a refresh endpoint)
//   and resolves at once: the refresh cycle without the network, i.e. the libraries' own cost.
// axios gets an adapter over the same fetch function for the stub transports (so every client builds
// exactly one Response per call); with the real transport it uses its default browser adapter (XHR).

import { authFetch, configure } from 'authfetch';
import { ofetch } from 'ofetch';
import ky from 'ky';
import axios, { AxiosError } from 'axios';
import createAuthRefreshInterceptor from 'axios-auth-refresh';

export const REFRESH_URL = '/api/refresh-token';
const DATA_PATH = '/api/data';

const bearer = () => 'Bearer ' + localStorage.getItem('access_token');

/** The stub transport. `onCall`, when set, sees every (input, init) — used only to verify the wiring. */
export const stubHooks = { onCall: null };
export function stubFetch(input, init) {
  if (stubHooks.onCall !== null) stubHooks.onCall(input, init);
  return Promise.resolve(new Response('{}', { status: 200 }));
}

/** The Authorization header a fetch call would send, whatever shape (Request, Headers, record, AxiosHeaders). */
export function authorizationOf(input, init) {
  const h = init && init.headers;
  if (h) {
    if (typeof h.get === 'function') {
      const v = h.get('authorization');
      if (v) return v;
    } else {
      for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === 'authorization') return v;
    }
  }
  if (input instanceof Request) return input.headers.get('authorization');
  return null;
}

/**
 * An in-memory stand-in for the bench server's /api/data and /api/refresh-token, as a fetch function
 * that resolves at once. Same rules and counters as bench/server.mjs.
 */
export function makeServerStub() {
  let issued = new Set();
  let counter = 0;
  let stats;
  const reset = () => {
    issued = new Set();
    stats = { protectedCalls: 0, unauthorized: 0, refreshCalls: 0 };
    return Promise.resolve({ ok: true });
  };
  reset();
  async function serverFetch(input, init) {
    const isRequest = input instanceof Request;
    const url = new URL(isRequest ? input.url : String(input), location.href);
    const method = ((init && init.method) || (isRequest ? input.method : 'GET')).toUpperCase();
    if (url.pathname === REFRESH_URL && method === 'POST') {
      stats.refreshCalls++;
      const body = init && typeof init.body === 'string' ? init.body : isRequest ? await input.text() : '';
      let refreshToken = '';
      try { refreshToken = JSON.parse(body).refreshToken || ''; } catch { /* → 400 */ }
      if (!String(refreshToken).startsWith('rt-')) return new Response('{"error":"invalid_grant"}', { status: 400 });
      const accessToken = `at-${++counter}`;
      issued.add(accessToken);
      return new Response(JSON.stringify({ accessToken, expiresIn: 3600 }), {
        status: 200, headers: { 'Content-Type': 'application/json' },
      });
    }
    if (url.pathname !== DATA_PATH) return new Response('{"error":"not found"}', { status: 404 });
    stats.protectedCalls++;
    const auth = authorizationOf(input, init) || '';
    if (auth.startsWith('Bearer ') && issued.has(auth.slice(7))) return new Response('{}', { status: 200 });
    stats.unauthorized++;
    return new Response('{"error":"invalid_token"}', {
      status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="bench", error="invalid_token"' },
    });
  }
  return { fetch: serverFetch, reset, stats: () => Promise.resolve({ ...stats }) };
}

/** POST the stored refresh token; store the new tokens. Used by the hand-written wrapper. */
async function refreshWithFetch(fetchImpl) {
  const res = await fetchImpl(REFRESH_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refreshToken: localStorage.getItem('refresh_token') }),
  });
  if (!res.ok) throw new Error(`refresh failed: HTTP ${res.status}`);
  const body = await res.json();
  localStorage.setItem('access_token', body.accessToken);
  if (body.refreshToken) localStorage.setItem('refresh_token', body.refreshToken);
}

/**
 * What a careful developer writes by hand: bearer header, and on a 401 one refresh shared by every
 * request waiting on it (a single in-flight promise), then one retry. A request whose 401 arrives
 * after another request already replaced the token just retries with the new one.
 */
export function makeHandWritten(fetchImpl) {
  let refreshing = null;
  const refreshOnce = () => {
    refreshing ??= refreshWithFetch(fetchImpl).finally(() => { refreshing = null; });
    return refreshing;
  };
  const send = (url, init, token) =>
    fetchImpl(url, { ...init, headers: { ...(init && init.headers), Authorization: 'Bearer ' + token } });
  return async function handFetch(url, init) {
    const token = localStorage.getItem('access_token');
    const res = await send(url, init, token);
    if (res.status !== 401) return res;
    if (localStorage.getItem('access_token') === token) await refreshOnce();
    return send(url, init, localStorage.getItem('access_token'));
  };
}

/**
 * An axios adapter over a fetch function: one call, the body read as text (axios then parses it), and a
 * rejection with an AxiosError outside `validateStatus`, as axios's own adapters do.
 */
function fetchAdapter(fetchImpl) {
  return async (config) => {
    const res = await fetchImpl(config.url, { method: config.method.toUpperCase(), headers: config.headers, body: config.data });
    const response = { data: await res.text(), status: res.status, statusText: res.statusText, headers: {}, config, request: null };
    if (!config.validateStatus || config.validateStatus(res.status)) return response;
    throw new AxiosError(`Request failed with status code ${res.status}`, AxiosError.ERR_BAD_REQUEST, config, null, response);
  };
}

/**
 * axios instance with the bearer interceptor and axios-auth-refresh, as its README shows.
 * `adapter`: null for axios's default (XHR). `aarOptions`: axios-auth-refresh's options (default none,
 * i.e. deduplicateRefresh: true).
 */
function makeAxios(adapter, aarOptions = {}) {
  const instance = axios.create(adapter ? { adapter } : {});
  // The refresh goes through an instance without interceptors, so it is never retried itself.
  const refreshClient = adapter ? axios.create({ adapter }) : axios;
  instance.interceptors.request.use((config) => {
    config.headers.Authorization = bearer();
    return config;
  });
  createAuthRefreshInterceptor(instance, async (failedRequest) => {
    const { data } = await refreshClient.post(REFRESH_URL, { refreshToken: localStorage.getItem('refresh_token') }, {
      skipAuthRefresh: true,
    });
    localStorage.setItem('access_token', data.accessToken);
    if (data.refreshToken) localStorage.setItem('refresh_token', data.refreshToken);
    failedRequest.response.config.headers.Authorization = 'Bearer ' + data.accessToken;
  }, aarOptions);
  return instance;
}

/**
 * The clients for one transport, as `[{ name, call }]` where `call()` performs one awaited GET of `url`.
 * `mode` is 'stub' or 'real'. Calling this reconfigures authfetch's default client.
 */
export function makeClients(mode, url) {
  const stub = mode === 'stub';
  const fetchImpl = stub ? stubFetch : (input, init) => fetch(input, init);

  configure(stub ? { fetch: stubFetch, logLevel: 'silent' } : { logLevel: 'silent' });

  const $ofetch = ofetch.create(
    { onRequest({ options }) { options.headers.set('Authorization', bearer()); } },
    stub ? { fetch: stubFetch } : {},
  );
  const $ky = ky.create({
    ...(stub ? { fetch: stubFetch } : {}),
    hooks: { beforeRequest: [({ request }) => { request.headers.set('Authorization', bearer()); }] },
  });
  const $axios = makeAxios(stub ? fetchAdapter(stubFetch) : null);
  const hand = makeHandWritten(fetchImpl);
  const urls = Array.from({ length: 64 }, (_, i) => `${url}?page=${i}`);
  let turn = 0;

  return [
    { name: 'raw fetch', call: () => fetchImpl(url, { headers: { Authorization: bearer() } }) },
    { name: 'authfetch', call: () => authFetch(url) },
    // The same, cycling through 64 distinct URLs: authfetch recognises the URL it checked last without
    // parsing it again, so this row shows the cost when every call's URL is new to it.
    { name: 'authfetch, a new URL each call', call: () => authFetch(urls[(turn = (turn + 1) & 63)]) },
    { name: 'hand-written wrapper', call: () => hand(url) },
    { name: 'ofetch', call: () => $ofetch(url) },
    { name: 'ky', call: () => $ky.get(url) },
    { name: 'axios + axios-auth-refresh', call: () => $axios.get(url) },
  ];
}

/**
 * The clients of the refresh-cycle comparison; each call resolves to an HTTP status. `fetchImpl` is the
 * real fetch or a `makeServerStub()` fetch. axios-auth-refresh runs twice: with its default options,
 * and with `deduplicateRefresh: false`, the setting under which 401s that arrive while a refresh is in
 * flight wait for it instead of failing (see Flyrell/axios-auth-refresh#307).
 */
export function makeRefreshClients(fetchImpl) {
  const real = fetchImpl === null;
  const f = real ? (input, init) => fetch(input, init) : fetchImpl;
  configure(real ? { logLevel: 'silent' } : { fetch: f, logLevel: 'silent' });
  const hand = makeHandWritten(f);
  const $axios = makeAxios(real ? null : fetchAdapter(f));
  const $axiosNoDedup = makeAxios(real ? null : fetchAdapter(f), { deduplicateRefresh: false });
  const statusOfAxios = (p) => p.then((r) => r.status, (e) => (e.response ? e.response.status : 0));
  return {
    'hand-written wrapper': (url) => hand(url).then((r) => r.status),
    authfetch: (url) => authFetch(url).then((r) => r.status),
    'axios + axios-auth-refresh': (url) => statusOfAxios($axios.get(url)),
    'axios + axios-auth-refresh (deduplicateRefresh: false)': (url) => statusOfAxios($axiosNoDedup.get(url)),
  };
}

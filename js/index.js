// authfetch: the package entry for browsers, workers and bundlers.
//
// The wasm-pack `web` glue (./web/authfetch.js) needs its .wasm loaded once (`init()`) before any export
// works. This wrapper does that by itself: the asynchronous calls (`authFetch`, `client.fetch`,
// `client.refresh`) wait for one shared initialisation, started by the first of them. The synchronous
// ones (`configure`, `new AuthClient`, `state`) cannot wait: called before the module is ready they throw
// an AuthFetchError with code 'not_initialized' that says to `await ready()` first.
//
// Everything else the glue exports is re-exported as it is (`export *`); the names defined here take
// precedence over the glue's.

import glueInit, * as glue from './web/authfetch.js';

export * from './web/authfetch.js';

let ready_ = false;
let initPromise = null;

function markReady(output) {
  ready_ = true;
  return output;
}

/**
 * Loads and instantiates the WebAssembly module, once; later calls return the same promise. Optional:
 * every asynchronous function initialises the module itself. Takes what wasm-pack's `init` takes
 * (`{ module_or_path }` with a URL, a `Response`, bytes or a `WebAssembly.Module`) to load the .wasm from
 * elsewhere, e.g. a CDN; pass it on the first call.
 */
export default function init(moduleOrPath) {
  if (initPromise === null) {
    initPromise = glueInit(moduleOrPath).then(markReady, (error) => {
      initPromise = null; // a failed load (offline, 404) may be retried by the next call
      throw error;
    });
  }
  return initPromise;
}

/** Resolves once the module is ready (loading it if needed). `await ready()` before `configure`. */
export function ready() {
  return ready_ ? Promise.resolve() : init().then(() => undefined);
}

/** Whether the module is ready, so that synchronous calls work. */
export function isReady() {
  return ready_;
}

/**
 * Instantiates the module synchronously from its bytes or a compiled `WebAssembly.Module` (a worker that
 * received them, Node). Browsers refuse synchronous compilation of large modules on the main thread.
 */
export function initSync(module) {
  return markReady(glue.initSync(module));
}

function notInitialized(what) {
  const error = new Error(
    `authfetch is not initialised yet: \`await ready()\` (or \`await init()\`) once before calling ${what}. ` +
      'authFetch(), client.fetch() and client.refresh() wait for it by themselves.',
  );
  error.name = 'AuthFetchError';
  error.code = 'not_initialized';
  return error;
}

function assertReady(what) {
  if (!ready_) throw notInitialized(what);
}

/** Whether `error` is one of authfetch's own errors (name 'AuthFetchError', with a `code`). */
export function isAuthFetchError(error) {
  return error instanceof Error && error.name === 'AuthFetchError' && typeof error.code === 'string';
}

/**
 * `fetch(input, init)` through the default client; initialises the module on first use. See the glue's
 * `authFetch` for the behaviour.
 */
export function authFetch(input, requestInit) {
  if (ready_) return glue.authFetch(input, requestInit);
  return init().then(() => glue.authFetch(input, requestInit));
}

/** Replaces the default client's options. Throws 'not_initialized' before `await ready()`. */
export function configure(options) {
  assertReady('configure()');
  return glue.configure(options);
}

/** A snapshot of the default client. Throws 'not_initialized' before `await ready()`. */
export function state() {
  assertReady('state()');
  return glue.state();
}

/** A client with its own options and token store. `new AuthClient()` throws 'not_initialized' before `await ready()`. */
export class AuthClient extends glue.AuthClient {
  constructor(options) {
    assertReady('new AuthClient()');
    super(options);
  }
}

// Types of the authfetch package (both the browser and the Node entry). The generated declarations of the
// wasm-pack glue (./web/authfetch.d.ts) hold the API and the option, event, error and state types; this
// file adds what the package entry adds: automatic initialisation and its helpers.

import type { InitInput, InitOutput, SyncInitInput, AuthFetchError, AuthFetchInit, AuthFetchOptions } from './web/authfetch.js';
import { AuthClient as WasmAuthClient } from './web/authfetch.js';

export * from './web/authfetch.js';

/**
 * `fetch(input, init)` through the default client: adds the token for allowed origins, refreshes once on
 * a 401 (shared by all requests waiting), retries, and explains every 401 in the console. Resolves to the
 * real `Response`; HTTP errors do not reject; network errors and aborts reject as `fetch` does.
 * `init.skipAuth: true` sends the request untouched. Initialises the module on first use. In Node, call
 * `configure({ allowedOrigins, refreshUrl })` first.
 */
export function authFetch(input: RequestInfo | URL, init?: AuthFetchInit): Promise<Response>;

/**
 * A client with its own options and token store. Throws an {@link AuthFetchError}: `'invalid_options'`
 * on bad options, `'not_initialized'` before `await ready()` (browser entry).
 */
export class AuthClient extends WasmAuthClient {
  constructor(options?: AuthFetchOptions);
  /** `fetch` through this client; see {@link authFetch}. */
  fetch(input: RequestInfo | URL, init?: AuthFetchInit): Promise<Response>;
}

/**
 * Loads and instantiates the WebAssembly module, once; later calls return the same promise. Optional:
 * `authFetch`, `client.fetch` and `client.refresh` initialise the module themselves. Pass
 * `{ module_or_path }` on the first call to load the .wasm from elsewhere (a CDN, bytes you already have).
 * In Node the module is ready on import and this resolves at once.
 */
export default function init(
  moduleOrPath?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>,
): Promise<InitOutput>;

/**
 * Resolves once the module is ready, loading it if needed. `configure`, `new AuthClient` and `state`
 * are synchronous and throw an {@link AuthFetchError} with code `'not_initialized'` until it is.
 */
export function ready(): Promise<void>;

/** Whether the module is ready, so that the synchronous calls work. */
export function isReady(): boolean;

/**
 * Instantiates the module synchronously from its bytes or a compiled `WebAssembly.Module` (a worker that
 * received them, tests). Browsers refuse synchronous compilation of large modules on the main thread.
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/** Whether `error` is one of authfetch's own errors (name `'AuthFetchError'`, with a `code`). */
export function isAuthFetchError(error: unknown): error is AuthFetchError;

// authfetch: the package entry for Node (the `node` export condition; also Bun and Deno's npm support).
//
// Same API as the browser entry, but ready as soon as it is imported: the .wasm is read from the package
// and instantiated synchronously, so `configure` and `new AuthClient` work right away. Node has no page:
// options must set `allowedOrigins` and an absolute `refreshUrl` (else 'invalid_options'), and tokens
// live in memory (no localStorage). `authFetch` (the default client) refuses to run before `configure()`
// has set those.

import { readFileSync } from 'node:fs';
import * as base from './index.js';

export * from './index.js';
export { default } from './index.js';

base.initSync({ module: readFileSync(new URL('./web/authfetch_bg.wasm', import.meta.url)) });

let configured = false;

/** Replaces the default client's options; in Node they must include `allowedOrigins` and an absolute `refreshUrl`. */
export function configure(options) {
  base.configure(options);
  configured = true;
}

/** `fetch` through the default client; in Node, call `configure({ allowedOrigins, refreshUrl })` first. */
export function authFetch(input, requestInit) {
  if (!configured) {
    const error = new Error(
      'authFetch() in Node needs configure() first: there is no page origin here, so call ' +
        "configure({ allowedOrigins: ['https://api.example.com'], refreshUrl: 'https://api.example.com/token' }), " +
        'or use a client: new AuthClient({ allowedOrigins, refreshUrl }) and client.setTokens(...)',
    );
    error.name = 'AuthFetchError';
    error.code = 'invalid_options';
    return Promise.reject(error);
  }
  return base.authFetch(input, requestInit);
}

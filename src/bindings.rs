//! The JavaScript API: every `#[wasm_bindgen]` export lives here, and does only three things: convert
//! arguments, call the core, and turn errors into JavaScript `Error`s (name `AuthFetchError`, a `code`).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;

use crate::client::Client;
use crate::error::{Error, ErrorCode};
use crate::options::Config;
use crate::token::is_header_safe;

thread_local! {
    /// The client behind `authFetch` and `configure`, created on first use.
    static DEFAULT_CLIENT: RefCell<Option<Rc<Client>>> = const { RefCell::new(None) };
}

fn default_client() -> Rc<Client> {
    DEFAULT_CLIENT.with(|slot| Rc::clone(slot.borrow_mut().get_or_insert_with(|| Client::new(Config::for_page()))))
}

/// `fetch(input, init)` through the default client: adds the token for allowed origins, refreshes once
/// on a 401 (shared by all requests waiting), retries, and explains every 401 in the console. Resolves to
/// the real `Response`; HTTP errors do not reject; network errors and aborts reject as `fetch` does.
/// `init.skipAuth: true` sends the request untouched.
#[wasm_bindgen(js_name = authFetch, unchecked_return_type = "Promise<Response>")]
pub fn auth_fetch(
    #[wasm_bindgen(unchecked_param_type = "RequestInfo | URL")] input: JsValue,
    #[wasm_bindgen(unchecked_param_type = "AuthFetchInit | undefined")] init: JsValue,
) -> Promise {
    default_client().start(input, init)
}

/// Replaces the default client's options (the one `authFetch` uses). Throws an `AuthFetchError` with
/// `code: 'invalid_options'` on an unknown option, a wrong type or a bad value, and then keeps the
/// previous options.
#[wasm_bindgen]
pub fn configure(#[wasm_bindgen(unchecked_param_type = "AuthFetchOptions")] options: JsValue) -> Result<(), JsValue> {
    let config = Config::from_js(&options).map_err(Error::into_js)?;
    default_client().configure(config);
    Ok(())
}

/// A snapshot of the default client: whether tokens are stored (never the tokens), the access token's
/// claims and expiry, the refresh in flight, counters and the last diagnostic.
#[wasm_bindgen(unchecked_return_type = "AuthState")]
pub fn state() -> JsValue {
    default_client().state()
}

/// A client with its own options and token store.
#[wasm_bindgen]
pub struct AuthClient {
    client: Rc<Client>,
}

#[wasm_bindgen]
impl AuthClient {
    /// Creates a client. Throws an `AuthFetchError` (`code: 'invalid_options'`) on bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "AuthFetchOptions | undefined")] options: JsValue) -> Result<AuthClient, JsValue> {
        let config = Config::from_js(&options).map_err(Error::into_js)?;
        Ok(AuthClient { client: Client::new(config) })
    }

    /// `fetch` through this client; see `authFetch`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RequestInfo | URL")] input: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AuthFetchInit | undefined")] init: JsValue,
    ) -> Promise {
        self.client.start(input, init)
    }

    /// Stores tokens, e.g. after login: `{ accessToken, refreshToken? }`. A missing `refreshToken` keeps
    /// the stored one; `refreshToken: null` removes it. Throws an `AuthFetchError`
    /// (`code: 'invalid_argument'`) when a token is not a non-empty header-safe string.
    #[wasm_bindgen(js_name = setTokens)]
    pub fn set_tokens(&self, #[wasm_bindgen(unchecked_param_type = "AuthTokens")] tokens: JsValue) -> Result<(), JsValue> {
        let field = |name: &str| Reflect::get(&tokens, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
        if !tokens.is_object() {
            return Err(invalid_tokens("setTokens expects an object { accessToken, refreshToken? }").into_js());
        }
        let access = field("accessToken").as_string().filter(|token| is_header_safe(token));
        let Some(access) = access else {
            return Err(invalid_tokens("setTokens: `accessToken` must be a non-empty string of visible ASCII characters (no spaces or line breaks)").into_js());
        };
        let refresh = field("refreshToken");
        let refresh = if refresh.is_undefined() {
            None
        } else if refresh.is_null() {
            Some(None)
        } else {
            match refresh.as_string().filter(|token| is_header_safe(token)) {
                Some(token) => Some(Some(token)),
                None => {
                    return Err(invalid_tokens(
                        "setTokens: `refreshToken` must be a non-empty string of visible ASCII characters, null to remove it, or absent to keep it",
                    )
                    .into_js())
                }
            }
        };
        self.client.set_tokens(&access, refresh.as_ref().map(|token| token.as_deref()));
        Ok(())
    }

    /// A snapshot of this client; see the top-level `state()`.
    #[wasm_bindgen(unchecked_return_type = "AuthState")]
    pub fn state(&self) -> JsValue {
        self.client.state()
    }

    /// Removes both tokens from this client's storage (logout).
    #[wasm_bindgen(js_name = clearTokens)]
    pub fn clear_tokens(&self) {
        self.client.clear_tokens();
    }

    /// Refreshes now, sharing a refresh already in flight. Resolves to `true` when new tokens were stored.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn refresh(&self) -> Promise {
        let client = Rc::clone(&self.client);
        crate::platform::promise_of(async move { Ok(JsValue::from_bool(client.refresh().await)) })
    }
}

fn invalid_tokens(message: &str) -> Error {
    Error::new(ErrorCode::InvalidArgument, message)
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/**
 * Options of an authfetch client (`configure(options)`, `new AuthClient(options)`). Every one is optional
 * in a page. Where there is no `location` (Node, Bun, Deno), `allowedOrigins` and an absolute `refreshUrl`
 * are required. A bad option throws an {@link AuthFetchError} with `code: 'invalid_options'`.
 */
export interface AuthFetchOptions {
  /**
   * Where tokens are read and written: `'local'` (localStorage), `'session'` (sessionStorage) or
   * `'memory'` (this client only; the safest against token theft by XSS, gone on reload).
   * If browser storage throws (sandboxed iframe, blocked storage, quota) the client falls back to memory
   * with one warning.
   * @default 'local' in a page; 'memory' where there is no localStorage (workers, Node)
   */
  storage?: AuthStorage;
  /**
   * Storage key of the access token, stored as a plain string (not JSON).
   * @default 'access_token'
   */
  accessTokenKey?: string;
  /**
   * Storage key of the refresh token.
   * @default 'refresh_token'
   */
  refreshTokenKey?: string;
  /**
   * The refresh endpoint: a path (resolved against the page) or an absolute http(s) URL. Must be absolute
   * where there is no page (Node).
   * @default '/api/refresh-token'
   */
  refreshUrl?: string;
  /**
   * Wire format of the refresh request. `'json'`: POST `{"refreshToken":"…"}`, reply
   * `{ accessToken, refreshToken?, expiresIn? }`. `'oauth2'` (RFC 6749 §6): form
   * `grant_type=refresh_token&refresh_token=…&client_id=…`, reply `{ access_token, refresh_token?, expires_in? }`.
   * @default 'json'
   */
  refreshFormat?: 'json' | 'oauth2';
  /**
   * `client_id` sent with the `'oauth2'` format (public clients).
   * @default undefined (not sent)
   */
  clientId?: string;
  /**
   * `credentials` mode of the refresh request; `'include'` when the refresh token is an http-only cookie
   * on another origin.
   * @default 'same-origin'
   */
  refreshCredentials?: 'omit' | 'same-origin' | 'include';
  /**
   * Header that carries the token.
   * @default 'Authorization'
   */
  headerName?: string;
  /**
   * Scheme written before the token; `''` sends the bare token.
   * @default 'Bearer'
   */
  scheme?: string;
  /**
   * Origins (scheme, host, port, e.g. `'https://api.example.com'`) that may receive the token; exact match,
   * no other origin ever gets it. Required where there is no page (Node).
   * @default [the page's own origin]
   */
  allowedOrigins?: string[];
  /**
   * Seconds before a JWT's `exp` at which it is refreshed before sending (capped at half the token's
   * lifetime).
   * @default 30
   */
  refreshLeeway?: number;
  /**
   * Milliseconds before a refresh is abandoned (1 to 600000; the tokens are kept).
   * @default 10000
   */
  refreshTimeout?: number;
  /**
   * Console verbosity. `onDiagnostic` receives every event whatever this says.
   * @default 'warn'
   */
  logLevel?: AuthLogLevel;
  /**
   * A `fetch` function to use instead of the global one (for tests, or a wrapped fetch).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /** Called after each successful refresh. A callback that throws is reported and ignored. */
  onRefresh?: (info: RefreshInfo) => void;
  /** Called when the user must log in again. A callback that throws is reported and ignored. */
  onAuthFailure?: (info: AuthFailureInfo) => void;
  /** Called with every diagnostic event, whatever `logLevel` says. */
  onDiagnostic?: (event: DiagnosticEvent) => void;
}
/** Where a client keeps its tokens. */
export type AuthStorage = 'local' | 'session' | 'memory';
/** Console verbosity, most verbose first. */
export type AuthLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
/** `RequestInit` plus `skipAuth`. */
export interface AuthFetchInit extends RequestInit {
  /** Send this request untouched: no header, no refresh, no retry. @default false */
  skipAuth?: boolean;
}
/** Tokens for `setTokens`, as the server issued them (raw strings, not JSON). */
export interface AuthTokens {
  /** The access token. */
  accessToken: string;
  /** The refresh token. Absent keeps the stored one; `null` removes it. */
  refreshToken?: string | null;
}
/** What started a refresh. */
export type RefreshTrigger = 'expiring' | 'unauthorized' | 'manual' | 'missing';
/** Passed to `onRefresh`. */
export interface RefreshInfo {
  /** What started it: the JWT was expiring, a 401, `refresh()`, or no access token was stored. */
  trigger: RefreshTrigger;
  /** Whether the reply carried a new refresh token (rotation). */
  rotated: boolean;
  /** Fingerprint of the new access token (length and short hash), never the token. */
  fingerprint: string;
  /** Expiry of the new access token, in ms since the epoch, when known. */
  expiresAt?: number;
}
/** Passed to `onAuthFailure`. */
export interface AuthFailureInfo {
  /** Why the session is over. */
  reason: 'refresh_rejected' | 'still_unauthorized' | 'no_refresh_token';
  /** What happened, with tokens redacted. */
  message: string;
  /** The HTTP status involved, when there is one. */
  status?: number;
}
/** Level of a diagnostic event. */
export type DiagnosticLevel = 'debug' | 'info' | 'warn' | 'error';
/**
 * Code of a diagnostic event (see the README's Diagnostics table). The list is open: new codes may be
 * added in minor versions, so handle unknown ones.
 */
export type DiagnosticCode =
  | 'no_token' | 'origin_not_allowed' | 'token_not_sendable' | 'token_cleaned' | 'unauthorized'
  | 'refreshing' | 'refreshed' | 'refresh_rejected' | 'refresh_failed' | 'refresh_superseded'
  | 'still_unauthorized' | 'body_not_replayable' | 'token_expired' | 'token_not_yet_valid' | 'clock_skew'
  | 'invalid_token' | 'invalid_request' | 'insufficient_scope' | 'wrong_scheme' | 'no_challenge'
  | 'challenge_hidden' | 'cors_preflight'
  | (string & {});
/** Token evidence in a diagnostic: never the token itself. */
export interface TokenEvidence {
  /** Length and short hash of the token, e.g. `'300 chars #30bb97b4'`. */
  fingerprint: string;
  /** The JWT's `exp` in ms since the epoch (like `Date.now()`), when it has one. */
  expiresAt?: number;
  /** Whether the token is a JWT whose claims could be read. */
  isJwt: boolean;
}
/** A diagnosed event, passed to `onDiagnostic` and kept as `state().lastDiagnostic`. */
export interface DiagnosticEvent {
  /** Stable code to switch on. */
  code: DiagnosticCode;
  /** Severity; the console shows it when `logLevel` lets it through. */
  level: DiagnosticLevel;
  /** What happened. */
  message: string;
  /** What to do about it. */
  hint: string;
  /** The request it is about (URL with tokens scrubbed). */
  request: { method: string; url: string };
  /** HTTP status, for events about a response. */
  status?: number;
  /** The token involved, as evidence. */
  token?: TokenEvidence;
  /** The server's `WWW-Authenticate`, when it sent one that could be read (tokens scrubbed). */
  challenge?: string;
  /** Evidence lines shown in the console group. */
  evidence: string[];
}
/** Codes of authfetch's own errors. */
export type AuthFetchErrorCode = 'invalid_options' | 'invalid_argument' | 'unsupported' | 'not_initialized';
/**
 * authfetch's own errors: an `Error` whose `name` is `'AuthFetchError'`, with a stable `code`. Errors that
 * `fetch` itself raises (network `TypeError`, `AbortError`) are passed through unchanged.
 */
export interface AuthFetchError extends Error {
  name: 'AuthFetchError';
  /** What kind of error: bad options, a bad argument, a missing platform feature, or not initialised. */
  code: AuthFetchErrorCode;
}
/** Claims of a JWT access token, as read (never verified) by authfetch. */
export interface AuthClaims {
  iss?: string;
  aud?: string;
  sub?: string;
  scope?: string;
  /** Expiry, seconds since the epoch. */
  exp?: number;
  /** Issued at, seconds since the epoch. */
  iat?: number;
  /** Not before, seconds since the epoch. */
  nbf?: number;
}
/** Counters of a client since it was created. */
export interface AuthCounts {
  /** Calls made through the client. */
  requests: number;
  /** 401 responses seen (first attempts and retries). */
  unauthorized: number;
  /** Refreshes run (a shared refresh counts once). */
  refreshes: number;
  /** Refreshes that failed or were rejected. */
  refreshFailures: number;
}
/** A snapshot of a client, from `state()`: never contains a token. */
export interface AuthState {
  /** The storage in use, e.g. `'localStorage'`, `'memory storage'`, `'memory storage (fallback)'`. */
  storage: string;
  /** Whether an access token is stored. */
  hasAccessToken: boolean;
  /** Whether a refresh token is stored. */
  hasRefreshToken: boolean;
  /** Whether the access token is a JWT whose claims could be read. */
  isJwt: boolean;
  /** The access token's expiry in ms since the epoch, or null (no token, opaque, or no `exp`). */
  expiresAt: number | null;
  /** Seconds until the access token expires (negative once expired), or null. */
  expiresIn: number | null;
  /** The access token's JWT claims, or null. */
  claims: AuthClaims | null;
  /** Whether a refresh is in flight. */
  refreshInFlight: boolean;
  /** Counters since the client was created. */
  counts: AuthCounts;
  /** The last event at info level or above, or null. */
  lastDiagnostic: DiagnosticEvent | null;
}
"#;

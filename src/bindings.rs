//! The JavaScript API: every `#[wasm_bindgen]` export lives here, and does only three things: convert
//! arguments, call the core, and turn errors into JavaScript `Error`s (name `AuthFetchError`, a `code`).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

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

fn fetch_promise(client: Rc<Client>, input: JsValue, init: JsValue) -> Promise {
    future_to_promise(async move { client.fetch(input, init).await.map(JsValue::from).map_err(Error::into_js) })
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
    fetch_promise(default_client(), input, init)
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
        fetch_promise(Rc::clone(&self.client), input, init)
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
                None => return Err(invalid_tokens("setTokens: `refreshToken` must be a non-empty string of visible ASCII characters, null to remove it, or absent to keep it").into_js()),
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
        future_to_promise(async move { Ok(JsValue::from_bool(client.refresh().await)) })
    }
}

fn invalid_tokens(message: &str) -> Error {
    Error::new(ErrorCode::InvalidArgument, message)
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Options of authfetch; every one is optional. */
export interface AuthFetchOptions {
  /** Where tokens are read and written. Default 'local'. */
  storage?: 'local' | 'session' | 'memory';
  /** Storage key of the access token. Default 'access_token'. */
  accessTokenKey?: string;
  /** Storage key of the refresh token. Default 'refresh_token'. */
  refreshTokenKey?: string;
  /** Refresh endpoint. Default '/api/refresh-token'. */
  refreshUrl?: string;
  /** Refresh wire format. Default 'json'. */
  refreshFormat?: 'json' | 'oauth2';
  /** client_id sent with the 'oauth2' format. */
  clientId?: string;
  /** credentials mode of the refresh request. Default 'same-origin'. */
  refreshCredentials?: 'omit' | 'same-origin' | 'include';
  /** Header that carries the token. Default 'Authorization'. */
  headerName?: string;
  /** Scheme before the token; '' sends the bare token. Default 'Bearer'. */
  scheme?: string;
  /** Origins that may receive the token. Default: the page's own origin. */
  allowedOrigins?: string[];
  /** Refresh a JWT this many seconds before it expires. Default 30. */
  refreshLeeway?: number;
  /** Give up on a refresh after this many milliseconds. Default 10000. */
  refreshTimeout?: number;
  /** Console verbosity. Default 'warn'. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** fetch implementation to use instead of the global one. */
  fetch?: typeof fetch;
  /** Called after each successful refresh. */
  onRefresh?: (info: RefreshInfo) => void;
  /** Called when the user must log in again. */
  onAuthFailure?: (info: AuthFailureInfo) => void;
  /** Called with every diagnostic event, whatever the logLevel. */
  onDiagnostic?: (event: DiagnosticEvent) => void;
}
/** RequestInit plus skipAuth. */
export interface AuthFetchInit extends RequestInit {
  /** Send this request untouched: no header, no refresh. */
  skipAuth?: boolean;
}
/** Tokens for setTokens. */
export interface AuthTokens {
  accessToken: string;
  /** Absent keeps the stored refresh token; null removes it. */
  refreshToken?: string | null;
}
/** Passed to onRefresh. */
export interface RefreshInfo {
  trigger: 'expiring' | 'unauthorized' | 'manual' | 'missing';
  rotated: boolean;
  /** Fingerprint of the new access token (length and short hash), never the token. */
  fingerprint: string;
  /** Expiry of the new access token, in ms since the epoch, when known. */
  expiresAt?: number;
}
/** Passed to onAuthFailure. */
export interface AuthFailureInfo {
  reason: 'refresh_rejected' | 'still_unauthorized' | 'no_refresh_token';
  message: string;
  status?: number;
}
/** A diagnosed event. */
export interface DiagnosticEvent {
  code: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  hint: string;
  request: { method: string; url: string };
  status?: number;
  token?: { fingerprint: string; expiresAt?: number; isJwt: boolean };
  challenge?: string;
}
"#;

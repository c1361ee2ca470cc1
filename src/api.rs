//! The same client from Rust, for Rust front-end frameworks that compile to wasm (Leptos, Yew, Dioxus):
//! no JavaScript needed. The JavaScript bindings are a thin layer over the same core.
//!
//! ```no_run
//! # async fn example() -> Result<(), authfetch::Error> {
//! use authfetch::{Client, StorageKind};
//!
//! let client = Client::builder()
//!     .storage(StorageKind::Local)
//!     .refresh_url("/api/refresh-token")
//!     .allowed_origins(["https://api.example.com"])
//!     .build()?;
//! client.set_tokens("eyJ…access", Some("refresh-token"))?;
//! let response = client.fetch("https://api.example.com/me").await?;
//! assert!(response.ok());
//! # Ok(())
//! # }
//! ```
//!
//! Options are validated exactly like the JavaScript ones (the same messages); callbacks receive the same
//! objects as in JavaScript (`onDiagnostic`'s event, `onRefresh`'s and `onAuthFailure`'s info).

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::config::{OptionValue, Settings, StorageKind};
use crate::diagnose::Level;
use crate::error::{Error, ErrorCode};
use crate::options::Config;
use crate::refresh::RefreshFormat;
use crate::token::is_header_safe;

/// An authfetch client for Rust code: `fetch` with the token added for allowed origins, one shared refresh
/// on 401, one retry, and diagnostics. Cheap to clone (clones share tokens, refreshes and counters).
#[derive(Debug, Clone)]
pub struct Client {
    core: Rc<crate::client::Client>,
}

/// Builds a [`Client`]; every option is optional, with the same defaults as in JavaScript.
#[derive(Default)]
pub struct ClientBuilder {
    options: Vec<(&'static str, OptionValue)>,
    fetch: Option<js_sys::Function>,
    on_refresh: Option<js_sys::Function>,
    on_auth_failure: Option<js_sys::Function>,
    on_diagnostic: Option<js_sys::Function>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder").field("options", &self.options.iter().map(|(name, _)| *name).collect::<Vec<_>>()).finish()
    }
}

/// Wraps a Rust callback taking one JavaScript value as a JavaScript function (kept alive with the client).
fn callback(f: impl Fn(JsValue) + 'static) -> js_sys::Function {
    Closure::<dyn Fn(JsValue)>::new(f).into_js_value().unchecked_into()
}

impl ClientBuilder {
    /// A builder with every option at its default.
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    fn text(mut self, option: &'static str, value: &str) -> ClientBuilder {
        self.options.push((option, OptionValue::Text(value.to_owned())));
        self
    }

    /// Where tokens are kept (default [`StorageKind::Local`]).
    pub fn storage(self, storage: StorageKind) -> ClientBuilder {
        let name = match storage {
            StorageKind::Local => "local",
            StorageKind::Session => "session",
            StorageKind::Memory => "memory",
        };
        self.text("storage", name)
    }

    /// Storage key of the access token (default `access_token`).
    pub fn access_token_key(self, key: &str) -> ClientBuilder {
        self.text("accessTokenKey", key)
    }

    /// Storage key of the refresh token (default `refresh_token`).
    pub fn refresh_token_key(self, key: &str) -> ClientBuilder {
        self.text("refreshTokenKey", key)
    }

    /// The refresh endpoint, a path or an absolute http(s) URL (default `/api/refresh-token`).
    pub fn refresh_url(self, url: &str) -> ClientBuilder {
        self.text("refreshUrl", url)
    }

    /// The refresh wire format (default [`RefreshFormat::Json`]).
    pub fn refresh_format(self, format: RefreshFormat) -> ClientBuilder {
        self.text("refreshFormat", if format == RefreshFormat::Json { "json" } else { "oauth2" })
    }

    /// `client_id` sent with the OAuth 2.0 format.
    pub fn client_id(self, client_id: &str) -> ClientBuilder {
        self.text("clientId", client_id)
    }

    /// `credentials` of the refresh request: `omit`, `same-origin` (default) or `include`.
    pub fn refresh_credentials(self, credentials: &str) -> ClientBuilder {
        self.text("refreshCredentials", credentials)
    }

    /// The header that carries the token (default `Authorization`).
    pub fn header_name(self, name: &str) -> ClientBuilder {
        self.text("headerName", name)
    }

    /// The scheme before the token (default `Bearer`; empty sends the bare token).
    pub fn scheme(self, scheme: &str) -> ClientBuilder {
        self.text("scheme", scheme)
    }

    /// The origins that may receive the token (default: the page's origin).
    pub fn allowed_origins<I, S>(mut self, origins: I) -> ClientBuilder
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list = origins.into_iter().map(|origin| OptionValue::Text(origin.as_ref().to_owned())).collect();
        self.options.push(("allowedOrigins", OptionValue::List(list)));
        self
    }

    /// Seconds before a JWT's `exp` at which it is refreshed before sending (default 30).
    pub fn refresh_leeway(mut self, seconds: f64) -> ClientBuilder {
        self.options.push(("refreshLeeway", OptionValue::Number(seconds)));
        self
    }

    /// Milliseconds before a refresh is abandoned (default 10000).
    pub fn refresh_timeout(mut self, milliseconds: u32) -> ClientBuilder {
        self.options.push(("refreshTimeout", OptionValue::Number(f64::from(milliseconds))));
        self
    }

    /// Console verbosity (default [`Level::Warn`]).
    pub fn log_level(self, level: Level) -> ClientBuilder {
        self.text("logLevel", level.name())
    }

    /// A JavaScript fetch function to use instead of the global `fetch`.
    pub fn fetch_function(mut self, fetch: js_sys::Function) -> ClientBuilder {
        self.fetch = Some(fetch);
        self
    }

    /// Called after each successful refresh with `{ trigger, rotated, fingerprint, expiresAt? }`.
    pub fn on_refresh(mut self, f: impl Fn(JsValue) + 'static) -> ClientBuilder {
        self.on_refresh = Some(callback(f));
        self
    }

    /// Called when the user must log in again, with `{ reason, message, status? }`.
    pub fn on_auth_failure(mut self, f: impl Fn(JsValue) + 'static) -> ClientBuilder {
        self.on_auth_failure = Some(callback(f));
        self
    }

    /// Called with every diagnostic event (`{ code, level, message, hint, request, … }`).
    pub fn on_diagnostic(mut self, f: impl Fn(JsValue) + 'static) -> ClientBuilder {
        self.on_diagnostic = Some(callback(f));
        self
    }

    /// Validates the options and builds the client; an [`ErrorCode::InvalidOptions`] error names the
    /// option, what was expected and what was given.
    pub fn build(self) -> Result<Client, Error> {
        let mut settings = Settings::default();
        let mut storage_given = false;
        for (option, value) in &self.options {
            settings.apply(option, value)?;
            storage_given |= *option == "storage";
        }
        let config = Config {
            settings,
            fetch: self.fetch,
            on_refresh: self.on_refresh,
            on_auth_failure: self.on_auth_failure,
            on_diagnostic: self.on_diagnostic,
            ..Config::default()
        }
        .finish(storage_given)?;
        Ok(Client { core: crate::client::Client::new(config) })
    }
}

impl Client {
    /// A builder for a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// `GET url` (relative to the page, or absolute) with the token, refresh and retry. HTTP errors are
    /// `Ok` responses; network errors and aborts are `Err` with the JavaScript error inside.
    pub async fn fetch(&self, url: &str) -> Result<web_sys::Response, Error> {
        Rc::clone(&self.core).fetch(JsValue::from_str(url), JsValue::UNDEFINED).await
    }

    /// `fetch(url, init)`: any method, headers and body (`RequestInit`).
    pub async fn fetch_with_init(&self, url: &str, init: &web_sys::RequestInit) -> Result<web_sys::Response, Error> {
        Rc::clone(&self.core).fetch(JsValue::from_str(url), init.into()).await
    }

    /// `fetch(request)` for a prepared `Request`.
    pub async fn fetch_request(&self, request: &web_sys::Request) -> Result<web_sys::Response, Error> {
        Rc::clone(&self.core).fetch(request.into(), JsValue::UNDEFINED).await
    }

    /// Stores tokens after login. `refresh: None` keeps the stored refresh token.
    pub fn set_tokens(&self, access: &str, refresh: Option<&str>) -> Result<(), Error> {
        if !is_header_safe(access) || refresh.is_some_and(|token| !is_header_safe(token)) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "set_tokens: tokens must be non-empty strings of visible ASCII characters (no spaces or line breaks)",
            ));
        }
        self.core.set_tokens(access, refresh.map(Some));
        Ok(())
    }

    /// Removes both tokens (logout); other tabs stop sending them too.
    pub fn clear_tokens(&self) {
        self.core.clear_tokens();
    }

    /// Refreshes now, sharing a refresh in flight; `true` when new tokens were stored.
    pub async fn refresh(&self) -> bool {
        Rc::clone(&self.core).refresh().await
    }

    /// A snapshot, as JavaScript's `state()`: token presence and claims (never a token), the refresh in
    /// flight, counters and the last diagnostic.
    pub fn state(&self) -> JsValue {
        self.core.state()
    }
}

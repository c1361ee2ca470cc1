//! The fast lane: a call whose stored token was already found good is sent without the async pipeline.
//!
//! Most calls of an app carry the same token to an allowed origin and get a 2xx back. For those, the
//! pipeline's futures, the per-call `Headers` parsing in wasm and the text crossing between JavaScript
//! and wasm cost several times what `fetch` itself costs. The fast lane checks, synchronously, that
//! nothing the full path would look at has changed since a call last went through it: the same
//! configuration, the same stored value (compared as JavaScript strings, without copying it into wasm),
//! no tokens published by another tab, an allowed origin, no refresh due before sending, no debug trace.
//! Then a few lines of JavaScript add the header and call `fetch`, and hand the outcome back only when
//! the full path has something to do with it: a 400, 401 or 403, a rejection, or a value that is not a
//! `Response`. [`Client::settle`] then continues exactly where the full path would be after its first
//! attempt (diagnosis, refresh, retry). Anything the lane does not know how to do falls back to the full
//! path before a request is sent, so a call is never sent twice.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::Client;
use crate::diagnose::Level;
use crate::error::Error;
use crate::jwt::Claims;
use crate::options::Config;
use crate::platform::now_ms;
use crate::refresh::{self, BeforeSend};
use crate::report::enabled;
use crate::request::{as_response, path_on_base, resolve, Base, Outgoing};
use crate::token::{is_header_safe, StoredValue};

#[wasm_bindgen(inline_js = r#"
export function sendWithHeader(fetchFn, input, init, name, value, token, settle) {
  const send = fetchFn === undefined ? globalThis.fetch : fetchFn;
  if (typeof send !== 'function' || typeof Response !== 'function') return undefined;
  let sent;
  if (init === undefined || init === null) {
    sent = { headers: { [name]: value } };
  } else {
    if (typeof init !== 'object') return undefined;
    let headers;
    try {
      sent = Object.assign({}, init);
      if (sent.skipAuth !== undefined) return undefined;
      headers = new Headers(sent.headers === null ? undefined : sent.headers);
    } catch (_) {
      return undefined;
    }
    if (headers.has(name)) return undefined;
    headers.set(name, value);
    sent.headers = headers;
  }
  let pending;
  try {
    pending = Promise.resolve(send.call(globalThis, input, sent));
  } catch (error) {
    pending = Promise.reject(error);
  }
  return pending.then(
    (response) => {
      if (response instanceof Response) {
        const status = response.status;
        if (status !== 400 && status !== 401 && status !== 403) return response;
      }
      return settle(input, init, token, response, false);
    },
    (error) => settle(input, init, token, error, true),
  );
}
export function unchanged(storage, key, stored, base, input, allowedUrl) {
  try {
    if ((storage !== undefined && storage.getItem(key) !== stored) || baseUrl() !== base) return 0;
    return typeof input === 'string' && input === allowedUrl ? 2 : 1;
  } catch (_) {
    return 0;
  }
}
export function baseUrl() {
  const document = globalThis.document;
  if (document != null && typeof document.baseURI === 'string') return document.baseURI;
  const location = globalThis.location;
  return location != null && typeof location.href === 'string' ? location.href : undefined;
}
"#)]
extern "C" {
    /// Sends `fetch(input, init)` (the configured `fetch`, or the global one) with `name: value` added to
    /// the caller's headers, and resolves to the `Response` when it is one (`instanceof Response`) whose
    /// status is not 400, 401 or 403; anything else (a rejection, another realm's or a polyfill's
    /// response, something that is not a response at all) goes to `settle(input, init, token, outcome,
    /// failed)`, whose promise the call then follows. Returns `undefined`, having sent nothing, when the
    /// call needs the full path: no fetch function, an `init` that is not an object or whose getters
    /// throw, `skipAuth`, headers the `Headers` constructor refuses, or a caller who set the header
    /// already. It never throws (a JavaScript exception would unwind through wasm with the lane's state
    /// borrowed). Without `init`, the headers are a plain record (the cheapest form; `fetch` takes either).
    #[wasm_bindgen(js_name = sendWithHeader)]
    fn send_with_header(fetch: &JsValue, input: &JsValue, init: &JsValue, name: &JsValue, value: &JsValue, token: &JsValue, settle: &JsValue) -> JsValue;
    /// The fast lane's per-call check, in one call: `0` when `storage` no longer holds `stored` under `key`
    /// (not looked at when `storage` is `undefined`) or relative URLs no longer resolve against `base`
    /// (compared as JavaScript strings); else `2` when `input` is the URL string `allowedUrl`, `1` when not.
    fn unchanged(storage: &JsValue, key: &JsValue, stored: &JsValue, base: &JsValue, input: &JsValue, allowed_url: &JsValue) -> u32;
    /// What relative URLs resolve against, as `fetch` resolves them: the document's base URL
    /// (`document.baseURI`, which a `<base href>` changes) in a page, the location in a worker,
    /// `undefined` in Node. Left a JavaScript string. The only place the base URL is read.
    #[wasm_bindgen(js_name = baseUrl)]
    fn base_url_value() -> JsValue;
}

/// A client's fast lane: what the last full check found, kept as JavaScript values.
#[derive(Default)]
pub(super) struct FastLane {
    /// The checks that hold for one configuration.
    checked: RefCell<Option<Checked>>,
    /// The base URL last seen (as a JavaScript string) and what it resolves to: the client's one cache
    /// of it, for the fast lane and the full path alike.
    base: RefCell<Option<(JsValue, Base)>>,
    /// The last URL string found on an allowed origin, under the current base URL and options
    /// (`undefined` when none): the same URL again needs no parsing. Forgotten whenever either changes.
    allowed_url: RefCell<JsValue>,
    /// The continuation `(input, init, token, outcome, failed) => Promise`, created on the first fast
    /// call. It is owned by JavaScript (freed when no longer referenced), so a call in flight can still
    /// call it after the client is gone; it holds the client weakly.
    settle: OnceCell<JsValue>,
}

/// The checks made under one configuration.
struct Checked {
    /// The configuration they were made under (a `configure` call replaces it, and so the checks).
    config: Rc<Config>,
    /// The access token's storage key, as a JavaScript string.
    key: JsValue,
    /// The header's name, as a JavaScript string.
    header_name: JsValue,
    /// The stored token, when the last full read found a clean, sendable one.
    token: Option<KnownToken>,
}

/// What [`Client::unchanged_since_last_call`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unchanged {
    /// The stored token or the base URL changed (or nothing was checked yet): check again.
    No,
    /// Both are as checked; the URL is another one.
    Yes,
    /// Both are as checked, and the URL is the last one found allowed.
    SameUrl,
}

/// A stored access token the full path accepted as it is.
struct KnownToken {
    /// The token.
    text: String,
    /// The same, as a JavaScript string, to compare with what storage holds.
    stored: JsValue,
    /// Its claims, when it is a JWT.
    claims: Option<Claims>,
    /// The header's value (`Bearer <token>`), as a JavaScript string.
    header_value: JsValue,
}

impl Client {
    /// Sends `fetch(input, init)` through the fast lane when every check holds; `None`, having sent
    /// nothing, when the call needs the full path.
    pub(super) fn try_fast(self: &Rc<Self>, input: &JsValue, init: &JsValue) -> Option<JsValue> {
        let cfg = self.config();
        let settings = &cfg.settings;
        if enabled(settings.log_level, Level::Debug) || self.tabs.has_overlay() {
            return None;
        }
        let mut checked = self.lane.checked.borrow_mut();
        if !checked.as_ref().is_some_and(|checked| Rc::ptr_eq(&checked.config, &cfg)) {
            *checked = Some(Checked {
                config: Rc::clone(&cfg),
                key: JsValue::from_str(&settings.access_token_key),
                header_name: JsValue::from_str(&settings.header_name),
                token: None,
            });
            *self.lane.allowed_url.borrow_mut() = JsValue::UNDEFINED;
        }
        let checked = checked.as_mut()?;
        let since_last_call = self.unchanged_since_last_call(checked, input);
        if since_last_call == Unchanged::No {
            checked.token = self.known_token(&cfg);
            self.read_base();
        }
        if since_last_call != Unchanged::SameUrl {
            let url = input.as_string()?;
            if !self.origin_allowed(&cfg, &url) {
                return None;
            }
            *self.lane.allowed_url.borrow_mut() = input.clone();
        }
        let known = checked.token.as_ref()?;
        if let Some(claims) = &known.claims {
            if refresh::before_send(Some(claims), now_ms() / 1000.0, settings.refresh_leeway, true) == BeforeSend::RefreshFirst {
                return None;
            }
        }
        let settle = self.lane.settle.get_or_init(|| {
            let client = Rc::downgrade(self);
            let settle = move |input, init, token, outcome: JsValue, failed| match client.upgrade() {
                Some(client) => client.settle(input, init, token, outcome, failed),
                // The client was freed while this call was in flight: the server's answer, as it is.
                None if failed => js_sys::Promise::reject(&outcome).into(),
                None => js_sys::Promise::resolve(&outcome).into(),
            };
            Closure::<dyn Fn(JsValue, JsValue, JsValue, JsValue, bool) -> JsValue>::new(settle).into_js_value()
        });
        let no_fetch = JsValue::UNDEFINED;
        let fetch = cfg.fetch.as_ref().map_or(&no_fetch, |fetch| fetch.as_ref());
        let sending = send_with_header(fetch, input, init, &checked.header_name, &known.header_value, &known.stored, settle);
        if sending.is_undefined() {
            return None;
        }
        self.counts.bump(|counts| &mut counts.requests);
        Some(sending)
    }

    /// Whether the stored token and the base URL are what the last full check saw, and whether `input` is
    /// the URL last found allowed: the token is compared in memory when memory holds it, else by one call
    /// to JavaScript that compares storage's value with the known one without copying it into wasm.
    fn unchanged_since_last_call(&self, checked: &Checked, input: &JsValue) -> Unchanged {
        let (Some(known), Some((base, _))) = (&checked.token, &*self.lane.base.borrow()) else { return Unchanged::No };
        let settings = &checked.config.settings;
        let allowed_url = self.lane.allowed_url.borrow();
        let code = match self.store.memory_matches(&settings.access_token_key, &known.text) {
            Some(false) => 0,
            Some(true) => unchanged(&JsValue::UNDEFINED, &checked.key, &known.stored, base, input, &allowed_url),
            None => self
                .store
                .with_browser_storage(settings.storage, &settings.access_token_key, |storage| {
                    unchanged(storage, &checked.key, &known.stored, base, input, &allowed_url)
                })
                .unwrap_or(0),
        };
        match code {
            2 => Unchanged::SameUrl,
            1 => Unchanged::Yes,
            _ => Unchanged::No,
        }
    }

    /// Reads the access token the full way (tabs, cleaning, the secrets to scrub) and keeps it when it was
    /// stored exactly as it is (no cleaning) and can go in a header.
    fn known_token(&self, cfg: &Config) -> Option<KnownToken> {
        let StoredValue::Token(token, None) = self.access_token(cfg) else { return None };
        if !is_header_safe(&token) {
            return None;
        }
        let scheme = &cfg.settings.scheme;
        let header_value = if scheme.is_empty() { JsValue::from_str(&token) } else { JsValue::from_str(&(scheme.clone() + " " + &token)) };
        Some(KnownToken { claims: self.claims_of(&token), stored: JsValue::from_str(&token), header_value, text: token })
    }

    /// Reads the base URL again, and resolves it again only when it changed; then the URL last found
    /// allowed is forgotten too, whichever path noticed the change.
    fn read_base(&self) {
        let base_value = base_url_value();
        let mut base = self.lane.base.borrow_mut();
        if base.as_ref().is_some_and(|(seen, _)| *seen == base_value) {
            return;
        }
        *base = base_value.as_string().map(|href| (base_value, Base::new(href)));
        *self.lane.allowed_url.borrow_mut() = JsValue::UNDEFINED;
    }

    /// What relative URLs resolve against now (read again on every call: a `<base href>` can be added or
    /// changed at any time).
    pub(super) fn base(&self) -> Option<Base> {
        self.read_base();
        self.lane.base.borrow().as_ref().map(|(_, base)| base.clone())
    }

    /// Whether `url`, resolved against the base URL last read, has an origin the token may go to.
    fn origin_allowed(&self, cfg: &Config, url: &str) -> bool {
        let base = self.lane.base.borrow();
        let Some((_, base)) = base.as_ref() else { return false };
        if let Some(origin) = path_on_base(url, Some(base)) {
            return cfg.policy.allows(origin);
        }
        if cfg.policy.plainly_allows_url(url) {
            return true;
        }
        let (origin, _) = resolve(url, Some(base));
        origin.is_some_and(|origin| cfg.policy.allows(&origin))
    }

    /// Continues a fast call whose first attempt settled with something the full path must see: a 400,
    /// 401 or 403, a rejection (`failed`), or a value that is not a `Response`. From here it is the full
    /// path: diagnosis, and after a 401 a shared refresh and one retry.
    fn settle(self: Rc<Self>, input: JsValue, init: JsValue, token: JsValue, outcome: JsValue, failed: bool) -> JsValue {
        crate::platform::promise_of(async move {
            let cfg = self.config();
            let base = self.base();
            let mut out = Outgoing::prepare(&cfg, &input, &init, base.as_ref(), self.page_origin.as_deref()).map_err(Error::into_js)?;
            let first = if failed { Err(Error::thrown(outcome)) } else { as_response(outcome) };
            let first = self.observe(&cfg, &out, true, &mut None, "status", first);
            let result = self.after_send(&cfg, &mut out, token.as_string(), None, None, first, None).await;
            self.flush_store_warning(&cfg);
            result.map(JsValue::from).map_err(Error::into_js)
        })
        .into()
    }
}

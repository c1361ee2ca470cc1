//! One call's request, kept so that it can be sent again unchanged: the `fetch` arguments are read once,
//! and each attempt sends the same method, headers and body with the token of the moment.
//!
//! This is the hot path of every call, so it avoids work a call does not need: the caller's `init` is
//! copied and its headers parsed once, and the same `Headers` object serves every attempt (fetch copies it
//! when called); for the common URL shapes (`/path` on the page's origin, and plain `http(s)://host/…`)
//! the origin is read without building a `URL` object.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, Response};

use crate::diagnose::RequestLine;
use crate::error::{Error, ErrorCode};
use crate::options::Config;
use crate::origin::{is_plain_host, is_plain_url, parse_origin};
use crate::platform::{global_fetch, key};
use crate::report::set;

#[wasm_bindgen]
extern "C" {
    /// `Object.assign({}, source)`, with what a getter of `source` throws returned as an error.
    #[wasm_bindgen(catch, js_namespace = Object, js_name = assign)]
    fn assign_to(target: &Object, source: &Object) -> Result<Object, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    /// A `Headers` object, seen through [`HeadersObject::get_value`].
    type HeadersObject;
    /// `headers.get(name)` with the name already a JavaScript string.
    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_value(this: &HeadersObject, name: &JsValue) -> Result<Option<String>, JsValue>;
}

/// The response header `name`, if present and readable (CORS hides most headers unless exposed).
pub fn response_header(response: &Response, name: &'static str) -> Option<String> {
    response.headers().unchecked_ref::<HeadersObject>().get_value(&key(name)).ok().flatten()
}

/// A shallow copy of `source`'s own enumerable properties; `Err` with what a getter threw.
fn copy_object(source: &Object) -> Result<Object, JsValue> {
    assign_to(&Object::new(), source)
}

/// The request as the caller gave it.
pub struct Outgoing {
    /// The URL text or the `Request` object.
    input: Input,
    /// A copy of the caller's `init`, without `skipAuth`, whose `headers` is [`Outgoing::headers`].
    init: Object,
    /// The caller's headers (from `init.headers`, or the `Request`'s), plus the token of the attempt.
    headers: Headers,
    /// Method and absolute URL, for diagnostics.
    pub line: RequestLine,
    /// The URL's origin, when it could be resolved.
    pub origin: Option<String>,
    /// Why no token is added at all (skipAuth, or the caller set the header itself).
    pub skip: Option<&'static str>,
    /// Whether the URL's origin differs from the page's (CORS applies).
    pub cross_origin: bool,
    /// Whether the body can be sent twice (not a stream).
    pub replayable: bool,
    /// The caller's `AbortSignal`: aborting it while waiting for a shared refresh rejects this call only.
    pub signal: Option<web_sys::AbortSignal>,
}

enum Input {
    Url(String),
    Request(Request),
}

impl Outgoing {
    /// Reads `fetch`-style arguments without consuming anything the retry will need. `base` is what relative
    /// URLs resolve against; `page_origin` the origin of the page or worker (for CORS), when there is one.
    pub fn prepare(cfg: &Config, input: &JsValue, init: &JsValue, base: Option<&Base>, page_origin: Option<&str>) -> Result<Outgoing, Error> {
        let init = if init.is_undefined() || init.is_null() {
            Object::new()
        } else if init.is_object() {
            // A getter of the caller's object can throw: that rejects the call, as it does with fetch.
            copy_object(init.unchecked_ref()).map_err(Error::thrown)?
        } else {
            let mut message = String::from("init must be an object (a RequestInit) or undefined; got ");
            message.push_str(&crate::options::shape_of(init).describe());
            return Err(Error::new(ErrorCode::InvalidArgument, message));
        };
        let field = |name: &'static str| Reflect::get(&init, &key(name)).unwrap_or(JsValue::UNDEFINED);
        let skip_auth = field("skipAuth");
        if !skip_auth.is_undefined() {
            let _ = Reflect::delete_property(&init, &key("skipAuth"));
        }

        let (input, url_text, request_method) = if let Some(text) = input.as_string() {
            (Input::Url(text.clone()), text, None)
        } else if let Some(request) = input.dyn_ref::<Request>() {
            (Input::Request(Clone::clone(request)), request.url(), Some(request.method()))
        } else if let Some(url) = input.dyn_ref::<web_sys::Url>() {
            (Input::Url(url.href()), url.href(), None)
        } else {
            let mut message = String::from("input must be a URL string, a URL or a Request; got ");
            message.push_str(&crate::options::shape_of(input).describe());
            return Err(Error::new(ErrorCode::InvalidArgument, message));
        };
        let method = field("method").as_string().or(request_method).unwrap_or_else(|| "GET".into());

        let headers_init = field("headers");
        let headers = if !headers_init.is_undefined() && !headers_init.is_null() {
            // The Headers constructor takes every HeadersInit form and throws fetch's own TypeError on a bad one.
            Headers::new_with_str_sequence_sequence(&headers_init).map_err(Error::thrown)?
        } else if let Input::Request(request) = &input {
            Headers::new_with_headers(&request.headers()).map_err(Error::thrown)?
        } else {
            Headers::new().map_err(Error::thrown)?
        };
        set(&init, "headers", &headers);

        let (origin, href) = resolve(&url_text, base);
        let cross_origin = match (&origin, page_origin) {
            (Some(origin), Some(page)) => origin != page,
            _ => false,
        };
        let line = RequestLine { method: method.to_ascii_uppercase(), url: href };

        let skip = if skip_auth.is_truthy() {
            Some("skipAuth is set for this call")
        } else if headers.has(&cfg.settings.header_name).unwrap_or(false) {
            Some("the caller set this header itself")
        } else {
            None
        };
        let replayable = !field("body").is_instance_of::<web_sys::ReadableStream>();
        let signal = Some(field("signal"))
            .filter(|signal| signal.is_object())
            .or_else(|| match &input {
                Input::Request(request) => Some(request.signal().into()),
                Input::Url(_) => None,
            })
            .map(JsCast::unchecked_into::<web_sys::AbortSignal>);
        Ok(Outgoing { input, init, headers, line, origin, skip, cross_origin, replayable, signal })
    }

    /// Sends one attempt, with `token` in the configured header when given.
    pub async fn send(&self, cfg: &Config, token: Option<&str>) -> Result<Response, Error> {
        if let Some(token) = token {
            let settings = &cfg.settings;
            let value = if settings.scheme.is_empty() { token.to_owned() } else { settings.scheme.clone() + " " + token };
            self.headers.set(&settings.header_name, &value).map_err(Error::thrown)?;
        }
        let input: JsValue = match &self.input {
            Input::Url(url) => JsValue::from_str(url),
            // Each attempt sends a clone, so the original keeps its body for the retry.
            Input::Request(request) => request.clone().map_err(Error::thrown)?.into(),
        };
        let response = call_fetch(cfg, &input, &self.init).await?;
        as_response(response)
    }
}

/// What relative URLs resolve against: the base URL and, when it is http(s), its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Base {
    /// The base URL (`document.baseURI`, or the worker's location).
    pub href: String,
    /// Its origin, when it is an http(s) URL.
    pub origin: Option<String>,
}

impl Base {
    /// The base for `href`.
    pub fn new(href: String) -> Base {
        let origin = parse_origin(&href, true).ok();
        Base { href, origin }
    }
}

/// The origin and absolute URL of `url` as the browser will resolve it against `base`. Two common shapes
/// are read directly: a path (`/api/x`) on the base URL's origin, and a plain absolute
/// `http(s)://host[:port]/…`. Anything else — a relative path without `/`, `//host`, backslashes, tabs or
/// line breaks (which URL parsing treats specially), user info, unusual hosts — goes through the browser's
/// own `URL` parser, so the origin checked is always the one the request will reach (a `<base href>` on
/// another origin included).
pub fn resolve(url: &str, base: Option<&Base>) -> (Option<String>, String) {
    if let Some(origin) = path_on_base(url, base) {
        return (Some(origin.to_owned()), String::from(origin) + url);
    }
    if is_plain_url(url) {
        let lower_scheme = url.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
        if lower_scheme.starts_with("http://") || lower_scheme.starts_with("https://") {
            if let Ok(origin) = parse_origin(url, true) {
                let host = crate::text::split_once(&origin, "://").map_or("", |(_, rest)| rest);
                if is_plain_host(host) {
                    return (Some(origin), url.to_owned());
                }
            }
        }
    }
    let resolved = match base {
        Some(base) => web_sys::Url::new_with_base(url, &base.href),
        None => web_sys::Url::new(url),
    }
    .ok();
    let origin = resolved.as_ref().map(web_sys::Url::origin).filter(|origin| origin != "null");
    (origin, resolved.map_or_else(|| url.to_owned(), |resolved| resolved.href()))
}

/// The base URL's origin when `url` is a plain path (`/api/x`) on it, the most common shape, read
/// without allocating; `None` for any other shape (see [`resolve`]).
pub fn path_on_base<'a>(url: &str, base: Option<&'a Base>) -> Option<&'a str> {
    let origin = base?.origin.as_deref()?;
    (url.starts_with('/') && !url.starts_with("//") && is_plain_url(url)).then_some(origin)
}

/// `value` as a `Response`, checked by shape (a `status` number and a `headers` object with `get`) rather
/// than by `instanceof`, so Responses from another realm or a fetch polyfill pass; anything else is a
/// named error instead of a crash deeper down.
pub fn as_response(value: JsValue) -> Result<Response, Error> {
    let status = Reflect::get(&value, &key("status")).ok().and_then(|status| status.as_f64());
    let headers = Reflect::get(&value, &key("headers")).unwrap_or(JsValue::UNDEFINED);
    let has_get = Reflect::get(&headers, &key("get")).is_ok_and(|get| get.is_function());
    if status.is_some() && has_get {
        Ok(value.unchecked_into())
    } else {
        let mut message = String::from("the fetch function resolved to something that is not a Response (");
        message.push_str(&crate::options::shape_of(&value).describe());
        message.push_str("); a custom `fetch` option must return a promise of a Response");
        Err(Error::new(ErrorCode::InvalidArgument, message))
    }
}

/// The fetch function to use: the configured one, or the global one.
pub fn fetch_function(cfg: &Config) -> Result<Function, Error> {
    cfg.fetch
        .clone()
        .or_else(global_fetch)
        .ok_or_else(|| Error::new(ErrorCode::Unsupported, "no fetch function: this environment has no global fetch; pass one as the `fetch` option"))
}

/// Calls `fetch(input, init)` and awaits it; a rejection is passed through unchanged.
pub async fn call_fetch(cfg: &Config, input: &JsValue, init: &JsValue) -> Result<JsValue, Error> {
    let fetch = fetch_function(cfg)?;
    let promise = fetch.call2(&js_sys::global(), input, init).map_err(Error::thrown)?;
    JsFuture::from(Promise::resolve(&promise)).await.map_err(Error::thrown)
}

#[cfg(test)]
mod tests {
    use super::{path_on_base, Base};

    #[test]
    fn only_a_plain_path_is_read_as_being_on_the_base_urls_origin() {
        let base = Base { href: "https://app.example.com/page".into(), origin: Some("https://app.example.com".into()) };
        assert_eq!(path_on_base("/api/data?x=1", Some(&base)), Some("https://app.example.com"));
        for other in ["//evil.example/x", "api/data", "https://api.example.com/x", "/a\\b", "/a b", "/a\tb", "/é", ""] {
            assert_eq!(path_on_base(other, Some(&base)), None, "{other:?} goes through the browser's URL parser");
        }
        let opaque = Base { href: "about:blank".into(), origin: None };
        assert_eq!(path_on_base("/api/data", Some(&opaque)), None);
        assert_eq!(path_on_base("/api/data", None), None);
    }
}

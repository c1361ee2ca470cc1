//! Reading a JavaScript options object into a [`Config`]: each value's shape is taken once and validated by
//! [`Settings::apply`]; functions are kept as they are.
//!
//! Two defaults depend on where the code runs. Where the global scope has no `localStorage` at all (Web
//! Workers, Service Workers, Node) or there is no page, `storage` defaults to `'memory'`, silently. Where
//! there is no `location` (Node, Bun, Deno without `--location`) there is no page origin to default
//! `allowedOrigins` to and no page URL to resolve a relative `refreshUrl` against, so options there must set
//! `allowedOrigins` and an absolute `refreshUrl`, or they are refused with an `invalid_options` error that
//! says so.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::config::{OptionValue, Settings, StorageKind};
use crate::error::{Error, ErrorCode};
use crate::origin::OriginPolicy;

/// Everything a client is configured with.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The validated plain options.
    pub settings: Settings,
    /// Who may receive the token: `allowedOrigins`, or the page's own origin.
    pub policy: OriginPolicy,
    /// `fetch`: used instead of the global `fetch` when set.
    pub fetch: Option<Function>,
    /// `onRefresh`.
    pub on_refresh: Option<Function>,
    /// `onAuthFailure`.
    pub on_auth_failure: Option<Function>,
    /// `onDiagnostic`.
    pub on_diagnostic: Option<Function>,
}

impl Config {
    /// The default configuration for this page (header only to the page's own origin; memory storage where
    /// there is no `localStorage` or no page).
    pub fn for_page() -> Config {
        let mut config = Config { policy: page_policy(None), ..Config::default() };
        if memory_by_default() {
            config.settings.storage = StorageKind::Memory;
        }
        config
    }

    /// Reads a JavaScript options object (`undefined` and `null` give the defaults). Where there is no
    /// `location` (Node), `allowedOrigins` and an absolute `refreshUrl` are required.
    pub fn from_js(options: &JsValue) -> Result<Config, Error> {
        if options.is_undefined() || options.is_null() {
            let config = Config::for_page();
            require_origin_free_settings(&config.settings)?;
            return Ok(config);
        }
        if !options.is_object() || options.is_function() || Array::is_array(options) {
            let mut message = String::from("options must be an object such as { storage: 'local' }; got ");
            message.push_str(&shape_of(options).describe());
            return Err(Error::new(ErrorCode::InvalidOptions, message));
        }
        let mut config = Config::default();
        let mut storage_given = false;
        let object: &Object = options.unchecked_ref();
        for key in Object::keys(object).iter() {
            let Some(name) = key.as_string() else { continue };
            let value = Reflect::get(object, &key).map_err(Error::thrown)?;
            storage_given |= name == "storage" && !value.is_undefined();
            config.settings.apply(&name, &shape_of(&value))?;
            let function = value.dyn_into::<Function>().ok();
            match name.as_str() {
                "fetch" => config.fetch = function,
                "onRefresh" => config.on_refresh = function,
                "onAuthFailure" => config.on_auth_failure = function,
                "onDiagnostic" => config.on_diagnostic = function,
                _ => {}
            }
        }
        config.finish(storage_given)
    }

    /// Completes validated settings and functions into a configuration: the storage default where there is
    /// no page, the checks for runtimes without `location`, and the origin policy.
    pub fn finish(mut self, storage_given: bool) -> Result<Config, Error> {
        if !storage_given && memory_by_default() {
            self.settings.storage = StorageKind::Memory;
        }
        require_origin_free_settings(&self.settings)?;
        self.policy = page_policy(self.settings.allowed_origins.clone());
        Ok(self)
    }
}

/// Whether `storage` defaults to memory here: where the global scope has no `localStorage` property at
/// all (workers, Node 20), or there is no page (no `location`: Node 22+ may have a process-wide
/// `localStorage`, which is no place for one user's tokens). A page where reading `localStorage` throws
/// (a sandboxed iframe, storage blocked) has the property: there the store falls back to memory with a
/// warning instead.
fn memory_by_default() -> bool {
    !crate::platform::has_global("localStorage") || crate::platform::location().is_none()
}

/// Where there is no `location` (Node and other non-browser runtimes), the two settings that default to
/// the page must be given: `allowedOrigins`, and `refreshUrl` as an absolute URL.
fn require_origin_free_settings(settings: &Settings) -> Result<(), Error> {
    if crate::platform::location().is_some() {
        return Ok(());
    }
    let no_origins = settings.allowed_origins.is_none();
    let relative_refresh = !is_absolute_http_url(&settings.refresh_url);
    if !no_origins && !relative_refresh {
        return Ok(());
    }
    let mut message = String::from("there is no page here (no `location`, e.g. in Node), so ");
    if no_origins {
        message.push_str("option `allowedOrigins` is required (there is no page origin to default to): set it to the origins that may receive the token, e.g. allowedOrigins: ['https://api.example.com']");
    }
    if relative_refresh {
        if no_origins {
            message.push_str("; and ");
        }
        message.push_str("option `refreshUrl` must be an absolute URL such as 'https://auth.example.com/token' (there is no page URL to resolve \"");
        message.extend(settings.refresh_url.chars().take(60));
        message.push_str("\" against)");
    }
    Err(Error::new(ErrorCode::InvalidOptions, message))
}

/// Whether `url` is an absolute http(s) URL (already validated as a path or an http(s) URL).
fn is_absolute_http_url(url: &str) -> bool {
    let lower = url.trim_start().get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The origin policy: the configured origins, or the page's own.
fn page_policy(allowed: Option<Vec<String>>) -> OriginPolicy {
    OriginPolicy::new(allowed.unwrap_or_else(|| crate::platform::location().map(|(_, origin)| vec![origin]).unwrap_or_default()))
}

/// The shape of a JavaScript value, for validation.
pub fn shape_of(value: &JsValue) -> OptionValue {
    if value.is_undefined() {
        OptionValue::Undefined
    } else if value.is_null() {
        OptionValue::Null
    } else if let Some(text) = value.as_string() {
        OptionValue::Text(text)
    } else if let Some(number) = value.as_f64() {
        OptionValue::Number(number)
    } else if let Some(flag) = value.as_bool() {
        OptionValue::Bool(flag)
    } else if value.is_function() {
        OptionValue::Function
    } else if Array::is_array(value) {
        let items: Vec<OptionValue> =
            Array::from(value).iter().map(|item| if Array::is_array(&item) { OptionValue::Other("an array") } else { shape_of(&item) }).collect();
        OptionValue::List(items)
    } else if value.is_object() {
        OptionValue::Other("an object")
    } else {
        OptionValue::Other("a value of another type")
    }
}

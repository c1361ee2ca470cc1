//! Reading a JavaScript options object into a [`Config`]: each value's shape is taken once and validated by
//! [`Settings::apply`]; functions are kept as they are.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::config::{OptionValue, Settings};
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
    /// The default configuration for this page (header only to the page's own origin).
    pub fn for_page() -> Config {
        Config { policy: page_policy(None), ..Config::default() }
    }

    /// Reads a JavaScript options object (`undefined` and `null` give the defaults).
    pub fn from_js(options: &JsValue) -> Result<Config, Error> {
        if options.is_undefined() || options.is_null() {
            return Ok(Config::for_page());
        }
        if !options.is_object() || options.is_function() || Array::is_array(options) {
            let mut message = String::from("options must be an object such as { storage: 'local' }; got ");
            message.push_str(&shape_of(options).describe());
            return Err(Error::new(ErrorCode::InvalidOptions, message));
        }
        let mut config = Config::default();
        let object: &Object = options.unchecked_ref();
        for key in Object::keys(object).iter() {
            let Some(name) = key.as_string() else { continue };
            let value = Reflect::get(object, &key).map_err(Error::thrown)?;
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
        config.policy = page_policy(config.settings.allowed_origins.clone());
        Ok(config)
    }
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
        let items: Vec<OptionValue> = Array::from(value).iter().map(|item| if Array::is_array(&item) { OptionValue::Other("an array") } else { shape_of(&item) }).collect();
        OptionValue::List(items)
    } else if value.is_object() {
        OptionValue::Other("an object")
    } else {
        OptionValue::Other("a value of another type")
    }
}

//! The crate's one error type.
//!
//! Errors authfetch raises itself carry a stable [`ErrorCode`] and a lowercase message that says what was
//! expected and what was found, and never contains a token. Errors that `fetch` itself raises (a network
//! `TypeError`, an `AbortError`) are carried through untouched, so callers see exactly what `fetch` would
//! have thrown. At the JavaScript boundary an authfetch error becomes an `Error` whose `name` is
//! `AuthFetchError` and whose `code` is [`ErrorCode::as_str`].

use wasm_bindgen::JsValue;

/// What kind of authfetch error it is; the `code` property JavaScript sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Options were rejected: unknown key, wrong type, bad enum value, malformed URL.
    InvalidOptions,
    /// The arguments of a call were not usable (e.g. `input` is neither a string, a URL nor a Request).
    InvalidArgument,
    /// The environment lacks something authfetch needs (no `fetch`, no global scope).
    Unsupported,
}

impl ErrorCode {
    /// The stable string JavaScript code can switch on.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidOptions => "invalid_options",
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::Unsupported => "unsupported",
        }
    }
}

/// An authfetch error, or a JavaScript exception passed through unchanged.
#[derive(Clone)]
pub struct Error {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Own { code: ErrorCode, message: String },
    Thrown(JsValue),
}

impl Error {
    /// An error of authfetch's own.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { repr: Repr::Own { code, message: message.into() } }
    }

    /// A value JavaScript threw or a promise rejected with (fetch's `TypeError`, an `AbortError`, anything
    /// a callback threw), to be rethrown as it is.
    pub fn thrown(value: JsValue) -> Error {
        Error { repr: Repr::Thrown(value) }
    }

    /// The code, for authfetch's own errors.
    pub fn code(&self) -> Option<ErrorCode> {
        match &self.repr {
            Repr::Own { code, .. } => Some(*code),
            Repr::Thrown(_) => None,
        }
    }

    /// The message, for authfetch's own errors.
    pub fn message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Own { message, .. } => Some(message),
            Repr::Thrown(_) => None,
        }
    }

    /// The JavaScript value, for errors passed through from JavaScript.
    pub fn thrown_value(&self) -> Option<&JsValue> {
        match &self.repr {
            Repr::Thrown(value) => Some(value),
            Repr::Own { .. } => None,
        }
    }

    /// The JavaScript value to reject with: an `Error` named `AuthFetchError` with a `code`, or the
    /// original thrown value.
    pub fn into_js(self) -> JsValue {
        match self.repr {
            Repr::Thrown(value) => value,
            Repr::Own { code, message } => {
                let error = js_sys::Error::new(&message);
                error.set_name("AuthFetchError");
                // Setting a property on a fresh Error cannot fail; if it somehow did, the name and
                // message still say what happened.
                let _ = js_sys::Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(code.as_str()));
                error.into()
            }
        }
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.repr {
            Repr::Own { code, message } => write!(f, "AuthFetchError({}: {message})", code.as_str()),
            Repr::Thrown(_) => f.write_str("AuthFetchError(thrown JavaScript value)"),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.repr {
            Repr::Own { message, .. } => f.write_str(message),
            Repr::Thrown(_) => f.write_str("a JavaScript exception"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::{Error, ErrorCode};

    #[test]
    fn own_errors_keep_their_code_and_message() {
        let error = Error::new(ErrorCode::InvalidOptions, "option `storage` must be one of 'local', 'session', 'memory', got \"disk\"");
        assert_eq!(error.code(), Some(ErrorCode::InvalidOptions));
        assert_eq!(error.code().map(ErrorCode::as_str), Some("invalid_options"));
        assert!(format!("{error:?}").contains("invalid_options"));
        assert!(error.to_string().starts_with("option `storage`"));
    }
}

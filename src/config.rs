//! Options: one table of defaults, validated once into [`Settings`].
//!
//! JavaScript options arrive as a plain object; the bindings turn each value into an [`OptionValue`] (its
//! shape, without touching JavaScript again) and [`Settings::apply`] validates it here, natively testable.
//! Every problem names the option, what was expected and what was given.

use crate::diagnose::Level;
use crate::error::{Error, ErrorCode};
use crate::origin::parse_origin;
use crate::refresh::RefreshFormat;

/// Where tokens are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// `window.localStorage`: shared by the origin's tabs, survives restarts.
    Local,
    /// `window.sessionStorage`: this tab only.
    Session,
    /// Memory of this client: gone on reload; the safest against XSS token theft.
    Memory,
}

impl StorageKind {
    /// How messages name it.
    pub fn label(self) -> &'static str {
        match self {
            StorageKind::Local => "localStorage",
            StorageKind::Session => "sessionStorage",
            StorageKind::Memory => "memory storage",
        }
    }
}

/// The validated, non-function options of a client. Functions (`fetch` and the callbacks) are kept by the
/// bindings beside these.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `storage`.
    pub storage: StorageKind,
    /// `accessTokenKey`.
    pub access_token_key: String,
    /// `refreshTokenKey`.
    pub refresh_token_key: String,
    /// `refreshUrl`, as given (resolved against the page when used).
    pub refresh_url: String,
    /// `refreshFormat`.
    pub refresh_format: RefreshFormat,
    /// `clientId`, sent with the `oauth2` format.
    pub client_id: Option<String>,
    /// `refreshCredentials`: the `credentials` mode of the refresh request.
    pub refresh_credentials: &'static str,
    /// `headerName`.
    pub header_name: String,
    /// `scheme` (empty: the header value is the bare token).
    pub scheme: String,
    /// `allowedOrigins`, normalised; `None` means the page's own origin.
    pub allowed_origins: Option<Vec<String>>,
    /// `refreshLeeway`, seconds.
    pub refresh_leeway: f64,
    /// `refreshTimeout`, milliseconds.
    pub refresh_timeout: u32,
    /// `logLevel`.
    pub log_level: Level,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            storage: StorageKind::Local,
            access_token_key: "access_token".into(),
            refresh_token_key: "refresh_token".into(),
            refresh_url: "/api/refresh-token".into(),
            refresh_format: RefreshFormat::Json,
            client_id: None,
            refresh_credentials: "same-origin",
            header_name: "Authorization".into(),
            scheme: "Bearer".into(),
            allowed_origins: None,
            refresh_leeway: 30.0,
            refresh_timeout: 10_000,
            log_level: Level::Warn,
        }
    }
}

/// The shape of one option value, as read from JavaScript.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// `undefined`: the option is treated as absent.
    Undefined,
    /// `null`.
    Null,
    /// A string.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A function.
    Function,
    /// An array, with its items' shapes.
    List(Vec<OptionValue>),
    /// Anything else, with a description like "an object".
    Other(&'static str),
}

impl OptionValue {
    /// "string \"disk\"", "number 5", "an object", … for messages.
    pub fn describe(&self) -> String {
        match self {
            OptionValue::Undefined => "undefined".into(),
            OptionValue::Null => "null".into(),
            OptionValue::Text(text) => {
                let mut out = String::from("string \"");
                out.extend(text.chars().take(60));
                if text.chars().count() > 60 {
                    out.push('…');
                }
                out.push('"');
                out
            }
            OptionValue::Number(number) => {
                let mut out = String::from("number ");
                push_number(&mut out, *number);
                out
            }
            OptionValue::Bool(value) => if *value { "true" } else { "false" }.into(),
            OptionValue::Function => "a function".into(),
            OptionValue::List(_) => "an array".into(),
            OptionValue::Other(what) => (*what).into(),
        }
    }
}

/// Appends `number` for a message: whole numbers exactly, others with up to three decimals (no float
/// formatting machinery: it would add kilobytes to the wasm).
fn push_number(out: &mut String, number: f64) {
    if number.is_nan() {
        out.push_str("NaN");
        return;
    }
    if number < 0.0 {
        out.push('-');
    }
    let magnitude = number.abs();
    if magnitude > 1e15 {
        out.push_str(if magnitude.is_infinite() { "Infinity" } else { "(a very large number)" });
        return;
    }
    let thousandths = (magnitude * 1000.0).round() as u64;
    crate::redact::push_decimal(out, thousandths / 1000);
    let fraction = thousandths % 1000;
    if fraction != 0 {
        out.push('.');
        let digits = [fraction / 100, fraction / 10 % 10, fraction % 10];
        let keep = if fraction % 100 == 0 {
            1
        } else if fraction % 10 == 0 {
            2
        } else {
            3
        };
        for digit in digits.iter().take(keep) {
            crate::redact::push_decimal(out, *digit);
        }
    }
}

/// Every option name, in documentation order.
pub const OPTION_NAMES: [&str; 17] = [
    "storage",
    "accessTokenKey",
    "refreshTokenKey",
    "refreshUrl",
    "refreshFormat",
    "clientId",
    "refreshCredentials",
    "headerName",
    "scheme",
    "allowedOrigins",
    "refreshLeeway",
    "refreshTimeout",
    "logLevel",
    "fetch",
    "onRefresh",
    "onAuthFailure",
    "onDiagnostic",
];

/// The option names that take functions.
pub const FUNCTION_OPTIONS: [&str; 4] = ["fetch", "onRefresh", "onAuthFailure", "onDiagnostic"];

fn invalid(option: &str, expected: &str, given: &OptionValue) -> Error {
    let mut message = String::from("option `");
    message.push_str(option);
    message.push_str("` must be ");
    message.push_str(expected);
    message.push_str("; got ");
    message.push_str(&given.describe());
    Error::new(ErrorCode::InvalidOptions, message)
}

fn text<'v>(option: &str, value: &'v OptionValue, expected: &str) -> Result<&'v str, Error> {
    match value {
        OptionValue::Text(text) => Ok(text),
        other => Err(invalid(option, expected, other)),
    }
}

/// Whether `name` is an HTTP header name (RFC 9110 token characters).
fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `url` looks like something a refresh request can go to: an absolute http(s) URL, or a path.
fn check_refresh_url(url: &str) -> Result<(), &'static str> {
    if url.trim().is_empty() {
        return Err("an empty string");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a URL with spaces or control characters");
    }
    if crate::text::find(url, "://").is_some() {
        return parse_origin(url, true).map(|_| ());
    }
    // A scheme without "//" ("javascript:", "data:") is not a relative path.
    let before_path = url.split(['/', '?', '#']).next().unwrap_or("");
    if before_path.contains(':') {
        return Err("a URL with a scheme other than http or https");
    }
    Ok(())
}

impl Settings {
    /// Validates `value` for `option` and stores it. Unknown names are refused with a suggestion;
    /// `undefined` leaves the default. Function options are only type-checked here.
    pub fn apply(&mut self, option: &str, value: &OptionValue) -> Result<(), Error> {
        if *value == OptionValue::Undefined {
            return if OPTION_NAMES.contains(&option) { Ok(()) } else { Err(unknown_option(option)) };
        }
        match option {
            "storage" => {
                self.storage = match text(option, value, "one of 'local', 'session', 'memory'")? {
                    "local" => StorageKind::Local,
                    "session" => StorageKind::Session,
                    "memory" => StorageKind::Memory,
                    _ => return Err(invalid(option, "one of 'local', 'session', 'memory'", value)),
                }
            }
            "accessTokenKey" | "refreshTokenKey" => {
                let key = text(option, value, "a non-empty string (a storage key)")?;
                if key.is_empty() {
                    return Err(invalid(option, "a non-empty string (a storage key)", value));
                }
                let slot = if option == "accessTokenKey" { &mut self.access_token_key } else { &mut self.refresh_token_key };
                *slot = key.to_owned();
            }
            "refreshUrl" => {
                let url = text(option, value, "a URL string such as '/api/refresh-token' or 'https://auth.example.com/token'")?;
                if let Err(problem) = check_refresh_url(url) {
                    let mut expected = String::from("a path or an http(s) URL, but it is ");
                    expected.push_str(problem);
                    return Err(invalid(option, &expected, value));
                }
                self.refresh_url = url.to_owned();
            }
            "refreshFormat" => {
                self.refresh_format = match text(option, value, "'json' or 'oauth2'")? {
                    "json" => RefreshFormat::Json,
                    "oauth2" => RefreshFormat::OAuth2,
                    _ => return Err(invalid(option, "'json' or 'oauth2'", value)),
                }
            }
            "clientId" => self.client_id = Some(text(option, value, "a string")?.to_owned()),
            "refreshCredentials" => {
                self.refresh_credentials = match text(option, value, "one of 'omit', 'same-origin', 'include'")? {
                    "omit" => "omit",
                    "same-origin" => "same-origin",
                    "include" => "include",
                    _ => return Err(invalid(option, "one of 'omit', 'same-origin', 'include'", value)),
                }
            }
            "headerName" => {
                let name = text(option, value, "a header name such as 'Authorization'")?;
                if !is_token(name) {
                    return Err(invalid(option, "a header name such as 'Authorization' (letters, digits, '-')", value));
                }
                self.header_name = name.to_owned();
            }
            "scheme" => {
                let scheme = text(option, value, "an auth scheme such as 'Bearer', or '' for the bare token")?;
                if !scheme.is_empty() && !is_token(scheme) {
                    return Err(invalid(option, "an auth scheme such as 'Bearer' (one word), or '' for the bare token", value));
                }
                self.scheme = scheme.to_owned();
            }
            "allowedOrigins" => {
                const EXPECTED: &str = "an array of origins such as ['https://api.example.com']";
                let OptionValue::List(items) = value else { return Err(invalid(option, EXPECTED, value)) };
                let mut origins = Vec::with_capacity(items.len());
                for item in items {
                    let OptionValue::Text(text) = item else { return Err(invalid(option, EXPECTED, item)) };
                    match parse_origin(text, false) {
                        Ok(origin) => origins.push(origin),
                        Err(problem) => {
                            let mut expected = String::from("origins like 'https://api.example.com', but one ");
                            expected.push_str(problem);
                            return Err(invalid(option, &expected, item));
                        }
                    }
                }
                self.allowed_origins = Some(origins);
            }
            "refreshLeeway" => match value {
                OptionValue::Number(seconds) if seconds.is_finite() && *seconds >= 0.0 => self.refresh_leeway = *seconds,
                _ => return Err(invalid(option, "a number of seconds, 0 or more", value)),
            },
            "refreshTimeout" => match value {
                OptionValue::Number(ms) if ms.is_finite() && *ms >= 1.0 && *ms <= 600_000.0 => self.refresh_timeout = *ms as u32,
                _ => return Err(invalid(option, "a number of milliseconds from 1 to 600000", value)),
            },
            "logLevel" => {
                const EXPECTED: &str = "one of 'debug', 'info', 'warn', 'error', 'silent'";
                self.log_level = Level::from_name(text(option, value, EXPECTED)?).ok_or_else(|| invalid(option, EXPECTED, value))?;
            }
            name if FUNCTION_OPTIONS.contains(&name) => {
                if *value != OptionValue::Function {
                    return Err(invalid(option, "a function", value));
                }
            }
            _ => return Err(unknown_option(option)),
        }
        Ok(())
    }
}

/// "unknown option `refreshURL`; did you mean `refreshUrl`?"
fn unknown_option(option: &str) -> Error {
    let mut message = String::from("unknown option `");
    message.push_str(option);
    message.push('`');
    let simplified = |name: &str| name.to_ascii_lowercase().replace(['_', '-'], "");
    if let Some(known) = OPTION_NAMES.iter().find(|name| simplified(name) == simplified(option)) {
        message.push_str("; did you mean `");
        message.push_str(known);
        message.push_str("`?");
    } else {
        message.push_str("; known options are ");
        crate::text::push_joined(&mut message, OPTION_NAMES, ", ");
    }
    Error::new(ErrorCode::InvalidOptions, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(option: &str, value: OptionValue) -> Result<Settings, String> {
        let mut settings = Settings::default();
        settings.apply(option, &value).map(|()| settings).map_err(|error| error.to_string())
    }

    #[test]
    fn defaults_match_the_documented_table() {
        let settings = Settings::default();
        assert_eq!(settings.storage, StorageKind::Local);
        assert_eq!(settings.access_token_key, "access_token");
        assert_eq!(settings.refresh_url, "/api/refresh-token");
        assert_eq!(settings.refresh_credentials, "same-origin");
        assert_eq!((settings.refresh_leeway, settings.refresh_timeout), (30.0, 10_000));
        assert_eq!(settings.log_level, Level::Warn);
        assert_eq!(settings.allowed_origins, None);
    }

    #[test]
    fn valid_options_are_stored_normalised() {
        let settings = apply("allowedOrigins", OptionValue::List(vec![OptionValue::Text("HTTPS://API.example.com/".into())]));
        assert_eq!(settings.map(|s| s.allowed_origins), Ok(Some(vec!["https://api.example.com".to_string()])));
        assert_eq!(apply("storage", OptionValue::Text("memory".into())).map(|s| s.storage), Ok(StorageKind::Memory));
        assert_eq!(apply("refreshTimeout", OptionValue::Number(2500.0)).map(|s| s.refresh_timeout), Ok(2500));
        assert_eq!(apply("scheme", OptionValue::Text(String::new())).map(|s| s.scheme), Ok(String::new()));
        assert!(apply("onRefresh", OptionValue::Function).is_ok());
        assert!(apply("refreshUrl", OptionValue::Text("https://auth.example.com/oauth/token".into())).is_ok());
        assert!(apply("refreshUrl", OptionValue::Text("../token?x=1".into())).is_ok());
    }

    #[test]
    fn each_bad_option_message_names_the_option_the_expectation_and_the_value() {
        let cases = [
            ("storage", OptionValue::Text("disk".into()), "option `storage` must be one of 'local', 'session', 'memory'; got string \"disk\""),
            ("refreshLeeway", OptionValue::Text("30".into()), "option `refreshLeeway` must be a number of seconds, 0 or more; got string \"30\""),
            ("refreshLeeway", OptionValue::Number(-1.0), "got number -1"),
            ("logLevel", OptionValue::Text("verbose".into()), "option `logLevel` must be one of 'debug', 'info', 'warn', 'error', 'silent'"),
            ("onDiagnostic", OptionValue::Text("console.log".into()), "option `onDiagnostic` must be a function"),
            ("allowedOrigins", OptionValue::Text("https://a.com".into()), "must be an array of origins"),
            ("allowedOrigins", OptionValue::List(vec![OptionValue::Text("https://a.com/v1".into())]), "got a path"),
            ("allowedOrigins", OptionValue::List(vec![OptionValue::Number(1.0)]), "got number 1"),
            ("refreshUrl", OptionValue::Text("javascript:alert(1)".into()), "option `refreshUrl` must be a path or an http(s) URL"),
            ("refreshUrl", OptionValue::Text("ftp://x/y".into()), "scheme other than http"),
            ("refreshUrl", OptionValue::Text("/api/refresh token".into()), "spaces"),
            ("headerName", OptionValue::Text("Auth Header".into()), "option `headerName` must be a header name"),
            ("refreshTimeout", OptionValue::Number(0.0), "from 1 to 600000"),
            ("storage", OptionValue::Null, "got null"),
        ];
        for (option, value, expected) in cases {
            let message = apply(option, value).err().unwrap_or_default();
            assert!(message.contains(expected), "{option}: {message:?} should contain {expected:?}");
        }
    }

    #[test]
    fn an_unknown_option_is_refused_with_a_suggestion_when_it_is_a_near_miss() {
        let message = apply("refreshURL", OptionValue::Text("/x".into())).err().unwrap_or_default();
        assert_eq!(message, "unknown option `refreshURL`; did you mean `refreshUrl`?");
        let message = apply("retries", OptionValue::Number(3.0)).err().unwrap_or_default();
        assert!(message.starts_with("unknown option `retries`; known options are storage, accessTokenKey"), "{message}");
        assert!(!message.contains("skipAuth"), "skipAuth belongs to the request init, not the options");
    }

    #[test]
    fn numbers_in_messages_are_written_plainly() {
        for (number, expected) in [(30.0, "30"), (-1.0, "-1"), (2.5, "2.5"), (0.125, "0.125"), (1.05, "1.05"), (f64::NAN, "NaN"), (f64::INFINITY, "Infinity")] {
            let mut out = String::new();
            super::push_number(&mut out, number);
            assert_eq!(out, expected);
        }
    }

    #[test]
    fn undefined_keeps_the_default() {
        assert_eq!(apply("storage", OptionValue::Undefined), Ok(Settings::default()));
    }
}

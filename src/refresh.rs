//! The refresh protocol and the decisions around it, as plain functions: what to send to the refresh
//! endpoint, how to read its reply, and when to refresh, retry or give up.
//!
//! The rules (see the README's "Guarantees"): at most one refresh and one retry per call; a refresh is shared
//! by every request waiting on it; only a rejected refresh (400/401, e.g. `invalid_grant`) clears tokens;
//! anything transient (5xx, network, timeout, a malformed reply) keeps them; tokens are only ever replaced
//! by a well-formed reply.

use crate::json::Json;
use crate::jwt::{Claims, Freshness};
use crate::token::is_header_safe;

/// The wire format of the refresh endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshFormat {
    /// `POST {"refreshToken": "…"}`, reply `{ accessToken, refreshToken?, expiresIn? }`.
    Json,
    /// RFC 6749 §6: form `grant_type=refresh_token&refresh_token=…[&client_id=…]`, reply
    /// `{ access_token, refresh_token?, expires_in? }`.
    OAuth2,
}

/// Tokens from a successful refresh.
#[derive(Clone, PartialEq)]
pub struct TokenSet {
    /// The new access token (non-empty, header-safe).
    pub access_token: String,
    /// A rotated refresh token, when the server sent one; `None` keeps the old one.
    pub refresh_token: Option<String>,
    /// Lifetime of the access token in seconds, when the server said.
    pub expires_in: Option<f64>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &crate::redact::fingerprint(&self.access_token))
            .field("refresh_token", &self.refresh_token.as_deref().map(crate::redact::fingerprint))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Why a refresh did not produce tokens.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshFailure {
    /// The server refused the refresh token (400/401): the session is over, log in again. Tokens are cleared.
    Rejected {
        /// HTTP status of the reply.
        status: u16,
        /// The OAuth `error` code, e.g. `invalid_grant`, when the reply had one.
        error: Option<String>,
        /// The server's `error_description`, when it had one.
        description: Option<String>,
    },
    /// Anything that may go away by itself (5xx, timeout, network error, a malformed reply). Tokens are kept.
    Transient {
        /// What went wrong, as a lowercase phrase.
        reason: String,
    },
}

impl RefreshFailure {
    /// A transient failure with `reason`.
    pub fn transient(reason: impl Into<String>) -> RefreshFailure {
        RefreshFailure::Transient { reason: reason.into() }
    }

    /// A one-line description for logs and callbacks (never contains a token).
    pub fn describe(&self) -> String {
        match self {
            RefreshFailure::Rejected { status, error, description } => {
                let mut text = String::from("the refresh endpoint rejected the refresh token (");
                crate::redact::push_decimal(&mut text, u64::from(*status));
                if let Some(error) = error {
                    text.push_str(", ");
                    text.push_str(error);
                }
                text.push(')');
                if let Some(description) = description {
                    text.push_str(": ");
                    text.push_str(description);
                }
                text
            }
            RefreshFailure::Transient { reason } => reason.clone(),
        }
    }
}

/// The body and content type of a refresh request.
pub fn refresh_request_body(format: RefreshFormat, refresh_token: &str, client_id: Option<&str>) -> (&'static str, String) {
    match format {
        RefreshFormat::Json => {
            let mut body = String::from("{\"refreshToken\":");
            push_json_string(&mut body, refresh_token);
            body.push('}');
            ("application/json", body)
        }
        RefreshFormat::OAuth2 => {
            let mut body = String::from("grant_type=refresh_token&refresh_token=");
            push_form_encoded(&mut body, refresh_token);
            if let Some(client_id) = client_id {
                body.push_str("&client_id=");
                push_form_encoded(&mut body, client_id);
            }
            ("application/x-www-form-urlencoded", body)
        }
    }
}

/// Reads the refresh endpoint's reply: its HTTP status and body text.
pub fn read_refresh_reply(format: RefreshFormat, status: u16, body: &str) -> Result<TokenSet, RefreshFailure> {
    let json = Json::parse(body);
    if status == 400 || status == 401 {
        let field = |name: &str| json.as_ref().and_then(|json| json.get(name)).and_then(Json::as_str).map(str::to_owned);
        return Err(RefreshFailure::Rejected { status, error: field("error"), description: field("error_description") });
    }
    if !(200..300).contains(&status) {
        let mut reason = String::from("the refresh endpoint answered ");
        crate::redact::push_decimal(&mut reason, u64::from(status));
        return Err(RefreshFailure::Transient { reason });
    }
    let (access_key, refresh_key, expires_key) = match format {
        RefreshFormat::Json => ("accessToken", "refreshToken", "expiresIn"),
        RefreshFormat::OAuth2 => ("access_token", "refresh_token", "expires_in"),
    };
    let Some(json @ Json::Object(_)) = json else {
        return Err(RefreshFailure::transient("the refresh reply is not a JSON object"));
    };
    let access_token = match json.get(access_key) {
        Some(Json::String(token)) if is_header_safe(token) => token.clone(),
        Some(Json::String(token)) if token.is_empty() => return Err(missing_field("is an empty string", access_key)),
        Some(Json::String(_)) => return Err(missing_field("contains characters a header cannot carry", access_key)),
        Some(other) => return Err(missing_field(other.type_name(), access_key)),
        None => return Err(missing_field("missing", access_key)),
    };
    let refresh_token = match json.get(refresh_key) {
        None | Some(Json::Null) => None,
        Some(Json::String(token)) if is_header_safe(token) => Some(token.clone()),
        Some(_) => return Err(missing_field("not a usable string", refresh_key)),
    };
    let expires_in = match json.get(expires_key) {
        None | Some(Json::Null) => None,
        Some(Json::Number(seconds)) if *seconds >= 0.0 => Some(*seconds),
        // Some servers send the lifetime as a numeric string.
        Some(Json::String(text)) if crate::json::parse_number(text).is_some_and(|s| s >= 0.0) => crate::json::parse_number(text),
        Some(_) => return Err(missing_field("not a non-negative number", expires_key)),
    };
    Ok(TokenSet { access_token, refresh_token, expires_in })
}

fn missing_field(what: &str, key: &str) -> RefreshFailure {
    let mut reason = String::from("the refresh reply's \"");
    reason.push_str(key);
    reason.push_str("\" is ");
    reason.push_str(what);
    RefreshFailure::Transient { reason }
}

/// What to do before sending a request that will carry `token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeforeSend {
    /// Send it now.
    Send,
    /// The JWT expires within the leeway (or has expired) and a refresh token exists: refresh first.
    RefreshFirst,
}

/// Decides whether to refresh before sending, from the token's claims (none for opaque tokens).
///
/// The leeway never exceeds half the token's lifetime (`exp - iat`): with 20-second tokens and the
/// default 30-second leeway, a token would otherwise be "expiring" the moment it is issued and every
/// request would refresh first.
pub fn before_send(claims: Option<&Claims>, now_seconds: f64, leeway_seconds: f64, has_refresh_token: bool) -> BeforeSend {
    let freshness = claims.map_or(Freshness::Unknown, |claims| {
        let lifetime = match (claims.iat, claims.exp) {
            (Some(iat), Some(exp)) if exp > iat => exp - iat,
            _ => f64::INFINITY,
        };
        claims.freshness(now_seconds, leeway_seconds.min(lifetime / 2.0))
    });
    match freshness {
        Freshness::ExpiringSoon | Freshness::Expired if has_refresh_token => BeforeSend::RefreshFirst,
        _ => BeforeSend::Send,
    }
}

/// What to do after a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterUnauthorized {
    /// Another request (or tab, or the app) already stored a different token: retry with it, no refresh.
    RetryWithStoredToken,
    /// Refresh (or join the refresh in flight), then retry once.
    RefreshThenRetry,
    /// Return the 401 as it is.
    GiveUp(GiveUpReason),
}

/// Why a 401 is returned without a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The request carried no token, so there is nothing to refresh or retry.
    NoTokenSent,
    /// This call already refreshed (before sending): a call gets at most one refresh.
    AlreadyRefreshed,
    /// The server's challenge says a new token would not help (another scheme, `invalid_request`).
    RefreshCannotHelp,
    /// No refresh token is stored.
    NoRefreshToken,
}

/// Decides what follows a 401 on a request that sent `sent` (if anything), given the access token stored
/// now, whether a refresh token exists, whether this call already refreshed, and whether the server's
/// challenge leaves a refresh any chance of helping.
pub fn after_unauthorized(
    sent: Option<&str>,
    stored_now: Option<&str>,
    has_refresh_token: bool,
    already_refreshed: bool,
    refresh_can_help: bool,
) -> AfterUnauthorized {
    let Some(sent) = sent else { return AfterUnauthorized::GiveUp(GiveUpReason::NoTokenSent) };
    match stored_now {
        Some(stored) if stored != sent && is_header_safe(stored) => AfterUnauthorized::RetryWithStoredToken,
        _ if !refresh_can_help => AfterUnauthorized::GiveUp(GiveUpReason::RefreshCannotHelp),
        _ if already_refreshed => AfterUnauthorized::GiveUp(GiveUpReason::AlreadyRefreshed),
        _ if has_refresh_token => AfterUnauthorized::RefreshThenRetry,
        _ => AfterUnauthorized::GiveUp(GiveUpReason::NoRefreshToken),
    }
}

/// Appends `text` as a JSON string literal.
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(char::from_digit((c as u32) >> 4, 16).unwrap_or('0'));
                out.push(char::from_digit((c as u32) & 0xf, 16).unwrap_or('0'));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `text` encoded as `application/x-www-form-urlencoded` (WHATWG URL standard).
pub fn push_form_encoded(out: &mut String, text: &str) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from_digit(u32::from(byte >> 4), 16).map_or('0', |c| c.to_ascii_uppercase()));
                out.push(char::from_digit(u32::from(byte & 0xf), 16).map_or('0', |c| c.to_ascii_uppercase()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_refresh_request_carries_the_refresh_token_as_a_json_string() {
        let (content_type, body) = refresh_request_body(RefreshFormat::Json, "rt\"1\\x", None);
        assert_eq!(content_type, "application/json");
        assert_eq!(body, r#"{"refreshToken":"rt\"1\\x"}"#);
        assert_eq!(Json::parse(&body).and_then(|j| j.get("refreshToken").cloned()), Some(Json::String("rt\"1\\x".into())));
    }

    #[test]
    fn the_oauth2_refresh_request_is_a_form_with_grant_type_token_and_client_id() {
        let (content_type, body) = refresh_request_body(RefreshFormat::OAuth2, "a+b/c=", Some("my app"));
        assert_eq!(content_type, "application/x-www-form-urlencoded");
        assert_eq!(body, "grant_type=refresh_token&refresh_token=a%2Bb%2Fc%3D&client_id=my+app");
    }

    #[test]
    fn a_well_formed_reply_gives_new_tokens_in_either_format() {
        let json = read_refresh_reply(RefreshFormat::Json, 200, r#"{"accessToken":"new","refreshToken":"r2","expiresIn":20}"#);
        assert_eq!(json, Ok(TokenSet { access_token: "new".into(), refresh_token: Some("r2".into()), expires_in: Some(20.0) }));
        let oauth = read_refresh_reply(RefreshFormat::OAuth2, 200, r#"{"access_token":"new","token_type":"Bearer","expires_in":"3600"}"#);
        assert_eq!(oauth, Ok(TokenSet { access_token: "new".into(), refresh_token: None, expires_in: Some(3600.0) }));
    }

    #[test]
    fn a_reply_of_400_or_401_is_a_rejection_with_the_oauth_error() {
        let rejected = read_refresh_reply(RefreshFormat::Json, 400, r#"{"error":"invalid_grant","error_description":"reused"}"#);
        assert_eq!(rejected, Err(RefreshFailure::Rejected { status: 400, error: Some("invalid_grant".into()), description: Some("reused".into()) }));
        let bare = read_refresh_reply(RefreshFormat::Json, 401, "<html>nope</html>");
        assert_eq!(bare, Err(RefreshFailure::Rejected { status: 401, error: None, description: None }));
    }

    #[test]
    fn server_errors_and_malformed_replies_are_transient_and_never_give_tokens() {
        for (status, body) in [
            (500, r#"{"accessToken":"x"}"#),
            (503, ""),
            (404, "not found"),
            (200, "<html>"),
            (200, "[]"),
            (200, "{}"),
            (200, r#"{"accessToken":""}"#),
            (200, r#"{"accessToken":42}"#),
            (200, r#"{"accessToken":null}"#),
            (200, r#"{"accessToken":"a\r\nX-Injected: 1"}"#),
            (200, r#"{"accessToken":"ok","refreshToken":7}"#),
            (200, r#"{"accessToken":"ok","expiresIn":"soon"}"#),
            (200, r#"{"accessToken":"ok","expiresIn":-5}"#),
            (200, r#"{"access_token":"wrong format"}"#),
        ] {
            let result = read_refresh_reply(RefreshFormat::Json, status, body);
            assert!(matches!(result, Err(RefreshFailure::Transient { .. })), "{status} {body}: {result:?}");
        }
    }

    #[test]
    fn a_transient_reason_names_the_field_that_was_wrong() {
        let result = read_refresh_reply(RefreshFormat::Json, 200, r#"{"accessToken":42}"#);
        assert_eq!(result.map_err(|failure| failure.describe()), Err("the refresh reply's \"accessToken\" is a number".to_string()));
    }

    #[test]
    fn a_token_expiring_within_the_leeway_is_refreshed_before_sending_only_if_it_can_be() {
        let claims = Claims { exp: Some(100.0), ..Claims::default() };
        assert_eq!(before_send(Some(&claims), 80.0, 30.0, true), BeforeSend::RefreshFirst);
        assert_eq!(before_send(Some(&claims), 200.0, 30.0, true), BeforeSend::RefreshFirst);
        assert_eq!(before_send(Some(&claims), 80.0, 30.0, false), BeforeSend::Send);
        assert_eq!(before_send(Some(&claims), 10.0, 30.0, true), BeforeSend::Send);
        assert_eq!(before_send(None, 10.0, 30.0, true), BeforeSend::Send);
    }

    #[test]
    fn the_leeway_is_capped_at_half_the_lifetime_so_a_fresh_short_lived_token_is_not_refreshed() {
        let twenty_seconds = Claims { iat: Some(100.0), exp: Some(120.0), ..Claims::default() };
        assert_eq!(before_send(Some(&twenty_seconds), 101.0, 30.0, true), BeforeSend::Send);
        assert_eq!(before_send(Some(&twenty_seconds), 111.0, 30.0, true), BeforeSend::RefreshFirst);
        let hour = Claims { iat: Some(0.0), exp: Some(3600.0), ..Claims::default() };
        assert_eq!(before_send(Some(&hour), 3575.0, 30.0, true), BeforeSend::RefreshFirst);
        assert_eq!(before_send(Some(&hour), 3560.0, 30.0, true), BeforeSend::Send);
    }

    #[test]
    fn after_a_401_a_newer_stored_token_is_used_before_any_refresh() {
        assert_eq!(after_unauthorized(Some("old"), Some("new"), true, false, true), AfterUnauthorized::RetryWithStoredToken);
        assert_eq!(after_unauthorized(Some("old"), Some("new"), true, true, false), AfterUnauthorized::RetryWithStoredToken);
        assert_eq!(after_unauthorized(Some("old"), Some("old"), true, false, true), AfterUnauthorized::RefreshThenRetry);
        assert_eq!(after_unauthorized(Some("old"), None, true, false, true), AfterUnauthorized::RefreshThenRetry);
    }

    #[test]
    fn after_a_401_the_call_gives_up_without_a_token_a_refresh_token_or_a_refresh_left() {
        assert_eq!(after_unauthorized(None, Some("t"), true, false, true), AfterUnauthorized::GiveUp(GiveUpReason::NoTokenSent));
        assert_eq!(after_unauthorized(Some("t"), Some("t"), false, false, true), AfterUnauthorized::GiveUp(GiveUpReason::NoRefreshToken));
        assert_eq!(
            after_unauthorized(Some("t"), Some("t"), true, true, true),
            AfterUnauthorized::GiveUp(GiveUpReason::AlreadyRefreshed),
            "one refresh per call"
        );
        assert_eq!(after_unauthorized(Some("t"), Some("t"), true, false, false), AfterUnauthorized::GiveUp(GiveUpReason::RefreshCannotHelp));
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_reply_is_read_without_panicking_and_tokens_are_always_header_safe(status in 100u16..600, body in ".{0,300}") {
                for format in [RefreshFormat::Json, RefreshFormat::OAuth2] {
                    if let Ok(tokens) = read_refresh_reply(format, status, &body) {
                        prop_assert!((200..300).contains(&status));
                        prop_assert!(is_header_safe(&tokens.access_token));
                        prop_assert!(tokens.refresh_token.as_deref().map_or(true, is_header_safe));
                    }
                }
            }

            #[test]
            fn json_shaped_replies_never_panic(body in "\\{(\"(accessToken|refreshToken|expiresIn|access_token)\":(\"[ -~]{0,12}\"|-?[0-9]{1,4}|null|true|\\[\\]),?){0,4}\\}") {
                let _ = read_refresh_reply(RefreshFormat::Json, 200, &body);
                let _ = read_refresh_reply(RefreshFormat::OAuth2, 200, &body);
            }

            #[test]
            fn refresh_bodies_round_trip_any_refresh_token(token in "[ -~]{1,80}") {
                let (_, body) = refresh_request_body(RefreshFormat::Json, &token, None);
                let parsed = Json::parse(&body);
                prop_assert_eq!(parsed.as_ref().and_then(|json| json.get("refreshToken")).and_then(Json::as_str), Some(token.as_str()));
            }
        }
    }
}

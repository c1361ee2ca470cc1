//! Diagnostics: what authfetch tells the developer about a request, as plain data.
//!
//! Every event has a stable `code` (apps switch on it, the README's table explains it), a level, a
//! one-line message, a hint saying what to do, and the evidence: method and URL, status, a fingerprint of
//! the token involved, and the server's `WWW-Authenticate`. A token never appears whole: only
//! [`crate::redact::fingerprint`] of it, and URLs and server texts go through [`crate::redact::scrub`].
//! The console and `onDiagnostic` both print from this one value.

use crate::redact::{fingerprint, push_decimal};

/// How loud an event is; also the `logLevel` threshold (`Silent` prints nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Per-request detail: one collapsed console group per request.
    Debug,
    /// Things that went right but are worth knowing (a refresh happened).
    Info,
    /// Something a developer should look at (a 401, a request without a token).
    Warn,
    /// The user is affected (logged out, still unauthorized after a refresh).
    Error,
    /// Only as a threshold: print nothing.
    Silent,
}

impl Level {
    /// The lowercase name used in options and events.
    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Silent => "silent",
        }
    }

    /// The level named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Level> {
        [Level::Debug, Level::Info, Level::Warn, Level::Error, Level::Silent].into_iter().find(|level| level.name() == name)
    }
}

/// What is known of the token an event is about. Never the token itself.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEvidence {
    /// Length and short hash, as [`fingerprint`] gives.
    pub fingerprint: String,
    /// `exp` of a JWT, in seconds since the epoch.
    pub expires_at: Option<f64>,
    /// Whether the token is a JWT (has readable claims).
    pub is_jwt: bool,
}

impl TokenEvidence {
    /// Evidence about `token`, with the `exp` of its claims if it is a JWT.
    pub fn of(token: &str, claims: Option<&crate::jwt::Claims>) -> TokenEvidence {
        TokenEvidence { fingerprint: fingerprint(token), expires_at: claims.and_then(|claims| claims.exp), is_jwt: claims.is_some() }
    }
}

/// The request an event is about.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestLine {
    /// HTTP method, uppercase.
    pub method: String,
    /// The absolute URL, scrubbed of tokens.
    pub url: String,
}

/// One diagnosed event.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Stable machine-readable code, e.g. `no_token`.
    pub code: &'static str,
    /// How loud it is.
    pub level: Level,
    /// One line saying what happened.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// The request concerned.
    pub request: RequestLine,
    /// The HTTP status, when a response came back.
    pub status: Option<u16>,
    /// The token concerned, as evidence.
    pub token: Option<TokenEvidence>,
    /// The server's `WWW-Authenticate`, when it sent one we could read.
    pub challenge: Option<String>,
    /// Evidence lines for the console group ("token sent: 300 chars #…, JWT, expired 12 s ago").
    pub evidence: Vec<String>,
}

/// Where the README explains each code; the console hint links to `DOCS_URL#code`.
pub const DOCS_URL: &str = "https://github.com/authfetch/authfetch#";

/// Where tokens are read from, for messages: "localStorage", "sessionStorage", "memory".
pub type StorageLabel = &'static str;

impl Diagnostic {
    /// A diagnostic with no status, token, challenge or evidence yet.
    pub fn new_with(code: &'static str, level: Level, request: &RequestLine, message: String, hint: &str) -> Diagnostic {
        Diagnostic { code, level, message, hint: hint.to_owned(), request: request.clone(), status: None, token: None, challenge: None, evidence: Vec::new() }
    }

    /// A request went out without a token because none is stored (or only a placeholder like "undefined").
    pub fn no_token(request: &RequestLine, storage: StorageLabel, key: &str, placeholder: Option<&str>) -> Diagnostic {
        let mut message = request_prefix(request);
        message.push_str(" went out without a token: ");
        message.push_str(storage);
        match placeholder {
            Some(text) => {
                message.push_str(" \"");
                message.push_str(key);
                message.push_str("\" holds the text \"");
                message.push_str(text);
                message.push('"');
            }
            None => {
                message.push_str(" has no \"");
                message.push_str(key);
                message.push('"');
            }
        }
        let hint = match placeholder {
            Some(_) => "the login code stored a missing value as text; store the token string itself (or call setTokens)",
            None => "did the login code store it? store the token under this key (or call setTokens), or check accessTokenKey and storage",
        };
        Diagnostic::new_with("no_token", Level::Warn, request, message, hint)
    }

    /// A token is stored but the request's origin is not allowed to receive it.
    pub fn origin_not_allowed(request: &RequestLine, origin: &str, allowed: &[String]) -> Diagnostic {
        let mut message = request_prefix(request);
        message.push_str(" went out without the token: its origin ");
        message.push_str(origin);
        message.push_str(" is not in allowedOrigins [");
        crate::text::push_joined(&mut message, allowed, ", ");
        message.push(']');
        Diagnostic::new_with("origin_not_allowed", Level::Debug, request, message, "if this API should get the token, add its origin to allowedOrigins")
    }

    /// The stored token cannot be put in a header (line breaks, spaces, non-ASCII), so it was not sent.
    pub fn token_not_sendable(request: &RequestLine, token: TokenEvidence) -> Diagnostic {
        let mut message = request_prefix(request);
        message.push_str(" went out without the token: the stored token contains characters a header cannot carry (spaces, line breaks or non-ASCII)");
        let mut diagnostic =
            Diagnostic::new_with("token_not_sendable", Level::Warn, request, message, "store the raw token string exactly as the server issued it");
        diagnostic.token = Some(token);
        diagnostic
    }

    /// The stored value needed cleaning (JSON quotes, whitespace) before it could be sent.
    pub fn token_cleaned(request: &RequestLine, storage: StorageLabel, key: &str, note: &str) -> Diagnostic {
        let mut message = String::from("the token in ");
        message.push_str(storage);
        message.push_str(" \"");
        message.push_str(key);
        message.push_str("\" was sent after cleaning: ");
        message.push_str(note);
        Diagnostic::new_with(
            "token_cleaned",
            Level::Info,
            request,
            message,
            "store the token as a plain string (localStorage.setItem(key, token)), not JSON-encoded",
        )
    }

    /// A refresh is starting (before sending because the token expires soon, or after a 401).
    pub fn refreshing(request: &RequestLine, token: Option<TokenEvidence>, why: &str) -> Diagnostic {
        let mut message = String::from("refreshing the access token: ");
        message.push_str(why);
        let mut diagnostic = Diagnostic::new_with("refreshing", Level::Info, request, message, "");
        diagnostic.token = token;
        diagnostic
    }

    /// A refresh produced new tokens.
    pub fn refreshed(request: &RequestLine, token: TokenEvidence, rotated: bool) -> Diagnostic {
        let mut message = String::from("refreshed: new access token ");
        message.push_str(&token.fingerprint);
        message.push_str(if rotated { "; the refresh token was rotated" } else { "; the refresh token was kept" });
        let mut diagnostic = Diagnostic::new_with("refreshed", Level::Info, request, message, "");
        diagnostic.token = Some(token);
        diagnostic
    }

    /// The refresh endpoint refused the refresh token: both tokens were cleared.
    pub fn refresh_rejected(request: &RequestLine, description: &str) -> Diagnostic {
        let mut message = description.to_owned();
        message.push_str("; both tokens were cleared and the original 401 returned");
        Diagnostic::new_with(
            "refresh_rejected",
            Level::Error,
            request,
            message,
            "the session is over (expired, revoked or reused refresh token): send the user to log in again",
        )
    }

    /// The refresh failed for a reason that may pass: tokens were kept.
    pub fn refresh_failed(request: &RequestLine, reason: &str) -> Diagnostic {
        let mut message = String::from("refresh failed: ");
        message.push_str(reason);
        message.push_str("; both tokens were kept");
        Diagnostic::new_with(
            "refresh_failed",
            Level::Warn,
            request,
            message,
            "check refreshUrl and the refresh endpoint (its status, its reply's JSON fields, CORS); the next call tries again",
        )
    }

    /// A refresh was rejected or discarded, but newer tokens were stored meanwhile (by the app, or another
    /// tab) and are used instead: not a logout.
    pub fn refresh_superseded(request: &RequestLine, what: &str) -> Diagnostic {
        let mut message = String::from("the refresh ");
        message.push_str(what);
        message.push_str(", but newer tokens were stored meanwhile (by the app or another tab); using those");
        Diagnostic::new_with("refresh_superseded", Level::Info, request, message, "")
    }

    /// A 401 was not retried because the request's body is a stream.
    pub fn body_not_replayable(request: &RequestLine) -> Diagnostic {
        let mut message = request_prefix(request);
        message.push_str(" answered 401 and was not retried: its body is a stream, which cannot be sent twice");
        Diagnostic::new_with(
            "body_not_replayable",
            Level::Warn,
            request,
            message,
            "pass the body as a string, Blob, ArrayBuffer, FormData or URLSearchParams to get a retry after refresh",
        )
    }

    /// The whole event as console text: message, evidence lines, hint and the link to its explanation.
    pub fn console_text(&self) -> String {
        let mut text = String::from("[authfetch] ");
        text.push_str(&self.message);
        for line in self.detail_lines() {
            text.push_str("\n  ");
            text.push_str(&line);
        }
        text
    }

    /// The lines under the message in the console group: evidence, hint, and where the code is explained.
    pub fn detail_lines(&self) -> Vec<String> {
        let mut lines = self.evidence.clone();
        if !self.hint.is_empty() {
            lines.push(String::from("hint: ") + &self.hint);
        }
        if self.level >= Level::Warn {
            lines.push(String::from("more: ") + DOCS_URL + self.code);
        }
        lines
    }
}

/// "GET https://…".
fn request_prefix(request: &RequestLine) -> String {
    let mut text = request.method.clone();
    text.push(' ');
    text.push_str(&request.url);
    text
}

/// "expired 12 s ago" / "expires in 3 min".
pub fn push_relative_expiry(out: &mut String, exp_seconds: f64, now_seconds: f64) {
    let delta = exp_seconds - now_seconds;
    if delta <= 0.0 {
        out.push_str("expired ");
        push_duration(out, -delta);
        out.push_str(" ago");
    } else {
        out.push_str("expires in ");
        push_duration(out, delta);
    }
}

/// A rough human duration, rounded to its unit: "12 s", "3 min", "5 h", "2 d".
pub fn push_duration(out: &mut String, seconds: f64) {
    let seconds = if seconds.is_finite() { seconds.max(0.0).round() as u64 } else { 0 };
    let (unit_seconds, unit) = match seconds {
        0..=119 => (1, " s"),
        120..=7199 => (60, " min"),
        7200..=172_799 => (3600, " h"),
        _ => (86_400, " d"),
    };
    push_decimal(out, (seconds + unit_seconds / 2) / unit_seconds);
    out.push_str(unit);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RequestLine {
        RequestLine { method: "GET".into(), url: "http://127.0.0.1:8080/api/protected-data".into() }
    }

    #[test]
    fn the_no_token_warning_names_the_storage_and_the_key() {
        let event = Diagnostic::no_token(&request(), "localStorage", "access_token", None);
        assert_eq!(event.code, "no_token");
        assert_eq!(event.level, Level::Warn);
        assert!(event.message.contains("without a token: localStorage has no \"access_token\""), "{}", event.message);
        let placeholder = Diagnostic::no_token(&request(), "sessionStorage", "jwt", Some("undefined"));
        assert!(placeholder.message.contains("sessionStorage \"jwt\" holds the text \"undefined\""), "{}", placeholder.message);
    }

    #[test]
    fn console_text_has_the_evidence_the_hint_and_a_link_to_the_code() {
        let mut event = Diagnostic::no_token(&request(), "localStorage", "access_token", None);
        event.evidence.push("status: 401".into());
        let text = event.console_text();
        assert!(text.starts_with("[authfetch] GET http://127.0.0.1:8080/api/protected-data went out without a token"), "{text}");
        assert!(text.contains("\n  status: 401\n  hint: did the login code store it?"), "{text}");
        assert!(text.ends_with("more: https://github.com/authfetch/authfetch#no_token"), "{text}");
    }

    #[test]
    fn durations_read_naturally() {
        let cases = [(5.0, "5 s"), (150.0, "3 min"), (299.4, "5 min"), (7200.0, "2 h"), (200_000.0, "2 d"), (f64::NAN, "0 s")];
        for (seconds, expected) in cases {
            let mut out = String::new();
            push_duration(&mut out, seconds);
            assert_eq!(out, expected);
        }
        let mut out = String::new();
        push_relative_expiry(&mut out, 130.0, 100.0);
        assert_eq!(out, "expires in 30 s");
    }

    #[test]
    fn levels_round_trip_through_their_names_and_order_by_loudness() {
        for level in [Level::Debug, Level::Info, Level::Warn, Level::Error, Level::Silent] {
            assert_eq!(Level::from_name(level.name()), Some(level));
        }
        assert_eq!(Level::from_name("verbose"), None);
        assert!(Level::Debug < Level::Warn && Level::Error < Level::Silent);
    }
}

//! The 401/403 classifier: from what is known about a failed request, which cause the developer hit, with
//! the evidence and the fix.
//!
//! The seed of this project is an article on debugging 401s: missing or wrong headers, expired tokens, a
//! refresh that never happened, misconfigured middleware, dev/prod differences. Each of those is a cause
//! here with a stable code (the README's table explains each one), told apart from plain facts: what was
//! stored, what was sent, the token's claims, the server's `WWW-Authenticate`, its `Date`, and whether the
//! response came from another origin. Pure functions; the client gathers the facts.

use crate::challenge::{self, BearerError};
use crate::diagnose::{push_duration, Diagnostic, Level, RequestLine, TokenEvidence};
use crate::jwt::Claims;
use crate::redact::push_decimal;

/// Differences between the client's clock and the server's larger than this are reported as skew.
pub const CLOCK_SKEW_TOLERANCE_SECONDS: f64 = 30.0;

/// Why a request carried no token.
#[derive(Debug, Clone, PartialEq)]
pub enum NotSent<'a> {
    /// Nothing usable stored: `storage` names it, `key` the key, `placeholder` the text found ("undefined").
    NoToken {
        /// "localStorage", …
        storage: &'a str,
        /// The access-token key.
        key: &'a str,
        /// A placeholder text found instead of a token.
        placeholder: Option<&'a str>,
    },
    /// A token is stored but the URL's origin is not allowed to receive it.
    OriginNotAllowed {
        /// The request's origin.
        origin: &'a str,
        /// The allowed origins.
        allowed: &'a [String],
    },
    /// The stored token has characters a header cannot carry.
    Unsendable,
    /// The call opted out (`skipAuth`) or set the header itself.
    Skipped(&'a str),
}

/// The token a request carried.
#[derive(Debug, Clone, PartialEq)]
pub struct SentToken {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its claims, when it is a JWT.
    pub claims: Option<Claims>,
}

/// Everything known about a response with status 400, 401 or 403.
#[derive(Debug, Clone)]
pub struct ResponseFacts<'a> {
    /// Method and URL.
    pub request: &'a RequestLine,
    /// The status.
    pub status: u16,
    /// The token sent, if any.
    pub sent: Option<&'a SentToken>,
    /// Why none was sent, when none was.
    pub not_sent: Option<NotSent<'a>>,
    /// The `WWW-Authenticate` value, when readable.
    pub challenge: Option<&'a str>,
    /// Whether the request went to another origin than the page's (CORS rules apply).
    pub cross_origin: bool,
    /// The response's `Date`, in seconds since the epoch.
    pub server_date: Option<f64>,
    /// The client's clock, in seconds since the epoch.
    pub now: f64,
    /// The client's offset from UTC in minutes (east positive), for local times.
    pub utc_offset_minutes: i32,
    /// Whether this response answered the retry that followed a refresh (or a newer token).
    pub after_refresh: bool,
    /// The configured scheme ("Bearer").
    pub scheme: &'a str,
    /// What authfetch does next ("refreshing and retrying once"), appended to the message.
    pub next_step: &'a str,
}

/// Builds the diagnostic for a 400/401/403, or `None` when there is nothing to explain (a 403 or 400
/// without a Bearer error).
pub fn classify_response(facts: &ResponseFacts<'_>) -> Option<Diagnostic> {
    let parsed = facts.challenge.map(challenge::parse).unwrap_or_default();
    let bearer = parsed.find(if facts.scheme.is_empty() { "Bearer" } else { facts.scheme });
    let bearer_error = bearer.and_then(challenge::Challenge::bearer_error);
    let skew = facts.server_date.map(|date| facts.now - date).filter(|skew| skew.abs() > CLOCK_SKEW_TOLERANCE_SECONDS);
    let mut d = Draft::new(facts);

    match facts.status {
        403 => {
            let Some(BearerError::InsufficientScope) = bearer_error else { return None };
            let required = bearer.and_then(challenge::Challenge::scope).unwrap_or("(not named by the server)");
            d.start("insufficient_scope", Level::Warn, " answered 403 insufficient_scope: the token lacks a permission; required scope: ");
            d.message.push_str(required);
            let granted = facts.sent.and_then(|sent| sent.claims.as_ref()).and_then(|claims| claims.scope.as_deref());
            d.line("scope required", required);
            d.line("scope in the token", granted.unwrap_or("(none readable)"));
            d.hint = "a refresh cannot add scopes: request the scope at login (or ask for the role on the server); authfetch does not refresh on 403";
            return Some(d.finish(false));
        }
        400 => {
            let Some(BearerError::InvalidRequest) = bearer_error else { return None };
            d.start("invalid_request", Level::Warn, " answered 400 invalid_request: the server could not read the credentials");
            d.description(bearer);
            d.hint = "the request is malformed for the server (two credentials, a token in the URL and the header, a bad header format); check headerName and scheme";
            return Some(d.finish(false));
        }
        _ => {}
    }

    if facts.after_refresh {
        d.start("still_unauthorized", Level::Error, " answered 401 again to a freshly obtained token");
        d.description(bearer);
        d.hint = "the server rejects tokens its own refresh endpoint issued: check that audience, issuer and signing secret match between the auth server and this API (a dev/prod or environment mix-up)";
        return Some(d.finish(true));
    }

    if let Some(not_sent) = &facts.not_sent {
        match not_sent {
            NotSent::NoToken { storage, key, placeholder } => {
                d.start("no_token", Level::Warn, " answered 401 to a request without a token: ");
                d.message.push_str(storage);
                match placeholder {
                    Some(text) => {
                        d.message.push_str(" \"");
                        d.message.push_str(key);
                        d.message.push_str("\" holds the text \"");
                        d.message.push_str(text);
                        d.message.push('"');
                    }
                    None => {
                        d.message.push_str(" has no \"");
                        d.message.push_str(key);
                        d.message.push('"');
                    }
                }
                d.hint = "did the login code store the token? store it under this key (or call setTokens), or check the storage and accessTokenKey options";
            }
            NotSent::OriginNotAllowed { origin, allowed } => {
                d.start("origin_not_allowed", Level::Warn, " answered 401: a token is stored but was not sent, because ");
                d.message.push_str(origin);
                d.message.push_str(" is not in allowedOrigins");
                d.line("request origin", origin);
                d.line("allowedOrigins", &crate::text::joined(*allowed, ", "));
                d.hint = "if this API should receive the token, add its origin to allowedOrigins (exact scheme, host and port)";
            }
            NotSent::Unsendable => {
                d.start("token_not_sendable", Level::Warn, " answered 401: the stored token was not sent, because it has characters a header cannot carry");
                d.hint = "store the raw token string exactly as the server issued it (no quotes, spaces or line breaks)";
            }
            NotSent::Skipped(why) => {
                d.start("unauthorized", Level::Warn, " answered 401; authfetch did not add a token: ");
                d.message.push_str(why);
                d.hint = "this call was not managed by authfetch (skipAuth, or an Authorization header set by the caller)";
            }
        }
        return Some(d.finish(true));
    }

    // A token was sent.
    let claims = facts.sent.and_then(|sent| sent.claims.as_ref());
    if !parsed.list.is_empty() && bearer.is_none() {
        d.start("wrong_scheme", Level::Warn, " answered 401 asking for ");
        crate::text::push_joined(&mut d.message, parsed.schemes(), ", ");
        d.message.push_str(", not ");
        d.message.push_str(if facts.scheme.is_empty() { "Bearer" } else { facts.scheme });
        d.hint = "the server expects another authentication scheme: check the scheme and headerName options, or the server's auth middleware for this route";
        return Some(d.finish(true));
    }
    let not_before = claims.and_then(|claims| claims.nbf).filter(|nbf| *nbf > facts.now + 5.0);
    let issued_in_future = claims.and_then(|claims| claims.iat).filter(|iat| *iat > facts.now + CLOCK_SKEW_TOLERANCE_SECONDS);
    let expired = claims.and_then(|claims| claims.exp).filter(|exp| *exp <= facts.now);
    let expired_by_server_clock = claims.and_then(|claims| claims.exp).zip(facts.server_date).filter(|(exp, date)| exp <= date).map(|(exp, _)| exp);

    if let (Some(skew), true) = (skew, not_before.is_some() || issued_in_future.is_some() || (expired.is_none() && expired_by_server_clock.is_some())) {
        d.start("clock_skew", Level::Warn, " answered 401 and this computer's clock is ");
        push_duration(&mut d.message, skew.abs());
        d.message.push_str(if skew > 0.0 { " ahead of" } else { " behind" });
        d.message.push_str(" the server's, so the token's times (exp, nbf, iat) read differently on each side");
        d.time_line("client clock", facts.now);
        if let Some(date) = facts.server_date {
            d.time_line("server Date header", date);
        }
        d.claim_times(claims);
        d.hint = "fix the clock (NTP) on the machine that is off; servers usually allow only a small leeway for exp, nbf and iat";
        return Some(d.finish(true));
    }
    if let Some(time) = not_before.or(issued_in_future) {
        d.start("token_not_yet_valid", Level::Warn, " answered 401: the token is not valid yet (");
        d.message.push_str(if not_before.is_some() { "nbf" } else { "iat" });
        d.message.push_str(" is ");
        push_duration(&mut d.message, time - facts.now);
        d.message.push_str(" in the future)");
        d.claim_times(claims);
        d.hint = "the token was issued by a server whose clock is ahead, or for later use; compare the clocks of the auth server, the API and this computer";
        return Some(d.finish(true));
    }
    if let Some(exp) = expired {
        d.start("token_expired", Level::Warn, " answered 401: the token expired ");
        push_duration(&mut d.message, facts.now - exp);
        d.message.push_str(" ago, at ");
        push_utc(&mut d.message, exp);
        d.time_line("expired at", exp);
        d.local_time_line("expired at (local)", exp);
        d.description(bearer);
        d.hint = "expected when tokens are short-lived: authfetch refreshes and retries when a refresh token is stored; if this repeats, check that the refresh endpoint is reachable and refreshLeeway";
        return Some(d.finish(true));
    }
    match bearer_error {
        Some(BearerError::InvalidToken) => {
            d.start("invalid_token", Level::Warn, " answered 401 invalid_token");
            if let Some(description) = bearer.and_then(challenge::Challenge::error_description) {
                d.message.push_str(": ");
                d.message.push_str(description);
            }
            d.claim_times(claims);
            d.hint = "the server rejects this token (revoked, bad signature, wrong audience or issuer, another environment's token); a refresh may fix it";
        }
        Some(BearerError::InvalidRequest) => {
            d.start("invalid_request", Level::Warn, " answered 401 invalid_request");
            d.description(bearer);
            d.hint = "the server could not read the credentials: check headerName and scheme, and that the token is not also sent another way";
        }
        _ if facts.challenge.is_none() && facts.cross_origin => {
            d.start(
                "challenge_hidden",
                Level::Warn,
                " answered 401 with no readable WWW-Authenticate: it is a cross-origin response, and CORS hides that header unless the server exposes it",
            );
            d.hint = "on the API, add Access-Control-Expose-Headers: WWW-Authenticate so the reason can be read (and logged here)";
        }
        _ if facts.challenge.is_none() => {
            d.start("no_challenge", Level::Warn, " answered 401 without a WWW-Authenticate header, so it gave no reason");
            d.hint = "the server's auth middleware rejected the token silently: check its logs, and that it expects a Bearer token in this header";
        }
        _ => {
            d.start("unauthorized", Level::Warn, " answered 401");
            d.description(bearer);
            d.hint = "compare the token's fingerprint with the one stored, and read the server's logs for the reason";
        }
    }
    Some(d.finish(true))
}

/// Whether a new token could fix a 401 with this `WWW-Authenticate`: not when the server asks only for
/// other schemes (Basic, DPoP…), nor when it says the request itself is malformed (`invalid_request`). No
/// challenge, or an unreadable one, leaves the benefit of the doubt: many servers send none for an
/// expired token.
pub fn refresh_can_help(challenge: Option<&str>, scheme: &str) -> bool {
    let Some(header) = challenge else { return true };
    let parsed = challenge::parse(header);
    if parsed.list.is_empty() {
        return true;
    }
    match parsed.find(if scheme.is_empty() { "Bearer" } else { scheme }) {
        None => false,
        Some(bearer) => !matches!(bearer.bearer_error(), Some(BearerError::InvalidRequest | BearerError::InsufficientScope)),
    }
}

/// Builds the diagnostic for a request that carried the token to another origin and failed with a
/// network `TypeError`: almost always CORS.
pub fn classify_network_error(request: &RequestLine, carried_token: bool, cross_origin: bool, error: &str) -> Option<Diagnostic> {
    if !carried_token || !cross_origin || !error.starts_with("TypeError") {
        return None;
    }
    let mut message = request.method.clone();
    message.push(' ');
    message.push_str(&request.url);
    message.push_str(" failed with a network error (");
    message.push_str(error);
    message.push_str(") while carrying Authorization to another origin: most likely CORS");
    let mut diagnostic = Diagnostic::new_with("cors_preflight", Level::Error, request, message, "on the API: answer the preflight (OPTIONS) without requiring auth; list Authorization in Access-Control-Allow-Headers (a * does not cover it); send Access-Control-Allow-Origin on error responses (401s too)");
    diagnostic.evidence.push(String::from(
        "the browser sends a preflight for any request with Authorization; a failed preflight or a 401 without CORS headers both surface as this TypeError",
    ));
    Some(diagnostic)
}

/// A diagnostic under construction.
struct Draft<'a> {
    facts: &'a ResponseFacts<'a>,
    code: &'static str,
    level: Level,
    message: String,
    hint: &'static str,
    evidence: Vec<String>,
}

impl<'a> Draft<'a> {
    fn new(facts: &'a ResponseFacts<'a>) -> Draft<'a> {
        Draft { facts, code: "unauthorized", level: Level::Warn, message: String::new(), hint: "", evidence: Vec::new() }
    }

    fn start(&mut self, code: &'static str, level: Level, text: &str) {
        self.code = code;
        self.level = level;
        self.message = self.facts.request.method.clone();
        self.message.push(' ');
        self.message.push_str(&self.facts.request.url);
        self.message.push_str(text);
    }

    fn line(&mut self, label: &str, value: &str) {
        let mut line = String::from(label);
        line.push_str(": ");
        line.push_str(value);
        self.evidence.push(line);
    }

    fn time_line(&mut self, label: &str, seconds: f64) {
        let mut value = String::new();
        push_utc(&mut value, seconds);
        self.line(label, &value);
    }

    fn local_time_line(&mut self, label: &str, seconds: f64) {
        let mut value = String::new();
        push_local(&mut value, seconds, self.facts.utc_offset_minutes);
        self.line(label, &value);
    }

    fn claim_times(&mut self, claims: Option<&Claims>) {
        let Some(claims) = claims else { return };
        for (label, time) in [("token iat", claims.iat), ("token nbf", claims.nbf), ("token exp", claims.exp)] {
            if let Some(time) = time {
                self.time_line(label, time);
            }
        }
    }

    fn description(&mut self, bearer: Option<&challenge::Challenge>) {
        if let Some(description) = bearer.and_then(challenge::Challenge::error_description) {
            self.line("server says", description);
        }
    }

    fn finish(mut self, with_next_step: bool) -> Diagnostic {
        let facts = self.facts;
        if with_next_step && !facts.next_step.is_empty() {
            self.message.push_str("; ");
            self.message.push_str(facts.next_step);
        }
        let mut evidence = Vec::with_capacity(self.evidence.len() + 4);
        let mut status = String::from("status: ");
        push_decimal(&mut status, u64::from(facts.status));
        evidence.push(status);
        match facts.sent {
            Some(sent) => {
                let mut line = String::from("token sent: ");
                line.push_str(&sent.fingerprint);
                match sent.claims.as_ref().and_then(|claims| claims.exp) {
                    Some(exp) => {
                        line.push_str(", JWT, ");
                        crate::diagnose::push_relative_expiry(&mut line, exp, facts.now);
                    }
                    None if sent.claims.is_some() => line.push_str(", JWT without exp"),
                    None => line.push_str(", opaque"),
                }
                evidence.push(line);
            }
            None => evidence.push(String::from("token sent: none")),
        }
        evidence.push(match facts.challenge {
            Some(challenge) => String::from("WWW-Authenticate: ") + challenge,
            None if facts.cross_origin => String::from("WWW-Authenticate: (not readable: a cross-origin response hides it unless exposed)"),
            None => String::from("WWW-Authenticate: (none)"),
        });
        evidence.append(&mut self.evidence);
        let mut diagnostic = Diagnostic::new_with(self.code, self.level, facts.request, self.message, self.hint);
        diagnostic.status = Some(facts.status);
        diagnostic.token = facts.sent.map(|sent| TokenEvidence {
            fingerprint: sent.fingerprint.clone(),
            expires_at: sent.claims.as_ref().and_then(|c| c.exp),
            is_jwt: sent.claims.is_some(),
        });
        diagnostic.challenge = facts.challenge.map(str::to_owned);
        diagnostic.evidence = evidence;
        diagnostic
    }
}

/// Appends `seconds` since the epoch as "2026-12-04 16:05:03 UTC".
pub fn push_utc(out: &mut String, seconds: f64) {
    push_civil(out, seconds);
    out.push_str(" UTC");
}

/// Appends `seconds` since the epoch in local time: "2026-12-04 17:05:03 (UTC+01:00)".
pub fn push_local(out: &mut String, seconds: f64, utc_offset_minutes: i32) {
    push_civil(out, seconds + f64::from(utc_offset_minutes) * 60.0);
    out.push_str(" (UTC");
    out.push(if utc_offset_minutes < 0 { '-' } else { '+' });
    let offset = utc_offset_minutes.unsigned_abs();
    push_two(out, u64::from(offset / 60));
    out.push(':');
    push_two(out, u64::from(offset % 60));
    out.push(')');
}

fn push_two(out: &mut String, value: u64) {
    if value < 10 {
        out.push('0');
    }
    push_decimal(out, value);
}

/// "YYYY-MM-DD hh:mm:ss" of `seconds` since the epoch (proleptic Gregorian, H. Hinnant's algorithm).
fn push_civil(out: &mut String, seconds: f64) {
    let total = if seconds.is_finite() { seconds.floor().clamp(-1e13, 1e13) as i64 } else { 0 };
    let days = total.div_euclid(86_400);
    let second_of_day = total.rem_euclid(86_400) as u64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if year < 0 {
        out.push('-');
    }
    push_decimal(out, year.unsigned_abs());
    out.push('-');
    push_two(out, month as u64);
    out.push('-');
    push_two(out, day as u64);
    out.push(' ');
    push_two(out, second_of_day / 3600);
    out.push(':');
    push_two(out, second_of_day / 60 % 60);
    out.push(':');
    push_two(out, second_of_day % 60);
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_764_864_303.0; // 2025-12-04 16:05:03 UTC

    fn request() -> RequestLine {
        RequestLine { method: "GET".into(), url: "https://app.example.com/api/data".into() }
    }

    fn jwt(exp: f64) -> SentToken {
        SentToken { fingerprint: "300 chars #30bb97b4".into(), claims: Some(Claims { exp: Some(exp), iat: Some(exp - 600.0), ..Claims::default() }) }
    }

    fn opaque() -> SentToken {
        SentToken { fingerprint: "40 chars #12345678".into(), claims: None }
    }

    fn facts<'a>(request: &'a RequestLine, status: u16, sent: Option<&'a SentToken>, challenge: Option<&'a str>) -> ResponseFacts<'a> {
        ResponseFacts {
            request,
            status,
            sent,
            not_sent: None,
            challenge,
            cross_origin: false,
            server_date: None,
            now: NOW,
            utc_offset_minutes: 60,
            after_refresh: false,
            scheme: "Bearer",
            next_step: "refreshing and retrying once",
        }
    }

    fn code(facts: &ResponseFacts<'_>) -> &'static str {
        classify_response(facts).map_or("(none)", |d| d.code)
    }

    #[test]
    fn cause_1_no_token_names_the_storage_and_the_key() {
        let request = request();
        let mut f = facts(&request, 401, None, Some("Bearer realm=\"api\""));
        f.not_sent = Some(NotSent::NoToken { storage: "localStorage", key: "access_token", placeholder: None });
        let d = classify_response(&f).unwrap_or_else(|| Diagnostic::new_with("x", Level::Debug, &request, String::new(), ""));
        assert_eq!(d.code, "no_token");
        assert!(d.message.contains("localStorage has no \"access_token\""), "{}", d.message);
        assert!(d.hint.contains("login code"));
    }

    #[test]
    fn cause_2_a_token_not_sent_to_a_disallowed_origin_names_both_origins() {
        let request = request();
        let allowed = vec!["https://app.example.com".to_string()];
        let mut f = facts(&request, 401, None, None);
        f.not_sent = Some(NotSent::OriginNotAllowed { origin: "https://api.example.com", allowed: &allowed });
        let d = classify_response(&f);
        assert_eq!(d.as_ref().map(|d| d.code), Some("origin_not_allowed"));
        let evidence = d.map(|d| d.evidence.join("\n")).unwrap_or_default();
        assert!(evidence.contains("request origin: https://api.example.com") && evidence.contains("allowedOrigins: https://app.example.com"), "{evidence}");
    }

    #[test]
    fn cause_3_an_expired_token_says_when_in_utc_and_local_time() {
        let request = request();
        let token = jwt(NOW - 90.0);
        let f = facts(&request, 401, Some(&token), Some("Bearer error=\"invalid_token\", error_description=\"jwt expired\""));
        let d = classify_response(&f);
        assert_eq!(d.as_ref().map(|d| d.code), Some("token_expired"));
        let d = d.unwrap_or_else(|| Diagnostic::new_with("x", Level::Debug, &request, String::new(), ""));
        assert!(d.message.contains("the token expired 90 s ago, at 2025-12-04 16:03:33 UTC; refreshing and retrying once"), "{}", d.message);
        let evidence = d.evidence.join("\n");
        assert!(evidence.contains("expired at (local): 2025-12-04 17:03:33 (UTC+01:00)"), "{evidence}");
        assert!(evidence.contains("server says: jwt expired"), "{evidence}");
    }

    #[test]
    fn cause_4_a_token_not_yet_valid_is_told_apart_from_clock_skew() {
        let request = request();
        let mut token = jwt(NOW + 600.0);
        if let Some(claims) = token.claims.as_mut() {
            claims.nbf = Some(NOW + 120.0);
        }
        let f = facts(&request, 401, Some(&token), Some("Bearer error=\"invalid_token\""));
        assert_eq!(code(&f), "token_not_yet_valid");
        let mut skewed = f.clone();
        skewed.server_date = Some(NOW + 300.0);
        let d = classify_response(&skewed);
        assert_eq!(d.as_ref().map(|d| d.code), Some("clock_skew"));
        assert!(d.is_some_and(|d| d.message.contains("clock is 5 min behind the server's, so the token's times (exp, nbf, iat) read differently on each side")));
        let mut small = f.clone();
        small.server_date = Some(NOW + 10.0);
        assert_eq!(code(&small), "token_not_yet_valid", "10 s is within tolerance");
    }

    #[test]
    fn cause_4_a_client_clock_behind_makes_a_server_expired_token_look_valid() {
        let request = request();
        let token = jwt(NOW + 60.0); // valid by our clock
        let mut f = facts(&request, 401, Some(&token), Some("Bearer error=\"invalid_token\""));
        f.server_date = Some(NOW + 3600.0);
        assert_eq!(code(&f), "clock_skew");
    }

    #[test]
    fn cause_5_invalid_token_shows_the_servers_description() {
        let request = request();
        let token = jwt(NOW + 600.0);
        let f = facts(&request, 401, Some(&token), Some("Bearer realm=\"x\", error=\"invalid_token\", error_description=\"signature verification failed\""));
        let d = classify_response(&f);
        assert_eq!(d.as_ref().map(|d| d.code), Some("invalid_token"));
        assert!(d.is_some_and(|d| d.message.contains("invalid_token: signature verification failed")));
    }

    #[test]
    fn cause_6_insufficient_scope_is_a_403_that_refreshing_cannot_fix() {
        let request = request();
        let mut token = jwt(NOW + 600.0);
        if let Some(claims) = token.claims.as_mut() {
            claims.scope = Some("read".into());
        }
        let f = facts(&request, 403, Some(&token), Some("Bearer error=\"insufficient_scope\", scope=\"admin write\""));
        let d = classify_response(&f);
        assert_eq!(d.as_ref().map(|d| d.code), Some("insufficient_scope"));
        let d = d.unwrap_or_else(|| Diagnostic::new_with("x", Level::Debug, &request, String::new(), ""));
        assert!(d.message.contains("required scope: admin write"), "{}", d.message);
        assert!(d.hint.contains("a refresh cannot"), "{}", d.hint);
        assert!(d.evidence.iter().any(|line| line == "scope in the token: read"));
        assert_eq!(code(&facts(&request, 403, Some(&token), None)), "(none)", "a plain 403 is not diagnosed");
    }

    #[test]
    fn cause_7_invalid_request_on_400_and_401() {
        let request = request();
        let token = opaque();
        assert_eq!(code(&facts(&request, 400, Some(&token), Some("Bearer error=\"invalid_request\""))), "invalid_request");
        assert_eq!(code(&facts(&request, 401, Some(&token), Some("Bearer error=\"invalid_request\""))), "invalid_request");
        assert_eq!(code(&facts(&request, 400, Some(&token), None)), "(none)");
    }

    #[test]
    fn cause_8_a_server_that_wants_another_scheme_says_which() {
        let request = request();
        let token = opaque();
        let d = classify_response(&facts(&request, 401, Some(&token), Some("Basic realm=\"admin\", DPoP algs=\"ES256\"")));
        assert_eq!(d.as_ref().map(|d| d.code), Some("wrong_scheme"));
        assert!(d.is_some_and(|d| d.message.contains("asking for Basic, DPoP, not Bearer")));
        // A Bearer challenge among others is not a scheme mismatch.
        assert_eq!(code(&facts(&request, 401, Some(&token), Some("Basic realm=\"a\", Bearer error=\"invalid_token\""))), "invalid_token");
    }

    #[test]
    fn cause_9_a_missing_challenge_is_told_apart_from_one_hidden_by_cors() {
        let request = request();
        let token = opaque();
        let same = facts(&request, 401, Some(&token), None);
        assert_eq!(code(&same), "no_challenge");
        let mut cross = same.clone();
        cross.cross_origin = true;
        let d = classify_response(&cross);
        assert_eq!(d.as_ref().map(|d| d.code), Some("challenge_hidden"));
        assert!(d.is_some_and(|d| d.hint.contains("Access-Control-Expose-Headers: WWW-Authenticate")));
    }

    #[test]
    fn cause_10_still_401_after_a_refresh_points_at_an_environment_mismatch() {
        let request = request();
        let token = jwt(NOW + 600.0);
        let mut f = facts(&request, 401, Some(&token), Some("Bearer error=\"invalid_token\""));
        f.after_refresh = true;
        let d = classify_response(&f);
        assert_eq!(d.as_ref().map(|d| (d.code, d.level)), Some(("still_unauthorized", Level::Error)));
        assert!(d.is_some_and(|d| d.hint.contains("audience, issuer and signing secret")));
    }

    #[test]
    fn a_refresh_cannot_help_another_scheme_or_a_malformed_request() {
        assert!(refresh_can_help(None, "Bearer"));
        assert!(refresh_can_help(Some(""), "Bearer"));
        assert!(refresh_can_help(Some("Bearer error=\"invalid_token\""), "Bearer"));
        assert!(refresh_can_help(Some("Basic realm=\"a\", Bearer realm=\"b\""), "Bearer"));
        assert!(!refresh_can_help(Some("Basic realm=\"legacy\""), "Bearer"));
        assert!(!refresh_can_help(Some("Bearer error=\"invalid_request\""), "Bearer"));
    }

    #[test]
    fn cause_12_a_network_error_carrying_the_token_cross_origin_is_explained_as_cors() {
        let request = request();
        let d = classify_network_error(&request, true, true, "TypeError: Failed to fetch");
        assert_eq!(d.as_ref().map(|d| d.code), Some("cors_preflight"));
        assert!(d.is_some_and(|d| d.hint.contains("a * does not cover it")));
        assert!(classify_network_error(&request, false, true, "TypeError: Failed to fetch").is_none());
        assert!(classify_network_error(&request, true, false, "TypeError: Failed to fetch").is_none());
        assert!(classify_network_error(&request, true, true, "AbortError: aborted").is_none());
    }

    #[test]
    fn a_bearer_challenge_without_an_error_code_is_a_plain_unauthorized() {
        let request = request();
        let token = opaque();
        assert_eq!(code(&facts(&request, 401, Some(&token), Some("Bearer realm=\"api\""))), "unauthorized");
    }

    #[test]
    fn an_expired_token_wins_over_a_generic_invalid_token_but_not_over_skew() {
        let request = request();
        let token = jwt(NOW - 5.0);
        let f = facts(&request, 401, Some(&token), Some("Bearer error=\"invalid_token\""));
        assert_eq!(code(&f), "token_expired");
    }

    #[test]
    fn garbage_challenges_never_panic_and_still_classify() {
        let request = request();
        let token = opaque();
        for header in ["", ",,,", "Bearer error=\"unterminated", "=====", "\u{0}\u{7f}", "Bearer error=invalid_token"] {
            assert!(classify_response(&facts(&request, 401, Some(&token), Some(header))).is_some(), "{header:?}");
        }
    }

    #[test]
    fn times_are_printed_in_utc_and_local_time() {
        let mut out = String::new();
        push_utc(&mut out, 0.0);
        assert_eq!(out, "1970-01-01 00:00:00 UTC");
        out.clear();
        push_utc(&mut out, 951_782_400.0); // leap day
        assert_eq!(out, "2000-02-29 00:00:00 UTC");
        out.clear();
        push_local(&mut out, NOW, -330);
        assert_eq!(out, "2025-12-04 10:35:03 (UTC-05:30)");
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_challenge_status_and_clock_classify_without_panicking(
                challenge in proptest::option::of(".{0,200}"),
                status in prop_oneof![Just(400u16), Just(401u16), Just(403u16)],
                exp in proptest::option::of(-1e10f64..1e10),
                date in proptest::option::of(-1e10f64..1e10),
                after_refresh in any::<bool>(),
                cross in any::<bool>(),
            ) {
                let request = request();
                let token = SentToken { fingerprint: "1 chars #00000000".into(), claims: exp.map(|exp| Claims { exp: Some(exp), ..Claims::default() }) };
                let mut f = facts(&request, status, Some(&token), challenge.as_deref());
                f.server_date = date;
                f.after_refresh = after_refresh;
                f.cross_origin = cross;
                if let Some(diagnostic) = classify_response(&f) {
                    prop_assert!(!diagnostic.message.is_empty());
                    prop_assert!(!diagnostic.hint.is_empty());
                }
            }
        }
    }
}

//! Reading the claims of a JWT access token, without verifying it.
//!
//! authfetch never trusts these claims for security: the server verifies the signature. They are read only to
//! refresh *before* a token expires (no wasted 401) and to explain a 401 (expired when, issued by whom).
//! Opaque (non-JWT) tokens have no claims and are sent as they are.

use crate::json::Json;

/// The registered claims authfetch reads from a JWT payload. Times are seconds since the Unix epoch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    /// `exp`: expiry time.
    pub exp: Option<f64>,
    /// `iat`: issued-at time.
    pub iat: Option<f64>,
    /// `nbf`: not-before time.
    pub nbf: Option<f64>,
    /// `iss`: issuer.
    pub iss: Option<String>,
    /// `sub`: subject.
    pub sub: Option<String>,
    /// `aud`: audience; several audiences are joined with spaces.
    pub aud: Option<String>,
    /// `scope` (or `scp` as a list), space-separated.
    pub scope: Option<String>,
}

/// How a token relates to its expiry at a given moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Freshness {
    /// Not a JWT, or a JWT without `exp`: nothing to decide before sending.
    Unknown,
    /// Valid for more than the leeway.
    Fresh,
    /// Still valid, but expires within the leeway: refresh before sending.
    ExpiringSoon,
    /// Already expired.
    Expired,
}

impl Claims {
    /// The claims of `token` when it is a JWT (three base64url parts whose middle one is a JSON object);
    /// `None` for opaque tokens and anything malformed.
    pub fn from_token(token: &str) -> Option<Claims> {
        let mut parts = token.split('.');
        let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || payload.is_empty() {
            return None;
        }
        let bytes = decode_base64url(payload)?;
        let json = Json::parse(std::str::from_utf8(&bytes).ok()?)?;
        if !matches!(json, Json::Object(_)) {
            return None;
        }
        let number = |name: &str| json.get(name).and_then(Json::as_f64);
        let text = |name: &str| json.get(name).and_then(Json::as_str).map(str::to_owned);
        Some(Claims {
            exp: number("exp"),
            iat: number("iat"),
            nbf: number("nbf"),
            iss: text("iss"),
            sub: text("sub"),
            aud: text("aud").or_else(|| joined_strings(json.get("aud"))),
            scope: text("scope").or_else(|| joined_strings(json.get("scp"))),
        })
    }

    /// Where this token stands at `now_seconds`, refreshing `leeway_seconds` before `exp`.
    pub fn freshness(&self, now_seconds: f64, leeway_seconds: f64) -> Freshness {
        match self.exp {
            None => Freshness::Unknown,
            Some(exp) if exp <= now_seconds => Freshness::Expired,
            Some(exp) if exp - leeway_seconds <= now_seconds => Freshness::ExpiringSoon,
            Some(_) => Freshness::Fresh,
        }
    }
}

/// The strings of a JSON array joined by spaces (for `aud` and `scp` given as lists).
fn joined_strings(value: Option<&Json>) -> Option<String> {
    let Some(Json::Array(items)) = value else { return None };
    let words: Vec<&str> = items.iter().filter_map(Json::as_str).collect();
    (!words.is_empty()).then(|| crate::text::joined(&words, " "))
}

/// Decodes unpadded (or padded) base64url; `None` on any character outside the alphabet.
pub fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // A single leftover character (6 bits) cannot encode a byte.
    if bits >= 6 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::{decode_base64url, Claims, Freshness};

    /// Base64url without padding, for building test tokens.
    pub(crate) fn encode_base64url(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [chunk.first().copied().unwrap_or(0), chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    /// A JWT-shaped token with the given payload JSON (signature is junk: authfetch never verifies).
    pub(crate) fn jwt_with_payload(payload: &str) -> String {
        format!("{}.{}.c2lnbmF0dXJl", encode_base64url(br#"{"alg":"HS256","typ":"JWT"}"#), encode_base64url(payload.as_bytes()))
    }

    #[test]
    fn the_claims_of_a_jwt_are_read() {
        let token = jwt_with_payload(r#"{"exp":1700000020,"iat":1700000000,"iss":"me","sub":"u1","aud":["a","b"],"scope":"read write"}"#);
        let claims = Claims::from_token(&token).unwrap_or_default();
        assert_eq!(claims.exp, Some(1_700_000_020.0));
        assert_eq!(claims.iat, Some(1_700_000_000.0));
        assert_eq!(claims.iss.as_deref(), Some("me"));
        assert_eq!(claims.aud.as_deref(), Some("a b"));
        assert_eq!(claims.scope.as_deref(), Some("read write"));
    }

    #[test]
    fn opaque_and_malformed_tokens_have_no_claims() {
        for token in ["", "opaque-token", "a.b", "a.b.c.d", "x..y", "abc.!!!.def", "abc.bm90IGpzb24.def", "abc.WzFd.def"] {
            assert_eq!(Claims::from_token(token), None, "{token:?}");
        }
    }

    #[test]
    fn freshness_refreshes_within_the_leeway_and_knows_expired_tokens() {
        let claims = Claims { exp: Some(100.0), ..Claims::default() };
        assert_eq!(claims.freshness(50.0, 30.0), Freshness::Fresh);
        assert_eq!(claims.freshness(75.0, 30.0), Freshness::ExpiringSoon);
        assert_eq!(claims.freshness(100.0, 30.0), Freshness::Expired);
        assert_eq!(Claims::default().freshness(0.0, 30.0), Freshness::Unknown);
    }

    #[test]
    fn base64url_round_trips_every_length_and_rejects_bad_characters() {
        for length in 0..20 {
            let bytes: Vec<u8> = (0..length).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(decode_base64url(&encode_base64url(&bytes)), Some(bytes));
        }
        assert_eq!(decode_base64url("ab$c"), None);
        assert_eq!(decode_base64url("a"), None);
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::super::{decode_base64url, Claims};
        use super::jwt_with_payload;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_token_text_is_read_without_panicking(token in ".{0,300}") {
                let _ = Claims::from_token(&token);
                let _ = decode_base64url(&token);
            }

            #[test]
            fn any_payload_inside_a_jwt_shape_is_read_without_panicking(payload in ".{0,200}") {
                let _ = Claims::from_token(&jwt_with_payload(&payload));
            }

            #[test]
            fn numeric_exp_claims_round_trip(exp in 0u32..4_000_000_000u32) {
                let token = jwt_with_payload(&format!("{{\"exp\":{exp}}}"));
                prop_assert_eq!(Claims::from_token(&token).and_then(|claims| claims.exp), Some(f64::from(exp)));
            }
        }
    }
}

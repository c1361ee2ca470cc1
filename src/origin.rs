//! Origin policy: which request URLs may receive the `Authorization` header.
//!
//! An origin is scheme, host and port (RFC 6454). The header goes only to origins in `allowedOrigins`
//! (by default the page's own origin): never to a CDN, an analytics endpoint or a pre-signed storage URL
//! that happens to be fetched through the same client (RFC 6750 §5.3; axios #2855).

/// Why a text is not an origin, as a phrase that completes "expected an origin like `https://api.example.com`, …".
pub type OriginError = &'static str;

/// The serialized origin (`scheme://host[:port]`, lowercase, default port omitted) of an absolute http(s)
/// URL. With `allow_path` false, anything after the authority other than a lone `/` is an error (for
/// configured origins, where a path is a likely mistake).
pub fn parse_origin(url: &str, allow_path: bool) -> Result<String, OriginError> {
    let url = url.trim();
    let (scheme, rest) = crate::text::split_once(url, "://").ok_or("got no scheme")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return Err("got a scheme other than http or https"),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at_checked(authority_end).unwrap_or((rest, ""));
    if !(allow_path || tail.is_empty() || tail == "/") {
        return Err("got a path, query or fragment (an origin is only scheme, host and port)");
    }
    if authority.contains('@') {
        return Err("got user credentials in the URL");
    }
    let (host, port) = split_host_port(authority)?;
    if host.is_empty() {
        return Err("got no host");
    }
    let mut origin = scheme;
    origin.push_str("://");
    origin.push_str(&host.to_ascii_lowercase());
    if let Some(port) = port.filter(|port| *port != default_port) {
        origin.push(':');
        origin.push_str(port);
    }
    Ok(origin)
}

/// Splits `host[:port]` (with IPv6 hosts in brackets) and checks the port is a number up to 65535.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), OriginError> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']').ok_or("got an unclosed IPv6 bracket")?;
        let (host, after) = authority.split_at_checked(close + 1).unwrap_or((authority, ""));
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err("got characters after the IPv6 address"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.contains([' ', '\t', '\\', '%', '<', '>']) && !host.starts_with('[') {
        return Err("got a host with characters a host cannot have");
    }
    match port {
        Some("") => Ok((host, None)),
        Some(port) if port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u32>().is_ok_and(|p| p <= 65535) => {
            // Normalise leading zeros ("0080" is port 80) through the number.
            Ok((host, Some(port.trim_start_matches('0')).filter(|p| !p.is_empty()).or(Some("0"))))
        }
        Some(_) => Err("got a port that is not a number from 0 to 65535"),
        None => Ok((host, None)),
    }
}

/// Whether `url` is only printable ASCII without spaces or backslashes: text the URL parser takes as it
/// is (tabs and line breaks are dropped by it, backslashes read as slashes).
pub fn is_plain_url(url: &str) -> bool {
    url.bytes().all(|byte| (0x21..=0x7e).contains(&byte) && byte != b'\\')
}

/// Whether `host` (with its port) is only `a-z`, digits, `.`, `-` and `:`: a host the URL parser leaves as
/// it is (no case folding, no IDNA, no IPv6 brackets).
pub fn is_plain_host(host: &str) -> bool {
    host.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-' || b == b':')
}

/// The set of origins allowed to receive the token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OriginPolicy {
    allowed: Vec<String>,
    /// For each allowed origin, whether its host is plain (`a-z`, digits, `.`, `-`, `:`), worked out once.
    plain_host: Vec<bool>,
}

impl OriginPolicy {
    /// A policy from already-normalised origins (see [`parse_origin`]).
    pub fn new(allowed: Vec<String>) -> OriginPolicy {
        let plain_host = allowed.iter().map(|origin| crate::text::split_once(origin, "://").is_some_and(|(_, host)| is_plain_host(host))).collect();
        OriginPolicy { allowed, plain_host }
    }

    /// Whether the serialized `origin` of a request URL may receive the token. Exact match only: no
    /// wildcards, no "same site", no subdomains.
    pub fn allows(&self, origin: &str) -> bool {
        self.allowed.iter().any(|allowed| allowed == origin)
    }

    /// Whether `url` is, on its face, an absolute URL on an allowed origin: it is printable ASCII without
    /// backslashes, starts with an allowed origin whose host is plain (`a-z`, digits, `.`, `-`, `:`) and
    /// continues with `/`, `?`, `#` or nothing, so the URL parser reads exactly that origin from it. `false`
    /// means "not shown this way", not "refused": such URLs are resolved by the browser's parser instead.
    pub fn plainly_allows_url(&self, url: &str) -> bool {
        if !is_plain_url(url) {
            return false;
        }
        self.allowed.iter().zip(&self.plain_host).any(|(origin, plain_host)| {
            *plain_host && url.strip_prefix(origin.as_str()).is_some_and(|rest| matches!(rest.as_bytes().first(), None | Some(b'/' | b'?' | b'#')))
        })
    }

    /// The allowed origins, for messages.
    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_origin, OriginPolicy};

    #[test]
    fn origins_are_normalised_to_scheme_host_and_non_default_port() {
        assert_eq!(parse_origin("HTTPS://API.Example.com", false), Ok("https://api.example.com".into()));
        assert_eq!(parse_origin("https://api.example.com:443/", false), Ok("https://api.example.com".into()));
        assert_eq!(parse_origin("http://127.0.0.1:8080", false), Ok("http://127.0.0.1:8080".into()));
        assert_eq!(parse_origin("http://localhost:0080", false), Ok("http://localhost".into()));
        assert_eq!(parse_origin("http://[::1]:3000/x?y#z", true), Ok("http://[::1]:3000".into()));
    }

    #[test]
    fn configured_origins_with_paths_credentials_or_bad_ports_are_refused_with_a_reason() {
        for text in [
            "api.example.com",
            "ftp://example.com",
            "https://example.com/v1",
            "https://user:pw@example.com",
            "https://example.com:99999",
            "https://example.com:80a",
            "https://",
            "https://[::1",
            "https://ex ample.com",
        ] {
            assert!(parse_origin(text, false).is_err(), "{text:?} should be refused");
        }
    }

    #[test]
    fn the_header_goes_only_to_an_exactly_matching_origin() {
        let policy = OriginPolicy::new(vec!["https://app.example.com".into()]);
        assert!(policy.allows("https://app.example.com"));
        for other in ["http://app.example.com", "https://app.example.com:8443", "https://cdn.example.com", "https://app.example.com.evil.io"] {
            assert!(!policy.allows(other), "{other}");
        }
    }

    #[test]
    fn a_url_is_plainly_on_an_allowed_origin_only_when_the_origin_ends_where_the_url_parser_ends_it() {
        let policy = OriginPolicy::new(vec!["https://api.example.com".into(), "http://127.0.0.1:8080".into()]);
        for url in [
            "https://api.example.com",
            "https://api.example.com/",
            "https://api.example.com/v1?x=1",
            "https://api.example.com#top",
            "http://127.0.0.1:8080/api",
        ] {
            assert!(policy.plainly_allows_url(url), "{url}");
        }
        for url in [
            "https://api.example.com.evil.io/x",
            "https://api.example.com@evil.io/x",
            "https://api.example.com:443/x",
            "https://api.example.com\\@evil.io/x",
            "https://api.example.com\t@evil.io/x",
            "HTTPS://api.example.com/x",
            " https://api.example.com/x",
            "http://127.0.0.1:80800/x",
            "http://127.0.0.1/x",
            "/api/x",
        ] {
            assert!(!policy.plainly_allows_url(url), "{url:?}");
        }
        let unusual_host = OriginPolicy::new(vec!["https://xn--bcher-kva.example".into(), "http://[::1]:8080".into()]);
        assert!(unusual_host.plainly_allows_url("https://xn--bcher-kva.example/x"));
        assert!(!unusual_host.plainly_allows_url("http://[::1]:8080/x"), "left to the URL parser");
    }

    #[test]
    fn a_look_alike_host_with_an_at_sign_is_not_the_allowed_origin() {
        // "https://app.example.com@evil.io" is evil.io with user "app.example.com".
        assert!(parse_origin("https://app.example.com@evil.io/", true).is_err());
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::super::{parse_origin, OriginPolicy};
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn a_url_plainly_on_an_allowed_origin_parses_to_that_origin(
                suffix in "[a-zA-Z0-9.:@/?#%\\\\ \t-]{0,30}",
                port in proptest::option::of(0u16..),
            ) {
                let origin = match port { Some(port) => format!("https://api.example.com:{port}"), None => "https://api.example.com".to_string() };
                let Ok(origin) = parse_origin(&origin, false) else { return Ok(()) };
                let policy = OriginPolicy::new(vec![origin.clone()]);
                let url = origin.clone() + &suffix;
                if policy.plainly_allows_url(&url) {
                    prop_assert_eq!(parse_origin(&url, true).ok(), Some(origin), "{}", url);
                }
            }

            #[test]
            fn any_text_is_parsed_or_refused_without_panicking(text in ".{0,200}", allow_path in any::<bool>()) {
                let _ = parse_origin(&text, allow_path);
            }

            #[test]
            fn a_parsed_origin_parses_to_itself(host in "[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,6}){0,2}", port in proptest::option::of(1u16..), https in any::<bool>(), path in "(/[a-z]{0,5}){0,3}") {
                let scheme = if https { "https" } else { "http" };
                let url = match port { Some(port) => format!("{scheme}://{host}:{port}{path}"), None => format!("{scheme}://{host}{path}") };
                let origin = parse_origin(&url, true);
                prop_assert!(origin.is_ok(), "{} refused", url);
                let origin = origin.unwrap_or_default();
                prop_assert_eq!(parse_origin(&origin, false), Ok(origin.clone()));
            }
        }
    }
}

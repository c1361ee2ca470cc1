//! `WWW-Authenticate` header parsing (RFC 9110 §11.6.1) with Bearer helpers (RFC 6750 §3).
//!
//! ```text
//! WWW-Authenticate = #challenge
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! ```
//!
//! [`parse`] never fails and never panics: it returns every challenge it could read and skips what it
//! could not, setting [`Challenges::malformed`]. Work is linear in the input and bounded: only the first
//! [`MAX_INPUT`] bytes are read (cut back to the last comma outside a quoted string so no element is
//! half-read), at most [`MAX_CHALLENGES`] challenges and [`MAX_PARAMS`] parameters per challenge are kept;
//! anything past a limit sets [`Challenges::truncated`].
//!
//! Decisions where the grammar is ambiguous or the input is broken:
//! - The scheme is stored as sent (`BEARER` stays `BEARER`); compare it with [`Challenge::is_scheme`].
//!   Parameter names are stored ASCII-lowercased; values are unquoted (`\x` becomes `x`).
//! - Commas separate both challenges and parameters: an element of the form `name = value` belongs to the
//!   current challenge, any other element starting with a token begins a new challenge.
//! - After a scheme, `abc==`, `abc` or `a/b+c=` (nothing else before the next comma) is a token68, while
//!   `abc=def` and `abc = "x"` are parameters (RFC 9110 §11.2 reads it the same way).
//! - A duplicated parameter keeps its first value and sets [`Challenge::duplicates`].
//! - A parameter after a token68 cannot be valid, so the "token68" is taken to be a parameter with its value
//!   missing (`Bearer realm=, error="invalid_token"`): it is dropped and the parameters are kept.
//!   A parameter with no value anywhere else (`error=,`) is skipped.
//! - Lenient values: an unquoted value may hold any visible ASCII except `"` `,` `\` (so an unquoted
//!   `error_uri=https://x/y` works), but may not start with `=`. Garbage after a value (`realm="a"b`) is
//!   skipped up to the next comma; the value is kept.
//! - An unterminated quoted string runs to the end of the header: that parameter is dropped, everything
//!   parsed before it is kept.
//! - A parameter before any scheme is skipped. Empty elements (`, ,`) and SP/HTAB around `=` and commas are
//!   accepted; a tab after the scheme is accepted where the RFC asks for a space.
//! - Bearer `error` codes are compared exactly (they are case-sensitive in RFC 6750).

use core::fmt;

/// Longest header value read, in bytes; the rest is ignored and [`Challenges::truncated`] is set.
pub const MAX_INPUT: usize = 8 * 1024;
/// Most challenges kept from one header value.
pub const MAX_CHALLENGES: usize = 16;
/// Most parameters kept for one challenge.
pub const MAX_PARAMS: usize = 32;

/// One challenge from a `WWW-Authenticate` header.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    /// The auth scheme as sent (`Bearer`, `bearer`, `DPoP`...); compare it with [`Challenge::is_scheme`].
    pub scheme: String,
    /// The token68 form (`Negotiate YIIG...==`), if the challenge used it instead of parameters.
    pub token68: Option<String>,
    /// The parameters in order: ASCII-lowercased name, unquoted value. Only the first of duplicates is kept.
    pub params: Vec<(String, String)>,
    /// Whether some parameter name was sent more than once (only the first value is kept).
    pub duplicates: bool,
}

/// A Bearer `error` code (RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError<'a> {
    /// `invalid_request`: the request is malformed.
    InvalidRequest,
    /// `invalid_token`: the token is expired, revoked, malformed or otherwise invalid.
    InvalidToken,
    /// `insufficient_scope`: the token lacks the scope in the `scope` parameter.
    InsufficientScope,
    /// Any other code, as sent.
    Other(&'a str),
}

impl Challenge {
    /// Whether this challenge's scheme is `name` (ASCII case-insensitive).
    pub fn is_scheme(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// The value of parameter `name` (ASCII case-insensitive; the first one if it was duplicated).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The `realm` parameter.
    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    /// The `scope` parameter, a space-separated list (see [`Challenge::scopes`]).
    pub fn scope(&self) -> Option<&str> {
        self.param("scope")
    }

    /// The scope tokens of the `scope` parameter (empty if there is none).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope().unwrap_or("").split(' ').filter(|scope| !scope.is_empty())
    }

    /// The raw `error` parameter (see [`Challenge::bearer_error`]).
    pub fn error(&self) -> Option<&str> {
        self.param("error")
    }

    /// The `error` parameter as a [`BearerError`].
    pub fn bearer_error(&self) -> Option<BearerError<'_>> {
        self.error().map(|code| match code {
            "invalid_request" => BearerError::InvalidRequest,
            "invalid_token" => BearerError::InvalidToken,
            "insufficient_scope" => BearerError::InsufficientScope,
            other => BearerError::Other(other),
        })
    }

    /// The `error_description` parameter (server text: treat as untrusted).
    pub fn error_description(&self) -> Option<&str> {
        self.param("error_description")
    }

    /// The `error_uri` parameter (server text: treat as untrusted).
    pub fn error_uri(&self) -> Option<&str> {
        self.param("error_uri")
    }
}

/// Shows a token68 only as its length, since it could carry credentials.
impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Length(usize);
        impl fmt::Debug for Length {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "<{} chars>", self.0)
            }
        }
        f.debug_struct("Challenge")
            .field("scheme", &self.scheme)
            .field("token68", &self.token68.as_ref().map(|token| Length(token.chars().count())))
            .field("params", &self.params)
            .field("duplicates", &self.duplicates)
            .finish()
    }
}

/// All challenges of a `WWW-Authenticate` header value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenges {
    /// The challenges in header order.
    pub list: Vec<Challenge>,
    /// Whether a limit ([`MAX_INPUT`], [`MAX_CHALLENGES`], [`MAX_PARAMS`]) cut something off.
    pub truncated: bool,
    /// Whether some part of the header was malformed and skipped.
    pub malformed: bool,
}

impl Challenges {
    /// The first challenge with scheme `scheme` (ASCII case-insensitive).
    pub fn find(&self, scheme: &str) -> Option<&Challenge> {
        self.list.iter().find(|challenge| challenge.is_scheme(scheme))
    }

    /// The first `Bearer` challenge.
    pub fn bearer(&self) -> Option<&Challenge> {
        self.find("Bearer")
    }

    /// The schemes in header order, as sent.
    pub fn schemes(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|challenge| challenge.scheme.as_str())
    }
}

/// Parses a `WWW-Authenticate` header value (several headers may be joined with commas).
pub fn parse(header: &str) -> Challenges {
    let mut out = Challenges::default();
    let mut cur = Cursor { s: cap(header, &mut out.truncated), i: 0 };
    loop {
        while matches!(cur.peek(), Some(b' ' | b'\t' | b',')) {
            cur.i += 1;
        }
        if cur.peek().is_none() {
            break;
        }
        let name = cur.run(is_tchar);
        let after_name = cur.i;
        cur.skip_ws();
        if !name.is_empty() && cur.peek() == Some(b'=') {
            cur.i += 1;
            cur.skip_ws();
            param(&mut cur, name, &mut out);
            continue;
        }
        if name.is_empty() || (cur.i == after_name && !cur.at_element_end()) {
            out.malformed = true;
            cur.skip_element();
            continue;
        }
        if out.list.len() >= MAX_CHALLENGES {
            out.truncated = true;
            break;
        }
        out.list.push(Challenge { scheme: name.to_owned(), ..Challenge::default() });
        if cur.at_element_end() {
            continue;
        }
        // First item after the scheme: an auth-param or a token68.
        let start = cur.i;
        let name = cur.run(is_tchar);
        cur.skip_ws();
        if !name.is_empty() && cur.peek() == Some(b'=') {
            cur.i += 1;
            cur.skip_ws();
            if cur.peek().is_some_and(is_value_start) || cur.peek() == Some(b'"') {
                param(&mut cur, name, &mut out);
                continue;
            }
        }
        cur.i = start;
        if !cur.run(is_token68).is_empty() {
            while cur.peek() == Some(b'=') {
                cur.i += 1;
            }
            let end = cur.i;
            cur.skip_ws();
            if cur.at_element_end() {
                if let Some(challenge) = out.list.last_mut() {
                    challenge.token68 = Some(cur.slice(start, end).to_owned());
                }
                continue;
            }
        }
        out.malformed = true;
        cur.skip_element();
    }
    out
}

/// Reads the value of parameter `name` (the cursor is just past `=` and whitespace) and stores it in the
/// last challenge.
fn param(cur: &mut Cursor<'_>, name: &str, out: &mut Challenges) {
    let value = match cur.peek() {
        Some(b'"') => match cur.quoted() {
            Some(value) => value,
            None => {
                out.malformed = true;
                return;
            }
        },
        Some(byte) if is_value_start(byte) => cur.run(is_value).to_owned(),
        _ => {
            out.malformed = true;
            cur.skip_element();
            return;
        }
    };
    cur.skip_ws();
    if !cur.at_element_end() {
        out.malformed = true;
        cur.skip_element();
    }
    let Some(challenge) = out.list.last_mut() else {
        out.malformed = true;
        return;
    };
    if challenge.token68.take().is_some() {
        out.malformed = true;
    }
    if challenge.params.iter().any(|(key, _)| key.eq_ignore_ascii_case(name)) {
        challenge.duplicates = true;
    } else if challenge.params.len() >= MAX_PARAMS {
        out.truncated = true;
    } else {
        challenge.params.push((name.to_ascii_lowercase(), value));
    }
}

/// `header`, or if it is longer than [`MAX_INPUT`], its start up to the last comma outside a quoted
/// string within the limit (setting `truncated`).
fn cap<'a>(header: &'a str, truncated: &mut bool) -> &'a str {
    if header.len() <= MAX_INPUT {
        return header;
    }
    *truncated = true;
    let (mut cut, mut quoted, mut escaped) = (0, false, false);
    for (i, byte) in header.bytes().take(MAX_INPUT + 1).enumerate() {
        if escaped {
            escaped = false;
        } else if quoted {
            escaped = byte == b'\\';
            quoted = byte != b'"';
        } else if byte == b'"' {
            quoted = true;
        } else if byte == b',' {
            cut = i;
        }
    }
    header.get(..cut).unwrap_or("")
}

/// A position in the (capped) header. Only ever stops on ASCII bytes, so slices are on char boundaries
/// (and taken with `get` anyway).
struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.s.get(start..end).unwrap_or("")
    }

    fn at_element_end(&self) -> bool {
        matches!(self.peek(), None | Some(b','))
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// Advances over bytes matching `accept` and returns them.
    fn run(&mut self, accept: fn(u8) -> bool) -> &'a str {
        let start = self.i;
        while self.peek().is_some_and(accept) {
            self.i += 1;
        }
        self.slice(start, self.i)
    }

    /// Advances to the next comma outside a quoted string (or the end).
    fn skip_element(&mut self) {
        let (mut quoted, mut escaped) = (false, false);
        while let Some(byte) = self.peek() {
            if escaped {
                escaped = false;
            } else if quoted {
                escaped = byte == b'\\';
                quoted = byte != b'"';
            } else if byte == b',' {
                return;
            } else if byte == b'"' {
                quoted = true;
            }
            self.i += 1;
        }
    }

    /// Reads the quoted-string at the cursor (on its `"`), unescaping quoted-pairs. `None` if it is
    /// unterminated; the cursor is then at the end.
    fn quoted(&mut self) -> Option<String> {
        let mut value = String::new();
        let mut chars = self.slice(self.i + 1, self.s.len()).char_indices();
        while let Some((offset, ch)) = chars.next() {
            match ch {
                '"' => {
                    self.i += offset + 2;
                    return Some(value);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                _ => value.push(ch),
            }
        }
        self.i = self.s.len();
        None
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// RFC 9110 `token68` characters, without the trailing `=`.
fn is_token68(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte)
}

/// A byte of an unquoted parameter value (lenient: any visible ASCII but `"` `,` `\`).
fn is_value(byte: u8) -> bool {
    byte.is_ascii_graphic() && !matches!(byte, b'"' | b',' | b'\\')
}

/// The first byte of an unquoted parameter value (not `=`, which would make `abc==` a parameter).
fn is_value_start(byte: u8) -> bool {
    byte != b'=' && is_value(byte)
}

#[cfg(test)]
mod tests {
    use super::{parse, BearerError, Challenge, Challenges, MAX_CHALLENGES, MAX_INPUT, MAX_PARAMS};

    fn schemes(parsed: &Challenges) -> Vec<&str> {
        parsed.schemes().collect()
    }

    fn params(challenge: Option<&Challenge>) -> Vec<(&str, &str)> {
        challenge.map_or(Vec::new(), |c| c.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
    }

    #[test]
    fn several_challenges_in_one_header_value_are_all_found() {
        let parsed = parse(r#"Basic realm="x", Bearer realm="y", DPoP algs="ES256", Digest realm="d", nonce="n""#);
        assert_eq!(schemes(&parsed), ["Basic", "Bearer", "DPoP", "Digest"]);
        assert_eq!(params(parsed.find("digest")), [("realm", "d"), ("nonce", "n")]);
        assert!(!parsed.malformed && !parsed.truncated);
    }

    #[test]
    fn a_quoted_comma_does_not_split_the_challenge() {
        let parsed = parse(r#"Bearer realm="a, b", error="invalid_token", error_description="The access token expired""#);
        assert_eq!(parsed.list.len(), 1);
        let bearer = parsed.bearer();
        assert_eq!(bearer.and_then(Challenge::realm), Some("a, b"));
        assert_eq!(bearer.and_then(Challenge::bearer_error), Some(BearerError::InvalidToken));
        assert_eq!(bearer.and_then(Challenge::error_description), Some("The access token expired"));
    }

    #[test]
    fn basic_then_bearer_with_insufficient_scope_are_two_challenges() {
        let parsed = parse(r#"Basic realm="x", Bearer error="insufficient_scope", scope="read write""#);
        assert_eq!(schemes(&parsed), ["Basic", "Bearer"]);
        assert_eq!(params(parsed.find("Basic")), [("realm", "x")]);
        let bearer = parsed.bearer();
        assert_eq!(bearer.and_then(Challenge::error), Some("insufficient_scope"));
        assert_eq!(bearer.and_then(Challenge::bearer_error), Some(BearerError::InsufficientScope));
        assert_eq!(bearer.map(|b| b.scopes().collect::<Vec<_>>()), Some(vec!["read", "write"]));
    }

    #[test]
    fn the_rfc_9110_example_parses_with_its_escaped_quotes() {
        let parsed = parse(r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#);
        assert_eq!(schemes(&parsed), ["Newauth", "Basic"]);
        assert_eq!(params(parsed.find("newauth")), [("realm", "apps"), ("type", "1"), ("title", "Login to \"apps\"")]);
        assert_eq!(params(parsed.find("basic")), [("realm", "simple")]);
        assert!(!parsed.malformed);
    }

    #[test]
    fn an_escaped_backslash_in_a_quoted_string_is_unescaped() {
        let parsed = parse(r#"Bearer realm="a\\b\c""#);
        assert_eq!(parsed.bearer().and_then(Challenge::realm), Some(r"a\bc"));
    }

    #[test]
    fn a_long_negotiate_token68_is_kept_verbatim() {
        let token = "YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCqKCBkAEggY8YIIGOAYJKoZIhvcSAQICAQBuggYnMIIGI6ADAgEFoQMCAQ6iBwMFACAAAACjggVBYYIFPTCCBTmgAwIBBaEQGw5FWEFNUExFLkNPTQ==";
        let parsed = parse(&(String::from("Negotiate ") + token + ", Basic realm=\"r\""));
        assert_eq!(schemes(&parsed), ["Negotiate", "Basic"]);
        let negotiate = parsed.find("negotiate");
        assert_eq!(negotiate.and_then(|c| c.token68.as_deref()), Some(token));
        assert_eq!(negotiate.map(|c| c.params.len()), Some(0));
    }

    #[test]
    fn a_padded_token68_is_not_mistaken_for_a_parameter() {
        for (header, token) in
            [("Basic dXNlcjpwYXNz==", "dXNlcjpwYXNz=="), ("Negotiate abc==", "abc=="), ("Negotiate a/b+c=", "a/b+c="), ("Negotiate abc  ", "abc")]
        {
            let parsed = parse(header);
            assert_eq!(parsed.list.first().and_then(|c| c.token68.as_deref()), Some(token), "{header}");
            assert_eq!(params(parsed.list.first()), [], "{header}");
        }
        assert_eq!(params(parse("Basic abc=def").list.first()), [("abc", "def")]);
    }

    #[test]
    fn the_debug_output_shows_a_token68_only_as_its_length() {
        let parsed = parse("Negotiate c2VjcmV0LXNlY3JldA==");
        let debug = format!("{:?}", parsed);
        assert!(debug.contains("<20 chars>"), "{debug}");
        assert!(!debug.contains("c2VjcmV0"), "{debug}");
    }

    #[test]
    fn scheme_and_parameter_names_are_case_insensitive() {
        let parsed = parse(r#"BEARER ERROR="invalid_token", Realm=x, bearer error=second"#);
        let bearer = parsed.bearer();
        assert_eq!(bearer.map(|b| b.scheme.as_str()), Some("BEARER"));
        assert!(bearer.is_some_and(|b| b.is_scheme("bearer") && b.is_scheme("Bearer")));
        assert_eq!(params(bearer), [("error", "invalid_token"), ("realm", "x")]);
        assert_eq!(bearer.and_then(|b| b.param("ERROR")), Some("invalid_token"));
        assert_eq!(schemes(&parsed), ["BEARER", "bearer"]);
    }

    #[test]
    fn duplicate_parameters_keep_the_first_value_and_are_flagged() {
        let parsed = parse(r#"Bearer realm="first", REALM="second", error=invalid_token, Basic realm=b"#);
        let bearer = parsed.bearer();
        assert_eq!(params(bearer), [("realm", "first"), ("error", "invalid_token")]);
        assert_eq!(bearer.map(|b| b.duplicates), Some(true));
        assert_eq!(parsed.find("basic").map(|b| b.duplicates), Some(false));
    }

    #[test]
    fn an_empty_header_yields_no_challenges() {
        assert_eq!(parse(""), Challenges::default());
        assert_eq!(parse("   \t "), Challenges::default());
    }

    #[test]
    fn a_header_of_only_commas_yields_no_challenges_and_no_error() {
        assert_eq!(parse(", ,\t,,"), Challenges::default());
    }

    #[test]
    fn empty_list_elements_between_challenges_and_parameters_are_tolerated() {
        let parsed = parse(r#", Basic realm="a" , , Bearer , ,realm="b",, scope=s ,"#);
        assert_eq!(schemes(&parsed), ["Basic", "Bearer"]);
        assert_eq!(params(parsed.bearer()), [("realm", "b"), ("scope", "s")]);
        assert!(!parsed.malformed);
    }

    #[test]
    fn whitespace_and_tabs_around_equals_and_commas_are_accepted() {
        let parsed = parse("Bearer realm \t=\t \"x\" \t,\t scope = a ,error=\tinvalid_request\t");
        assert_eq!(params(parsed.bearer()), [("realm", "x"), ("scope", "a"), ("error", "invalid_request")]);
        assert_eq!(parsed.bearer().and_then(Challenge::bearer_error), Some(BearerError::InvalidRequest));
        assert!(!parsed.malformed);
    }

    #[test]
    fn an_unterminated_quote_keeps_the_good_challenges_before_it() {
        let parsed = parse(r#"Basic realm="a", Bearer realm="b", error="invalid_tok, DPoP algs=ES256"#);
        assert_eq!(schemes(&parsed), ["Basic", "Bearer"]);
        assert_eq!(params(parsed.bearer()), [("realm", "b")]);
        assert!(parsed.malformed);
        assert_eq!(schemes(&parse(r#"Bearer realm="x"#)), ["Bearer"]);
    }

    #[test]
    fn a_backslash_at_the_very_end_does_not_panic() {
        let parsed = parse(r#"Bearer realm="abc\"#);
        assert_eq!(params(parsed.bearer()), []);
        assert!(parsed.malformed);
        let parsed = parse(r"Bearer realm=abc\");
        assert_eq!(params(parsed.bearer()), [("realm", "abc")]);
        assert!(parsed.malformed);
        assert_eq!(parse("\\").list.len(), 0);
        assert_eq!(parse("Bearer \\").list.len(), 1);
    }

    #[test]
    fn a_missing_value_after_equals_skips_only_that_parameter() {
        let parsed = parse(r#"Bearer realm=, error="invalid_token""#);
        let bearer = parsed.bearer();
        assert_eq!(params(bearer), [("error", "invalid_token")]);
        assert_eq!(bearer.and_then(|b| b.token68.as_deref()), None);
        let parsed = parse(r#"Bearer realm="x", error=, scope="a", title= "#);
        assert_eq!(params(parsed.bearer()), [("realm", "x"), ("scope", "a")]);
        assert!(parsed.malformed);
    }

    #[test]
    fn a_parameter_before_any_scheme_is_skipped() {
        let parsed = parse(r#"realm="x", Bearer error="invalid_token""#);
        assert_eq!(schemes(&parsed), ["Bearer"]);
        assert_eq!(params(parsed.bearer()), [("error", "invalid_token")]);
        assert!(parsed.malformed);
    }

    #[test]
    fn garbage_after_a_value_is_skipped_up_to_the_next_comma() {
        let parsed = parse(r#"Bearer realm="a"b "c,d", scope=x y z, error=invalid_token"#);
        assert_eq!(params(parsed.bearer()), [("realm", "a"), ("scope", "x"), ("error", "invalid_token")]);
        assert!(parsed.malformed);
    }

    #[test]
    fn an_unquoted_url_is_accepted_as_a_value() {
        let parsed = parse("Bearer error=invalid_token, error_uri=https://example.com/e?x=1");
        assert_eq!(parsed.bearer().and_then(Challenge::error_uri), Some("https://example.com/e?x=1"));
    }

    #[test]
    fn a_header_of_100_kb_is_capped_and_flagged() {
        let many = "Bearer realm=\"x\", ".repeat(100 * 1024 / 18);
        let parsed = parse(&many);
        assert!(parsed.truncated);
        assert_eq!(parsed.list.len(), MAX_CHALLENGES);

        let huge = String::from("Basic realm=\"a\", Bearer realm=\"") + &"x".repeat(100 * 1024) + "\"";
        let parsed = parse(&huge);
        assert!(parsed.truncated);
        assert_eq!(schemes(&parsed), ["Basic"]);

        let one = String::from("Bearer realm=") + &"y".repeat(MAX_INPUT * 2);
        assert_eq!(parse(&one), Challenges { truncated: true, ..Challenges::default() });
    }

    #[test]
    fn more_than_sixteen_challenges_are_cut_and_flagged() {
        let header = "A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, Bearer";
        let parsed = parse(header);
        assert_eq!(parsed.list.len(), MAX_CHALLENGES);
        assert_eq!(parsed.list.last().map(|c| c.scheme.as_str()), Some("P"));
        assert!(parsed.truncated && parsed.bearer().is_none());
    }

    #[test]
    fn more_than_thirty_two_parameters_are_cut_and_flagged_but_later_challenges_still_parse() {
        let mut header = String::from("Digest ");
        for i in 10..50 {
            header.push_str(&format!("p{i}=v, "));
        }
        header.push_str("Bearer realm=r");
        let parsed = parse(&header);
        assert_eq!(parsed.find("digest").map(|c| c.params.len()), Some(MAX_PARAMS));
        assert_eq!(parsed.bearer().and_then(Challenge::realm), Some("r"));
        assert!(parsed.truncated);
    }

    #[test]
    fn non_ascii_bytes_are_handled_without_panicking() {
        let parsed = parse("Bäsic realm=x, Bearer realm=\"Zürich ✓\", error_description=\"日本語\", x=ü");
        assert_eq!(schemes(&parsed), ["Bearer"]);
        assert_eq!(params(parsed.bearer()), [("realm", "Zürich ✓"), ("error_description", "日本語")]);
        assert!(parsed.malformed);
        assert_eq!(parse("✓✓✓, \"✓\\✓\", é=é").list.len(), 0);
    }

    #[test]
    fn dpop_with_algs_and_a_bare_bearer_are_both_found() {
        let parsed = parse(r#"DPoP algs="ES256 PS256", Bearer"#);
        assert_eq!(schemes(&parsed), ["DPoP", "Bearer"]);
        assert_eq!(parsed.find("dpop").and_then(|c| c.param("algs")), Some("ES256 PS256"));
        assert_eq!(params(parsed.bearer()), []);
        assert!(!parsed.malformed);
    }

    #[test]
    fn other_bearer_error_codes_are_passed_through() {
        let parsed = parse("Bearer error=use_dpop_nonce, error_description=\"x\"");
        assert_eq!(parsed.bearer().and_then(Challenge::bearer_error), Some(BearerError::Other("use_dpop_nonce")));
        assert_eq!(parse("Bearer error=Invalid_Token").bearer().and_then(Challenge::bearer_error), Some(BearerError::Other("Invalid_Token")));
        assert_eq!(parse("Bearer").bearer().and_then(Challenge::bearer_error), None);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::{parse, Challenges, MAX_CHALLENGES, MAX_INPUT, MAX_PARAMS};
    use proptest::prelude::*;

    /// Output is bounded: limits hold and no more text comes out than went in.
    fn check_bounds(input: &str, parsed: &Challenges) -> Result<(), TestCaseError> {
        prop_assert!(parsed.list.len() <= MAX_CHALLENGES);
        let mut total = 0;
        for challenge in &parsed.list {
            prop_assert!(challenge.params.len() <= MAX_PARAMS);
            prop_assert!(!challenge.scheme.is_empty());
            total += challenge.scheme.len() + challenge.token68.as_ref().map_or(0, String::len);
            total += challenge.params.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        }
        prop_assert!(total <= input.len().min(MAX_INPUT));
        prop_assert!(input.len() <= MAX_INPUT || parsed.truncated);
        Ok(())
    }

    fn piece() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["Bearer", "basic", " ", "\t", ",", "=", "==", "\"", "\\", "realm", "a/b", "x", "é", "✓", ", ,", "error=\"", "\\\""])
            .prop_map(String::from)
    }

    fn quoted(value: &str) -> String {
        let mut out = String::from("\"");
        for ch in value.chars() {
            if ch == '"' || ch == '\\' {
                out.push('\\');
            }
            out.push(ch);
        }
        out.push('"');
        out
    }

    fn ws() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", " ", "\t", " \t "])
    }

    type Param = (String, String, bool, &'static str, &'static str);

    fn param() -> impl Strategy<Value = Param> {
        ("[a-zA-Z][a-zA-Z0-9_-]{0,8}", any::<String>(), "[A-Za-z0-9._~!#$%&'*+^`|-]{1,10}", any::<bool>(), ws(), ws()).prop_map(
            |(name, text, token, use_quotes, before, after)| {
                let value = if use_quotes { text } else { token };
                (name, value, use_quotes, before, after)
            },
        )
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic_and_the_output_is_bounded(input in any::<String>()) {
            let parsed = parse(&input);
            check_bounds(&input, &parsed)?;
        }

        #[test]
        fn strings_of_tricky_pieces_never_panic_and_the_output_is_bounded(
            pieces in prop::collection::vec(piece(), 0..400)
        ) {
            let input = pieces.concat();
            let parsed = parse(&input);
            check_bounds(&input, &parsed)?;
        }

        #[test]
        fn long_strings_never_panic_and_are_flagged_as_truncated(input in "[a-z =\",\\\\]{8193,12000}") {
            let parsed = parse(&input);
            check_bounds(&input, &parsed)?;
            prop_assert!(parsed.truncated);
        }

        #[test]
        fn headers_built_from_the_grammar_round_trip(
            challenges in prop::collection::vec(
                ("[A-Za-z][A-Za-z0-9-]{0,10}", prop::collection::vec(param(), 0..6), ws(), any::<bool>()),
                0..6,
            )
        ) {
            let mut header = String::new();
            for (scheme, params, comma_ws, extra_comma) in &challenges {
                if !header.is_empty() {
                    header.push_str(comma_ws);
                    header.push(',');
                    if *extra_comma {
                        header.push_str(", ");
                    }
                    header.push_str(comma_ws);
                }
                header.push_str(scheme);
                for (i, (name, value, use_quotes, before, after)) in params.iter().enumerate() {
                    header.push_str(if i == 0 { " " } else { ", " });
                    header.push_str(name);
                    header.push_str(before);
                    header.push('=');
                    header.push_str(after);
                    header.push_str(&if *use_quotes { quoted(value) } else { value.clone() });
                }
            }
            let parsed = parse(&header);
            prop_assert!(!parsed.malformed, "{:?} -> {:?}", header, parsed);
            prop_assert!(!parsed.truncated);
            let schemes: Vec<&str> = challenges.iter().map(|(scheme, ..)| scheme.as_str()).collect();
            prop_assert_eq!(parsed.schemes().collect::<Vec<_>>(), schemes);
            for ((_, params, ..), challenge) in challenges.iter().zip(&parsed.list) {
                for (name, _, _, _, _) in params {
                    let first = params.iter().find(|p| p.0.eq_ignore_ascii_case(name)).map(|p| p.1.as_str());
                    prop_assert_eq!(challenge.param(name), first);
                }
                let distinct = params.iter().enumerate()
                    .filter(|(i, p)| !params.iter().take(*i).any(|q| q.0.eq_ignore_ascii_case(&p.0)))
                    .count();
                prop_assert_eq!(challenge.params.len(), distinct);
                prop_assert_eq!(challenge.duplicates, distinct != params.len());
                prop_assert_eq!(challenge.token68.as_ref(), None);
            }
        }
    }
}

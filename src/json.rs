//! A small, strict JSON reader for the two JSON documents authfetch reads itself: a JWT's claims and a
//! refresh endpoint's reply.
//!
//! Why not `serde_json`: it adds ~17 KB gzipped to the wasm download, more than the rest of the library.
//! This reader keeps what we need (objects, strings, numbers, booleans) in a few hundred bytes of code,
//! never panics, bounds nesting depth, and is tested natively.

/// A parsed JSON value. Its `Debug` output shows strings only by length: the documents read here (JWT
/// claims, refresh replies) carry tokens.
#[derive(Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Any JSON number.
    Number(f64),
    /// A string, with escapes decoded.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, members in document order (duplicates kept; [`Json::get`] returns the first).
    Object(Vec<(String, Json)>),
}

impl std::fmt::Debug for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Json::Null => f.write_str("Null"),
            Json::Bool(value) => write!(f, "Bool({value})"),
            Json::Number(value) => write!(f, "Number({value})"),
            Json::String(text) => write!(f, "String(<{} chars>)", text.chars().count()),
            Json::Array(items) => f.debug_list().entries(items).finish(),
            Json::Object(members) => f.debug_map().entries(members.iter().map(|(name, value)| (name, value))).finish(),
        }
    }
}

/// Deepest nesting accepted; deeper documents are rejected rather than recursed into.
const MAX_DEPTH: u32 = 32;

impl Json {
    /// Parses a complete JSON document (surrounding whitespace allowed). `None` when it is not valid JSON.
    pub fn parse(text: &str) -> Option<Json> {
        let mut reader = Reader { bytes: text.as_bytes(), pos: 0 };
        let value = reader.value(0)?;
        reader.skip_whitespace();
        if reader.pos == reader.bytes.len() {
            Some(value)
        } else {
            None
        }
    }

    /// The member `key` of an object (the first one if repeated); `None` for other values.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(name, _)| name == key).map(|(_, value)| value),
            _ => None,
        }
    }

    /// The string inside a [`Json::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// The number inside a [`Json::Number`].
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(number) => Some(*number),
            _ => None,
        }
    }

    /// A short name of the value's type, for messages ("a string", "a number", …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

/// Parses a JSON number (`-12`, `3.25`, `1e3`), finite results only.
///
/// Written by hand instead of `str::parse::<f64>`, whose exact-rounding tables would add kilobytes to
/// the wasm. The result can differ from the correctly rounded value in the last bits, which is
/// irrelevant for what authfetch reads (timestamps and lifetimes in seconds).
pub fn parse_number(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let negative = bytes.first() == Some(&b'-');
    if negative {
        pos += 1;
    }
    let digits = |pos: &mut usize| {
        let start = *pos;
        let mut value = 0.0f64;
        while let Some(digit) = bytes.get(*pos).filter(|b| b.is_ascii_digit()) {
            value = value * 10.0 + f64::from(digit - b'0');
            *pos += 1;
        }
        (value, *pos - start)
    };
    let (mut value, integer_digits) = digits(&mut pos);
    if integer_digits == 0 || (integer_digits > 1 && bytes.get(pos - integer_digits) == Some(&b'0')) {
        return None; // no digits, or a leading zero
    }
    if bytes.get(pos) == Some(&b'.') {
        pos += 1;
        let (fraction, fraction_digits) = digits(&mut pos);
        if fraction_digits == 0 {
            return None;
        }
        value += fraction / 10f64.powi(fraction_digits.min(400) as i32);
    }
    if matches!(bytes.get(pos), Some(b'e' | b'E')) {
        pos += 1;
        let exponent_negative = bytes.get(pos) == Some(&b'-');
        if matches!(bytes.get(pos), Some(b'-' | b'+')) {
            pos += 1;
        }
        let (exponent, exponent_digits) = digits(&mut pos);
        if exponent_digits == 0 {
            return None;
        }
        let exponent = exponent.min(999.0) as i32;
        value *= 10f64.powi(if exponent_negative { -exponent } else { exponent });
    }
    if pos != bytes.len() || !value.is_finite() {
        return None;
    }
    Some(if negative { -value } else { value })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect_word(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos.checked_add(word.len())?;
        if self.bytes.get(self.pos..end)? == word {
            self.pos = end;
            Some(())
        } else {
            None
        }
    }

    fn value(&mut self, depth: u32) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_whitespace();
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(Json::String),
            b't' => self.expect_word(b"true").map(|()| Json::Bool(true)),
            b'f' => self.expect_word(b"false").map(|()| Json::Bool(false)),
            b'n' => self.expect_word(b"null").map(|()| Json::Null),
            _ => self.number().map(Json::Number),
        }
    }

    fn object(&mut self, depth: u32) -> Option<Json> {
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Some(Json::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return None;
            }
            let name = self.string()?;
            self.skip_whitespace();
            if self.next()? != b':' {
                return None;
            }
            let value = self.value(depth + 1)?;
            members.push((name, value));
            self.skip_whitespace();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(Json::Object(members)),
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: u32) -> Option<Json> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Some(Json::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.next()? {
                b',' => continue,
                b']' => return Some(Json::Array(items)),
                _ => return None,
            }
        }
    }

    fn number(&mut self) -> Option<f64> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
            self.pos += 1;
        }
        parse_number(std::str::from_utf8(self.bytes.get(start..self.pos)?).ok()?)
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut code = 0u32;
        for _ in 0..4 {
            let digit = char::from(self.next()?).to_digit(16)?;
            code = code * 16 + digit;
        }
        Some(code)
    }

    fn string(&mut self) -> Option<String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while !matches!(self.peek()?, b'"' | b'\\' | 0..=0x1f) {
                self.pos += 1;
            }
            out.push_str(std::str::from_utf8(self.bytes.get(start..self.pos)?).ok()?);
            match self.next()? {
                b'"' => return Some(out),
                b'\\' => {
                    let decoded = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    };
                    out.push(decoded);
                }
                _ => return None, // raw control character
            }
        }
    }

    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        if (0xD800..0xDC00).contains(&high) {
            self.expect_word(b"\\u")?;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return None;
            }
            char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
        } else {
            char::from_u32(high)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn an_object_with_every_kind_of_value_is_read() {
        let json = Json::parse(r#" {"a": "x", "n": -1.5e2, "t": true, "f": false, "z": null, "l": [1, {"b": []}]} "#);
        let json = json.unwrap_or(Json::Null);
        assert_eq!(json.get("a").and_then(Json::as_str), Some("x"));
        assert_eq!(json.get("n").and_then(Json::as_f64), Some(-150.0));
        assert_eq!(json.get("t"), Some(&Json::Bool(true)));
        assert_eq!(json.get("z"), Some(&Json::Null));
        assert!(matches!(json.get("l"), Some(Json::Array(items)) if items.len() == 2));
    }

    #[test]
    fn string_escapes_and_surrogate_pairs_are_decoded() {
        let json = Json::parse(r#""a\"b\\c\/\n\u00e9\ud83d\ude00""#);
        assert_eq!(json, Some(Json::String("a\"b\\c/\n\u{e9}\u{1F600}".to_string())));
    }

    #[test]
    fn invalid_documents_are_rejected_without_panicking() {
        for text in [
            "",
            "{",
            "}",
            "[1,]",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "tru",
            "nul",
            "+1",
            ".5",
            "1 2",
            "\"abc",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\ud800\\u0041\"",
            "{\"a\":1}x",
            "\"tab\there\"",
            "NaN",
            "1e999",
            "\\",
            "\u{0}",
        ] {
            assert_eq!(Json::parse(text), None, "{text:?} should be rejected");
        }
    }

    #[test]
    fn numbers_are_read_without_the_standard_float_parser() {
        for (text, expected) in [("0", 0.0), ("-12", -12.0), ("3.25", 3.25), ("1e3", 1000.0), ("2.5E-1", 0.25), ("1700000000", 1.7e9)] {
            assert_eq!(super::parse_number(text), Some(expected), "{text}");
        }
        for text in ["", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1x", "--1", "1e999"] {
            assert_eq!(super::parse_number(text), None, "{text}");
        }
    }

    #[test]
    fn debug_output_shows_strings_only_by_length() {
        let reply = Json::parse(r#"{"accessToken":"secret-access-token","expiresIn":20}"#).unwrap_or(Json::Null);
        let shown = format!("{reply:?}");
        assert!(!shown.contains("secret-access-token"), "{shown}");
        assert!(shown.contains("String(<19 chars>)") && shown.contains("Number(20)"), "{shown}");
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_rejected_not_recursed() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(Json::parse(&deep), None);
        let fine = "[".repeat(20) + &"]".repeat(20);
        assert!(Json::parse(&fine).is_some());
    }

    #[test]
    fn get_returns_the_first_of_duplicate_members_and_nothing_on_non_objects() {
        let json = Json::parse(r#"{"a":1,"a":2}"#).unwrap_or(Json::Null);
        assert_eq!(json.get("a").and_then(Json::as_f64), Some(1.0));
        assert_eq!(Json::Number(1.0).get("a"), None);
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::super::Json;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_text_never_panics(text in ".{0,200}") {
                let _ = Json::parse(&text);
            }

            #[test]
            fn arbitrary_bracket_soup_never_panics(text in "[\\[\\]{}\":,0-9a-z\\\\ ]{0,300}") {
                let _ = Json::parse(&text);
            }
        }
    }
}

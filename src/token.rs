//! What counts as a usable token: cleaning up values read from storage, and checking a token can go in a
//! header.

/// A value read from storage, after cleaning.
#[derive(Clone, PartialEq)]
pub enum StoredValue {
    /// Nothing usable is stored (absent, empty, or only whitespace).
    Missing,
    /// The stored text is a placeholder another script wrote by mistake (`"null"`, `"undefined"`).
    Placeholder(&'static str),
    /// A token, with a note when it had to be cleaned (whitespace trimmed, JSON quotes removed).
    Token(String, Option<&'static str>),
}

impl std::fmt::Debug for StoredValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredValue::Missing => f.write_str("Missing"),
            StoredValue::Placeholder(text) => write!(f, "Placeholder({text:?})"),
            StoredValue::Token(token, note) => {
                write!(f, "Token([token {}], {note:?})", crate::redact::fingerprint(token))
            }
        }
    }
}

impl StoredValue {
    /// Cleans a raw stored string. Tokens are plain strings, but other code sometimes stores them
    /// JSON-encoded (`"\"eyJ…\""`, as a JSON storage helper writes), with a trailing newline, or writes
    /// `String(undefined)`. Each of those is recognised instead of being sent as a broken header.
    pub fn from_raw(raw: Option<&str>) -> StoredValue {
        let Some(raw) = raw else { return StoredValue::Missing };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return StoredValue::Missing;
        }
        if trimmed == "null" || trimmed == "undefined" {
            return StoredValue::Placeholder(if trimmed == "null" { "null" } else { "undefined" });
        }
        let unquoted = trimmed.strip_prefix('"').and_then(|rest| rest.strip_suffix('"'));
        if let Some(inner) = unquoted.filter(|inner| !inner.is_empty() && !inner.contains(['"', '\\'])) {
            return StoredValue::Token(inner.to_owned(), Some("it was stored JSON-encoded (in quotes); the quotes were removed"));
        }
        let note = (trimmed.len() != raw.len()).then_some("it had surrounding whitespace, which was trimmed");
        StoredValue::Token(trimmed.to_owned(), note)
    }

    /// The token, if any.
    pub fn token(&self) -> Option<&str> {
        match self {
            StoredValue::Token(token, _) => Some(token),
            _ => None,
        }
    }
}

/// Whether `token` can be sent in an HTTP header: non-empty, visible ASCII only (no spaces, CR, LF or
/// control characters, which would break or smuggle headers; RFC 6750 §2.1 allows even less).
pub fn is_header_safe(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|byte| (0x21..=0x7e).contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::{is_header_safe, StoredValue};

    #[test]
    fn stored_values_are_cleaned_and_placeholders_recognised() {
        assert_eq!(StoredValue::from_raw(None), StoredValue::Missing);
        assert_eq!(StoredValue::from_raw(Some("  ")), StoredValue::Missing);
        assert_eq!(StoredValue::from_raw(Some("null")), StoredValue::Placeholder("null"));
        assert_eq!(StoredValue::from_raw(Some("undefined")), StoredValue::Placeholder("undefined"));
        assert_eq!(StoredValue::from_raw(Some("abc")).token(), Some("abc"));
        assert_eq!(StoredValue::from_raw(Some(" abc\n")).token(), Some("abc"));
        assert_eq!(StoredValue::from_raw(Some("\"abc\"")).token(), Some("abc"));
        assert!(matches!(StoredValue::from_raw(Some("\"abc\"")), StoredValue::Token(_, Some(_))));
        assert!(matches!(StoredValue::from_raw(Some("abc")), StoredValue::Token(_, None)));
    }

    #[test]
    fn debug_output_of_a_stored_token_shows_only_its_fingerprint() {
        let shown = format!("{:?}", StoredValue::from_raw(Some("very-secret-token-value")));
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("23 chars #"), "{shown}");
    }

    #[test]
    fn tokens_with_spaces_line_breaks_or_non_ascii_are_not_header_safe() {
        assert!(is_header_safe("eyJ.abc-_~+/="));
        for bad in ["", "a b", "a\r\nX-Evil: 1", "tab\t", "caf\u{e9}", "\u{7f}"] {
            assert!(!is_header_safe(bad), "{bad:?}");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::super::{is_header_safe, StoredValue};
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_stored_text_is_cleaned_without_panicking_and_never_grows(raw in ".{0,200}") {
                let value = StoredValue::from_raw(Some(&raw));
                if let Some(token) = value.token() {
                    prop_assert!(token.len() <= raw.len());
                    prop_assert!(!token.is_empty());
                }
                let _ = is_header_safe(&raw);
            }
        }
    }
}

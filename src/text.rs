//! Substring search for the few places that look for a text inside a text.
//!
//! `str::find`, `contains`, `replace` and `split_once` with a `&str` pattern use core's two-way searcher,
//! whose slicing panics format a `char` and a `Range` with `Debug`: together about 6 KB of wasm that every
//! visitor downloads. Tokens, URLs and messages are short, so a plain byte-window search does the same
//! job; a match of a valid UTF-8 needle in a `&str` always starts and ends on character boundaries.

/// The byte index of the first occurrence of `needle` in `text`; `None` for an empty needle.
pub fn find(text: &str, needle: &str) -> Option<usize> {
    let (text, needle) = (text.as_bytes(), needle.as_bytes());
    if needle.is_empty() || needle.len() > text.len() {
        return None;
    }
    (0..=text.len() - needle.len()).find(|&start| text.get(start..start + needle.len()) == Some(needle))
}

/// `text` split around the first occurrence of `separator`.
pub fn split_once<'a>(text: &'a str, separator: &str) -> Option<(&'a str, &'a str)> {
    let start = find(text, separator)?;
    Some((text.get(..start)?, text.get(start + separator.len()..)?))
}

/// `text` with every occurrence of `needle` (not empty) replaced by `replacement`.
pub fn replace(text: &str, needle: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, after)) = split_once(rest, needle) {
        out.push_str(before);
        out.push_str(replacement);
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Appends `items` to `out`, separated by `separator` (like `[..].join`, whose generic copy loop costs
/// about 1 KB of wasm per element type).
pub fn push_joined<S: AsRef<str>>(out: &mut String, items: impl IntoIterator<Item = S>, separator: &str) {
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            out.push_str(separator);
        }
        out.push_str(item.as_ref());
    }
}

/// `items` joined by `separator`.
pub fn joined<S: AsRef<str>>(items: impl IntoIterator<Item = S>, separator: &str) -> String {
    let mut out = String::new();
    push_joined(&mut out, items, separator);
    out
}

#[cfg(test)]
mod tests {
    use super::{find, joined, replace, split_once};

    #[test]
    fn joins_like_the_standard_library() {
        for items in [vec![], vec!["a"], vec!["a", "b", "c"], vec!["", ""]] {
            assert_eq!(joined(&items, ", "), items.join(", "));
        }
    }

    #[test]
    fn finds_splits_and_replaces_like_the_standard_library() {
        let cases = ["", "a", "://", "https://a.example/x://y", "ééé://ü", "abcabc", "aaaa"];
        for text in cases {
            for needle in ["://", "a", "bc", "é", "aa", "x"] {
                assert_eq!(find(text, needle), text.find(needle), "{text:?} {needle:?}");
                assert_eq!(split_once(text, needle), text.split_once(needle), "{text:?} {needle:?}");
                assert_eq!(replace(text, needle, "[#]"), text.replace(needle, "[#]"), "{text:?} {needle:?}");
            }
        }
        assert_eq!(find("abc", ""), None);
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn agrees_with_the_standard_library(text in ".{0,40}", needle in ".{1,4}") {
                prop_assert_eq!(super::super::find(&text, &needle), text.find(needle.as_str()));
                prop_assert_eq!(super::super::split_once(&text, &needle), text.split_once(needle.as_str()));
                prop_assert_eq!(super::super::replace(&text, &needle, "-"), text.replace(needle.as_str(), "-"));
            }
        }
    }
}

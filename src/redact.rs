//! Redaction: a token is never shown whole, only as a fingerprint.
//!
//! A fingerprint is the token's length plus a short hash (`243 chars #5f2a9c1d`): the same token always
//! gives the same fingerprint, so people can compare "the token sent" with "the token stored" in the console
//! without ever seeing either. The hash is FNV-1a (not cryptographic, and not meant to be: 32 bits of it
//! reveal nothing usable about a token of hundreds of random characters).

/// The fingerprint of `token`: its length in characters and an 8-hex-digit hash.
pub fn fingerprint(token: &str) -> String {
    let mut out = String::with_capacity(24);
    push_decimal(&mut out, token.chars().count() as u64);
    out.push_str(" chars #");
    push_hex32(&mut out, fnv1a(token.as_bytes()));
    out
}

/// `text` with every occurrence of any of `secrets` (that is at least 8 characters long) replaced by
/// `[token <fingerprint>]`. Used on anything from outside that could echo a token back: URLs, server
/// messages, error texts.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|secret| secret.len() >= 8) {
        if crate::text::find(&out, secret).is_some() {
            let replacement = String::from("[token ") + &fingerprint(secret) + "]";
            out = crate::text::replace(&out, secret, &replacement);
        }
    }
    out
}

/// 32-bit FNV-1a.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193))
}

/// Appends `value` in decimal (no `format!`: it pulls the formatting machinery into the wasm).
pub fn push_decimal(out: &mut String, value: u64) {
    let mut digits = [0u8; 20];
    let mut count = 0;
    let mut rest = value;
    for slot in digits.iter_mut() {
        *slot = b'0' + (rest % 10) as u8;
        count += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for digit in digits.iter().take(count).rev() {
        out.push(char::from(*digit));
    }
}

fn push_hex32(out: &mut String, value: u32) {
    for shift in (0..8).rev() {
        let nibble = (value >> (shift * 4)) & 0xf;
        out.push(char::from_digit(nibble, 16).unwrap_or('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::{fingerprint, push_decimal, scrub};

    #[test]
    fn a_fingerprint_shows_the_length_and_a_stable_hash_but_not_the_token() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJl";
        let print = fingerprint(token);
        assert!(print.starts_with("53 chars #"), "{print}");
        assert_eq!(print.len(), "53 chars #".len() + 8);
        assert_eq!(print, fingerprint(token));
        assert_ne!(print, fingerprint("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2lnbmF0dXJm"));
        assert!(!print.contains("eyJ"));
    }

    #[test]
    fn scrub_replaces_every_occurrence_of_a_secret_with_its_fingerprint() {
        let secret = "s3cr3t-token-value";
        let text = "url?access_token=s3cr3t-token-value&again=s3cr3t-token-value";
        let scrubbed = scrub(text, &[secret, ""]);
        assert!(!scrubbed.contains(secret), "{scrubbed}");
        assert_eq!(scrubbed.matches("[token 18 chars #").count(), 2);
    }

    #[test]
    fn decimals_are_written_without_format() {
        let mut out = String::new();
        for value in [0, 7, 10, 1234567890, u64::MAX] {
            out.clear();
            push_decimal(&mut out, value);
            assert_eq!(out, value.to_string());
        }
    }
}

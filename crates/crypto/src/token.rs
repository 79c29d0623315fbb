//! Random tokens and session ids, their storage hash, and constant-time
//! comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::Secret;

/// Random bytes per token: 256 bits, far beyond guessing range.
const TOKEN_BYTES: usize = 32;

fn random_b64(prefix: &str) -> Secret<String> {
    let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
    OsRng.fill_bytes(&mut bytes[..]);
    let mut out = String::with_capacity(prefix.len() + 43);
    out.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(&bytes[..], &mut out);
    Secret::new(out)
}

/// A random API-style token: `prefix` followed by 32 random bytes in
/// base64url without padding (43 characters).
///
/// The prefix (e.g. `ss_`) makes leaked tokens easy to recognize by scanners.
pub fn random_token(prefix: &str) -> Secret<String> {
    random_b64(prefix)
}

/// A random session id: 32 random bytes in base64url without padding.
pub fn session_id() -> Secret<String> {
    random_b64("")
}

/// Lowercase hex SHA-256 of a token; this is what the database stores.
///
/// A fast hash is right here because tokens carry 256 bits of entropy, so
/// unlike passwords they cannot be brute-forced from the hash.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two byte strings in time independent of their contents (only
/// the lengths may leak).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn is_b64url(s: &str) -> bool {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    #[test]
    fn tokens_have_expected_shape_and_are_unique() {
        let token = random_token("ss_");
        let body = token.expose().strip_prefix("ss_").unwrap();
        assert_eq!(body.len(), 43);
        assert!(is_b64url(body));
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);

        let sid = session_id();
        assert_eq!(sid.expose().len(), 43);
        assert!(is_b64url(sid.expose()));

        let ids: HashSet<String> = (0..100).map(|_| session_id().into_inner()).collect();
        assert_eq!(ids.len(), 100);
    }

    #[test]
    fn hash_token_is_lowercase_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(hash_token("abc"), hash_token("abd"));
    }

    #[test]
    fn constant_time_eq_compares_contents_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}

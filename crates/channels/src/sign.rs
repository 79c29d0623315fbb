//! HMAC-SHA256 primitives shared by every marketplace's signer, and the
//! constant-time comparison used to verify inbound webhook signatures.
//!
//! The marketplace-specific functions (which bytes, in which order) live in
//! each marketplace's own `sign` module; this file only knows bytes.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Lowercase hex of HMAC-SHA256 over the concatenation of `parts`.
///
/// Feeding the parts one by one is the same as hashing their concatenation,
/// and avoids copying large request bodies into a base string.
pub fn hmac_sha256_hex(key: &[u8], parts: &[&[u8]]) -> String {
    // HMAC accepts keys of any length, so this never fails; the fallback
    // keeps the function total without a panic path.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Compares a received hex signature with the expected lowercase one in
/// constant time. Case is ignored so an uppercase sender is not rejected.
pub fn signature_matches(expected_lower_hex: &str, received: &str) -> bool {
    let received = received.trim().to_ascii_lowercase();
    !expected_lower_hex.is_empty()
        && bool::from(expected_lower_hex.as_bytes().ct_eq(received.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac_sha256_hex(b"Jefe", &[b"what do ya want ", b"for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn comparison_ignores_case_but_not_content() {
        let sig = hmac_sha256_hex(b"k", &[b"m"]);
        assert!(signature_matches(&sig, &sig.to_ascii_uppercase()));
        assert!(!signature_matches(&sig, &sig[1..]));
        assert!(!signature_matches(&sig, ""));
        assert!(!signature_matches("", ""));
    }
}

//! Password hashing with Argon2id, plus a dummy verification that makes
//! logins for unknown accounts cost as much as real ones.
//!
//! These functions are CPU-heavy and synchronous on purpose: each one takes
//! tens of milliseconds and about 19 MiB of memory, so the caller must bound
//! how many run at once (for example on a blocking pool behind a semaphore).

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use rand::RngCore as _;

use crate::CryptoError;

/// Memory cost in KiB (19 MiB), the OWASP minimum for Argon2id.
pub const M_COST_KIB: u32 = 19_456;
/// Number of passes over memory.
pub const T_COST: u32 = 2;
/// Degree of parallelism.
pub const P_COST: u32 = 1;

const SALT_LEN: usize = 16;

/// The Argon2id parameters used for new hashes.
pub fn params() -> Params {
    // These constants are valid, and they equal argon2's own defaults, so
    // the fallback can only ever produce the same parameters.
    Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap_or_default()
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// Hashes a password with a random salt, returning a PHC string such as
/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    let mut salt_bytes = [0u8; SALT_LEN];
    OsRng.fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|e| CryptoError::PasswordHash(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| CryptoError::PasswordHash(e.to_string()))
}

/// Checks a password against a stored PHC string.
///
/// The parameters are read from the hash itself, so hashes made with older
/// parameters keep working. A malformed hash simply does not match.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => argon2().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// Performs a verification of equal cost against a fixed dummy hash and
/// discards the result.
///
/// Call it when a login names an unknown account, so that response time
/// does not reveal which accounts exist.
pub fn dummy_verify(password: &str) {
    static DUMMY_HASH: OnceLock<String> = OnceLock::new();
    // Hashing cannot fail with valid parameters; should it ever, an empty
    // string still makes the call below return promptly instead of panicking.
    let hash =
        DUMMY_HASH.get_or_init(|| hash_password("storesync-dummy-password").unwrap_or_default());
    std::hint::black_box(verify_password(password, hash));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_right_and_rejects_wrong_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsf", &hash));
        assert_ne!(hash, hash_password("correct horse").unwrap());
    }

    #[test]
    fn malformed_hash_does_not_match() {
        assert!(!verify_password("x", ""));
        assert!(!verify_password("x", "$argon2id$garbage"));
        assert!(!verify_password("x", "plain text"));
    }

    #[test]
    fn params_are_the_documented_ones() {
        let p = params();
        assert_eq!((p.m_cost(), p.t_cost(), p.p_cost()), (19_456, 2, 1));
        dummy_verify("anything");
    }
}

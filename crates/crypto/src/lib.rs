//! Secret handling for StoreSync: a redacting wrapper, envelope encryption of
//! secrets stored in database columns, password hashing and random tokens.
//!
//! Everything here is synchronous; the password functions are deliberately
//! CPU-heavy, so callers must bound how many run at once.

pub mod keyring;
pub mod password;
pub mod secret;
pub mod token;

pub use keyring::{Aad, KeyRing};
pub use password::{dummy_verify, hash_password, verify_password};
pub use secret::Secret;
pub use token::{constant_time_eq, hash_token, random_token, session_id};

use std::path::PathBuf;

/// Every failure this crate reports.
///
/// Messages never contain key material, plaintexts or the raw input that was
/// rejected, because errors end up in logs.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The master key text was not 32 bytes in base64 or hex.
    #[error("master key must be 32 bytes, encoded as standard base64 or 64 hex characters")]
    InvalidKeyEncoding,
    /// Reading, creating or writing the key file failed.
    #[error("key file {path}: {source}")]
    KeyFileIo {
        /// The key file or its directory.
        path: PathBuf,
        /// The underlying I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The key file can be read by users other than its owner.
    #[error(
        "key file {path} is accessible by group or others (mode {mode:o}); run `chmod 600` on it"
    )]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A stored value does not have the `v1.<keyid>.<payload>` shape.
    #[error("encrypted value is malformed")]
    Malformed,
    /// A stored value was encrypted under a key this ring does not hold.
    #[error("encrypted value uses unknown key id {0}")]
    UnknownKeyId(String),
    /// The ciphertext was tampered with, or belongs to another row or column.
    #[error("decryption failed: ciphertext or associated data does not authenticate")]
    AuthenticationFailed,
    /// The plaintext exceeds what AES-GCM can encrypt under one nonce.
    #[error("plaintext too large to encrypt")]
    PlaintextTooLarge,
    /// Decrypted bytes were expected to be UTF-8 but are not.
    #[error("decrypted value is not valid UTF-8")]
    NotUtf8,
    /// Argon2 rejected its input or parameters.
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
}

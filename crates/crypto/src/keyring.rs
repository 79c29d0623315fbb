//! Envelope encryption of secrets stored in database columns, with key
//! rotation and a master key file on disk.
//!
//! A stored value looks like `v1.<keyid>.<base64url(nonce || ciphertext+tag)>`.
//! The key id says which key of the ring can open it, so old rows stay
//! readable after rotation and can be re-encrypted lazily.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, Zeroizing};

use crate::{CryptoError, Secret};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const KEY_ID_LEN: usize = 8;
const FORMAT_VERSION: &str = "v1";
/// Domain separation, so these associated data bytes cannot collide with
/// any other use of the same key.
const AAD_DOMAIN: &[u8] = b"storesync.column.v1";

/// Associated data binding a ciphertext to the row and column it lives in,
/// so a value copied into another tenant, row or column fails to decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aad<'a> {
    /// The owning organization id.
    pub org: &'a str,
    /// The id of the row holding the value.
    pub record: &'a str,
    /// The table and column name, e.g. `"channels.api_secret"`.
    pub column: &'a str,
}

impl Aad<'_> {
    /// Encodes each field with a length prefix, so that ("ab", "c") and
    /// ("a", "bc") give different bytes.
    fn encode(&self) -> Vec<u8> {
        let fields = [self.org, self.record, self.column];
        let len = AAD_DOMAIN.len() + fields.iter().map(|f| 8 + f.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(AAD_DOMAIN);
        for field in fields {
            out.extend_from_slice(&(field.len() as u64).to_be_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out
    }
}

/// One AES-256-GCM key with its public id.
struct RingKey {
    id: String,
    bytes: Zeroizing<[u8; KEY_LEN]>,
    cipher: Aes256Gcm,
}

impl RingKey {
    fn new(bytes: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let digest = Sha256::digest(&bytes[..]);
        let mut id = hex::encode(&digest[..KEY_ID_LEN / 2]);
        id.truncate(KEY_ID_LEN);
        let cipher = Aes256Gcm::new(aes_gcm::Key::<Aes256Gcm>::from_slice(&bytes[..]));
        Self { id, bytes, cipher }
    }
}

/// One current key that encrypts, plus older keys kept only to decrypt
/// values written before a rotation.
pub struct KeyRing {
    current: RingKey,
    previous: Vec<RingKey>,
}

impl fmt::Debug for KeyRing {
    /// Shows only key ids, which are already public in every stored value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<&str> = self.previous.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("KeyRing")
            .field("current", &self.current.id)
            .field("previous", &previous)
            .finish()
    }
}

impl KeyRing {
    fn from_key(bytes: Zeroizing<[u8; KEY_LEN]>) -> Self {
        Self {
            current: RingKey::new(bytes),
            previous: Vec::new(),
        }
    }

    /// Generates a ring with one fresh random key.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(&mut bytes[..]);
        Self::from_key(bytes)
    }

    /// Parses a master key given as standard base64 or as 64 hex characters.
    ///
    /// The error never repeats the input, since it may be a real key with a
    /// typo in it.
    pub fn from_encoded(s: &str) -> Result<Self, CryptoError> {
        let s = s.trim();
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        // A 64-character hex key is also valid base64 (of 48 bytes), so hex
        // has to be tried first.
        if s.len() == 2 * KEY_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode_to_slice(s, &mut bytes[..]).map_err(|_| CryptoError::InvalidKeyEncoding)?;
            return Ok(Self::from_key(bytes));
        }
        let decoded = Zeroizing::new(
            STANDARD
                .decode(s)
                .map_err(|_| CryptoError::InvalidKeyEncoding)?,
        );
        if decoded.len() != KEY_LEN {
            return Err(CryptoError::InvalidKeyEncoding);
        }
        bytes.copy_from_slice(&decoded);
        Ok(Self::from_key(bytes))
    }

    /// Reads the master key file, or creates it with a new random key if it
    /// does not exist yet.
    ///
    /// On unix an existing file must not be accessible by group or others,
    /// and a new file is created with mode 0600 in a single step, so the key
    /// is never briefly readable by anyone else.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        match File::open(path) {
            Ok(file) => read_key_file(path, file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_key_file(path),
            Err(e) => Err(io_error(path, e)),
        }
    }

    /// Returns the current key as standard base64, for writing key files.
    pub fn encode_current(&self) -> Secret<String> {
        Secret::new(STANDARD.encode(&self.current.bytes[..]))
    }

    /// The id of the key new values are encrypted with.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// Rotation: keeps `self`'s current key for encryption and adds every key
    /// of `older` for decryption only.
    pub fn with_previous(mut self, older: KeyRing) -> KeyRing {
        let KeyRing { current, previous } = older;
        for key in std::iter::once(current).chain(previous) {
            let duplicate = self
                .keys()
                .any(|k| bool::from(k.bytes[..].ct_eq(&key.bytes[..])));
            if !duplicate {
                self.previous.push(key);
            }
        }
        self
    }

    fn keys(&self) -> impl Iterator<Item = &RingKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// Encrypts with the current key and a fresh random 96-bit nonce.
    ///
    /// Fails only for plaintexts beyond AES-GCM's limit of about 64 GiB.
    pub fn encrypt(&self, plaintext: &[u8], aad: &Aad<'_>) -> Result<String, CryptoError> {
        let key = &self.current;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = aad.encode();
        let sealed = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::PlaintextTooLarge)?;
        let mut payload = Vec::with_capacity(NONCE_LEN + sealed.len());
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(&sealed);
        Ok(format!(
            "{FORMAT_VERSION}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(&payload)
        ))
    }

    /// Encrypts a UTF-8 string; see [`KeyRing::encrypt`].
    pub fn encrypt_str(&self, plaintext: &str, aad: &Aad<'_>) -> Result<String, CryptoError> {
        self.encrypt(plaintext.as_bytes(), aad)
    }

    /// Decrypts a stored value with whichever key of the ring wrote it.
    pub fn decrypt(&self, stored: &str, aad: &Aad<'_>) -> Result<Secret<Vec<u8>>, CryptoError> {
        let (key_id, payload) = split_stored(stored)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| CryptoError::Malformed)?;
        if payload.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, sealed) = payload.split_at(NONCE_LEN);
        let nonce = aes_gcm::Nonce::from_slice(nonce);
        let aad = aad.encode();
        // Ids are only 32 bits, so two keys may share one; try each match.
        let mut candidates = self.keys().filter(|k| k.id == key_id).peekable();
        if candidates.peek().is_none() {
            return Err(CryptoError::UnknownKeyId(key_id.to_owned()));
        }
        candidates
            .find_map(|k| {
                k.cipher
                    .decrypt(
                        nonce,
                        Payload {
                            msg: sealed,
                            aad: &aad,
                        },
                    )
                    .ok()
            })
            .map(Secret::new)
            .ok_or(CryptoError::AuthenticationFailed)
    }

    /// Decrypts a value that was encrypted from a UTF-8 string.
    pub fn decrypt_string(
        &self,
        stored: &str,
        aad: &Aad<'_>,
    ) -> Result<Secret<String>, CryptoError> {
        let bytes = self.decrypt(stored, aad)?.into_inner();
        String::from_utf8(bytes).map(Secret::new).map_err(|e| {
            // The error owns the decrypted bytes; wipe them before dropping.
            e.into_bytes().zeroize();
            CryptoError::NotUtf8
        })
    }

    /// Whether a stored value should be rewritten under the current key.
    ///
    /// Malformed values also answer `true`, so that a re-encryption sweep
    /// reaches them and reports the error instead of skipping them silently.
    pub fn needs_reencryption(&self, stored: &str) -> bool {
        !matches!(split_stored(stored), Ok((id, _)) if id == self.current.id)
    }

    /// Decrypts with whichever key wrote the value and encrypts it again
    /// with the current key.
    pub fn reencrypt(&self, stored: &str, aad: &Aad<'_>) -> Result<String, CryptoError> {
        let plaintext = self.decrypt(stored, aad)?;
        self.encrypt(plaintext.expose(), aad)
    }
}

/// Splits `v1.<keyid>.<payload>` into key id and still-encoded payload.
fn split_stored(stored: &str) -> Result<(&str, &str), CryptoError> {
    let mut parts = stored.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(FORMAT_VERSION), Some(id), Some(payload), None)
            if id.len() == KEY_ID_LEN
                && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Ok((id, payload))
        }
        _ => Err(CryptoError::Malformed),
    }
}

fn io_error(path: &Path, source: io::Error) -> CryptoError {
    CryptoError::KeyFileIo {
        path: path.to_path_buf(),
        source,
    }
}

fn read_key_file(path: &Path, mut file: File) -> Result<KeyRing, CryptoError> {
    // Checking the open handle rather than the path avoids a race with the
    // file being swapped between the check and the read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file
            .metadata()
            .map_err(|e| io_error(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(CryptoError::KeyFilePermissions {
                path: path.to_path_buf(),
                mode: mode & 0o7777,
            });
        }
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text)
        .map_err(|e| io_error(path, e))?;
    KeyRing::from_encoded(&text)
}

fn create_key_file(path: &Path) -> Result<KeyRing, CryptoError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| io_error(dir, e))?;
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        // Another process created the file first; use its key, not ours.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let file = File::open(path).map_err(|e| io_error(path, e))?;
            return read_key_file(path, file);
        }
        Err(e) => return Err(io_error(path, e)),
    };
    let ring = KeyRing::generate();
    let mut text = Zeroizing::new(ring.encode_current().into_inner());
    text.push('\n');
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        // A half-written key file would fail every later start; remove it
        // so the next attempt starts clean.
        let _ = fs::remove_file(path);
        return Err(io_error(path, e));
    }
    Ok(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const AAD: Aad<'static> = Aad {
        org: "org_1",
        record: "rec_1",
        column: "channels.api_secret",
    };

    /// A unique scratch directory, removed when the test ends.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let mut suffix = [0u8; 8];
            OsRng.fill_bytes(&mut suffix);
            let dir =
                std::env::temp_dir().join(format!("storesync-crypto-{}", hex::encode(suffix)));
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn round_trip() {
        let ring = KeyRing::generate();
        let stored = ring.encrypt_str("s3cret", &AAD).unwrap();
        assert!(stored.starts_with(&format!("v1.{}.", ring.current_key_id())));
        assert!(!stored.contains("s3cret"));
        assert_eq!(
            ring.decrypt_string(&stored, &AAD).unwrap().expose(),
            "s3cret"
        );
        assert!(!ring.needs_reencryption(&stored));
    }

    #[test]
    fn same_plaintext_encrypts_differently() {
        let ring = KeyRing::generate();
        assert_ne!(
            ring.encrypt(b"x", &AAD).unwrap(),
            ring.encrypt(b"x", &AAD).unwrap()
        );
    }

    #[test]
    fn wrong_aad_fails() {
        let ring = KeyRing::generate();
        let stored = ring.encrypt(b"x", &AAD).unwrap();
        for aad in [
            Aad {
                org: "org_2",
                ..AAD
            },
            Aad {
                record: "rec_2",
                ..AAD
            },
            Aad {
                column: "channels.other",
                ..AAD
            },
        ] {
            assert!(matches!(
                ring.decrypt(&stored, &aad),
                Err(CryptoError::AuthenticationFailed)
            ));
        }
    }

    #[test]
    fn aad_encoding_is_unambiguous() {
        let a = Aad {
            org: "ab",
            record: "c",
            column: "d",
        };
        let b = Aad {
            org: "a",
            record: "bc",
            column: "d",
        };
        assert_ne!(a.encode(), b.encode());
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let ring = KeyRing::generate();
        let stored = ring.encrypt(b"hello", &AAD).unwrap();
        let (prefix, payload) = stored.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{prefix}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert!(matches!(
            ring.decrypt(&tampered, &AAD),
            Err(CryptoError::AuthenticationFailed)
        ));
        for bad in [
            "",
            "v1",
            "v2.00000000.AAAA",
            "v1.zzzzzzzz.AAAA",
            "v1.0000.AAAA",
        ] {
            assert!(matches!(
                ring.decrypt(bad, &AAD),
                Err(CryptoError::Malformed)
            ));
        }
    }

    #[test]
    fn rotation() {
        let old = KeyRing::generate();
        let old_copy = KeyRing::from_encoded(old.encode_current().expose()).unwrap();
        let stored = old.encrypt_str("token", &AAD).unwrap();

        let new_only = KeyRing::generate();
        let new_copy = KeyRing::from_encoded(new_only.encode_current().expose()).unwrap();
        let ring = new_copy.with_previous(old_copy);
        assert_eq!(
            ring.decrypt_string(&stored, &AAD).unwrap().expose(),
            "token"
        );
        assert!(ring.needs_reencryption(&stored));

        let fresh = ring.reencrypt(&stored, &AAD).unwrap();
        assert!(!ring.needs_reencryption(&fresh));
        assert_eq!(
            new_only.decrypt_string(&fresh, &AAD).unwrap().expose(),
            "token"
        );
    }

    #[test]
    fn unknown_key_id_fails() {
        let stored = KeyRing::generate().encrypt(b"x", &AAD).unwrap();
        assert!(matches!(
            KeyRing::generate().decrypt(&stored, &AAD),
            Err(CryptoError::UnknownKeyId(_))
        ));
    }

    #[test]
    fn from_encoded_accepts_base64_and_hex() {
        let key = [7u8; KEY_LEN];
        let from_b64 = KeyRing::from_encoded(&STANDARD.encode(key)).unwrap();
        let from_hex = KeyRing::from_encoded(&hex::encode(key)).unwrap();
        assert_eq!(from_b64.current_key_id(), from_hex.current_key_id());
        let expected = &hex::encode(Sha256::digest(key))[..KEY_ID_LEN];
        assert_eq!(from_b64.current_key_id(), expected);
        for bad in [
            "",
            "abcd",
            &STANDARD.encode([7u8; 16]),
            &hex::encode([7u8; 31]),
            "not a key!",
        ] {
            let err = KeyRing::from_encoded(bad).unwrap_err();
            assert!(matches!(err, CryptoError::InvalidKeyEncoding));
        }
    }

    #[test]
    fn debug_reveals_no_key_bytes() {
        let ring = KeyRing::generate();
        let encoded = ring.encode_current();
        let bytes = STANDARD.decode(encoded.expose()).unwrap();
        let debug = format!("{ring:?} {encoded:?}");
        assert!(debug.contains(ring.current_key_id()));
        assert!(!debug.contains(encoded.expose().as_str()));
        assert!(!debug.contains(&hex::encode(&bytes)));
        assert!(!debug.contains(&format!("{:?}", &bytes[..4])));
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_created_private_and_reloaded() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = TempDir::new();
        let path = dir.0.join("nested").join("master.key");
        let created = KeyRing::load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let reloaded = KeyRing::load_or_create(&path).unwrap();
        assert_eq!(created.current_key_id(), reloaded.current_key_id());
    }

    #[cfg(unix)]
    #[test]
    fn readable_key_file_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = TempDir::new();
        fs::create_dir_all(&dir.0).unwrap();
        let path = dir.0.join("master.key");
        fs::write(&path, KeyRing::generate().encode_current().expose()).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = KeyRing::load_or_create(&path).unwrap_err();
        assert!(matches!(
            err,
            CryptoError::KeyFilePermissions { mode: 0o644, .. }
        ));
        assert!(err.to_string().contains("chmod 600"));
    }
}

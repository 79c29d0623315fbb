//! A wrapper that keeps secret values out of logs and wipes them on drop.

use std::fmt;

use zeroize::Zeroize;

/// A secret value whose `Debug` output is redacted and whose memory is
/// zeroed when it is dropped.
///
/// The `Zeroize` bound is what makes the wipe possible for every `T`; it is
/// implemented for `String`, `Vec<u8>`, byte arrays and the integer types.
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Borrows the secret; call sites that use it are easy to audit by name.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize + Default> Secret<T> {
    /// Unwraps the secret, making the caller responsible for it.
    ///
    /// The value is swapped out for its default so that the wrapper's own
    /// drop only has an empty value left to wipe.
    pub fn into_inner(mut self) -> T {
        std::mem::take(&mut self.0)
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize + Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl<T: Zeroize> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = Secret::new(String::from("hunter2"));
        assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
        assert_eq!(
            format!("{:?}", Some(secret.clone())),
            "Some(Secret([REDACTED]))"
        );
    }

    #[test]
    fn expose_and_into_inner_return_the_value() {
        let secret = Secret::new(vec![1u8, 2, 3]);
        assert_eq!(secret.expose(), &[1, 2, 3]);
        assert_eq!(secret.into_inner(), vec![1, 2, 3]);
    }
}

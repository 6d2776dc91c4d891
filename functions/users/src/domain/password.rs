//! Passwords and their hashes. Neither ever appears in a log line or a response: `Debug` is
//! redacted and neither type implements `Serialize` or `Display`.

use std::fmt;

/// Fewest characters a new password may have (NIST SP 800-63B recommends at least 8; more is
/// cheap for a shop account).
pub const MIN_CHARS: usize = 10;
/// Most bytes a password may have. Bounds the work an attacker can make each hash do.
pub const MAX_BYTES: usize = 128;

/// A candidate password, as typed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// Why a new password was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must be at least {MIN_CHARS} characters")]
    TooShort,
    #[error("must be at most {MAX_BYTES} bytes")]
    TooLong,
    #[error("must not be only whitespace")]
    Blank,
}

impl Password {
    /// A new password, checked against the policy.
    ///
    /// # Errors
    /// A [`PasswordError`].
    pub fn new(raw: String) -> Result<Self, PasswordError> {
        if raw.len() > MAX_BYTES {
            return Err(PasswordError::TooLong);
        }
        if raw.chars().count() < MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if raw.trim().is_empty() {
            return Err(PasswordError::Blank);
        }
        Ok(Self(raw))
    }

    /// A password offered at login: not checked against the policy (it may predate it), only
    /// bounded in size. `None` when too long to be any account's password.
    #[must_use]
    pub fn offered(raw: String) -> Option<Self> {
        (raw.len() <= MAX_BYTES).then_some(Self(raw))
    }

    /// The bytes to hash.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A password hash in PHC string format (`$argon2id$v=19$m=...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored PHC string.
    #[must_use]
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storage.
    #[must_use]
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_bounds_length_and_refuses_blank_passwords() {
        assert_eq!(Password::new("short".into()), Err(PasswordError::TooShort));
        assert_eq!(Password::new(" ".repeat(12)), Err(PasswordError::Blank));
        assert_eq!(
            Password::new("x".repeat(MAX_BYTES + 1)),
            Err(PasswordError::TooLong)
        );
        assert!(Password::new("correct horse battery".into()).is_ok());
        // Ten characters, more than ten bytes: characters count for the minimum.
        assert!(Password::new("ééééééééééé".into()).is_ok());
    }

    #[test]
    fn an_offered_password_is_only_bounded_in_size() {
        assert!(Password::offered("short".into()).is_some());
        assert!(Password::offered("x".repeat(MAX_BYTES + 1)).is_none());
    }

    #[test]
    fn debug_output_never_shows_a_password_or_a_hash() {
        let password = Password::new("correct horse battery".into()).unwrap();
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        let hash = PasswordHash::from_phc("$argon2id$secret".into());
        assert_eq!(format!("{hash:?}"), "PasswordHash(<redacted>)");
    }
}

//! Display names.

const MAX_CHARS: usize = 100;

/// A person's display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

/// Why a name was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("is required")]
    Empty,
    #[error("must be at most {MAX_CHARS} characters")]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacters,
}

impl Name {
    /// Parses a name.
    ///
    /// # Errors
    /// A [`NameError`].
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        if trimmed.chars().count() > MAX_CHARS {
            return Err(NameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(NameError::ControlCharacters);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_and_may_be_any_script() {
        assert_eq!(
            Name::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert_eq!(Name::parse("李小龍").unwrap().as_str(), "李小龍");
    }

    #[test]
    fn empty_long_and_control_names_are_refused() {
        assert_eq!(Name::parse(" \t "), Err(NameError::Empty));
        assert_eq!(Name::parse(&"é".repeat(101)), Err(NameError::TooLong));
        assert!(Name::parse(&"é".repeat(100)).is_ok());
        assert_eq!(Name::parse("Ada\u{0}"), Err(NameError::ControlCharacters));
    }
}

//! Email addresses, parsed once at the edge.

use std::fmt;

/// Longest address SMTP allows (RFC 5321 path limit minus the brackets).
const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

/// A syntactically valid email address, normalised: surrounding whitespace trimmed and the
/// domain lowercased (the local part keeps its case, as RFC 5321 allows it to matter).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why a string is not an acceptable email address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("is required")]
    Empty,
    #[error("must be at most {MAX_LEN} characters")]
    TooLong,
    #[error("must look like name@example.com")]
    Malformed,
}

fn valid_local(local: &str) -> bool {
    (1..=MAX_LOCAL_LEN).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

impl Email {
    /// Parses and normalises an address.
    ///
    /// # Errors
    /// An [`EmailError`] saying what is wrong.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::Malformed)?;
        let domain = domain.to_ascii_lowercase();
        if !valid_local(local) || !valid_domain(&domain) {
            return Err(EmailError::Malformed);
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    /// The normalised address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The uniqueness and login key: the whole address lowercased, so `Ada@x.org` and
    /// `ada@x.org` are one account, as every user expects.
    #[must_use]
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_address_is_trimmed_and_its_domain_lowercased() {
        let email = Email::parse("  Ada.Lovelace@Example.ORG \n").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace@example.org");
        assert_eq!(email.key(), "ada.lovelace@example.org");
    }

    #[test]
    fn plus_addressing_and_subdomains_are_valid() {
        assert!(Email::parse("ada+shop@mail.example.co.uk").is_ok());
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "ada",
            "ada@",
            "@example.org",
            "ada@example",
            "ada@@example.org",
            "a da@example.org",
            ".ada@example.org",
            "ada.@example.org",
            "a..da@example.org",
            "ada@-example.org",
            "ada@example.o",
            "ada@exa_mple.org",
            "ädä@example.org",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn empty_and_overlong_addresses_say_so() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        let long = format!("{}@{}.org", "a".repeat(64), "b".repeat(200));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_is_idempotent(raw in "\\PC{0,80}") {
            if let Ok(email) = Email::parse(&raw) {
                prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email.clone());
                prop_assert!(email.as_str().len() <= MAX_LEN);
            }
        }

        #[test]
        fn generated_plain_addresses_parse(local in "[a-z0-9]{1,20}", domain in "[a-z]{1,20}", tld in "[a-z]{2,6}") {
            let raw = format!("{local}@{domain}.{tld}");
            let email = Email::parse(&raw).unwrap();
            prop_assert_eq!(email.as_str(), raw.as_str());
        }
    }
}

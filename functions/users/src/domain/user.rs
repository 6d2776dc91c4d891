//! The user aggregate.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use shared::auth::Role;
use uuid::Uuid;

use super::{Email, Name, PasswordHash};

/// A user's id: the `sub` of their tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserId(pub Uuid);

impl UserId {
    /// A fresh id.
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses the `sub` claim.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self)
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A registered user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: Name,
    pub role: Role,
    pub password_hash: PasswordHash,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Incremented on every change; writes are conditional on it (optimistic concurrency).
    pub version: u64,
}

/// The emails that get the admin role when they register (`ADMIN_EMAILS`), so a fresh stack
/// has an operator. Compared by [`Email::key`].
#[derive(Clone, Debug, Default)]
pub struct AdminEmails(HashSet<String>);

impl AdminEmails {
    /// Parses a comma-separated list; blanks are skipped.
    ///
    /// # Errors
    /// The first entry that is not an email address.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                Email::parse(entry)
                    .map(|email| email.key())
                    .map_err(|_| entry.to_owned())
            })
            .collect::<Result<HashSet<_>, _>>()
            .map(Self)
    }

    /// The role a user registering with `email` gets.
    #[must_use]
    pub fn role_for(&self, email: &Email) -> Role {
        if self.0.contains(&email.key()) {
            Role::Admin
        } else {
            Role::Customer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_emails_become_admins_whatever_their_case() {
        let admins = AdminEmails::parse(" ops@example.org, ,Boss@Example.org").unwrap();
        assert_eq!(
            admins.role_for(&Email::parse("OPS@example.org").unwrap()),
            Role::Admin
        );
        assert_eq!(
            admins.role_for(&Email::parse("boss@example.org").unwrap()),
            Role::Admin
        );
        assert_eq!(
            admins.role_for(&Email::parse("ada@example.org").unwrap()),
            Role::Customer
        );
    }

    #[test]
    fn a_malformed_admin_list_names_the_bad_entry() {
        assert_eq!(
            AdminEmails::parse("ops@example.org,nope").unwrap_err(),
            "nope"
        );
        assert_eq!(
            AdminEmails::parse("")
                .unwrap()
                .role_for(&Email::parse("a@b.org").unwrap()),
            Role::Customer
        );
    }
}

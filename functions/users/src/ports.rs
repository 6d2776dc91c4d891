//! What the users use cases need from the outside world, one trait per capability: users-api
//! takes [`Users`], [`LoginFailures`] and a [`PasswordHasher`], exactly what its IAM policy
//! allows (the signing keys are read once at cold start, in `bin/`); the operator's
//! `users-admin` takes only [`Users`].

use std::future::Future;

use chrono::{DateTime, Utc};

use shared::envelope::EventEnvelope;
use shared::events::{Event, UserRegistered};

use crate::domain::{Password, PasswordHash, User, UserId};

/// Why a new user could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// Another account holds this email (by [`crate::domain::Email::key`]).
    #[error("email already registered")]
    EmailTaken,
    /// A concurrent transaction on the same items (DynamoDB's `TransactionConflict`) cancelled
    /// this one; nothing was written, and trying again gives the real answer.
    #[error("registration conflicted with a concurrent write")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a user update could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum UpdateUserError {
    /// Another account holds the new email.
    #[error("email already registered")]
    EmailTaken,
    /// The stored user changed since it was read (its version moved on).
    #[error("user changed concurrently")]
    Stale,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Users, their email claims and their outbox: users-api (IAM `GetItem`, and `PutItem` and
/// `DeleteItem` inside `TransactWriteItems`) and the operator's `users-admin`.
pub trait Users: Send + Sync {
    /// Stores a new user, claims its email and records `event` in the outbox, atomically.
    fn create(
        &self,
        user: &User,
        event: &EventEnvelope<UserRegistered>,
    ) -> impl Future<Output = Result<(), CreateUserError>> + Send;

    /// The user whose [`crate::domain::Email::key`] is `email_key`.
    fn find_by_email(
        &self,
        email_key: &str,
    ) -> impl Future<Output = anyhow::Result<Option<User>>> + Send;

    /// The user with `id`.
    fn get(&self, id: UserId) -> impl Future<Output = anyhow::Result<Option<User>>> + Send;

    /// Replaces `previous` (same id, same version as stored) with `updated`, moving the email
    /// claim if the email changed, and records `event` in the outbox, atomically. Profile
    /// changes and role changes both go through here: one conditional write per user version.
    fn update<E: Event>(
        &self,
        previous: &User,
        updated: &User,
        event: &EventEnvelope<E>,
    ) -> impl Future<Output = Result<(), UpdateUserError>> + Send;
}

/// Password hashing. Implementations are CPU-bound and synchronous; use cases run them off the
/// async executor.
pub trait PasswordHasher: Clone + Send + Sync + 'static {
    /// Hashes a new password with a fresh salt.
    ///
    /// # Errors
    /// Only if the hashing library fails (e.g. cannot get randomness).
    fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash>;

    /// Whether `password` matches `hash`.
    fn verify(&self, password: &Password, hash: &PasswordHash) -> bool;

    /// Does the work of one [`verify`](Self::verify) against a hash no password matches, so a
    /// login for an unknown email takes as long as one with a wrong password.
    fn verify_dummy(&self, password: &[u8]);
}

/// One fixed window of time in which failed logins are counted (see
/// [`crate::service::LoginLimit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Counts of failed logins per email key and window, kept beside the users (and expiring):
/// users-api (IAM `GetItem`, `UpdateItem`, `DeleteItem`).
pub trait LoginFailures: Send + Sync {
    /// The failures counted for `email_key` in `window`.
    fn failures(
        &self,
        email_key: &str,
        window: FailureWindow,
    ) -> impl Future<Output = anyhow::Result<u32>> + Send;

    /// Counts one more failure for `email_key` in `window`, atomically.
    fn record_failure(
        &self,
        email_key: &str,
        window: FailureWindow,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Forgets the failures counted for `email_key` in `window`.
    fn clear(
        &self,
        email_key: &str,
        window: FailureWindow,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

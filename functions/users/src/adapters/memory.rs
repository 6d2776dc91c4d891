//! In-memory fakes of the ports, with the same semantics as the real adapters (atomic writes,
//! unique emails, version checks). Public so handler tests in any crate can use them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use shared::envelope::EventEnvelope;
use shared::events::{Event, UserRegistered};
use shared::memory::{Countdown, Locked, Outbox};

use crate::domain::{Password, PasswordHash, User, UserId};
use crate::ports::{
    CreateUserError, FailureWindow, LoginFailures, PasswordHasher, UpdateUserError, Users,
};

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, User>,
    emails: HashMap<String, UserId>,
    /// Failed logins by (email key, window start).
    login_failures: HashMap<(String, i64), u32>,
    outbox: Outbox,
}

/// Users, email claims and outbox in a `HashMap`.
#[derive(Debug, Default)]
pub struct InMemoryUserRepository {
    state: Locked<State>,
    /// How many of the next `create` calls lose to a concurrent transaction.
    create_conflicts: Countdown,
    creates: AtomicUsize,
}

impl InMemoryUserRepository {
    /// The next `n` `create` calls fail with [`CreateUserError::Conflict`] and write nothing,
    /// as DynamoDB cancels a transaction that races another one on the same items.
    pub fn inject_create_conflicts(&self, n: u32) {
        self.create_conflicts.arm(n);
    }

    /// How many times `create` was called (conflicted attempts included).
    #[must_use]
    pub fn create_attempts(&self) -> usize {
        self.creates.load(Ordering::SeqCst)
    }

    /// The events recorded in the outbox so far: `(type, envelope JSON)`.
    #[must_use]
    pub fn outbox(&self) -> Vec<(String, serde_json::Value)> {
        self.state.read(|s| s.outbox.events())
    }
}

impl Users for InMemoryUserRepository {
    async fn create(
        &self,
        user: &User,
        event: &EventEnvelope<UserRegistered>,
    ) -> Result<(), CreateUserError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        if self.create_conflicts.take() {
            return Err(CreateUserError::Conflict);
        }
        let mut state = self.state.lock()?;
        if state.emails.contains_key(&user.email.key()) {
            return Err(CreateUserError::EmailTaken);
        }
        state.emails.insert(user.email.key(), user.id);
        state.users.insert(user.id, user.clone());
        state.outbox.record(event)?;
        Ok(())
    }

    async fn find_by_email(&self, email_key: &str) -> anyhow::Result<Option<User>> {
        let state = self.state.lock()?;
        Ok(state
            .emails
            .get(email_key)
            .and_then(|id| state.users.get(id))
            .cloned())
    }

    async fn get(&self, id: UserId) -> anyhow::Result<Option<User>> {
        Ok(self.state.lock()?.users.get(&id).cloned())
    }

    async fn update<E: Event>(
        &self,
        previous: &User,
        updated: &User,
        event: &EventEnvelope<E>,
    ) -> Result<(), UpdateUserError> {
        let mut state = self.state.lock()?;
        if state.users.get(&previous.id).map(|u| u.version) != Some(previous.version) {
            return Err(UpdateUserError::Stale);
        }
        let (old_key, new_key) = (previous.email.key(), updated.email.key());
        if old_key != new_key {
            if state.emails.contains_key(&new_key) {
                return Err(UpdateUserError::EmailTaken);
            }
            state.emails.remove(&old_key);
            state.emails.insert(new_key, updated.id);
        }
        state.users.insert(updated.id, updated.clone());
        state.outbox.record(event)?;
        Ok(())
    }
}

impl LoginFailures for InMemoryUserRepository {
    async fn failures(&self, email_key: &str, window: FailureWindow) -> anyhow::Result<u32> {
        let key = (email_key.to_owned(), window.start.timestamp());
        Ok(self
            .state
            .lock()?
            .login_failures
            .get(&key)
            .copied()
            .unwrap_or(0))
    }

    async fn record_failure(&self, email_key: &str, window: FailureWindow) -> anyhow::Result<()> {
        let key = (email_key.to_owned(), window.start.timestamp());
        *self.state.lock()?.login_failures.entry(key).or_default() += 1;
        Ok(())
    }

    async fn clear(&self, email_key: &str, window: FailureWindow) -> anyhow::Result<()> {
        let key = (email_key.to_owned(), window.start.timestamp());
        self.state.lock()?.login_failures.remove(&key);
        Ok(())
    }
}

/// A transparent "hash" that counts its calls: lets tests check that every login path does
/// exactly one verification's worth of work, without Argon2's cost.
#[derive(Clone, Debug, Default)]
pub struct CountingHasher {
    verifications: Arc<AtomicUsize>,
}

impl CountingHasher {
    /// How many verifications (real or dummy) were done.
    #[must_use]
    pub fn verifications(&self) -> usize {
        self.verifications.load(Ordering::SeqCst)
    }
}

impl PasswordHasher for CountingHasher {
    fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash> {
        Ok(PasswordHash::from_phc(format!(
            "plain:{}",
            String::from_utf8_lossy(password.expose())
        )))
    }

    fn verify(&self, password: &Password, hash: &PasswordHash) -> bool {
        self.verifications.fetch_add(1, Ordering::SeqCst);
        hash.as_phc().strip_prefix("plain:").map(str::as_bytes) == Some(password.expose())
    }

    fn verify_dummy(&self, _password: &[u8]) {
        self.verifications.fetch_add(1, Ordering::SeqCst);
    }
}

//! Building blocks of the services' in-memory adapters, the fakes their handler tests and port
//! contracts run on: state behind a lock, the outbox every service table keeps, and the inbox
//! markers that make a consumer apply an event once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use uuid::Uuid;

use crate::dynamo::Applied;
use crate::envelope::EventEnvelope;
use crate::events::Event;

/// A memory adapter's state behind one lock: each port call holds it from its checks to its
/// writes, so a call is all-or-nothing as DynamoDB's conditional writes and transactions are.
#[derive(Debug, Default)]
pub struct Locked<T>(Mutex<T>);

impl<T> Locked<T> {
    /// The state.
    ///
    /// # Errors
    /// When a test panicked while holding it (the lock is poisoned).
    pub fn lock(&self) -> anyhow::Result<MutexGuard<'_, T>> {
        self.0
            .lock()
            .map_err(|_| anyhow::anyhow!("in-memory store poisoned"))
    }

    /// What `read` takes from the state, for a test's assertions; the default when the lock is
    /// poisoned (the test that poisoned it has failed already).
    pub fn read<R: Default>(&self, read: impl FnOnce(&T) -> R) -> R {
        self.0.lock().map(|state| read(&state)).unwrap_or_default()
    }
}

/// The events a memory adapter published, in order, as `(type, envelope JSON)`.
#[derive(Clone, Debug, Default)]
pub struct Outbox(Vec<(String, serde_json::Value)>);

impl Outbox {
    /// Records `event`, as the outbox item of a transaction would.
    ///
    /// # Errors
    /// When the envelope does not serialise.
    pub fn record<E: Event>(&mut self, event: &EventEnvelope<E>) -> anyhow::Result<()> {
        self.0
            .push((E::TYPE.to_owned(), serde_json::to_value(event)?));
        Ok(())
    }

    /// Every event recorded so far.
    #[must_use]
    pub fn events(&self) -> Vec<(String, serde_json::Value)> {
        self.0.clone()
    }
}

/// How many of the next calls a test wants to fail (a lost race, a throttle): armed with
/// [`arm`](Self::arm), used up one call at a time by [`take`](Self::take).
#[derive(Debug, Default)]
pub struct Countdown(AtomicU32);

impl Countdown {
    /// Makes the next `calls` calls fail.
    pub fn arm(&self, calls: u32) {
        self.0.store(calls, Ordering::SeqCst);
    }

    /// Whether this call is one of them (counting it off).
    pub fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }
}

/// Records the inbox marker of event `id` in `inbox`: [`Applied::AlreadyProcessed`] when it was
/// there already, as [`crate::dynamo::acknowledge`] answers.
pub fn acknowledge(inbox: &mut HashSet<Uuid>, id: Uuid) -> Applied {
    if inbox.insert(id) {
        Applied::Done
    } else {
        Applied::AlreadyProcessed
    }
}

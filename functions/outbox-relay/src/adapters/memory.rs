//! In-memory publisher and outbox, for tests: they record what was done to them and fail on
//! demand.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::domain::{OutboxMessage, PublishFailure};
use crate::ports::{EventPublisher, MAX_BATCH, OutboxMarker, PendingOutbox};

/// A publisher that records every call and what it published, and fails on demand.
#[derive(Debug, Default)]
pub struct InMemoryPublisher {
    published: Mutex<Vec<OutboxMessage>>,
    /// The size of every `publish_batch` call, in order.
    batches: Mutex<Vec<usize>>,
    /// Event ids that fail, with how many more times each fails (`u32::MAX`: always) and
    /// whether retryably.
    failures: Mutex<Vec<(String, u32, bool)>>,
}

impl InMemoryPublisher {
    /// Makes `event_id` fail its next `times` attempts, retryably or not.
    pub fn fail(&self, event_id: &str, times: u32, retryable: bool) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.push((event_id.to_owned(), times, retryable));
        }
    }

    /// Everything published so far, in order.
    #[must_use]
    pub fn published(&self) -> Vec<OutboxMessage> {
        self.published.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Whether the event `event_id` was published.
    #[must_use]
    pub fn has_published(&self, event_id: &str) -> bool {
        self.published
            .lock()
            .is_ok_and(|p| p.iter().any(|m| m.event_id == event_id))
    }

    /// The number of messages of every call so far, in order.
    #[must_use]
    pub fn batches(&self) -> Vec<usize> {
        self.batches.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

impl EventPublisher for InMemoryPublisher {
    async fn publish_batch(&self, messages: &[OutboxMessage]) -> Vec<Result<(), PublishFailure>> {
        assert!(
            messages.len() <= MAX_BATCH,
            "SNS would refuse a batch of {}",
            messages.len()
        );
        let (Ok(mut failures), Ok(mut published), Ok(mut batches)) = (
            self.failures.lock(),
            self.published.lock(),
            self.batches.lock(),
        ) else {
            return Vec::new();
        };
        batches.push(messages.len());
        messages
            .iter()
            .map(|message| {
                if let Some(entry) = failures
                    .iter_mut()
                    .find(|(id, left, _)| *id == message.event_id && *left > 0)
                {
                    entry.1 = entry.1.saturating_sub(1);
                    return Err(PublishFailure {
                        code: "InternalError".into(),
                        reason: "injected".into(),
                        retryable: entry.2,
                    });
                }
                published.push(message.clone());
                Ok(())
            })
            .collect()
    }
}

/// An outbox item in memory: when it was written, the message, whether it was published.
type StoredItem = (DateTime<Utc>, OutboxMessage, bool);

/// Outbox items in memory, by event id.
#[derive(Debug, Default)]
pub struct InMemoryOutboxStore {
    items: Mutex<BTreeMap<String, StoredItem>>,
}

impl InMemoryOutboxStore {
    /// Adds a pending item written at `at`.
    pub fn add(&self, at: DateTime<Utc>, message: OutboxMessage) {
        if let Ok(mut items) = self.items.lock() {
            items.insert(message.event_id.clone(), (at, message, false));
        }
    }

    /// Whether the item of `event_id` was marked published.
    #[must_use]
    pub fn is_published(&self, event_id: &str) -> bool {
        self.items
            .lock()
            .ok()
            .and_then(|items| items.get(event_id).map(|(_, _, published)| *published))
            .unwrap_or(false)
    }
}

impl OutboxMarker for InMemoryOutboxStore {
    async fn mark_published(&self, message: &OutboxMessage) -> anyhow::Result<()> {
        let mut items = self.items.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        if let Some(entry) = items.get_mut(&message.event_id) {
            entry.2 = true;
        }
        Ok(())
    }
}

impl PendingOutbox for InMemoryOutboxStore {
    async fn pending_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i32,
    ) -> anyhow::Result<Vec<OutboxMessage>> {
        let items = self.items.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        let mut pending: Vec<_> = items
            .values()
            .filter(|(at, _, published)| !published && *at < cutoff)
            .collect();
        pending.sort_by_key(|(at, _, _)| *at);
        Ok(pending
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|(_, m, _)| m.clone())
            .collect())
    }
}

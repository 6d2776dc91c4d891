//! What the relay and the sweeper need from the world, each port sized to what the functions'
//! IAM policies allow: `sns:Publish` on the service's topic; `dynamodb:UpdateItem` on the table
//! (marking) and, for the sweeper only, `dynamodb:Query` on its `outbox-pending` index.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::domain::{OutboxMessage, PublishFailure};

/// The most messages one [`EventPublisher::publish_batch`] call takes (SNS `PublishBatch`'s
/// limit).
pub const MAX_BATCH: usize = 10;

/// Publishes events to the service's topic.
pub trait EventPublisher: Send + Sync {
    /// Publishes up to [`MAX_BATCH`] messages in one call; returns one outcome per message, in
    /// order. A failure of the whole call is a retryable failure of every message.
    fn publish_batch(
        &self,
        messages: &[OutboxMessage],
    ) -> impl Future<Output = Vec<Result<(), PublishFailure>>> + Send;
}

/// Marks a table's outbox items published: the relay's and the sweeper's capability.
pub trait OutboxMarker: Send + Sync {
    /// Records that `message` reached the topic (drops it from the pending index). Marking an
    /// item that no longer exists (expired by TTL) succeeds: there is nothing left to mark.
    fn mark_published(
        &self,
        message: &OutboxMessage,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Finds a table's outbox items nobody published: the sweeper's capability alone.
pub trait PendingOutbox: Send + Sync {
    /// Up to `limit` outbox items still pending that were written before `cutoff`, oldest first.
    fn pending_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i32,
    ) -> impl Future<Output = anyhow::Result<Vec<OutboxMessage>>> + Send;
}

//! What the relay moves: an outbox item's event, and why publishing one failed.

/// One event to publish, read from an outbox item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Where the item was read: the stream record's sequence number, which is what a failure is
    /// reported to Lambda by; for the sweeper, the item's `created_at` (for logs only).
    pub sequence_number: String,
    /// The event id: the outbox item's key, and what consumers deduplicate on.
    pub event_id: String,
    /// The envelope `type`, published as the `event_type` message attribute.
    pub event_type: String,
    /// The envelope JSON, published as the message body.
    pub body: String,
}

/// Why one message was not published.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct PublishFailure {
    /// The publisher's error code (SNS's), or `Unexpected` for transport errors.
    pub code: String,
    /// Details for the log.
    pub reason: String,
    /// Whether trying again may succeed (SNS: not a sender fault).
    pub retryable: bool,
}

impl PublishFailure {
    /// A failure of the whole call (transport, throttling of the call): every entry may succeed
    /// when tried again.
    #[must_use]
    pub fn unexpected(reason: impl Into<String>) -> Self {
        Self {
            code: "Unexpected".into(),
            reason: reason.into(),
            retryable: true,
        }
    }
}

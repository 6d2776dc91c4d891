//! What the notification use cases need, one trait per capability: notifications-api takes
//! [`NotificationHistory`] (it may only `Query`), notifications-worker [`Recipients`],
//! [`Notifications`], [`Inbox`] and a [`NotificationSender`], each exactly what its IAM policy
//! allows.

use shared::pagination::{KeyPage, StartKey};
use std::future::Future;

use shared::envelope::EventEnvelope;
use shared::events::DomainEvent;
use uuid::Uuid;

use crate::domain::{Message, Notification, Recipient};

/// The event being consumed.
pub type Consumed = EventEnvelope<DomainEvent>;

/// Outcome of a write that consumes an event.
pub use shared::dynamo::Applied;

/// The result of trying to take a notification for sending.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// This worker sends it now (the record, as stored, with `attempts` counted).
    Claimed(Box<Notification>),
    /// It was sent before: nothing to do.
    AlreadySent,
    /// Another worker holds it; try later.
    InProgress,
}

/// The recipient directory: notifications-worker (IAM `GetItem`, `UpdateItem`).
pub trait Recipients: Send + Sync {
    /// Stores `recipient` unless a newer version of it is stored.
    fn upsert_recipient(
        &self,
        recipient: &Recipient,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// The recipient of `user_id`, if known.
    fn recipient(
        &self,
        user_id: Uuid,
    ) -> impl Future<Output = anyhow::Result<Option<Recipient>>> + Send;
}

/// Sending each notification once: notifications-worker (IAM `GetItem`, `UpdateItem`, and
/// `PutItem` and `UpdateItem` inside `TransactWriteItems`).
pub trait Notifications: Send + Sync {
    /// Creates `fresh` (status sending) or takes over a failed or abandoned record of the same
    /// (user, event), counting the attempt.
    fn claim(
        &self,
        fresh: &Notification,
        lease: chrono::Duration,
    ) -> impl Future<Output = anyhow::Result<Claim>> + Send;

    /// Marks a claimed notification sent, with the inbox marker of `consumed`, atomically.
    fn mark_sent(
        &self,
        consumed: &Consumed,
        notification: &Notification,
        provider_message_id: &str,
    ) -> impl Future<Output = anyhow::Result<Applied>> + Send;

    /// Marks a claimed notification failed (it stays retryable).
    fn mark_failed(
        &self,
        notification: &Notification,
        error: &str,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// A user's notifications, for reading: notifications-api (IAM `Query`).
pub trait NotificationHistory: Send + Sync {
    /// A user's notifications, newest first, from `start` (a key a previous page ended with).
    fn list(
        &self,
        user_id: Uuid,
        limit: i32,
        start: Option<StartKey>,
    ) -> impl Future<Output = anyhow::Result<KeyPage<Notification>>> + Send;
}

/// Acknowledging an event that needs no change: notifications-worker (IAM `PutItem` inside
/// `TransactWriteItems`).
pub trait Inbox: Send + Sync {
    /// Records only the inbox marker of `consumed`.
    fn acknowledge(
        &self,
        consumed: &Consumed,
    ) -> impl Future<Output = anyhow::Result<Applied>> + Send;
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
#[error("sending failed: {0:#}")]
pub struct SendError(#[source] pub anyhow::Error);

/// Delivers a rendered message to an address; returns the provider's message id.
pub trait NotificationSender: Send + Sync {
    fn send(
        &self,
        to: &str,
        message: &Message,
    ) -> impl Future<Output = Result<String, SendError>> + Send;
}

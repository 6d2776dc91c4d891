//! What the notification use cases need: the table (recipients and notification records) and
//! a sender.

use shared::pagination::{KeyPage, StartKey};
use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::envelope::EventEnvelope;
use shared::events::DomainEvent;
use uuid::Uuid;

use crate::render::Message;

/// The event being consumed.
pub type Consumed = EventEnvelope<DomainEvent>;

/// Outcome of a write that consumes an event.
pub use shared::dynamo::Applied;

/// Where to reach a user, as learned from user events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    /// Time of the user event this reflects; an older event never overwrites a newer one.
    pub as_of: DateTime<Utc>,
}

/// Where a notification is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    /// A worker is sending it (until its lease expires).
    Sending,
    Sent,
    /// The last send failed; the event will be retried.
    Failed,
}

/// One notification: exactly one per (user, event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub user_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub event_time: DateTime<Utc>,
    pub channel: String,
    pub recipient: String,
    pub message: Message,
    pub status: NotificationStatus,
    pub attempts: u32,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

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

/// The notifications table.
pub trait NotificationStore: Send + Sync {
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

    /// A user's notifications, newest first, from `start` (a key a previous page ended with).
    fn list(
        &self,
        user_id: Uuid,
        limit: i32,
        start: Option<StartKey>,
    ) -> impl Future<Output = anyhow::Result<KeyPage<Notification>>> + Send;

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

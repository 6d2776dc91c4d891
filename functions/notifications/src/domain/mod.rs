//! What the notifications service knows, without any I/O: the recipients it learned from user
//! events, the notification records it keeps (one per user and event), and the messages it
//! renders for them.

pub mod render;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use render::Message;

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

//! The notification use cases.

use chrono::{Duration, Utc};
use shared::pagination::{KeyPage, StartKey};
use uuid::Uuid;

use crate::domain::{Message, Notification, NotificationStatus, Recipient};
use crate::ports::{
    Applied, Claim, Consumed, Inbox, NotificationHistory, NotificationSender, Notifications,
    Recipients, SendError,
};

/// How long a worker may hold a notification while sending before another may take over.
///
/// A claim is taken inside an invocation, and Lambda stops every invocation at the function's
/// timeout (10 s), so a claim older than that has no living holder. The lease is three times
/// that. It must also end well before SQS gives up on the message: a record that finds a live
/// lease fails (`InProgress`) and returns after the queue's visibility timeout, and the fifth
/// failure dead-letters it, so the lease has to be shorter than four of the shortest visibility
/// timeouts the template allows (a test holds it to that). A longer lease would send the event
/// of a worker that died after claiming (its `mark_sent` or `mark_failed` lost) to the DLQ.
pub const SEND_LEASE: Duration = Duration::seconds(30);

/// What the worker did, for logs and tests.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    RecipientUpdated,
    Duplicate,
    Ignored,
}

/// Why an event could not be handled now; the record is retried, then dead-lettered.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The user's registration has not arrived yet (events are not ordered): retry later.
    #[error("recipient {0} is not known yet")]
    UnknownRecipient(Uuid),
    /// Another delivery of this event is sending it.
    #[error("notification for event {0} is being sent by another worker")]
    InProgress(Uuid),
    #[error(transparent)]
    Send(#[from] SendError),
    /// Sending failed and recording that failed too: both causes, neither lost.
    #[error("{send}; recording the failure failed too: {mark:#}")]
    SendAndRecord {
        send: SendError,
        mark: anyhow::Error,
    },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Learns (or updates) where to reach a user.
///
/// # Errors
/// [`NotifyError::Unexpected`].
pub async fn remember_recipient<S: Recipients>(
    store: &S,
    consumed: &Consumed,
    user_id: Uuid,
    email: &str,
    name: &str,
) -> Result<(), NotifyError> {
    let recipient = Recipient {
        user_id,
        email: email.to_owned(),
        name: name.to_owned(),
        as_of: consumed.time,
    };
    store.upsert_recipient(&recipient).await?;
    Ok(())
}

/// Acknowledges an event that needs nothing more.
///
/// # Errors
/// [`NotifyError::Unexpected`].
pub async fn acknowledge<S: Inbox>(
    store: &S,
    consumed: &Consumed,
    outcome: Outcome,
) -> Result<Outcome, NotifyError> {
    Ok(match store.acknowledge(consumed).await? {
        Applied::Done => outcome,
        Applied::AlreadyProcessed => Outcome::Duplicate,
    })
}

/// Sends the message `render` makes for `user_id`, once per event, and records it.
///
/// # Errors
/// See [`NotifyError`]: every error leaves the event retryable.
pub async fn notify<S, N, F>(
    store: &S,
    sender: &N,
    consumed: &Consumed,
    user_id: Uuid,
    render: F,
) -> Result<Outcome, NotifyError>
where
    S: Recipients + Notifications + Inbox,
    N: NotificationSender,
    F: FnOnce(&Recipient) -> Message,
{
    let recipient = store
        .recipient(user_id)
        .await?
        .ok_or(NotifyError::UnknownRecipient(user_id))?;
    let now = Utc::now();
    let fresh = Notification {
        user_id,
        event_id: consumed.id,
        event_type: consumed.event_type.clone(),
        event_time: consumed.time,
        channel: "email".to_owned(),
        recipient: recipient.email.clone(),
        message: render(&recipient),
        status: NotificationStatus::Sending,
        attempts: 1,
        provider_message_id: None,
        error: None,
        created_at: now,
        sent_at: None,
    };
    let claimed = match store.claim(&fresh, SEND_LEASE).await? {
        Claim::Claimed(notification) => notification,
        Claim::AlreadySent => return acknowledge(store, consumed, Outcome::Duplicate).await,
        Claim::InProgress => return Err(NotifyError::InProgress(consumed.id)),
    };
    match sender.send(&claimed.recipient, &claimed.message).await {
        Ok(message_id) => {
            let applied = store.mark_sent(consumed, &claimed, &message_id).await?;
            tracing::info!(%user_id, event_type = %claimed.event_type, attempts = claimed.attempts, "notification sent");
            shared::metrics::count(shared::metrics::names::NOTIFICATIONS_SENT);
            Ok(match applied {
                Applied::Done => Outcome::Sent,
                Applied::AlreadyProcessed => Outcome::Duplicate,
            })
        }
        Err(err) => {
            shared::metrics::count(shared::metrics::names::NOTIFICATIONS_FAILED);
            if let Err(mark) = store.mark_failed(&claimed, &format!("{err}")).await {
                tracing::error!(%user_id, event_type = %claimed.event_type, attempts = claimed.attempts, send_error = %err, record_error = format!("{mark:#}"), "notification failed and could not be recorded as failed; will retry");
                return Err(NotifyError::SendAndRecord { send: err, mark });
            }
            tracing::warn!(%user_id, event_type = %claimed.event_type, attempts = claimed.attempts, error = %err, "notification failed; will retry");
            Err(err.into())
        }
    }
}

/// The caller's notifications, newest first, from `start` (where the previous page ended).
///
/// # Errors
/// Storage errors.
pub async fn list_notifications<S: NotificationHistory>(
    store: &S,
    user_id: Uuid,
    limit: i32,
    start: Option<StartKey>,
) -> anyhow::Result<KeyPage<Notification>> {
    store.list(user_id, limit, start).await
}

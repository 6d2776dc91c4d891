//! In-memory fakes: the notifications table with the DynamoDB adapter's semantics, and a sender
//! that records what it sends and fails on demand.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use shared::memory::Locked;
use shared::pagination::{KeyPage, StartKey, page_in_memory};
use uuid::Uuid;

use super::dynamodb::notification_key;
use crate::domain::{Message, Notification, NotificationStatus, Recipient};
use crate::ports::{
    Applied, Claim, Consumed, Inbox, NotificationHistory, NotificationSender, Notifications,
    Recipients, SendError,
};

type NotificationKey = (Uuid, String);

#[derive(Debug, Default)]
struct State {
    recipients: HashMap<Uuid, Recipient>,
    notifications: BTreeMap<NotificationKey, (Notification, chrono::DateTime<Utc>)>,
    inbox: HashSet<Uuid>,
}

/// The notifications table in memory.
#[derive(Debug, Default)]
pub struct InMemoryNotificationStore {
    state: Locked<State>,
    mark_failed_failures: AtomicU32,
}

impl InMemoryNotificationStore {
    /// Makes the next `count` `mark_failed` calls fail, as a throttled table would.
    pub fn fail_next_mark_failed(&self, count: u32) {
        self.mark_failed_failures.store(count, Ordering::SeqCst);
    }
}

fn sort_key(n: &Notification) -> String {
    format!(
        "N#{}#{}",
        n.event_time
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        n.event_id
    )
}

impl InMemoryNotificationStore {
    /// Every notification record, any user.
    #[must_use]
    pub fn all(&self) -> Vec<Notification> {
        self.state
            .lock()
            .map(|s| s.notifications.values().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default()
    }
}

impl Recipients for InMemoryNotificationStore {
    async fn upsert_recipient(&self, recipient: &Recipient) -> anyhow::Result<()> {
        let mut state = self.state.lock()?;
        if state
            .recipients
            .get(&recipient.user_id)
            .is_none_or(|stored| stored.as_of < recipient.as_of)
        {
            state
                .recipients
                .insert(recipient.user_id, recipient.clone());
        }
        Ok(())
    }

    async fn recipient(&self, user_id: Uuid) -> anyhow::Result<Option<Recipient>> {
        Ok(self.state.lock()?.recipients.get(&user_id).cloned())
    }
}

impl Notifications for InMemoryNotificationStore {
    async fn claim(&self, fresh: &Notification, lease: Duration) -> anyhow::Result<Claim> {
        let mut state = self.state.lock()?;
        let key = (fresh.user_id, sort_key(fresh));
        let now = Utc::now();
        match state.notifications.get_mut(&key) {
            None => {
                state
                    .notifications
                    .insert(key, (fresh.clone(), now + lease));
                Ok(Claim::Claimed(Box::new(fresh.clone())))
            }
            Some((existing, lease_until)) => match existing.status {
                NotificationStatus::Sent => Ok(Claim::AlreadySent),
                NotificationStatus::Sending if *lease_until >= now => Ok(Claim::InProgress),
                NotificationStatus::Sending | NotificationStatus::Failed => {
                    existing.status = NotificationStatus::Sending;
                    existing.attempts += 1;
                    *lease_until = now + lease;
                    Ok(Claim::Claimed(Box::new(existing.clone())))
                }
            },
        }
    }

    async fn mark_sent(
        &self,
        consumed: &Consumed,
        notification: &Notification,
        provider_message_id: &str,
    ) -> anyhow::Result<Applied> {
        let mut state = self.state.lock()?;
        if state.inbox.contains(&consumed.id) {
            return Ok(Applied::AlreadyProcessed);
        }
        // As DynamoDB's transaction: the record must be `sending`, or nothing is written.
        let key = (notification.user_id, sort_key(notification));
        let (stored, _) = state
            .notifications
            .get_mut(&key)
            .filter(|(stored, _)| stored.status == NotificationStatus::Sending)
            .ok_or_else(|| anyhow::anyhow!("no notification being sent at {key:?}"))?;
        stored.status = NotificationStatus::Sent;
        stored.provider_message_id = Some(provider_message_id.to_owned());
        stored.error = None;
        stored.sent_at = Some(Utc::now());
        state.inbox.insert(consumed.id);
        Ok(Applied::Done)
    }

    async fn mark_failed(&self, notification: &Notification, error: &str) -> anyhow::Result<()> {
        if self
            .mark_failed_failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            anyhow::bail!("simulated throttling of UpdateItem");
        }
        let mut state = self.state.lock()?;
        let key = (notification.user_id, sort_key(notification));
        if let Some((stored, _)) = state.notifications.get_mut(&key) {
            stored.status = NotificationStatus::Failed;
            stored.error = Some(error.to_owned());
        }
        Ok(())
    }
}

impl NotificationHistory for InMemoryNotificationStore {
    async fn list(
        &self,
        user_id: Uuid,
        limit: i32,
        start: Option<StartKey>,
    ) -> anyhow::Result<KeyPage<Notification>> {
        let after = match start.as_ref().map(|key| key.get("sk")) {
            None => None,
            Some(Some(AttributeValue::S(sk))) => Some(Reverse(sk.clone())),
            Some(_) => anyhow::bail!("start key without sk: {start:?}"),
        };
        let state = self.state.lock()?;
        let mine = state
            .notifications
            .iter()
            .filter(|((user, _), _)| *user == user_id)
            .map(|((_, sk), (n, _))| (Reverse(sk.clone()), n.clone()));
        Ok(page_in_memory(
            mine,
            after.as_ref(),
            limit,
            notification_key,
        ))
    }
}

impl Inbox for InMemoryNotificationStore {
    async fn acknowledge(&self, consumed: &Consumed) -> anyhow::Result<Applied> {
        Ok(shared::memory::acknowledge(
            &mut self.state.lock()?.inbox,
            consumed.id,
        ))
    }
}

/// A sender that records messages; `fail_next(n)` makes the next n sends fail.
#[derive(Debug, Default)]
pub struct RecordingSender {
    sent: Mutex<Vec<(String, Message)>>,
    failures: AtomicU32,
}

impl RecordingSender {
    /// Makes the next `count` sends fail.
    pub fn fail_next(&self, count: u32) {
        self.failures.store(count, Ordering::SeqCst);
    }

    /// What was sent: `(to, message)`.
    #[must_use]
    pub fn sent(&self) -> Vec<(String, Message)> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl NotificationSender for RecordingSender {
    async fn send(&self, to: &str, message: &Message) -> Result<String, SendError> {
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(SendError(anyhow::anyhow!("simulated provider outage")));
        }
        let mut sent = self
            .sent
            .lock()
            .map_err(|_| SendError(anyhow::anyhow!("poisoned")))?;
        sent.push((to.to_owned(), message.clone()));
        Ok(format!("msg-{}", sent.len()))
    }
}

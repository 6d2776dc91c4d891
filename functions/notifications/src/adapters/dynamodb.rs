//! The notifications table on DynamoDB.
//!
//! Items:
//! - `RECIPIENT#<user>` / `RECIPIENT`, kind `recipient`: email and name, with `as_of` (the user
//!   event's time); written only when newer, so a reordered profile update never loses to an
//!   older one;
//! - `USER#<user>` / `N#<event time>#<event id>`, kind `notification`: one per event and user
//!   (the key comes from the event, so a redelivery finds the same record). A worker claims it
//!   (`sending` with a lease) before calling SES, and marks it `sent` together with the inbox
//!   marker, or `failed` to retry. Listing a user's notifications is a query on their partition.

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use shared::dynamo::{CommitError, PK, SK, UnitOfWork, get_consistent, s};
use shared::pagination::{KeyPage, StartKey};
use uuid::Uuid;

use crate::domain::{Message, Notification, NotificationStatus, Recipient};
use crate::ports::{
    Applied, Claim, Consumed, Inbox, NotificationHistory, Notifications, Recipients,
};

/// The notifications table.
#[derive(Clone, Debug)]
pub struct DynamoDbNotificationStore {
    client: Client,
    table: String,
}

impl DynamoDbNotificationStore {
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn recipient_key(user_id: Uuid) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), s(format!("RECIPIENT#{user_id}"))),
        (SK.to_owned(), s("RECIPIENT")),
    ])
}

pub(crate) fn notification_key(n: &Notification) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), s(format!("USER#{}", n.user_id))),
        (
            SK.to_owned(),
            s(format!("N#{}#{}", time(n.event_time), n.event_id)),
        ),
    ])
}

fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> anyhow::Result<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => anyhow::bail!("notification item lacks {name}"),
    }
}

fn opt_s(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

fn parse_time(raw: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(raw)
        .context("stored time")?
        .with_timezone(&Utc))
}

fn to_notification(item: &HashMap<String, AttributeValue>) -> anyhow::Result<Notification> {
    let status = match get_s(item, "status")? {
        "sending" => NotificationStatus::Sending,
        "sent" => NotificationStatus::Sent,
        "failed" => NotificationStatus::Failed,
        other => anyhow::bail!("unknown notification status {other:?}"),
    };
    let attempts = match item.get("attempts") {
        Some(AttributeValue::N(n)) => n.parse().context("stored attempts")?,
        _ => 0,
    };
    Ok(Notification {
        user_id: Uuid::parse_str(get_s(item, "user_id")?).context("stored user id")?,
        event_id: Uuid::parse_str(get_s(item, "event_id")?).context("stored event id")?,
        event_type: get_s(item, "event_type")?.to_owned(),
        event_time: parse_time(get_s(item, "event_time")?)?,
        channel: get_s(item, "channel")?.to_owned(),
        recipient: get_s(item, "recipient")?.to_owned(),
        message: Message {
            subject: get_s(item, "subject")?.to_owned(),
            body: get_s(item, "body")?.to_owned(),
        },
        status,
        attempts,
        provider_message_id: opt_s(item, "provider_message_id"),
        error: opt_s(item, "error"),
        created_at: parse_time(get_s(item, "created_at")?)?,
        sent_at: opt_s(item, "sent_at").map(|t| parse_time(&t)).transpose()?,
    })
}

fn condition_failed(err: &SdkError<UpdateItemError>) -> bool {
    matches!(
        err.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
}

impl DynamoDbNotificationStore {
    async fn get_notification(
        &self,
        key: HashMap<String, AttributeValue>,
    ) -> anyhow::Result<Option<Notification>> {
        let item = get_consistent(&self.client, &self.table, key, "notification").await?;
        item.as_ref().map(to_notification).transpose()
    }
}

impl Recipients for DynamoDbNotificationStore {
    async fn upsert_recipient(&self, recipient: &Recipient) -> anyhow::Result<()> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(recipient_key(recipient.user_id)))
            .update_expression(
                "SET kind = :kind, user_id = :user, email = :email, #name = :name, as_of = :as_of",
            )
            .condition_expression("attribute_not_exists(pk) OR as_of < :as_of")
            .expression_attribute_names("#name", "name")
            .expression_attribute_values(":kind", s("recipient"))
            .expression_attribute_values(":user", s(recipient.user_id.to_string()))
            .expression_attribute_values(":email", s(&recipient.email))
            .expression_attribute_values(":name", s(&recipient.name))
            .expression_attribute_values(":as_of", s(time(recipient.as_of)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A newer (or the same) version is stored already.
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(anyhow::Error::new(err).context("UpdateItem recipient")),
        }
    }

    async fn recipient(&self, user_id: Uuid) -> anyhow::Result<Option<Recipient>> {
        let item = get_consistent(
            &self.client,
            &self.table,
            recipient_key(user_id),
            "recipient",
        )
        .await?;
        item.map(|item| {
            Ok(Recipient {
                user_id,
                email: get_s(&item, "email")?.to_owned(),
                name: get_s(&item, "name")?.to_owned(),
                as_of: parse_time(get_s(&item, "as_of")?)?,
            })
        })
        .transpose()
    }
}

impl Notifications for DynamoDbNotificationStore {
    async fn claim(&self, fresh: &Notification, lease: Duration) -> anyhow::Result<Claim> {
        let now = Utc::now();
        // Names this claim. The SDK resends the same request when an attempt's answer is lost
        // (a timeout, a dropped connection) after DynamoDB applied it; the retry then finds the
        // record `sending` under its own token and takes it again, instead of seeing a live
        // lease, calling it another worker's and leaving the message to wait out the lease.
        let token = Uuid::new_v4().to_string();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(notification_key(fresh)))
            .update_expression(
                "SET kind = :kind, user_id = :user, event_id = :event, event_type = :type, event_time = :event_time, \
                 channel = :channel, recipient = :recipient, subject = :subject, body = :body, \
                 created_at = if_not_exists(created_at, :now), #status = :sending, lease_until = :lease, \
                 claim_token = :token \
                 ADD attempts :one",
            )
            .condition_expression("attribute_not_exists(pk) OR #status = :failed OR (#status = :sending AND (lease_until < :now OR claim_token = :token))")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":kind", s("notification"))
            .expression_attribute_values(":user", s(fresh.user_id.to_string()))
            .expression_attribute_values(":event", s(fresh.event_id.to_string()))
            .expression_attribute_values(":type", s(&fresh.event_type))
            .expression_attribute_values(":event_time", s(time(fresh.event_time)))
            .expression_attribute_values(":channel", s(&fresh.channel))
            .expression_attribute_values(":recipient", s(&fresh.recipient))
            .expression_attribute_values(":subject", s(&fresh.message.subject))
            .expression_attribute_values(":body", s(&fresh.message.body))
            .expression_attribute_values(":now", s(time(now)))
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":lease", s(time(now + lease)))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":token", s(&token))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let item = output.attributes.context("claim returned no attributes")?;
                Ok(Claim::Claimed(Box::new(to_notification(&item)?)))
            }
            Err(err) if condition_failed(&err) => {
                match self.get_notification(notification_key(fresh)).await? {
                    Some(existing) if existing.status == NotificationStatus::Sent => {
                        Ok(Claim::AlreadySent)
                    }
                    _ => Ok(Claim::InProgress),
                }
            }
            Err(err) => Err(anyhow::Error::new(err).context("claiming notification")),
        }
    }

    async fn mark_sent(
        &self,
        consumed: &Consumed,
        notification: &Notification,
        provider_message_id: &str,
    ) -> anyhow::Result<Applied> {
        let mut unit = UnitOfWork::new(&self.table);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(notification_key(notification)))
            .update_expression("SET #status = :sent, provider_message_id = :id, sent_at = :now REMOVE lease_until, #error")
            .condition_expression("#status = :sending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":sent", s("sent"))
            .expression_attribute_values(":sending", s("sending"))
            .expression_attribute_values(":id", s(provider_message_id))
            .expression_attribute_values(":now", s(time(Utc::now())))
            .build()
            .context("building Update")?;
        unit.push(TransactWriteItem::builder().update(update).build());
        unit.record_inbox(consumed)?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(Applied::Done),
            Err(CommitError::AlreadyProcessed) => Ok(Applied::AlreadyProcessed),
            Err(err) => Err(anyhow::Error::new(err).context("marking notification sent")),
        }
    }

    async fn mark_failed(&self, notification: &Notification, error: &str) -> anyhow::Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(notification_key(notification)))
            .update_expression("SET #status = :failed, #error = :error REMOVE lease_until")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":error", s(error.chars().take(500).collect::<String>()))
            .send()
            .await
            .context("marking notification failed")?;
        Ok(())
    }
}

impl NotificationHistory for DynamoDbNotificationStore {
    async fn list(
        &self,
        user_id: Uuid,
        limit: i32,
        start: Option<StartKey>,
    ) -> anyhow::Result<KeyPage<Notification>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(format!("USER#{user_id}")))
            .expression_attribute_values(":prefix", s("N#"))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("querying notifications")?;
        let items = output
            .items()
            .iter()
            .map(to_notification)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(KeyPage {
            items,
            last_key: output.last_evaluated_key,
        })
    }
}

impl Inbox for DynamoDbNotificationStore {
    async fn acknowledge(&self, consumed: &Consumed) -> anyhow::Result<Applied> {
        shared::dynamo::acknowledge(&self.client, &self.table, consumed).await
    }
}

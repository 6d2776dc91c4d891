//! Where outbox items live: the relay marks what it published, the sweeper finds what nobody
//! published. A DynamoDB adapter on the service's table and an in-memory fake.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, Utc};
use shared::dynamo::{
    CREATED_AT, EVENT_TYPE, OUTBOX_ENVELOPE, OUTBOX_PENDING, OUTBOX_PENDING_INDEX, PK, SK,
    outbox_pending_shards, outbox_pk,
};

use crate::publisher::OutboxMessage;

/// Outbox items of one table.
pub trait OutboxStore: Send + Sync {
    /// Records that `message` reached the topic (drops it from the pending index).
    fn mark_published(
        &self,
        message: &OutboxMessage,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Up to `limit` outbox items still pending that were written before `cutoff`, oldest first.
    fn pending_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i32,
    ) -> impl Future<Output = anyhow::Result<Vec<OutboxMessage>>> + Send;
}

/// The outbox of a service table on DynamoDB, through its sparse `outbox-pending` index.
#[derive(Clone, Debug)]
pub struct DynamoDbOutboxStore {
    client: Client,
    table: String,
}

impl DynamoDbOutboxStore {
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn text(
    item: &std::collections::HashMap<String, AttributeValue>,
    name: &str,
) -> anyhow::Result<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => anyhow::bail!("outbox item lacks {name}"),
    }
}

impl OutboxStore for DynamoDbOutboxStore {
    async fn mark_published(&self, message: &OutboxMessage) -> anyhow::Result<()> {
        let event_id = message.event_id.parse().context("outbox event id")?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, AttributeValue::S(outbox_pk(&event_id)))
            .key(SK, AttributeValue::S("OUTBOX".to_owned()))
            .update_expression("REMOVE #pending SET published_at = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#pending", OUTBOX_PENDING)
            .expression_attribute_values(
                ":now",
                AttributeValue::S(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Expired by TTL meanwhile: nothing left to mark.
            Err(SdkError::ServiceError(err))
                if matches!(
                    err.err(),
                    UpdateItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(anyhow::Error::new(err).context("marking outbox item published")),
        }
    }

    async fn pending_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i32,
    ) -> anyhow::Result<Vec<OutboxMessage>> {
        let cutoff = AttributeValue::S(cutoff.to_rfc3339_opts(SecondsFormat::Millis, true));
        // The shards are queried at once: one round trip of latency instead of four (the
        // sweeper's cold start, docs/performance.md).
        let pages =
            futures::future::try_join_all(outbox_pending_shards().into_iter().map(|shard| {
                self.client
                    .query()
                    .table_name(&self.table)
                    .index_name(OUTBOX_PENDING_INDEX)
                    .key_condition_expression("#pending = :shard AND #created < :cutoff")
                    .expression_attribute_names("#pending", OUTBOX_PENDING)
                    .expression_attribute_names("#created", CREATED_AT)
                    .expression_attribute_values(":shard", AttributeValue::S(shard))
                    .expression_attribute_values(":cutoff", cutoff.clone())
                    .limit(limit)
                    .send()
            }))
            .await
            .context("querying pending outbox items")?;
        let mut found = Vec::new();
        for item in pages.iter().flat_map(|page| page.items()) {
            found.push(OutboxMessage {
                // Not from a stream: the sequence number names the item for logs only.
                sequence_number: text(item, CREATED_AT)?,
                event_id: text(item, "event_id")?,
                event_type: text(item, EVENT_TYPE)?,
                body: text(item, OUTBOX_ENVELOPE)?,
            });
        }
        found.sort_by(|a, b| a.sequence_number.cmp(&b.sequence_number));
        found.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(found)
    }
}

/// An outbox item in memory: when it was written, the message, whether it was published.
type StoredItem = (DateTime<Utc>, OutboxMessage, bool);

/// Outbox items in memory, for tests, by event id.
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

impl OutboxStore for InMemoryOutboxStore {
    async fn mark_published(&self, message: &OutboxMessage) -> anyhow::Result<()> {
        let mut items = self.items.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
        if let Some(entry) = items.get_mut(&message.event_id) {
            entry.2 = true;
        }
        Ok(())
    }

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

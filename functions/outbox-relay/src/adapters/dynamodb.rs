//! The outbox on the service's DynamoDB table: marking is one `UpdateItem` per item, finding
//! what nobody published is a `Query` of each shard of the sparse `outbox-pending` index.
//!
//! Marks are not batched: `BatchWriteItem` only puts or deletes whole items, and marking removes
//! one attribute. A put would rewrite the whole envelope (write units for the whole item) and
//! could bring back an item that TTL deleted meanwhile; the conditional update does neither. The
//! relay runs its marks concurrently instead ([`crate::service`]).

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

use crate::domain::OutboxMessage;
use crate::ports::{OutboxMarker, PendingOutbox};

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

impl OutboxMarker for DynamoDbOutboxStore {
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
}

impl PendingOutbox for DynamoDbOutboxStore {
    async fn pending_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i32,
    ) -> anyhow::Result<Vec<OutboxMessage>> {
        let cutoff = AttributeValue::S(cutoff.to_rfc3339_opts(SecondsFormat::Millis, true));
        // The shards are queried at once: one round trip of latency instead of four, on every
        // run of the sweeper, cold ones included.
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

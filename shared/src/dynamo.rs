//! DynamoDB conventions shared by every service table, and the unit of work that makes the
//! outbox and inbox patterns one call.
//!
//! Every table has a string partition key `pk` and sort key `sk`, a `kind` attribute naming
//! what an item is, and TTL on `expires_at`. A [`UnitOfWork`] collects a service's own writes
//! plus, when it consumes an event, the inbox marker for that event id (`attribute_not_exists`,
//! so a redelivery changes nothing) and, when it publishes, the outbox item the table stream
//! carries to `outbox-relay`. All of it commits in ONE `TransactWriteItems`: there are no dual
//! writes and no partially applied events.

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{Duration, Utc};
use serde::Serialize;

use crate::envelope::EventEnvelope;
use crate::events::Event;

/// Partition key attribute of every table.
pub const PK: &str = "pk";
/// Sort key attribute of every table.
pub const SK: &str = "sk";
/// What an item is: `outbox`, `inbox`, or a service's own kinds.
pub const KIND: &str = "kind";
/// TTL attribute (epoch seconds) of every table.
pub const EXPIRES_AT: &str = "expires_at";
/// `kind` of outbox items; the stream filter of `outbox-relay` matches on it.
pub const OUTBOX_KIND: &str = "outbox";
/// `kind` of inbox markers.
pub const INBOX_KIND: &str = "inbox";
/// Attribute of an outbox item holding the envelope's JSON text.
pub const OUTBOX_ENVELOPE: &str = "envelope";
/// Attribute of outbox and inbox items holding the event type.
pub const EVENT_TYPE: &str = "event_type";

/// Attribute of an outbox item while it is not known to be published: `PENDING#<shard>`. It is
/// the partition key of the sparse [`OUTBOX_PENDING_INDEX`]; the relay removes it once SNS took
/// the event, so the index holds only what may still need publishing.
pub const OUTBOX_PENDING: &str = "outbox_pending";
/// Sort key of [`OUTBOX_PENDING_INDEX`]: when the outbox item was written (RFC 3339).
pub const CREATED_AT: &str = "created_at";
/// The sparse index the outbox sweeper reads: partition [`OUTBOX_PENDING`], sort [`CREATED_AT`].
pub const OUTBOX_PENDING_INDEX: &str = "outbox-pending";
/// Pending outbox items are spread over this many index partitions, so a busy table's writes
/// do not all land on one.
pub const OUTBOX_PENDING_SHARDS: u8 = 4;

/// One item by its key, read consistently (every read in this project follows its own writes:
/// idempotency keys, saga state, stock), or `None`. `what` names the item in the error.
///
/// # Errors
/// The `GetItem` call failed.
pub async fn get_consistent(
    client: &Client,
    table: &str,
    key: HashMap<String, AttributeValue>,
    what: &str,
) -> anyhow::Result<Option<HashMap<String, AttributeValue>>> {
    Ok(client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .with_context(|| format!("GetItem {what}"))?
        .item)
}

/// The index partition a pending outbox item of event `id` lands in.
#[must_use]
fn outbox_pending_shard(event_id: &uuid::Uuid) -> String {
    format!("PENDING#{}", event_id.as_bytes()[0] % OUTBOX_PENDING_SHARDS)
}

/// Every partition of [`OUTBOX_PENDING_INDEX`].
#[must_use]
pub fn outbox_pending_shards() -> Vec<String> {
    (0..OUTBOX_PENDING_SHARDS)
        .map(|shard| format!("PENDING#{shard}"))
        .collect()
}

/// DynamoDB's limit of items per transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// Outbox items only need to live until the relay has read them from the stream (24 h retention).
const OUTBOX_TTL: Duration = Duration::days(2);
/// Inbox markers outlive SQS's longest retention (14 days), so any redelivery still finds them.
const INBOX_TTL: Duration = Duration::days(15);

/// A string attribute.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The partition key of the outbox item of event `id`.
#[must_use]
pub fn outbox_pk(event_id: &uuid::Uuid) -> String {
    format!("OUTBOX#{event_id}")
}

/// The partition key of the inbox marker of event `id`.
#[must_use]
pub fn inbox_pk(event_id: &uuid::Uuid) -> String {
    format!("INBOX#{event_id}")
}

/// Why a [`UnitOfWork`] did not commit.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The inbox marker already exists: this event was processed before. Acknowledge it.
    #[error("event already processed")]
    AlreadyProcessed,
    /// The condition of the item at `index` (in push order) failed; nothing was written.
    #[error("condition of transaction item {index} failed")]
    ConditionFailed {
        /// Index of the failed item, as returned by [`UnitOfWork::push`].
        index: usize,
    },
    /// Another transaction touched the same items; retrying may succeed.
    #[error("transaction conflicted with a concurrent write")]
    Conflict,
    /// Anything else (throttling, network, a malformed request).
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Outcome of a write that consumes an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The change and the event's inbox marker were written.
    Done,
    /// The inbox already had this event: nothing was written.
    AlreadyProcessed,
}

/// Records only the inbox marker of `event` on `table`: for an event that needs no change, or
/// whose change turned out to be moot.
///
/// # Errors
/// Anything but a duplicate, which is [`Applied::AlreadyProcessed`].
pub async fn acknowledge<D>(
    client: &Client,
    table: &str,
    event: &EventEnvelope<D>,
) -> anyhow::Result<Applied> {
    let mut unit = UnitOfWork::new(table);
    unit.record_inbox(event)?;
    match unit.commit(client).await {
        Ok(()) => Ok(Applied::Done),
        Err(CommitError::AlreadyProcessed) => Ok(Applied::AlreadyProcessed),
        Err(err) => Err(anyhow::Error::new(err).context("recording inbox marker")),
    }
}

/// Writes that commit together, or not at all.
#[derive(Debug, Clone)]
pub struct UnitOfWork {
    table: String,
    items: Vec<TransactWriteItem>,
    inbox_index: Option<usize>,
}

impl UnitOfWork {
    /// An empty unit of work on `table`.
    #[must_use]
    pub fn new(table: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            items: Vec::new(),
            inbox_index: None,
        }
    }

    /// The table the helpers write to.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Number of items so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing has been added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds one of the caller's own writes; returns its index for [`CommitError::ConditionFailed`].
    pub fn push(&mut self, item: TransactWriteItem) -> usize {
        self.items.push(item);
        self.items.len() - 1
    }

    /// A `Put` of `item` on this unit's table with an optional condition, ready to [`push`](Self::push).
    ///
    /// # Errors
    /// Never in practice: only if the SDK builder's required fields were missing.
    pub fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: Option<&str>,
    ) -> anyhow::Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .context("building transaction Put")?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Marks `event` as processed by this service: the unit fails with
    /// [`CommitError::AlreadyProcessed`] if it was before.
    ///
    /// # Errors
    /// [`CommitError::Unexpected`] if called twice on one unit.
    pub fn record_inbox<D>(&mut self, event: &EventEnvelope<D>) -> Result<&mut Self, CommitError> {
        if self.inbox_index.is_some() {
            return Err(anyhow::anyhow!("a unit of work consumes at most one event").into());
        }
        let now = Utc::now();
        let item = HashMap::from([
            (PK.to_owned(), s(inbox_pk(&event.id))),
            (SK.to_owned(), s(INBOX_KIND.to_uppercase())),
            (KIND.to_owned(), s(INBOX_KIND)),
            (EVENT_TYPE.to_owned(), s(event.event_type.as_str())),
            (
                "correlation_id".to_owned(),
                s(event.correlation_id.as_str()),
            ),
            ("processed_at".to_owned(), s(now.to_rfc3339())),
            (
                EXPIRES_AT.to_owned(),
                AttributeValue::N((now + INBOX_TTL).timestamp().to_string()),
            ),
        ]);
        let put = self.put(item, Some("attribute_not_exists(pk)"))?;
        self.inbox_index = Some(self.push(put));
        Ok(self)
    }

    /// Adds the outbox item that publishes `event` once this unit commits.
    ///
    /// # Errors
    /// [`CommitError::Unexpected`] if the envelope fails to serialise.
    pub fn publish<E: Event>(
        &mut self,
        event: &EventEnvelope<E>,
    ) -> Result<&mut Self, CommitError> {
        let item = outbox_item(event).context("serialising outbox envelope")?;
        let put = self.put(item, Some("attribute_not_exists(pk)"))?;
        self.push(put);
        Ok(self)
    }

    /// Commits every item in one `TransactWriteItems`. An empty unit commits trivially.
    ///
    /// # Errors
    /// See [`CommitError`].
    pub async fn commit(self, client: &Client) -> Result<(), CommitError> {
        if self.items.is_empty() {
            return Ok(());
        }
        if self.items.len() > MAX_TRANSACTION_ITEMS {
            return Err(anyhow::anyhow!(
                "{} items exceed DynamoDB's {MAX_TRANSACTION_ITEMS}-item transaction limit",
                self.items.len()
            )
            .into());
        }
        let inbox_index = self.inbox_index;
        let result = client
            .transact_write_items()
            .set_transact_items(Some(self.items))
            .send()
            .await;
        let Err(err) = result else {
            return Ok(());
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        {
            let codes: Vec<&str> = cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code().unwrap_or("None"))
                .collect();
            return Err(
                classify_cancellation(&codes, inbox_index).unwrap_or_else(|| {
                    anyhow::Error::new(err)
                        .context("transaction cancelled")
                        .into()
                }),
            );
        }
        Err(anyhow::Error::new(err)
            .context("TransactWriteItems failed")
            .into())
    }
}

/// Maps the per-item cancellation codes of a cancelled transaction to a [`CommitError`].
fn classify_cancellation(codes: &[&str], inbox_index: Option<usize>) -> Option<CommitError> {
    if let Some(index) = inbox_index
        && codes.get(index) == Some(&"ConditionalCheckFailed")
    {
        return Some(CommitError::AlreadyProcessed);
    }
    if let Some(index) = codes
        .iter()
        .position(|code| *code == "ConditionalCheckFailed")
    {
        return Some(CommitError::ConditionFailed { index });
    }
    if codes.contains(&"TransactionConflict") {
        return Some(CommitError::Conflict);
    }
    None
}

/// The outbox item for `event`: the envelope's JSON plus what the relay and the stream filter need.
///
/// # Errors
/// If the envelope fails to serialise.
fn outbox_item<D: Serialize>(
    event: &EventEnvelope<D>,
) -> Result<HashMap<String, AttributeValue>, serde_json::Error> {
    let created = Utc::now();
    Ok(HashMap::from([
        (PK.to_owned(), s(outbox_pk(&event.id))),
        (SK.to_owned(), s(OUTBOX_KIND.to_uppercase())),
        (KIND.to_owned(), s(OUTBOX_KIND)),
        ("event_id".to_owned(), s(event.id.to_string())),
        (EVENT_TYPE.to_owned(), s(event.event_type.as_str())),
        (OUTBOX_ENVELOPE.to_owned(), s(event.to_json()?)),
        (
            OUTBOX_PENDING.to_owned(),
            s(outbox_pending_shard(&event.id)),
        ),
        (
            CREATED_AT.to_owned(),
            s(created.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        ),
        (
            EXPIRES_AT.to_owned(),
            AttributeValue::N((created + OUTBOX_TTL).timestamp().to_string()),
        ),
    ]))
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::envelope::{RawEnvelope, Trace};
    use crate::events::ProductArchived;

    fn event() -> EventEnvelope<ProductArchived> {
        EventEnvelope::new(
            ProductArchived {
                product_id: Uuid::new_v4(),
                version: 1,
            },
            Trace::from_request("c", "r"),
        )
    }

    #[test]
    fn an_outbox_item_holds_the_envelope_and_is_keyed_by_the_event_id() {
        let event = event();
        let item = outbox_item(&event).unwrap();
        assert_eq!(item[PK], s(format!("OUTBOX#{}", event.id)));
        assert_eq!(item[KIND], s("outbox"));
        assert_eq!(item[EVENT_TYPE], s("ProductArchived"));
        assert!(
            outbox_pending_shards().contains(&match &item[OUTBOX_PENDING] {
                AttributeValue::S(shard) => shard.clone(),
                other => panic!("{other:?}"),
            })
        );
        let AttributeValue::S(json) = &item[OUTBOX_ENVELOPE] else {
            panic!("envelope is not a string")
        };
        assert_eq!(RawEnvelope::parse(json).unwrap().id, event.id);
    }

    #[test]
    fn inbox_and_outbox_items_are_conditional_puts_on_the_units_table() {
        let mut unit = UnitOfWork::new("orders");
        unit.record_inbox(&event())
            .unwrap()
            .publish(&event())
            .unwrap();
        assert_eq!(unit.len(), 2);
        for item in &unit.items {
            let put = item.put().unwrap();
            assert_eq!(put.table_name(), "orders");
            assert_eq!(put.condition_expression(), Some("attribute_not_exists(pk)"));
        }
        assert_eq!(unit.items[0].put().unwrap().item()[KIND], s("inbox"));
        assert_eq!(unit.items[1].put().unwrap().item()[KIND], s("outbox"));
    }

    #[test]
    fn a_unit_consumes_at_most_one_event() {
        let mut unit = UnitOfWork::new("t");
        unit.record_inbox(&event()).unwrap();
        assert!(unit.record_inbox(&event()).is_err());
    }

    #[test]
    fn a_failed_inbox_condition_means_already_processed() {
        assert!(matches!(
            classify_cancellation(&["None", "ConditionalCheckFailed"], Some(1)),
            Some(CommitError::AlreadyProcessed)
        ));
    }

    #[test]
    fn a_failed_condition_elsewhere_names_its_index() {
        assert!(matches!(
            classify_cancellation(&["None", "ConditionalCheckFailed", "None"], Some(0)),
            Some(CommitError::ConditionFailed { index: 1 })
        ));
    }

    #[test]
    fn a_conflict_is_retryable_and_unknown_reasons_are_unexpected() {
        assert!(matches!(
            classify_cancellation(&["TransactionConflict", "None"], None),
            Some(CommitError::Conflict)
        ));
        assert!(classify_cancellation(&["ThrottlingError"], None).is_none());
    }
}

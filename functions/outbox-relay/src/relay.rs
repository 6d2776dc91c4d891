//! Stream records -> outbox messages -> published, with retries, and the batch response that
//! tells Lambda which records to redeliver.

use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_dynamo::AttributeValue;
use shared::dynamo::{EVENT_TYPE, KIND, OUTBOX_ENVELOPE, OUTBOX_KIND};

use crate::publisher::{EventPublisher, MAX_BATCH, OutboxMessage};
use crate::store::OutboxStore;

/// How often a retryable per-entry failure is tried again within one invocation.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, including the first.
    pub attempts: u32,
    /// Wait before the second attempt; doubled each time after.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Duration::from_millis(50),
        }
    }
}

/// Why a stream record that looks like an outbox item cannot be published.
#[derive(Debug, thiserror::Error)]
pub enum MalformedOutboxItem {
    #[error("stream record has no sequence number")]
    NoSequenceNumber,
    #[error("outbox item lacks string attribute {0:?}")]
    MissingAttribute(&'static str),
}

fn string_attribute<'a>(record: &'a EventRecord, name: &'static str) -> Option<&'a str> {
    match record.change.new_image.get(name) {
        Some(AttributeValue::S(value)) => Some(value.as_str()),
        _ => None,
    }
}

/// Whether the record is the insertion of an outbox item (everything else is ignored; the event
/// source mapping filters the same way, this is the second line of defence).
#[must_use]
pub fn is_outbox_insert(record: &EventRecord) -> bool {
    record.event_name == "INSERT" && string_attribute(record, KIND) == Some(OUTBOX_KIND)
}

/// The message to publish for an outbox insert.
///
/// # Errors
/// [`MalformedOutboxItem`] when an attribute the relay needs is missing.
pub fn outbox_message(record: &EventRecord) -> Result<OutboxMessage, MalformedOutboxItem> {
    let attribute =
        |name| string_attribute(record, name).ok_or(MalformedOutboxItem::MissingAttribute(name));
    Ok(OutboxMessage {
        sequence_number: record
            .change
            .sequence_number
            .clone()
            .ok_or(MalformedOutboxItem::NoSequenceNumber)?,
        event_id: attribute("event_id")?.to_owned(),
        event_type: attribute(EVENT_TYPE)?.to_owned(),
        body: attribute(OUTBOX_ENVELOPE)?.to_owned(),
    })
}

fn failure(sequence_number: String) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = Some(sequence_number);
    failure
}

/// Publishes every outbox insert of `event`; returns the records that could not be published.
///
/// Lambda retries a stream batch from the lowest reported sequence number, so messages after a
/// failure may be published twice: consumers deduplicate on the event id (inbox).
pub async fn relay(
    event: Event,
    publisher: &impl EventPublisher,
    store: &impl OutboxStore,
    policy: RetryPolicy,
) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut pending = Vec::new();
    for record in event
        .records
        .iter()
        .filter(|record| is_outbox_insert(record))
    {
        match outbox_message(record) {
            Ok(message) => pending.push(message),
            Err(err) => {
                tracing::error!(error = %err, event_id = %record.event_id, "malformed outbox item; reporting it so it is retried, then sent to the failure destination");
                match &record.change.sequence_number {
                    Some(sequence) => response.batch_item_failures.push(failure(sequence.clone())),
                    // Without a sequence number the record cannot be named: fail from the start.
                    None => response.batch_item_failures.push(failure(String::new())),
                }
            }
        }
    }

    let (published, failed) = publish_with_retries(pending, publisher, policy).await;
    for message in failed {
        response
            .batch_item_failures
            .push(failure(message.sequence_number));
    }
    mark_published(store, &published).await;
    response
}

/// Publishes `messages` in batches of ten, retrying retryable per-entry failures within the
/// call; returns what was published and what still failed.
pub async fn publish_with_retries(
    messages: Vec<OutboxMessage>,
    publisher: &impl EventPublisher,
    policy: RetryPolicy,
) -> (Vec<OutboxMessage>, Vec<OutboxMessage>) {
    let (mut published, mut failed) = (Vec::new(), Vec::new());
    for chunk in messages.chunks(MAX_BATCH) {
        let mut remaining: Vec<OutboxMessage> = chunk.to_vec();
        let mut backoff = policy.backoff;
        for attempt in 1..=policy.attempts.max(1) {
            let outcomes = publisher.publish_batch(&remaining).await;
            let mut retry = Vec::new();
            for (message, outcome) in remaining.into_iter().zip(
                outcomes
                    .into_iter()
                    .map(Some)
                    .chain(std::iter::repeat(None)),
            ) {
                match outcome {
                    Some(Ok(())) => {
                        tracing::info!(event_id = %message.event_id, event_type = %message.event_type, "event published");
                        published.push(message);
                    }
                    Some(Err(err)) if err.retryable && attempt < policy.attempts => {
                        tracing::warn!(event_id = %message.event_id, attempt, error = %err, "publish failed; retrying");
                        retry.push(message);
                    }
                    Some(Err(err)) => {
                        tracing::error!(event_id = %message.event_id, attempt, error = %err, "publish failed; reporting it");
                        failed.push(message);
                    }
                    None => {
                        tracing::error!(event_id = %message.event_id, "publisher returned no outcome; reporting it");
                        failed.push(message);
                    }
                }
            }
            if retry.is_empty() {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            remaining = retry;
        }
    }
    (published, failed)
}

/// Marks published items so the sweeper leaves them alone. Best effort: an unmarked item is only
/// published once more by the sweeper, and consumers deduplicate.
async fn mark_published(store: &impl OutboxStore, published: &[OutboxMessage]) {
    for message in published {
        if let Err(err) = store.mark_published(message).await {
            tracing::warn!(event_id = %message.event_id, error = format!("{err:#}"), "could not mark outbox item published; the sweeper may publish it again");
        }
    }
}

/// What a sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub republished: usize,
    pub failed: usize,
}

/// How old a pending outbox item must be before the sweeper publishes it: well past the time
/// the stream and relay normally take, so the sweeper is a fallback, not a race.
pub const SWEEP_MIN_AGE: chrono::Duration = chrono::Duration::seconds(60);
/// Most items one sweep publishes.
pub const SWEEP_LIMIT: i32 = 100;

/// Publishes outbox items that are still pending `min_age` after they were written: the ones
/// whose stream record never reached the relay (an emulator restart loses them; on AWS a relay
/// disabled past the stream's 24 h retention would). Runs on a schedule.
///
/// # Errors
/// When the store cannot be read; publish failures are counted and retried next sweep.
pub async fn sweep(
    store: &impl OutboxStore,
    publisher: &impl EventPublisher,
    policy: RetryPolicy,
    now: chrono::DateTime<chrono::Utc>,
    min_age: chrono::Duration,
) -> anyhow::Result<SweepReport> {
    let stale = store.pending_before(now - min_age, SWEEP_LIMIT).await?;
    if stale.is_empty() {
        return Ok(SweepReport::default());
    }
    tracing::warn!(
        count = stale.len(),
        "outbox items were never relayed; publishing them now"
    );
    let (published, failed) = publish_with_retries(stale, publisher, policy).await;
    mark_published(store, &published).await;
    Ok(SweepReport {
        republished: published.len(),
        failed: failed.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publisher::InMemoryPublisher;
    use crate::store::InMemoryOutboxStore;

    const FIXTURE: &str = include_str!("../../../events/outbox-relay/stream-batch.json");

    fn fixture() -> Event {
        serde_json::from_str(FIXTURE).unwrap()
    }

    fn failed(response: &DynamoDbEventResponse) -> Vec<String> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone().unwrap_or_default())
            .collect()
    }

    const NO_WAIT: RetryPolicy = RetryPolicy {
        attempts: 3,
        backoff: Duration::ZERO,
    };

    #[tokio::test]
    async fn only_outbox_inserts_are_published_with_their_event_type() {
        let publisher = InMemoryPublisher::default();
        let response = relay(
            fixture(),
            &publisher,
            &InMemoryOutboxStore::default(),
            NO_WAIT,
        )
        .await;
        assert!(response.batch_item_failures.is_empty());
        let published = publisher.published();
        let types: Vec<_> = published.iter().map(|m| m.event_type.as_str()).collect();
        // The fixture also holds a non-outbox insert and an outbox REMOVE (TTL expiry).
        assert_eq!(types, ["ProductCreated", "ProductUpdated"]);
        let envelope = shared::envelope::RawEnvelope::parse(&published[0].body)
            .unwrap()
            .decode()
            .unwrap();
        assert_eq!(envelope.id.to_string(), published[0].event_id);
    }

    #[tokio::test]
    async fn a_transient_failure_is_retried_within_the_invocation() {
        let publisher = InMemoryPublisher::default();
        let first = outbox_message(&fixture().records[0]).unwrap();
        publisher.fail(&first.event_id, 2, true);
        let response = relay(
            fixture(),
            &publisher,
            &InMemoryOutboxStore::default(),
            NO_WAIT,
        )
        .await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(publisher.published().len(), 2);
    }

    #[tokio::test]
    async fn a_persistent_failure_reports_only_that_records_sequence_number() {
        let publisher = InMemoryPublisher::default();
        let first = outbox_message(&fixture().records[0]).unwrap();
        publisher.fail(&first.event_id, u32::MAX, true);
        let response = relay(
            fixture(),
            &publisher,
            &InMemoryOutboxStore::default(),
            NO_WAIT,
        )
        .await;
        assert_eq!(failed(&response), [first.sequence_number]);
        assert_eq!(publisher.published().len(), 1);
    }

    #[tokio::test]
    async fn a_sender_fault_is_not_retried() {
        let publisher = InMemoryPublisher::default();
        let first = outbox_message(&fixture().records[0]).unwrap();
        publisher.fail(&first.event_id, 1, false);
        let response = relay(
            fixture(),
            &publisher,
            &InMemoryOutboxStore::default(),
            NO_WAIT,
        )
        .await;
        assert_eq!(failed(&response), [first.sequence_number]);
    }

    #[tokio::test]
    async fn a_malformed_outbox_item_is_reported_not_skipped() {
        let mut event = fixture();
        event.records[0].change.new_image.remove(OUTBOX_ENVELOPE);
        let sequence = event.records[0].change.sequence_number.clone().unwrap();
        let publisher = InMemoryPublisher::default();
        let response = relay(event, &publisher, &InMemoryOutboxStore::default(), NO_WAIT).await;
        assert_eq!(failed(&response), [sequence]);
        assert_eq!(publisher.published().len(), 1);
    }

    #[tokio::test]
    async fn more_than_ten_outbox_items_are_published_in_batches_of_ten() {
        let mut event = fixture();
        let template = event.records[0].clone();
        event.records = (0..23)
            .map(|i| {
                let mut record = template.clone();
                record.change.sequence_number = Some(format!("{i:05}"));
                record
                    .change
                    .new_image
                    .insert("event_id".into(), AttributeValue::S(format!("event-{i}")));
                record
            })
            .collect();
        let publisher = InMemoryPublisher::default();
        let response = relay(event, &publisher, &InMemoryOutboxStore::default(), NO_WAIT).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(publisher.published().len(), 23);
    }

    #[tokio::test]
    async fn the_relay_marks_what_it_published_and_only_that() {
        let (publisher, store) = (InMemoryPublisher::default(), InMemoryOutboxStore::default());
        let first = outbox_message(&fixture().records[0]).unwrap();
        let third = outbox_message(&fixture().records[2]).unwrap();
        store.add(chrono::Utc::now(), first.clone());
        store.add(chrono::Utc::now(), third.clone());
        publisher.fail(&first.event_id, u32::MAX, true);
        relay(fixture(), &publisher, &store, NO_WAIT).await;
        assert!(!store.is_published(&first.event_id));
        assert!(store.is_published(&third.event_id));
    }

    #[tokio::test]
    async fn a_sweep_publishes_only_items_pending_longer_than_the_minimum_age() {
        let (publisher, store) = (InMemoryPublisher::default(), InMemoryOutboxStore::default());
        let now = chrono::Utc::now();
        let stale = outbox_message(&fixture().records[0]).unwrap();
        let fresh = outbox_message(&fixture().records[2]).unwrap();
        store.add(now - chrono::Duration::minutes(5), stale.clone());
        store.add(now - chrono::Duration::seconds(5), fresh.clone());
        let report = sweep(&store, &publisher, NO_WAIT, now, SWEEP_MIN_AGE)
            .await
            .unwrap();
        assert_eq!(
            report,
            SweepReport {
                republished: 1,
                failed: 0
            }
        );
        assert_eq!(publisher.published(), std::slice::from_ref(&stale));
        assert!(store.is_published(&stale.event_id) && !store.is_published(&fresh.event_id));
        // A second sweep finds nothing more to do.
        assert_eq!(
            sweep(&store, &publisher, NO_WAIT, now, SWEEP_MIN_AGE)
                .await
                .unwrap(),
            SweepReport::default()
        );
    }

    #[tokio::test]
    async fn a_sweep_that_cannot_publish_counts_the_failure_and_leaves_the_item_pending() {
        let (publisher, store) = (InMemoryPublisher::default(), InMemoryOutboxStore::default());
        let now = chrono::Utc::now();
        let stale = outbox_message(&fixture().records[0]).unwrap();
        store.add(now - chrono::Duration::minutes(5), stale.clone());
        publisher.fail(&stale.event_id, u32::MAX, true);
        let report = sweep(&store, &publisher, NO_WAIT, now, SWEEP_MIN_AGE)
            .await
            .unwrap();
        assert_eq!(
            report,
            SweepReport {
                republished: 0,
                failed: 1
            }
        );
        assert!(!store.is_published(&stale.event_id));
    }
}

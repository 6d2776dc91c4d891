//! Lambda glue for both functions: a DynamoDB stream batch in, the outbox messages to the relay
//! use case, and the batch response that tells Lambda which records to redeliver; a scheduled
//! event to the sweep. The only part of the crate that knows Lambda's event types.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_dynamo::AttributeValue;
use shared::dynamo::{EVENT_TYPE, KIND, OUTBOX_ENVELOPE, OUTBOX_KIND};

use crate::domain::OutboxMessage;
use crate::ports::{EventPublisher, OutboxMarker, PendingOutbox};
use crate::service::{self, RetryPolicy, SWEEP_MIN_AGE};

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

fn item_failure(sequence_number: String) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = Some(sequence_number);
    failure
}

/// `outbox-relay`: publishes every outbox insert of `event`; returns the records that could not
/// be published, malformed ones included (never skipped silently).
///
/// Lambda retries a stream batch from the lowest reported sequence number, so messages after a
/// failure may be published twice: consumers deduplicate on the event id (inbox).
pub async fn relay_stream_batch(
    event: Event,
    publisher: &impl EventPublisher,
    marker: &impl OutboxMarker,
    policy: RetryPolicy,
) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut messages = Vec::new();
    for record in event.records.iter().filter(|r| is_outbox_insert(r)) {
        match outbox_message(record) {
            Ok(message) => messages.push(message),
            Err(err) => {
                tracing::error!(error = %err, event_id = %record.event_id, "malformed outbox item; reporting it so it is retried, then sent to the failure destination");
                // Without a sequence number the record cannot be named: fail from the start.
                let sequence = record.change.sequence_number.clone().unwrap_or_default();
                response.batch_item_failures.push(item_failure(sequence));
            }
        }
    }
    let relayed = service::relay(messages, publisher, marker, policy).await;
    response.batch_item_failures.extend(
        relayed
            .failed
            .into_iter()
            .map(|message| item_failure(message.sequence_number)),
    );
    response
}

/// `outbox-sweeper`: one sweep now, logged and answered as counts.
///
/// # Errors
/// When the pending items cannot be read: the invocation fails, the next one a minute later
/// tries again.
pub async fn sweep_now(
    store: &(impl PendingOutbox + OutboxMarker),
    publisher: &impl EventPublisher,
) -> anyhow::Result<serde_json::Value> {
    let report = service::sweep(
        store,
        publisher,
        RetryPolicy::default(),
        chrono::Utc::now(),
        SWEEP_MIN_AGE,
    )
    .await?;
    tracing::info!(
        republished = report.republished,
        failed = report.failed,
        "outbox swept"
    );
    Ok(serde_json::json!({"republished": report.republished, "failed": report.failed}))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::adapters::memory::{InMemoryOutboxStore, InMemoryPublisher};

    const FIXTURE: &str = include_str!("../../../events/outbox-relay/stream-batch.json");

    const NO_WAIT: RetryPolicy = RetryPolicy {
        attempts: 3,
        backoff: Duration::ZERO,
    };

    fn fixture() -> Event {
        serde_json::from_str(FIXTURE).unwrap()
    }

    /// The message of the fixture's record `index`.
    fn fixture_message(index: usize) -> OutboxMessage {
        outbox_message(&fixture().records[index]).unwrap()
    }

    /// Relays `event` through `publisher` and an outbox of its own; returns the sequence numbers
    /// reported as failed.
    async fn relay_failures(event: Event, publisher: &InMemoryPublisher) -> Vec<String> {
        let response =
            relay_stream_batch(event, publisher, &InMemoryOutboxStore::default(), NO_WAIT).await;
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone().unwrap_or_default())
            .collect()
    }

    #[tokio::test]
    async fn only_outbox_inserts_are_published_with_their_event_type() {
        let publisher = InMemoryPublisher::default();
        assert!(relay_failures(fixture(), &publisher).await.is_empty());
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
        publisher.fail(&fixture_message(0).event_id, 2, true);
        assert!(relay_failures(fixture(), &publisher).await.is_empty());
        assert_eq!(publisher.published().len(), 2);
    }

    #[tokio::test]
    async fn a_persistent_failure_reports_only_that_records_sequence_number() {
        let publisher = InMemoryPublisher::default();
        let first = fixture_message(0);
        publisher.fail(&first.event_id, u32::MAX, true);
        assert_eq!(
            relay_failures(fixture(), &publisher).await,
            [first.sequence_number]
        );
        assert_eq!(publisher.published().len(), 1);
    }

    #[tokio::test]
    async fn a_sender_fault_is_not_retried() {
        let publisher = InMemoryPublisher::default();
        let first = fixture_message(0);
        publisher.fail(&first.event_id, 1, false);
        assert_eq!(
            relay_failures(fixture(), &publisher).await,
            [first.sequence_number]
        );
    }

    #[tokio::test]
    async fn a_malformed_outbox_item_is_reported_not_skipped() {
        let mut event = fixture();
        event.records[0].change.new_image.remove(OUTBOX_ENVELOPE);
        let sequence = event.records[0].change.sequence_number.clone().unwrap();
        let publisher = InMemoryPublisher::default();
        assert_eq!(relay_failures(event, &publisher).await, [sequence]);
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
        assert!(relay_failures(event, &publisher).await.is_empty());
        assert_eq!(publisher.published().len(), 23);
        assert!(publisher.batches().iter().all(|&size| size <= 10));
    }

    #[tokio::test]
    async fn the_relay_marks_what_it_published_and_only_that() {
        let (publisher, store) = (InMemoryPublisher::default(), InMemoryOutboxStore::default());
        let (first, third) = (fixture_message(0), fixture_message(2));
        store.add(chrono::Utc::now(), first.clone());
        store.add(chrono::Utc::now(), third.clone());
        publisher.fail(&first.event_id, u32::MAX, true);
        relay_stream_batch(fixture(), &publisher, &store, NO_WAIT).await;
        assert!(!store.is_published(&first.event_id));
        assert!(store.is_published(&third.event_id));
    }
}

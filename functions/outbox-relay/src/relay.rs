//! Stream records -> outbox messages -> published, with retries, and the batch response that
//! tells Lambda which records to redeliver.

use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_dynamo::AttributeValue;
use shared::dynamo::{EVENT_TYPE, KIND, OUTBOX_ENVELOPE, OUTBOX_KIND};

use crate::publisher::{EventPublisher, MAX_BATCH, OutboxMessage};

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

    for chunk in pending.chunks(MAX_BATCH) {
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
                        tracing::info!(event_id = %message.event_id, event_type = %message.event_type, "event published")
                    }
                    Some(Err(err)) if err.retryable && attempt < policy.attempts => {
                        tracing::warn!(event_id = %message.event_id, attempt, error = %err, "publish failed; retrying");
                        retry.push(message);
                    }
                    Some(Err(err)) => {
                        tracing::error!(event_id = %message.event_id, attempt, error = %err, "publish failed; reporting the record for redelivery");
                        response
                            .batch_item_failures
                            .push(failure(message.sequence_number));
                    }
                    None => {
                        tracing::error!(event_id = %message.event_id, "publisher returned no outcome; reporting the record");
                        response
                            .batch_item_failures
                            .push(failure(message.sequence_number));
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
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publisher::InMemoryPublisher;

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
        let response = relay(fixture(), &publisher, NO_WAIT).await;
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
        let response = relay(fixture(), &publisher, NO_WAIT).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(publisher.published().len(), 2);
    }

    #[tokio::test]
    async fn a_persistent_failure_reports_only_that_records_sequence_number() {
        let publisher = InMemoryPublisher::default();
        let first = outbox_message(&fixture().records[0]).unwrap();
        publisher.fail(&first.event_id, u32::MAX, true);
        let response = relay(fixture(), &publisher, NO_WAIT).await;
        assert_eq!(failed(&response), [first.sequence_number]);
        assert_eq!(publisher.published().len(), 1);
    }

    #[tokio::test]
    async fn a_sender_fault_is_not_retried() {
        let publisher = InMemoryPublisher::default();
        let first = outbox_message(&fixture().records[0]).unwrap();
        publisher.fail(&first.event_id, 1, false);
        let response = relay(fixture(), &publisher, NO_WAIT).await;
        assert_eq!(failed(&response), [first.sequence_number]);
    }

    #[tokio::test]
    async fn a_malformed_outbox_item_is_reported_not_skipped() {
        let mut event = fixture();
        event.records[0].change.new_image.remove(OUTBOX_ENVELOPE);
        let sequence = event.records[0].change.sequence_number.clone().unwrap();
        let publisher = InMemoryPublisher::default();
        let response = relay(event, &publisher, NO_WAIT).await;
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
        let response = relay(event, &publisher, NO_WAIT).await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(publisher.published().len(), 23);
    }
}

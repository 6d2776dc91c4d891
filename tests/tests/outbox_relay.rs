//! The relay's adapters against a real topic and table: every entry of a PublishBatch arrives,
//! with the `event_type` attribute that subscription filters match on; a relayed batch reaches
//! the topic once per event and is marked on the table; the sweeper publishes what the stream
//! never delivered.

use std::collections::BTreeSet;
use std::time::Duration;

use emulator_tests::{
    Queue, Scope, dynamodb, receive_as_lambda_event, scoped, sns, sqs, subscribe,
};
use outbox_relay::adapters::dynamodb::DynamoDbOutboxStore;
use outbox_relay::adapters::sns::SnsEventPublisher;
use outbox_relay::domain::OutboxMessage;
use outbox_relay::ports::{EventPublisher, PendingOutbox};
use outbox_relay::service::{RetryPolicy, SWEEP_MIN_AGE, SweepReport, relay, sweep};
use shared::dynamo::{CREATED_AT, OUTBOX_PENDING, OUTBOX_PENDING_INDEX, UnitOfWork};
use shared::envelope::{EventEnvelope, Trace};
use shared::events::ProductArchived;
use uuid::Uuid;

/// The outbox table's index the sweeper reads, as the template declares it.
const PENDING_INDEX: [(&str, &str, &str); 1] = [(OUTBOX_PENDING_INDEX, OUTBOX_PENDING, CREATED_AT)];

const ONE_ATTEMPT: RetryPolicy = RetryPolicy {
    attempts: 1,
    backoff: Duration::ZERO,
};

fn message(sequence: usize) -> OutboxMessage {
    let envelope = EventEnvelope::new(
        ProductArchived {
            product_id: Uuid::new_v4(),
            version: 1,
        },
        Trace::from_request("c", "r"),
    );
    OutboxMessage {
        sequence_number: sequence.to_string(),
        event_id: envelope.id.to_string(),
        event_type: envelope.event_type.clone(),
        body: envelope.to_json().unwrap(),
    }
}

/// An outbox item of a new event written as a service writes it: in a unit of work.
async fn write_outbox_item(table: &str) -> Uuid {
    let event = EventEnvelope::new(
        ProductArchived {
            product_id: Uuid::new_v4(),
            version: 2,
        },
        Trace::from_request("c", "r"),
    );
    let mut unit = UnitOfWork::new(table);
    unit.publish(&event).unwrap();
    unit.commit(&dynamodb().await).await.unwrap();
    event.id
}

/// A publishing table (with the sweeper's index) and its topic, with a queue subscribed to the
/// topic (raw delivery): `(topic ARN, queue, table)`.
async fn outbox_and_topic(scope: &Scope, prefix: &str) -> (String, Queue, String) {
    let topic_arn = scope.topic(prefix).await;
    let queue = scope.queue(&format!("{prefix}-sub"), &[]).await;
    subscribe(&topic_arn, &queue, true, None).await;
    let table = scope.table(prefix, &PENDING_INDEX).await;
    (topic_arn, queue, table)
}

/// The event ids of what arrived on `queue`, waiting for `expected` of them.
async fn received_ids(queue: &Queue, expected: usize) -> Vec<String> {
    let batch = receive_as_lambda_event(&sqs().await, queue, expected, Duration::from_secs(10))
        .await
        .unwrap();
    batch
        .records
        .iter()
        .map(|r| shared::sqs::parse_record(r).unwrap().id.to_string())
        .collect()
}

#[tokio::test]
async fn sns_publish_batch_delivers_every_entry_with_its_event_type_attribute() {
    scoped(async |scope| {
        let topic_arn = scope.topic("relay").await;
        let queue = scope.queue("relay-sub", &[]).await;
        let filter = r#"{"event_type": ["ProductArchived"]}"#;
        subscribe(&topic_arn, &queue, true, Some(filter)).await;
        let publisher = SnsEventPublisher::new(sns().await, &topic_arn);
        let messages: Vec<_> = (0..10).map(message).collect();
        let outcomes = publisher.publish_batch(&messages).await;
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");

        let received: BTreeSet<_> = received_ids(&queue, 10).await.into_iter().collect();
        let sent: BTreeSet<_> = messages.iter().map(|m| m.event_id.clone()).collect();
        assert_eq!(received, sent);
    })
    .await;
}

#[tokio::test]
async fn publishing_to_a_missing_topic_fails_every_entry_retryably_or_not_but_never_silently() {
    let sns = sns().await;
    let publisher =
        SnsEventPublisher::new(sns, "arn:aws:sns:us-east-1:000000000000:does-not-exist");
    let outcomes = publisher.publish_batch(&[message(1), message(2)]).await;
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
}

#[tokio::test]
async fn a_relayed_batch_of_twenty_five_reaches_the_topic_once_each_and_every_item_is_marked() {
    scoped(async |scope| {
        let (topic_arn, queue, table) = outbox_and_topic(scope, "relay-batch").await;
        let mut written = Vec::new();
        for _ in 0..25 {
            written.push(write_outbox_item(&table).await);
        }
        let store = DynamoDbOutboxStore::new(dynamodb().await, &table);
        let later = chrono::Utc::now() + chrono::Duration::minutes(1);
        let pending = store.pending_before(later, 100).await.unwrap();
        assert_eq!(pending.len(), 25, "every item starts pending");

        let publisher = SnsEventPublisher::new(sns().await, &topic_arn);
        let relayed = relay(pending, &publisher, &store, ONE_ATTEMPT).await;
        assert_eq!(relayed.published, 25);
        assert!(relayed.failed.is_empty(), "{:?}", relayed.failed);

        assert!(
            store.pending_before(later, 100).await.unwrap().is_empty(),
            "every item marked published"
        );
        let mut received = received_ids(&queue, 25).await;
        received.sort();
        let mut sent: Vec<_> = written.iter().map(Uuid::to_string).collect();
        sent.sort();
        assert_eq!(received, sent, "each event once");
    })
    .await;
}

#[tokio::test]
async fn the_sweeper_publishes_outbox_items_the_stream_never_delivered_and_marks_them() {
    scoped(async |scope| {
        let (topic_arn, queue, table) = outbox_and_topic(scope, "sweep").await;
        let event_id = write_outbox_item(&table).await;

        let store = DynamoDbOutboxStore::new(dynamodb().await, &table);
        let publisher = SnsEventPublisher::new(sns().await, &topic_arn);
        // Young items are the relay's business: the sweeper leaves them.
        assert_eq!(
            sweep(
                &store,
                &publisher,
                ONE_ATTEMPT,
                chrono::Utc::now(),
                SWEEP_MIN_AGE
            )
            .await
            .unwrap(),
            SweepReport::default()
        );
        // Two minutes later nobody has marked it: the sweeper publishes it, once.
        let later = chrono::Utc::now() + chrono::Duration::minutes(2);
        assert_eq!(
            sweep(&store, &publisher, ONE_ATTEMPT, later, SWEEP_MIN_AGE)
                .await
                .unwrap(),
            SweepReport {
                republished: 1,
                failed: 0
            }
        );
        assert!(
            store.pending_before(later, 10).await.unwrap().is_empty(),
            "marked published"
        );
        assert_eq!(
            sweep(&store, &publisher, ONE_ATTEMPT, later, SWEEP_MIN_AGE)
                .await
                .unwrap(),
            SweepReport::default()
        );

        let received = received_ids(&queue, 1).await;
        assert_eq!(received.len(), 1);
        assert_eq!(received, [event_id.to_string()]);
    })
    .await;
}

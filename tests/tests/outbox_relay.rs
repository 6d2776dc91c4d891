//! The relay's SNS adapter against a real topic: every entry of a PublishBatch arrives, with the
//! `event_type` attribute that subscription filters match on.

use std::collections::BTreeSet;
use std::time::Duration;

use emulator_tests::{dynamodb, receive_as_lambda_event, scoped, sns, sqs, subscribe};
use outbox_relay::publisher::{EventPublisher, OutboxMessage, SnsEventPublisher};
use shared::envelope::{EventEnvelope, Trace};
use shared::events::ProductArchived;
use uuid::Uuid;

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

        let batch = receive_as_lambda_event(&sqs().await, &queue, 10, Duration::from_secs(10))
            .await
            .unwrap();
        let received: BTreeSet<_> = batch
            .records
            .iter()
            .map(|r| shared::sqs::parse_record(r).unwrap().id.to_string())
            .collect();
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
async fn the_sweeper_publishes_outbox_items_the_stream_never_delivered_and_marks_them() {
    use outbox_relay::relay::{RetryPolicy, SWEEP_MIN_AGE, SweepReport, sweep};
    use outbox_relay::store::{DynamoDbOutboxStore, OutboxStore};
    use shared::dynamo::{CREATED_AT, OUTBOX_PENDING, OUTBOX_PENDING_INDEX, UnitOfWork};

    scoped(async |scope| {
        let topic_arn = scope.topic("sweep").await;
        let queue = scope.queue("sweep-sub", &[]).await;
        subscribe(&topic_arn, &queue, true, None).await;
        let indexes = [(OUTBOX_PENDING_INDEX, OUTBOX_PENDING, CREATED_AT)];
        let (client, table) = (dynamodb().await, scope.table("sweep", &indexes).await);
        let event = EventEnvelope::new(
            ProductArchived {
                product_id: Uuid::new_v4(),
                version: 2,
            },
            Trace::from_request("c", "r"),
        );
        let mut unit = UnitOfWork::new(&table);
        unit.publish(&event).unwrap();
        unit.commit(&client).await.unwrap();

        let store = DynamoDbOutboxStore::new(client.clone(), &table);
        let publisher = SnsEventPublisher::new(sns().await, &topic_arn);
        let policy = RetryPolicy {
            attempts: 1,
            backoff: Duration::ZERO,
        };
        // Young items are the relay's business: the sweeper leaves them.
        assert_eq!(
            sweep(
                &store,
                &publisher,
                policy,
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
            sweep(&store, &publisher, policy, later, SWEEP_MIN_AGE)
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
            sweep(&store, &publisher, policy, later, SWEEP_MIN_AGE)
                .await
                .unwrap(),
            SweepReport::default()
        );

        let batch = receive_as_lambda_event(&sqs().await, &queue, 1, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(batch.records.len(), 1);
        assert_eq!(
            shared::sqs::parse_record(&batch.records[0]).unwrap().id,
            event.id
        );
    })
    .await;
}

//! The shared SQS batch processor on records that really went through SNS and SQS.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use emulator_tests::{receive_as_lambda_event, scoped, sns, sqs, subscribe};
use shared::envelope::{EventEnvelope, Trace};
use shared::events::{Event, ProductArchived, UserRegistered};
use shared::sqs::{RetryLater, SqsRequeue, process_batch, process_batch_with};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

async fn publish<E: Event>(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    event: &EventEnvelope<E>,
) {
    client
        .publish()
        .topic_arn(topic_arn)
        .message(event.to_json().unwrap())
        .message_attributes(
            "event_type",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(E::TYPE)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("Publish");
}

fn archived() -> EventEnvelope<ProductArchived> {
    EventEnvelope::new(
        ProductArchived {
            product_id: Uuid::new_v4(),
            version: 3,
        },
        Trace::from_request("corr-sns", "req"),
    )
}

#[tokio::test]
async fn raw_and_sns_wrapped_records_are_handled_and_only_the_poison_record_fails() {
    scoped(async |scope| {
        let (sns, sqs) = (sns().await, sqs().await);
        let topic_arn = scope.topic("products-events").await;
        let raw_queue = scope.queue("raw", &[]).await;
        let wrapped_queue = scope.queue("wrapped", &[]).await;
        let filter = r#"{"event_type": ["ProductArchived"]}"#;
        subscribe(&topic_arn, &raw_queue, true, Some(filter)).await;
        subscribe(&topic_arn, &wrapped_queue, false, Some(filter)).await;
        let event = archived();
        publish(&sns, &topic_arn, &event).await;
        sqs.send_message()
            .queue_url(&raw_queue.url)
            .message_body("{not an envelope")
            .send()
            .await
            .unwrap();

        for (queue, expected) in [(&raw_queue, 2), (&wrapped_queue, 1)] {
            let batch = receive_as_lambda_event(&sqs, queue, expected, WAIT)
                .await
                .unwrap();
            assert_eq!(batch.records.len(), expected, "records on {}", queue.url);
            let poison: Vec<_> = batch
                .records
                .iter()
                .filter(|r| r.body.as_deref() == Some("{not an envelope"))
                .filter_map(|r| r.message_id.clone())
                .collect();
            let handled = Mutex::new(Vec::new());
            let response = process_batch(batch, 4, |envelope| {
                handled
                    .lock()
                    .unwrap()
                    .push((envelope.id, envelope.correlation_id.clone()));
                async { Ok::<_, anyhow::Error>(()) }
            })
            .await
            .unwrap();
            let failed: Vec<_> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.clone())
                .collect();
            assert_eq!(failed, poison);
            assert_eq!(
                *handled.lock().unwrap(),
                [(event.id, "corr-sns".to_owned())]
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_subscription_filter_on_event_type_delivers_only_the_types_it_names() {
    scoped(async |scope| {
        let (sns, sqs) = (sns().await, sqs().await);
        let topic_arn = scope.topic("users-events").await;
        let queue = scope.queue("filtered", &[]).await;
        let filter = r#"{"event_type": ["UserRegistered"]}"#;
        subscribe(&topic_arn, &queue, true, Some(filter)).await;
        publish(&sns, &topic_arn, &archived()).await;
        let registered = EventEnvelope::new(
            UserRegistered {
                user_id: Uuid::new_v4(),
                email: "ada@example.com".into(),
                name: "Ada".into(),
            },
            Trace::from_request("c", "r"),
        );
        publish(&sns, &topic_arn, &registered).await;
        // Wait for more than the one expected, so a leaked ProductArchived would show up.
        let batch = receive_as_lambda_event(&sqs, &queue, 2, Duration::from_secs(3))
            .await
            .unwrap();
        let types: Vec<_> = batch
            .records
            .iter()
            .map(|r| shared::sqs::parse_record(r).unwrap().event_type)
            .collect();
        assert_eq!(types, ["UserRegistered"]);
    })
    .await;
}

#[tokio::test]
async fn a_record_that_keeps_failing_is_redelivered_then_moved_to_the_dead_letter_queue() {
    scoped(async |scope| {
        let sqs = sqs().await;
        let dlq = scope.queue("dlq", &[]).await;
        let redrive = format!(
            r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"2"}}"#,
            dlq.arn
        );
        let queue = scope
            .queue(
                "work",
                &[
                    (QueueAttributeName::RedrivePolicy, redrive),
                    (QueueAttributeName::VisibilityTimeout, "1".to_owned()),
                ],
            )
            .await;
        sqs.send_message()
            .queue_url(&queue.url)
            .message_body("poison")
            .send()
            .await
            .unwrap();
        // Receive until the queue stops handing it out: SQS moves it to the DLQ on the
        // receive after the last allowed one.
        let mut attempts = 0;
        for _ in 0..4 {
            let batch = receive_as_lambda_event(&sqs, &queue, 1, Duration::from_secs(3))
                .await
                .unwrap();
            if batch.records.is_empty() {
                continue;
            }
            attempts += 1;
            let response = process_batch(batch, 1, |_| async { Ok::<_, anyhow::Error>(()) })
                .await
                .unwrap();
            assert_eq!(response.batch_item_failures.len(), 1);
            // As Lambda does with a reported failure: leave it on the queue to reappear.
        }
        assert_eq!(
            attempts, 2,
            "delivered once per allowed receive, then no more"
        );
        let dead = receive_as_lambda_event(&sqs, &dlq, 1, WAIT).await.unwrap();
        assert_eq!(dead.records.len(), 1, "poison record reached the DLQ");
        assert_eq!(dead.records[0].body.as_deref(), Some("poison"));
    })
    .await;
}

#[tokio::test]
async fn a_record_that_asks_to_retry_later_is_visible_again_within_seconds_not_after_the_timeout() {
    scoped(async |scope| {
        let sqs = sqs().await;
        // A visibility timeout far longer than the test: a record back within seconds was
        // returned.
        let queue = scope
            .queue(
                "contended",
                &[(QueueAttributeName::VisibilityTimeout, "120".to_owned())],
            )
            .await;
        let (contended, unreturnable) = (archived(), archived());
        for event in [&contended, &unreturnable] {
            sqs.send_message()
                .queue_url(&queue.url)
                .message_body(event.to_json().unwrap())
                .send()
                .await
                .unwrap();
        }
        let mut batch = receive_as_lambda_event(&sqs, &queue, 2, WAIT)
            .await
            .unwrap();
        assert_eq!(batch.records.len(), 2);
        // This one names a queue that does not exist: returning it early fails, so it must
        // fall back to the visibility timeout, still reported as failed.
        for record in &mut batch.records {
            let event = shared::sqs::parse_record(record).unwrap();
            if event.id == unreturnable.id {
                record.event_source_arn = Some(format!("{}-missing", queue.arn));
            }
        }
        let requeue = SqsRequeue::new(sqs.clone());
        let returned = Instant::now();
        let response = process_batch_with(batch, 2, &requeue, |_| async {
            Err::<(), _>(anyhow::Error::new(RetryLater).context("lost every race"))
        })
        .await
        .unwrap();
        assert_eq!(response.batch_item_failures.len(), 2, "both still failed");

        // The first receive returns a record after 1 or 2 s.
        let again = receive_as_lambda_event(&sqs, &queue, 2, Duration::from_secs(6))
            .await
            .unwrap();
        let back: Vec<_> = again
            .records
            .iter()
            .map(|r| shared::sqs::parse_record(r).unwrap().id)
            .collect();
        assert_eq!(back, [contended.id], "only the returned record is back");
        assert!(
            returned.elapsed() >= Duration::from_secs(1),
            "hidden for a while first"
        );
        assert_eq!(
            again.records[0]
                .attributes
                .get("ApproximateReceiveCount")
                .map(String::as_str),
            Some("2")
        );
    })
    .await;
}

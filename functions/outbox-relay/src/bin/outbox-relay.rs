use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{LambdaEvent, service_fn};
use outbox_relay::publisher::SnsEventPublisher;
use outbox_relay::relay::{RetryPolicy, relay};
use outbox_relay::store::DynamoDbOutboxStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let topic_arn = shared::config::required("EVENTS_TOPIC_ARN")?;
    let table = shared::config::required("OUTBOX_TABLE")?;
    let config = shared::config::aws_sdk_config(shared::config::CallBudget::PUBLISHER).await;
    let publisher = SnsEventPublisher::new(aws_sdk_sns::Client::new(&config), topic_arn);
    let store = DynamoDbOutboxStore::new(aws_sdk_dynamodb::Client::new(&config), table);
    let (publisher, store) = (&publisher, &store);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, lambda_runtime::Error>(
            relay(event.payload, publisher, store, RetryPolicy::default()).await,
        )
    }))
    .await
}

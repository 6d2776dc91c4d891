use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{LambdaEvent, service_fn};
use outbox_relay::publisher::SnsEventPublisher;
use outbox_relay::relay::{RetryPolicy, relay};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let topic_arn = shared::config::required("EVENTS_TOPIC_ARN")?;
    let config = shared::config::aws_sdk_config().await;
    let publisher = SnsEventPublisher::new(aws_sdk_sns::Client::new(&config), topic_arn);
    let publisher = &publisher;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<_, lambda_runtime::Error>(
            relay(event.payload, publisher, RetryPolicy::default()).await,
        )
    }))
    .await
}

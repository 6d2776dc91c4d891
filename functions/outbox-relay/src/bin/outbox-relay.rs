use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{LambdaEvent, service_fn};
use outbox_relay::adapters::Deployed;
use outbox_relay::lambda::relay_stream_batch;
use outbox_relay::service::RetryPolicy;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let deployed = &Deployed::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        let policy = RetryPolicy::default();
        let response =
            relay_stream_batch(event.payload, &deployed.publisher, &deployed.store, policy).await;
        Ok::<_, lambda_runtime::Error>(response)
    }))
    .await
}

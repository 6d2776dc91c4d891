use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use notifications::adapters::{dynamodb::DynamoDbNotificationStore, ses::SesSender};
use notifications::worker::handle_batch;
use shared::config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let table = config::required("NOTIFICATIONS_TABLE")?;
    let from = config::required("SENDER_EMAIL")?;
    let sdk = config::aws_sdk_config(config::CallBudget::WORKER).await;
    let store = DynamoDbNotificationStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let sender = SesSender::new(aws_sdk_sesv2::Client::new(&sdk), from);
    let (store, sender) = (&store, &sender);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        handle_batch(store, sender, event.payload).await
    }))
    .await
}

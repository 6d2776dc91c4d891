use aws_lambda_events::event::sqs::SqsEvent;
use inventory::adapters::dynamodb::DynamoDbInventoryStore;
use inventory::worker::handle_batch;
use lambda_runtime::{LambdaEvent, service_fn};
use shared::config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let table = config::required("INVENTORY_TABLE")?;
    let sdk = config::aws_sdk_config().await;
    let store = DynamoDbInventoryStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        handle_batch(store, event.payload).await
    }))
    .await
}

use aws_lambda_events::event::sqs::SqsEvent;
use inventory::adapters::dynamodb::DynamoDbInventoryStore;
use inventory::worker::handle_batch;
use lambda_runtime::{LambdaEvent, service_fn};
use shared::config;
use shared::sqs::SqsRequeue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let table = config::required("INVENTORY_TABLE")?;
    let sdk = config::aws_sdk_config(config::CallBudget::WORKER).await;
    let store = DynamoDbInventoryStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let requeue = SqsRequeue::new(aws_sdk_sqs::Client::new(&sdk));
    let (store, requeue) = (&store, &requeue);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        handle_batch(store, requeue, event.payload).await
    }))
    .await
}

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use orders::adapters::{dynamodb::DynamoDbOrderRepository, payment::SimulatedPaymentGateway};
use orders::worker::handle_batch;
use shared::config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let table = config::required("ORDERS_TABLE")?;
    let client =
        aws_sdk_dynamodb::Client::new(&config::aws_sdk_config(config::CallBudget::WORKER).await);
    let repo = DynamoDbOrderRepository::new(client.clone(), &table);
    let gateway = SimulatedPaymentGateway::new(client, &table);
    let (repo, gateway) = (&repo, &gateway);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        handle_batch(repo, gateway, event.payload).await
    }))
    .await
}

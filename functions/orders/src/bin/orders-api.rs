use std::convert::Infallible;

use lambda_http::{Request, service_fn};
use orders::adapters::{dynamodb::DynamoDbOrderRepository, payment::SimulatedPaymentGateway};
use orders::http::OrdersApi;
use shared::auth::JwtKeys;
use shared::config;
use shared::pagination::Cursors;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let table = config::required("ORDERS_TABLE")?;
    let keys = JwtKeys::from_env()?;
    let sdk = config::aws_sdk_config(config::CallBudget::API).await;
    let cursors = Cursors::from_secrets_manager(&sdk).await?;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let api = OrdersApi {
        repo: DynamoDbOrderRepository::new(client.clone(), &table),
        gateway: SimulatedPaymentGateway::new(client, &table),
        keys,
        cursors,
    };
    let api = &api;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(api.handle(request).await)
    }))
    .await
}

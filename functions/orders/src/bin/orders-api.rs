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
    shared::http::serve(|request| api.handle(request)).await
}

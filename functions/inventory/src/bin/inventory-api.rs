use inventory::adapters::dynamodb::DynamoDbInventoryStore;
use inventory::http::InventoryApi;
use shared::auth::JwtKeys;
use shared::config;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let table = config::required("INVENTORY_TABLE")?;
    let keys = JwtKeys::from_env()?;
    let sdk = config::aws_sdk_config(config::CallBudget::API).await;
    let api = InventoryApi {
        store: DynamoDbInventoryStore::new(aws_sdk_dynamodb::Client::new(&sdk), table),
        keys,
    };
    shared::http::serve(|request| api.handle(request)).await
}

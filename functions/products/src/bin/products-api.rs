use products::adapters::dynamodb::DynamoDbProductRepository;
use products::http::ProductsApi;
use shared::auth::JwtKeys;
use shared::config;
use shared::pagination::Cursors;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let table = config::required("PRODUCTS_TABLE")?;
    let keys = JwtKeys::from_env()?;
    let sdk = config::aws_sdk_config(config::CallBudget::API).await;
    let api = ProductsApi {
        repo: DynamoDbProductRepository::new(aws_sdk_dynamodb::Client::new(&sdk), table),
        keys,
        cursors: Cursors::from_secrets_manager(&sdk).await?,
    };
    shared::http::serve(|request| api.handle(request)).await
}

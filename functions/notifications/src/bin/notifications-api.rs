use notifications::adapters::dynamodb::DynamoDbNotificationStore;
use notifications::http::NotificationsApi;
use shared::auth::JwtKeys;
use shared::config;
use shared::pagination::Cursors;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let table = config::required("NOTIFICATIONS_TABLE")?;
    let keys = JwtKeys::from_env()?;
    let sdk = config::aws_sdk_config(config::CallBudget::API).await;
    let api = NotificationsApi {
        store: DynamoDbNotificationStore::new(aws_sdk_dynamodb::Client::new(&sdk), table),
        keys,
        cursors: Cursors::from_secrets_manager(&sdk).await?,
    };
    shared::http::serve(|request| api.handle(request)).await
}

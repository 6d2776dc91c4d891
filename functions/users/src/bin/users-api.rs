use std::convert::Infallible;

use lambda_http::{Request, service_fn};
use shared::auth::JwtKeys;
use shared::config;
use users::adapters::{argon::Argon2Hasher, dynamodb::DynamoDbUserRepository};
use users::http::UsersApi;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let table = config::required("USERS_TABLE")?;
    let keys = JwtKeys::from_secret(config::required("JWT_SECRET")?.as_bytes())?;
    let sdk = config::aws_sdk_config().await;
    let repo = DynamoDbUserRepository::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let api = UsersApi {
        repo,
        hasher: Argon2Hasher::production()?,
        keys,
    };
    let api = &api;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(api.handle(request).await)
    }))
    .await
}

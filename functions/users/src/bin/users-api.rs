use shared::auth::SigningKeys;
use shared::config;
use users::adapters::{argon::Argon2Hasher, dynamodb::DynamoDbUserRepository};
use users::http::UsersApi;
use users::service::LoginLimit;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let table = config::required("USERS_TABLE")?;
    let defaults = LoginLimit::default();
    let login_limit = LoginLimit {
        max_failures: optional_parsed("LOGIN_MAX_FAILURES")?.unwrap_or(defaults.max_failures),
        window: optional_parsed("LOGIN_FAILURE_WINDOW_SECONDS")?
            .map_or(defaults.window, chrono::Duration::seconds),
    };
    if login_limit.max_failures == 0 || login_limit.window <= chrono::Duration::zero() {
        return Err("LOGIN_MAX_FAILURES and LOGIN_FAILURE_WINDOW_SECONDS must be positive".into());
    }
    let sdk = config::aws_sdk_config(config::CallBudget::API).await;
    let keys = SigningKeys::from_secrets_manager(&sdk).await?;
    let repo = DynamoDbUserRepository::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let api = UsersApi {
        repo,
        hasher: Argon2Hasher::production()?,
        keys,
        login_limit,
    };
    shared::http::serve(|request| api.handle(request)).await
}

/// An optional variable parsed into `T`.
fn optional_parsed<T>(name: &'static str) -> Result<Option<T>, config::ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    config::optional(name)
        .map(|_| config::parsed(name))
        .transpose()
}

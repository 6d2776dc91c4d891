use lambda_runtime::{LambdaEvent, service_fn};
use outbox_relay::adapters::Deployed;
use outbox_relay::lambda::sweep_now;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let deployed = &Deployed::from_env().await?;
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            sweep_now(&deployed.store, &deployed.publisher)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}

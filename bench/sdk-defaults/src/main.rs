//! The "SDK defaults" reference of `make bench`: a minimal Rust Lambda reading one DynamoDB
//! item started the way the SDK's and tokio's documentation start one: `#[tokio::main]` (the
//! multi-threaded runtime) and `aws_config::load_defaults` (the SDK's default HTTPS client,
//! which reads the system's whole trust store on its first request). One client built at init,
//! one `GetItem` per event: the handler of the true floor (`bench/floor`), which is built the
//! way the functions are. Both are measured in every run, so what the functions' runtime and
//! client choices are worth shows as the gap between the two.

use lambda_runtime::{Error, LambdaEvent, service_fn};

// The floor's handler, from its file: the two baselines differ only in `main`.
#[path = "../../floor/src/lookup.rs"]
mod lookup;

use lookup::{Lookup, get_item};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let client = &client;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Lookup>| {
        get_item(client, event.payload)
    }))
    .await
}

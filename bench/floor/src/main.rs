//! The floor every function is compared with in `make bench`: the least a Rust Lambda reading
//! one DynamoDB item can be when it is built exactly like the functions: the current-thread
//! runtime, the SDK configuration of `shared::config` (its HTTPS client and trust store, its
//! call budget), one client built at init, the workspace's release profile. One `GetItem` per
//! event, the answer as plain JSON; no telemetry, no validation, no problem responses.
//! Whatever a service function costs above this is the price of what it does on top.
//!
//! `bench/sdk-defaults` is the same handler started with the SDK's and tokio's defaults.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::{CallBudget, aws_sdk_config};

mod lookup;

use lookup::{Lookup, get_item};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = aws_sdk_config(CallBudget::API).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let client = &client;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Lookup>| {
        get_item(client, event.payload)
    }))
    .await
}

//! The floor every function is compared with in `make bench`: the least a Rust Lambda that reads
//! one DynamoDB item can do. One SDK client built at init, one `GetItem` per event, the item's
//! attributes returned as strings. No telemetry, no validation, no problem responses: whatever a
//! service function costs above this is the price of what it does on top.
//!
//! Event: `{"table": "...", "pk": "...", "sk": "..."}` (`sk` optional). The Python baseline
//! (`bench/python/handler.py`) does exactly the same with boto3.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Lookup {
    table: String,
    pk: String,
    sk: Option<String>,
}

async fn get_item(client: &aws_sdk_dynamodb::Client, lookup: Lookup) -> Result<Value, Error> {
    let mut key = HashMap::from([("pk".to_owned(), AttributeValue::S(lookup.pk))]);
    if let Some(sk) = lookup.sk {
        key.insert("sk".to_owned(), AttributeValue::S(sk));
    }
    let output = client
        .get_item()
        .table_name(lookup.table)
        .set_key(Some(key))
        .send()
        .await?;
    let item: serde_json::Map<String, Value> = output
        .item
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                AttributeValue::S(s) | AttributeValue::N(s) => Value::String(s),
                AttributeValue::Bool(b) => Value::Bool(b),
                other => Value::String(format!("{other:?}")),
            };
            (name, value)
        })
        .collect();
    Ok(json!({ "found": !item.is_empty(), "item": item }))
}

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

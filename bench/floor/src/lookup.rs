//! The baselines' handler: one `GetItem` of the event's key, the item's attributes returned as
//! strings. `bench/floor` and `bench/sdk-defaults` run exactly this and differ only in how they
//! start (runtime, SDK configuration).
//!
//! Event: `{"table": "...", "pk": "...", "sk": "..."}` (`sk` optional). The Python baseline
//! (`bench/python/handler.py`) does the same with boto3.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::Error;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
pub struct Lookup {
    table: String,
    pk: String,
    sk: Option<String>,
}

/// One `GetItem`; `{"found": bool, "item": {attribute: string}}`.
///
/// # Errors
/// The call failed.
pub async fn get_item(client: &aws_sdk_dynamodb::Client, lookup: Lookup) -> Result<Value, Error> {
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

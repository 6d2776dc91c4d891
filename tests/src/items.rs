//! A service table as a test reads it: the items of a partition, and the envelopes its unit of
//! work wrote to the outbox.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use shared::dynamo::{KIND, OUTBOX_ENVELOPE, PK};
use shared::envelope::{EventEnvelope, RawEnvelope};
use shared::events::DomainEvent;

/// Every item of partition `pk` in `table` (a consistent query of every page), in key order.
///
/// # Panics
/// When the emulator refuses.
pub async fn partition(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    let items: Vec<_> = client
        .query()
        .table_name(table)
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect()
        .await;
    items
        .into_iter()
        .map(|item| item.unwrap_or_else(|err| panic!("querying {pk} in {table}: {err:?}")))
        .collect()
}

/// The JSON text of every outbox item in `table` (a consistent scan of every page), in no
/// particular order.
///
/// # Panics
/// When the emulator refuses, or an outbox item has no envelope.
pub async fn outbox_envelopes(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<String> {
    let pages: Vec<_> = client
        .scan()
        .table_name(table)
        .filter_expression("#kind = :outbox")
        .expression_attribute_names("#kind", KIND)
        .expression_attribute_values(":outbox", AttributeValue::S("outbox".into()))
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect()
        .await;
    pages
        .into_iter()
        .map(|item| {
            let item = item.unwrap_or_else(|err| panic!("scanning {table}: {err:?}"));
            match item.get(OUTBOX_ENVELOPE) {
                Some(AttributeValue::S(json)) => json.clone(),
                other => panic!("an outbox item of {table} without its envelope: {other:?}"),
            }
        })
        .collect()
}

/// Every outbox item of `table`, decoded as a consumer would.
///
/// # Panics
/// As [`outbox_envelopes`], or when an envelope does not decode.
pub async fn outbox_events(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Vec<EventEnvelope<DomainEvent>> {
    outbox_envelopes(client, table)
        .await
        .iter()
        .map(|json| {
            RawEnvelope::parse(json)
                .ok()
                .and_then(|raw| raw.decode().ok())
                .unwrap_or_else(|| panic!("an outbox envelope that does not decode: {json}"))
        })
        .collect()
}

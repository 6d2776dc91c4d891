//! Inbox and outbox against real DynamoDB transactions on the emulator.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use emulator_tests::with_service_table;
use shared::dynamo::{CommitError, KIND, OUTBOX_ENVELOPE, PK, SK, UnitOfWork, inbox_pk, outbox_pk};
use shared::envelope::{EventEnvelope, RawEnvelope, Trace};
use shared::events::{ProductArchived, StockReserved};
use uuid::Uuid;

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

async fn get(
    client: &Client,
    table: &str,
    pk: &str,
    sk: &str,
) -> Option<HashMap<String, AttributeValue>> {
    client
        .get_item()
        .table_name(table)
        .set_key(Some(key(pk, sk)))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
}

fn archived() -> EventEnvelope<ProductArchived> {
    EventEnvelope::new(
        ProductArchived {
            product_id: Uuid::new_v4(),
            version: 2,
        },
        Trace::from_request("corr", "req"),
    )
}

/// A counter increment on `PRODUCT#id`, the kind of state change a consumer makes.
fn increment(unit: &UnitOfWork, id: &str) -> aws_sdk_dynamodb::types::TransactWriteItem {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(unit.table())
        .set_key(Some(key(&format!("PRODUCT#{id}"), "STOCK")))
        .update_expression("ADD applied :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .expect("update");
    aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .update(update)
        .build()
}

#[tokio::test]
async fn an_outbox_item_commits_in_the_same_transaction_as_the_state_change() {
    with_service_table("uow-outbox", async |client, table| {
        let event = archived();
        let mut unit = UnitOfWork::new(&table);
        let product = unit
            .put(
                key("PRODUCT#1", "PRODUCT")
                    .into_iter()
                    .chain([(KIND.into(), s("product"))])
                    .collect(),
                None,
            )
            .unwrap();
        unit.push(product);
        unit.publish(&event).unwrap();
        unit.commit(&client).await.unwrap();

        assert!(get(&client, &table, "PRODUCT#1", "PRODUCT").await.is_some());
        let outbox = get(&client, &table, &outbox_pk(&event.id), "OUTBOX")
            .await
            .expect("outbox item written");
        assert_eq!(outbox[KIND], s("outbox"));
        let AttributeValue::S(json) = &outbox[OUTBOX_ENVELOPE] else {
            panic!("envelope not a string")
        };
        let stored = RawEnvelope::parse(json).unwrap().decode().unwrap();
        assert_eq!(stored.id, event.id);
        assert_eq!(stored.time, event.time);
        assert_eq!(stored.correlation_id, "corr");
    })
    .await;
}

#[tokio::test]
async fn a_failed_condition_on_the_state_change_writes_no_outbox_item() {
    with_service_table("uow-atomic", async |client, table| {
        let event = archived();
        let mut unit = UnitOfWork::new(&table);
        unit.publish(&event).unwrap();
        // The product does not exist, so this conditional put must fail.
        let guarded = unit
            .put(key("PRODUCT#2", "PRODUCT"), Some("attribute_exists(pk)"))
            .unwrap();
        let index = unit.push(guarded);
        let err = unit.commit(&client).await.unwrap_err();
        assert!(
            matches!(err, CommitError::ConditionFailed { index: i } if i == index),
            "{err:?}"
        );
        assert!(
            get(&client, &table, &outbox_pk(&event.id), "OUTBOX")
                .await
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn an_event_processed_twice_changes_state_once_and_the_second_is_reported_as_a_duplicate() {
    with_service_table("uow-inbox", async |client, table| {
        let event = archived();
        let reaction = EventEnvelope::new(
            StockReserved {
                order_id: Uuid::new_v4(),
                lines: vec![],
            },
            Trace::caused_by(&event),
        );
        for attempt in 0..2 {
            let mut unit = UnitOfWork::new(&table);
            let change = increment(&unit, "p");
            unit.push(change);
            unit.record_inbox(&event)
                .unwrap()
                .publish(&reaction)
                .unwrap();
            let result = unit.commit(&client).await;
            match attempt {
                0 => result.unwrap(),
                _ => assert!(
                    matches!(result, Err(CommitError::AlreadyProcessed)),
                    "{result:?}"
                ),
            }
        }
        let counter = get(&client, &table, "PRODUCT#p", "STOCK").await.unwrap();
        assert_eq!(counter["applied"], AttributeValue::N("1".into()));
        assert!(
            get(&client, &table, &inbox_pk(&event.id), "INBOX")
                .await
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_deliveries_of_one_event_apply_it_exactly_once() {
    with_service_table("uow-race", async |client, table| {
        let event = archived();
        let attempts = (0..10).map(|_| {
            let (client, table, event) = (client.clone(), table.clone(), event.clone());
            tokio::spawn(async move {
                // A consumer retries conflicts, as SQS redelivery would.
                loop {
                    let mut unit = UnitOfWork::new(&table);
                    let change = increment(&unit, "race");
                    unit.push(change);
                    unit.record_inbox(&event).unwrap();
                    match unit.commit(&client).await {
                        Err(CommitError::Conflict) => continue,
                        other => return other,
                    }
                }
            })
        });
        let outcomes = futures::future::join_all(attempts).await;
        let applied = outcomes.iter().filter(|o| matches!(o, Ok(Ok(())))).count();
        let duplicates = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Err(CommitError::AlreadyProcessed))))
            .count();
        assert_eq!((applied, duplicates), (1, 9), "{outcomes:?}");
        let counter = get(&client, &table, "PRODUCT#race", "STOCK").await.unwrap();
        assert_eq!(counter["applied"], AttributeValue::N("1".into()));
    })
    .await;
}

use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::Utc;
use inventory::adapters::memory::InMemoryInventoryStore;
use inventory::domain::ReservationStatus;
use inventory::ports::{Reservations, StockLevels};
use inventory::service::{Outcome, WorkerError};
use inventory::worker::{handle_batch, handle_event};
use shared::envelope::{EventEnvelope, Trace};
use shared::events::{
    CancellationReason, DomainEvent, Event, OrderCancelled, OrderLine, OrderPlaced, StockReleased,
};
use shared::retry::Backoff;
use shared::sqs::{NoRequeue, Requeue};
use shared::test_support::{decoded, eur, sqs_batch};
use uuid::Uuid;

fn placed(order_id: Uuid, lines: &[(Uuid, u32)]) -> EventEnvelope<DomainEvent> {
    decoded(order_placed(order_id, lines))
}

fn order_placed(order_id: Uuid, lines: &[(Uuid, u32)]) -> OrderPlaced {
    OrderPlaced {
        order_id,
        customer_id: Uuid::new_v4(),
        lines: lines
            .iter()
            .map(|(product_id, quantity)| OrderLine {
                product_id: *product_id,
                quantity: *quantity,
                unit_price: eur(100),
            })
            .collect(),
        total: eur(100),
        placed_at: Utc::now(),
    }
}

fn cancelled(order_id: Uuid) -> EventEnvelope<DomainEvent> {
    decoded(OrderCancelled {
        order_id,
        customer_id: Uuid::new_v4(),
        reason: CancellationReason::Customer,
        lines: vec![],
        total: eur(100),
        refunded: None,
    })
}

async fn level(store: &InMemoryInventoryStore, product: Uuid) -> (u32, u32) {
    let level = store.stock(product).await.unwrap().unwrap();
    (level.available, level.reserved)
}

fn types(store: &InMemoryInventoryStore) -> Vec<String> {
    store.outbox().into_iter().map(|(t, _)| t).collect()
}

#[tokio::test]
async fn the_sample_product_created_creates_a_zero_stock_record_once() {
    let store = InMemoryInventoryStore::default();
    let event = sqs_batch("inventory", "sqs-product-created.json");
    for _ in 0..2 {
        let response = handle_batch(&store, &NoRequeue, event.clone())
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
    }
    let product = Uuid::parse_str("7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10").unwrap();
    assert_eq!(level(&store, product).await, (0, 0));
}

#[tokio::test]
async fn order_placed_reserves_every_line_and_publishes_stock_reserved_caused_by_it() {
    let store = InMemoryInventoryStore::default();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    store.put_stock(a, 5, 0);
    store.put_stock(b, 1, 0);
    let order = Uuid::new_v4();
    let event = placed(order, &[(a, 2), (b, 1), (a, 1)]);
    let event_id = event.id;
    assert_eq!(
        handle_event(&store, event).await.unwrap(),
        Outcome::Reserved
    );
    assert_eq!(level(&store, a).await, (2, 3));
    assert_eq!(level(&store, b).await, (0, 1));
    let (event_type, envelope) = store.outbox().pop().unwrap();
    assert_eq!(event_type, "StockReserved");
    assert_eq!(envelope["data"]["order_id"], order.to_string());
    assert_eq!(envelope["causation_id"], event_id.to_string());
    assert_eq!(envelope["correlation_id"], "corr");
}

#[tokio::test]
async fn a_short_line_reserves_nothing_and_names_the_shortage() {
    let store = InMemoryInventoryStore::default();
    let (a, b, unknown) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    store.put_stock(a, 5, 0);
    store.put_stock(b, 1, 0);
    let outcome = handle_event(
        &store,
        placed(Uuid::new_v4(), &[(a, 2), (b, 2), (unknown, 1)]),
    )
    .await
    .unwrap();
    assert_eq!(outcome, Outcome::ReservationFailed);
    assert_eq!(level(&store, a).await, (5, 0), "nothing reserved");
    let (event_type, envelope) = store.outbox().pop().unwrap();
    assert_eq!(event_type, "StockReservationFailed");
    let unavailable = envelope["data"]["unavailable"].as_array().unwrap().clone();
    assert_eq!(unavailable.len(), 2);
    assert!(
        unavailable.iter().any(|s| s["product_id"] == b.to_string()
            && s["requested"] == 2
            && s["available"] == 1)
    );
    assert!(
        unavailable
            .iter()
            .any(|s| s["product_id"] == unknown.to_string() && s["available"] == 0)
    );
}

#[tokio::test]
async fn a_duplicated_order_placed_reserves_once() {
    let store = InMemoryInventoryStore::default();
    let a = Uuid::new_v4();
    store.put_stock(a, 5, 0);
    let event = placed(Uuid::new_v4(), &[(a, 2)]);
    assert_eq!(
        handle_event(&store, event.clone()).await.unwrap(),
        Outcome::Reserved
    );
    assert_eq!(
        handle_event(&store, event).await.unwrap(),
        Outcome::Duplicate
    );
    assert_eq!(level(&store, a).await, (3, 2));
    assert_eq!(types(&store), ["StockReserved"]);
}

#[tokio::test]
async fn order_cancelled_releases_the_reservation_once() {
    let store = InMemoryInventoryStore::default();
    let a = Uuid::new_v4();
    store.put_stock(a, 5, 0);
    let order = Uuid::new_v4();
    handle_event(&store, placed(order, &[(a, 2)]))
        .await
        .unwrap();
    let cancel = cancelled(order);
    assert_eq!(
        handle_event(&store, cancel.clone()).await.unwrap(),
        Outcome::Released
    );
    assert_eq!(
        handle_event(&store, cancel).await.unwrap(),
        Outcome::Duplicate
    );
    assert_eq!(
        handle_event(&store, cancelled(order)).await.unwrap(),
        Outcome::NothingToRelease,
        "a second cancellation event"
    );
    assert_eq!(level(&store, a).await, (5, 0));
    assert_eq!(types(&store), ["StockReserved", "StockReleased"]);
    let released: EventEnvelope<StockReleased> =
        serde_json::from_value(store.outbox()[1].1.clone()).unwrap();
    assert_eq!(released.data.lines[0].quantity, 2);
}

#[tokio::test]
async fn a_cancellation_that_overtakes_its_placement_makes_the_late_placement_reserve_nothing() {
    let store = InMemoryInventoryStore::default();
    let a = Uuid::new_v4();
    store.put_stock(a, 5, 0);
    let order = Uuid::new_v4();
    assert_eq!(
        handle_event(&store, cancelled(order)).await.unwrap(),
        Outcome::NothingToRelease
    );
    assert_eq!(
        handle_event(&store, placed(order, &[(a, 2)]))
            .await
            .unwrap(),
        Outcome::OrderAlreadyClosed
    );
    assert_eq!(level(&store, a).await, (5, 0));
    assert!(types(&store).is_empty());
}

#[tokio::test]
async fn a_cancelled_order_whose_reservation_failed_releases_nothing() {
    let store = InMemoryInventoryStore::default();
    let order = Uuid::new_v4();
    handle_event(&store, placed(order, &[(Uuid::new_v4(), 1)]))
        .await
        .unwrap();
    assert_eq!(
        handle_event(&store, cancelled(order)).await.unwrap(),
        Outcome::NothingToRelease
    );
    assert_eq!(types(&store), ["StockReservationFailed"]);
}

#[tokio::test]
async fn a_malformed_record_fails_alone_and_the_rest_of_the_batch_is_handled() {
    let store = InMemoryInventoryStore::default();
    let event = sqs_batch("inventory", "sqs-batch-with-poison.json");
    let response = handle_batch(&store, &NoRequeue, event).await.unwrap();
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["msg-poison"]);
}

#[tokio::test]
async fn an_order_line_with_quantity_zero_fails_its_record_for_the_dlq() {
    let store = InMemoryInventoryStore::default();
    let mut record = SqsMessage::default();
    record.message_id = Some("zero".into());
    record.body = Some(serde_json::to_string(&serde_json::json!({
        "id": Uuid::new_v4(), "type": "OrderPlaced", "version": 1, "source": "orders",
        "time": "2026-11-26T12:00:00Z", "correlation_id": "c", "causation_id": "r",
        "data": {"order_id": Uuid::new_v4(), "customer_id": Uuid::new_v4(), "total": {"amount_minor": 0, "currency": "EUR"},
                 "placed_at": "2026-11-26T12:00:00Z",
                 "lines": [{"product_id": Uuid::new_v4(), "quantity": 0, "unit_price": {"amount_minor": 1, "currency": "EUR"}}]}
    })).unwrap());
    let mut event = SqsEvent::default();
    event.records = vec![record];
    let response = handle_batch(&store, &NoRequeue, event).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    assert!(types(&store).is_empty());
}

#[tokio::test]
async fn events_inventory_does_not_consume_are_acknowledged_and_ignored() {
    let store = InMemoryInventoryStore::default();
    let event = decoded(shared::events::ProductArchived {
        product_id: Uuid::new_v4(),
        version: 2,
    });
    assert_eq!(handle_event(&store, event).await.unwrap(), Outcome::Ignored);
}

#[tokio::test]
async fn an_order_that_loses_five_races_backs_off_and_is_reserved() {
    let store = InMemoryInventoryStore::default();
    let a = Uuid::new_v4();
    store.put_stock(a, 5, 0);
    store.lose_races(5);
    let started = Instant::now();
    let outcome = handle_event(&store, placed(Uuid::new_v4(), &[(a, 2)])).await;
    assert_eq!(outcome.unwrap(), Outcome::Reserved);
    assert_eq!(
        store.attempts(),
        6,
        "five lost races, then the winning attempt"
    );
    // Five jittered waits (caps 10..160 ms) lie between the attempts: retrying at once would
    // take no time at all.
    assert!(started.elapsed() > Duration::from_millis(2), "no backoff");
    assert_eq!(level(&store, a).await, (3, 2));
    assert_eq!(types(&store), ["StockReserved"]);
}

/// Every record it was asked to return early: `(message id, delay)`.
#[derive(Default)]
struct Requeued(Mutex<Vec<(String, Duration)>>);

impl Requeue for Requeued {
    async fn requeue(&self, record: &SqsMessage, delay: Duration) -> anyhow::Result<()> {
        let id = record.message_id.clone().unwrap_or_default();
        self.0.lock().unwrap().push((id, delay));
        Ok(())
    }
}

/// A batch of one record, on its second receive, whose body is `event`.
fn batch_of<E: Event>(id: &str, event: E) -> SqsEvent {
    let mut record = SqsMessage::default();
    record.message_id = Some(id.into());
    record.body = Some(
        EventEnvelope::new(event, Trace::from_request("corr", "req"))
            .to_json()
            .unwrap(),
    );
    record
        .attributes
        .insert("ApproximateReceiveCount".into(), "2".into());
    let mut batch = SqsEvent::default();
    batch.records = vec![record];
    batch
}

#[tokio::test]
async fn an_order_that_loses_every_race_changes_nothing_and_asks_to_come_back_within_seconds() {
    let store = InMemoryInventoryStore::default();
    let a = Uuid::new_v4();
    store.put_stock(a, 5, 0);
    store.lose_races(u32::MAX);
    let order = Uuid::new_v4();
    let err = handle_event(&store, placed(order, &[(a, 2)]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WorkerError::Contended { order_id, .. } if order_id == order),
        "{err}"
    );
    assert!(shared::sqs::asks_to_retry_later(&anyhow::Error::new(err)));
    assert_eq!(store.attempts(), Backoff::CONTENTION.attempts);

    let requeue = Requeued::default();
    let response = handle_batch(
        &store,
        &requeue,
        batch_of("hot", order_placed(order, &[(a, 2)])),
    )
    .await
    .unwrap();
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["hot"], "still reported, so never lost");
    let requeued = requeue.0.into_inner().unwrap();
    assert_eq!(requeued.len(), 1);
    assert_eq!(requeued[0].0, "hot");
    assert!(
        requeued[0].1 <= Duration::from_secs(4),
        "second receive: back within 4 s, not after the visibility timeout ({:?})",
        requeued[0].1
    );
    assert_eq!(level(&store, a).await, (5, 0));
    assert!(types(&store).is_empty());
}

#[tokio::test]
async fn a_record_that_fails_for_another_reason_is_not_returned_early() {
    let store = InMemoryInventoryStore::default();
    let requeue = Requeued::default();
    let mut malformed = batch_of("bad", order_placed(Uuid::new_v4(), &[(Uuid::new_v4(), 1)]));
    malformed.records[0].body = Some("{not an envelope".into());
    let response = handle_batch(&store, &requeue, malformed).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    assert!(requeue.0.into_inner().unwrap().is_empty());
}

#[tokio::test]
async fn a_cancellation_that_loses_five_races_still_releases_once() {
    let store = InMemoryInventoryStore::default();
    let a = Uuid::new_v4();
    store.put_stock(a, 5, 0);
    let order = Uuid::new_v4();
    handle_event(&store, placed(order, &[(a, 2)]))
        .await
        .unwrap();
    store.lose_races(5);
    assert_eq!(
        handle_event(&store, cancelled(order)).await.unwrap(),
        Outcome::Released
    );
    assert_eq!(level(&store, a).await, (5, 0));
    assert_eq!(types(&store), ["StockReserved", "StockReleased"]);
}

#[tokio::test]
async fn a_cancellation_that_loses_every_race_asks_to_come_back_later() {
    let store = InMemoryInventoryStore::default();
    let order = Uuid::new_v4();
    store.lose_races(u32::MAX);
    let err = handle_event(&store, cancelled(order)).await.unwrap_err();
    assert!(shared::sqs::asks_to_retry_later(&anyhow::Error::new(err)));
}

#[tokio::test]
async fn a_release_that_cannot_return_every_line_changes_no_stock() {
    let store = InMemoryInventoryStore::default();
    // Lines are reserved and released in product id order: the short line comes last, after
    // a line that could be returned.
    let (mut first, mut last) = (Uuid::new_v4(), Uuid::new_v4());
    if last < first {
        std::mem::swap(&mut first, &mut last);
    }
    store.put_stock(first, 5, 0);
    store.put_stock(last, 5, 0);
    let order = Uuid::new_v4();
    handle_event(&store, placed(order, &[(first, 2), (last, 2)]))
        .await
        .unwrap();
    // The last product's stock record lost its reserved units (a corrupted table, say).
    store.put_stock(last, 5, 1);
    assert!(handle_event(&store, cancelled(order)).await.is_err());
    assert_eq!(level(&store, first).await, (3, 2), "nothing returned");
    assert_eq!(level(&store, last).await, (5, 1));
    let reservation = store.reservation(order).await.unwrap().unwrap();
    assert_eq!(reservation.status, ReservationStatus::Reserved);
    assert_eq!(types(&store), ["StockReserved"]);
}

/// A flash sale in process, timed like DynamoDB: 200 single-unit orders for 50 units of one
/// product, each reservation a 10 ms transaction that any overlapping one on the product
/// loses. 20 records are handled at once (the template's MaximumConcurrency of 5 invocations,
/// `CONCURRENCY` records each); a record whose every attempt lost a race comes back after
/// `retry_later_delay`, as the batch processor arranges. Each must end within the inventory
/// queue's maxReceiveCount (10), or it would have gone to the DLQ.
#[tokio::test]
async fn a_flash_sale_of_two_hundred_racing_orders_ends_every_order_before_the_dlq() {
    const ORDERS: usize = 200;
    const MAX_RECEIVES: u32 = 10;
    let store = InMemoryInventoryStore::default();
    let product = Uuid::new_v4();
    store.put_stock(product, 50, 0);
    store.take_time_per_reservation(Duration::from_millis(10));
    let slots = tokio::sync::Semaphore::new(5 * inventory::worker::CONCURRENCY);
    let started = Instant::now();
    let results = futures::future::join_all((0..ORDERS).map(|_| {
        let (store, slots) = (&store, &slots);
        let event = placed(Uuid::new_v4(), &[(product, 1)]);
        async move {
            let mut receives = 0;
            loop {
                receives += 1;
                let result = {
                    let _slot = slots.acquire().await.unwrap();
                    handle_event(store, event.clone()).await
                };
                match result {
                    Err(WorkerError::Contended { .. }) if receives < MAX_RECEIVES => {
                        tokio::time::sleep(shared::sqs::retry_later_delay(receives)).await;
                    }
                    // Contended on the last receive: the DLQ.
                    other => return (receives, other.map_err(|err| err.to_string())),
                }
            }
        }
    }))
    .await;
    let mut by_receives = std::collections::BTreeMap::<u32, usize>::new();
    for (receives, _) in &results {
        *by_receives.entry(*receives).or_default() += 1;
    }
    println!(
        "flash sale in process: {} ms, {} reservation attempts, orders by receives {by_receives:?}",
        started.elapsed().as_millis(),
        store.attempts(),
    );
    let failed: Vec<_> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().err())
        .collect();
    assert!(failed.is_empty(), "dead-lettered: {failed:?}");
    let outcomes = |wanted: Outcome| {
        results
            .iter()
            .filter(|(_, r)| r.as_ref().is_ok_and(|o| *o == wanted))
            .count()
    };
    assert_eq!(
        (
            outcomes(Outcome::Reserved),
            outcomes(Outcome::ReservationFailed)
        ),
        (50, 150)
    );
    assert_eq!(level(&store, product).await, (0, 50));
}

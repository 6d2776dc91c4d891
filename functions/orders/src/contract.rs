//! The contract of the orders table's ports: what every adapter must do, stated once as generic
//! async functions, each over only the ports it exercises. [`contract_tests!`](crate::contract_tests)
//! turns them into one test each; this crate runs them on the memory adapter (`cargo test`), the
//! emulator suite on the DynamoDB adapter, so the fake the handler tests use cannot drift from
//! the real table.
//!
//! Each function starts from an empty store and builds what it needs through the ports alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use shared::envelope::{EventEnvelope, Trace};
use shared::events::{CancellationReason, OrderCancelled, ProductCreated, ProductUpdated};
use shared::test_support::{decoded, eur};
use uuid::Uuid;

use crate::domain::{IdempotencyKey, NewOrderLine, Order, OrderState, PaymentToken};
use crate::ports::{
    Applied, Checkout, Consumed, CreateOrderError, Inbox, OrderHistory, Orders, Outgoing,
    PriceSnapshot, PriceSnapshots, StoredKey, TransitionError,
};
use crate::service;

fn product_event(product_id: Uuid, price: i64, version: u64) -> Consumed {
    decoded(ProductUpdated {
        product_id,
        sku: "SKU-1".into(),
        name: "Mug".into(),
        category: "kitchen".into(),
        price: eur(price),
        version,
    })
}

/// A product on sale at `price`, as the worker learns it from `ProductCreated`.
async fn product_for_sale<S: PriceSnapshots>(store: &S, price: i64) -> Uuid {
    let product_id = Uuid::new_v4();
    let created = decoded(ProductCreated {
        product_id,
        sku: "SKU-1".into(),
        name: "Mug".into(),
        category: "kitchen".into(),
        price: eur(price),
        version: 1,
    });
    let snapshot = PriceSnapshot {
        product_id,
        price: Some(eur(price)),
        version: 1,
    };
    assert_eq!(
        store.apply_snapshot(&created, snapshot).await.unwrap(),
        Applied::Done
    );
    product_id
}

/// Places an order of one `product` through the use case, as orders-api does.
async fn place<S: Orders + Checkout>(
    store: &S,
    customer_id: Uuid,
    product: Uuid,
    key: &str,
) -> Order {
    let (order, created) = service::place_order(
        store,
        customer_id,
        &IdempotencyKey::parse(key, key.as_bytes()).unwrap(),
        &[NewOrderLine {
            product_id: product,
            quantity: 1,
        }],
        PaymentToken::parse("tok_visa").unwrap(),
        Trace::from_request("contract", "contract"),
    )
    .await
    .unwrap();
    assert!(created);
    order
}

fn cancelled(order: &Order) -> EventEnvelope<OrderCancelled> {
    EventEnvelope::new(
        OrderCancelled {
            order_id: order.id,
            customer_id: order.customer_id,
            reason: CancellationReason::Customer,
            lines: vec![],
            total: order.total,
            refunded: None,
        },
        Trace::from_request("contract", "contract"),
    )
}

/// [`PriceSnapshots`] and [`Checkout::active_prices`]: a snapshot is replaced only by a newer
/// product version; an archived product is not for sale; an unknown one neither.
pub async fn a_price_snapshot_is_replaced_only_by_a_newer_version<S: PriceSnapshots + Checkout>(
    store: &S,
) {
    let product = product_for_sale(store, 1250).await;
    let unknown = Uuid::new_v4();
    let prices = store.active_prices(&[product, unknown]).await.unwrap();
    assert_eq!(prices.get(&product), Some(&eur(1250)));
    assert!(!prices.contains_key(&unknown));

    let newer = product_event(product, 990, 3);
    let snapshot = |price: Option<i64>, version| PriceSnapshot {
        product_id: product,
        price: price.map(eur),
        version,
    };
    let applied = [
        store.apply_snapshot(&newer, snapshot(Some(990), 3)).await,
        store.apply_snapshot(&newer, snapshot(Some(990), 3)).await,
    ];
    assert_eq!(
        applied.map(Result::unwrap),
        [Applied::Done, Applied::AlreadyProcessed],
        "a redelivery is applied once"
    );
    let stale = product_event(product, 1100, 2);
    assert_eq!(
        store
            .apply_snapshot(&stale, snapshot(Some(1100), 2))
            .await
            .unwrap(),
        Applied::Done,
        "a stale event is consumed, and changes nothing"
    );
    assert_eq!(
        store.active_prices(&[product]).await.unwrap().get(&product),
        Some(&eur(990))
    );
    let archived = product_event(product, 990, 4);
    store
        .apply_snapshot(&archived, snapshot(None, 4))
        .await
        .unwrap();
    assert!(store.active_prices(&[product]).await.unwrap().is_empty());
}

/// [`Checkout::create`]: an order with its idempotency key, once; a second order under the same
/// key is refused and writes nothing.
pub async fn an_idempotency_key_places_one_order<S: Orders + Checkout + PriceSnapshots>(store: &S) {
    let product = product_for_sale(store, 500).await;
    let customer = Uuid::new_v4();
    assert_eq!(
        store.stored_key(customer, "checkout-1").await.unwrap(),
        None
    );
    let order = place(store, customer, product, "checkout-1").await;
    let key = IdempotencyKey::parse("checkout-1", b"checkout-1").unwrap();
    assert_eq!(
        store.stored_key(customer, "checkout-1").await.unwrap(),
        Some(StoredKey {
            order_id: order.id,
            fingerprint: key.fingerprint.clone(),
        })
    );
    assert_eq!(
        store
            .stored_key(Uuid::new_v4(), "checkout-1")
            .await
            .unwrap(),
        None,
        "keys are per customer"
    );
    let stored = store.get(order.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.customer_id,
            stored.state,
            stored.version,
            stored.total
        ),
        (customer, OrderState::Pending, order.version, eur(500))
    );
    assert_eq!(stored.lines, order.lines);

    let mut second = order.clone();
    second.id = Uuid::new_v4();
    let placed = EventEnvelope::new(
        shared::events::OrderPlaced {
            order_id: second.id,
            customer_id: customer,
            lines: vec![],
            total: second.total,
            placed_at: second.placed_at,
        },
        Trace::from_request("contract", "contract"),
    );
    assert!(matches!(
        store.create(&second, &key, &placed).await,
        Err(CreateOrderError::KeyTaken)
    ));
    assert_eq!(store.get(second.id).await.unwrap(), None);
}

/// [`Orders::transition`]: a change applies only to the version it was based on; a worker's
/// change records the consumed event, once.
pub async fn a_transition_applies_only_to_the_version_it_read<
    S: Orders + Checkout + PriceSnapshots,
>(
    store: &S,
) {
    let product = product_for_sale(store, 700).await;
    let order = place(store, Uuid::new_v4(), product, "checkout-2").await;
    let mut after = order.clone();
    after.state = OrderState::Cancelled(CancellationReason::Customer);
    after.version += 1;
    assert_eq!(
        store
            .transition(
                &order,
                &after,
                None,
                Outgoing::Cancelled(&cancelled(&order))
            )
            .await
            .unwrap(),
        Applied::Done
    );
    let stored = store.get(order.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.version), (after.state, after.version));

    let mut again = order.clone();
    again.version += 1;
    assert!(matches!(
        store
            .transition(
                &order,
                &again,
                None,
                Outgoing::Cancelled(&cancelled(&order))
            )
            .await,
        Err(TransitionError::Stale)
    ));

    let mut refunded = after.clone();
    refunded.refunded = Some(eur(700));
    refunded.version += 1;
    let mut later = refunded.clone();
    later.version += 1;
    // A worker's transitions, both consuming one event: the second finds it applied.
    let (trigger, event) = (product_event(product, 700, 9), cancelled(&order));
    let mut outcomes = Vec::new();
    for (from, to) in [(&after, &refunded), (&refunded, &later)] {
        let outgoing = Outgoing::Cancelled(&event);
        outcomes.push(
            store
                .transition(from, to, Some(&trigger), outgoing)
                .await
                .unwrap(),
        );
    }
    assert_eq!(outcomes, [Applied::Done, Applied::AlreadyProcessed]);
    let stored = store.get(order.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.refunded, stored.version),
        (Some(eur(700)), refunded.version)
    );
}

/// [`OrderHistory`]: a customer's orders, newest first, page by page, and nobody else's.
pub async fn a_customers_orders_are_listed_newest_first_page_by_page<
    S: Orders + Checkout + OrderHistory + PriceSnapshots,
>(
    store: &S,
) {
    let product = product_for_sale(store, 100).await;
    let customer = Uuid::new_v4();
    let mut placed = Vec::new();
    for i in 0..3 {
        placed.push(place(store, customer, product, &format!("k{i}")).await.id);
        // Orders placed within one millisecond have no order between them.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    place(store, Uuid::new_v4(), product, "someone-else").await;
    let first = service::list_orders(store, customer, 2, None)
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        [placed[2], placed[1]]
    );
    let rest = service::list_orders(store, customer, 2, first.last_key)
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        [placed[0]]
    );
    assert!(
        service::list_orders(store, Uuid::new_v4(), 5, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// [`Inbox`]: an event is acknowledged once, and an acknowledged event changes nothing later.
pub async fn an_acknowledged_event_is_never_applied_again<S: Inbox + PriceSnapshots + Checkout>(
    store: &S,
) {
    let product = Uuid::new_v4();
    let event = product_event(product, 300, 1);
    assert_eq!(store.acknowledge(&event).await.unwrap(), Applied::Done);
    assert_eq!(
        store.acknowledge(&event).await.unwrap(),
        Applied::AlreadyProcessed
    );
    let snapshot = PriceSnapshot {
        product_id: product,
        price: Some(eur(300)),
        version: 1,
    };
    assert_eq!(
        store.apply_snapshot(&event, snapshot).await.unwrap(),
        Applied::AlreadyProcessed
    );
    assert!(store.active_prices(&[product]).await.unwrap().is_empty());
}

/// One test per contract of the orders ports, each on a fresh store from `$with_store` (see
/// [`shared::contract_tests!`]).
#[macro_export]
macro_rules! contract_tests {
    ($with_store:path) => {
        ::shared::contract_tests!($crate::contract, $with_store; [
            a_price_snapshot_is_replaced_only_by_a_newer_version,
            an_idempotency_key_places_one_order,
            a_transition_applies_only_to_the_version_it_read,
            a_customers_orders_are_listed_newest_first_page_by_page,
            an_acknowledged_event_is_never_applied_again,
        ]);
    };
}

#[cfg(test)]
mod memory {
    crate::contract_tests!(
        shared::contract::with_default::<crate::adapters::memory::InMemoryOrderRepository>
    );
}

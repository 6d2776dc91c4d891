//! The inventory table adapter on the emulator: no oversell under concurrent reservations,
//! one reservation per OrderPlaced however often it is delivered, and releases.

use chrono::Utc;
use emulator_tests::with_service_table;
use inventory::adapters::dynamodb::DynamoDbInventoryStore;
use inventory::domain::StockChange;
use inventory::ports::{Consumed, InventoryStore};
use inventory::service::{self, Outcome};
use inventory::worker::handle_event;
use shared::events::{CancellationReason, OrderCancelled, OrderLine, OrderPlaced, ProductCreated};
use shared::test_support::{decoded, eur};
use uuid::Uuid;

fn placed(order_id: Uuid, product_id: Uuid, quantity: u32) -> Consumed {
    decoded(OrderPlaced {
        order_id,
        customer_id: Uuid::new_v4(),
        lines: vec![OrderLine {
            product_id,
            quantity,
            unit_price: eur(100),
        }],
        total: eur(100),
        placed_at: Utc::now(),
    })
}

/// A product with `units` available, created the way production does: ProductCreated, then the
/// operator's PUT.
async fn stocked_product(store: &DynamoDbInventoryStore, units: u32) -> Uuid {
    let product_id = Uuid::new_v4();
    let created = decoded(ProductCreated {
        product_id,
        sku: "SKU-1".into(),
        name: "Mug".into(),
        category: "kitchen".into(),
        price: eur(100),
        version: 1,
    });
    assert_eq!(
        handle_event(store, created).await.unwrap(),
        Outcome::StockCreated
    );
    service::change_stock(store, product_id, StockChange::SetOnHand(units))
        .await
        .unwrap();
    product_id
}

#[tokio::test]
async fn twenty_concurrent_reservations_against_stock_5_reserve_exactly_5() {
    with_service_table("inventory-oversell", async |client, table| {
        let store = DynamoDbInventoryStore::new(client, &table);
        let product = stocked_product(&store, 5).await;
        let orders: Vec<_> = (0..20)
            .map(|_| placed(Uuid::new_v4(), product, 1))
            .collect();
        let outcomes =
            futures::future::join_all(orders.into_iter().map(|event| handle_event(&store, event)))
                .await;
        let reserved = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Outcome::Reserved)))
            .count();
        let failed = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Outcome::ReservationFailed)))
            .count();
        assert_eq!((reserved, failed), (5, 15), "{outcomes:?}");
        let level = store.stock(product).await.unwrap().unwrap();
        assert_eq!((level.available, level.reserved), (0, 5));
    })
    .await;
}

#[tokio::test]
async fn a_duplicated_order_placed_reserves_once() {
    with_service_table("inventory-dup", async |client, table| {
        let store = DynamoDbInventoryStore::new(client, &table);
        let product = stocked_product(&store, 5).await;
        let event = placed(Uuid::new_v4(), product, 2);
        let outcomes =
            futures::future::join_all((0..3).map(|_| handle_event(&store, event.clone()))).await;
        let reserved = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Outcome::Reserved)))
            .count();
        let duplicates = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Outcome::Duplicate)))
            .count();
        assert_eq!((reserved, duplicates), (1, 2), "{outcomes:?}");
        let level = store.stock(product).await.unwrap().unwrap();
        assert_eq!((level.available, level.reserved), (3, 2));
    })
    .await;
}

#[tokio::test]
async fn a_cancelled_order_gets_its_stock_back_once_and_stock_changes_respect_reservations() {
    with_service_table("inventory-release", async |client, table| {
        let store = DynamoDbInventoryStore::new(client, &table);
        let product = stocked_product(&store, 5).await;
        let order = Uuid::new_v4();
        assert_eq!(
            handle_event(&store, placed(order, product, 4))
                .await
                .unwrap(),
            Outcome::Reserved
        );

        // The operator cannot take stock below the 4 reserved units.
        assert!(
            service::change_stock(&store, product, StockChange::SetOnHand(3))
                .await
                .is_err()
        );
        let level = service::change_stock(&store, product, StockChange::Adjust(2))
            .await
            .unwrap();
        assert_eq!((level.available, level.reserved), (3, 4));

        let cancel = decoded(OrderCancelled {
            order_id: order,
            customer_id: Uuid::new_v4(),
            reason: CancellationReason::PaymentDeclined,
            lines: vec![],
            total: eur(100),
            refunded: None,
        });
        assert_eq!(
            handle_event(&store, cancel.clone()).await.unwrap(),
            Outcome::Released
        );
        assert_eq!(
            handle_event(&store, cancel).await.unwrap(),
            Outcome::Duplicate
        );
        let level = store.stock(product).await.unwrap().unwrap();
        assert_eq!((level.available, level.reserved), (7, 0));
    })
    .await;
}

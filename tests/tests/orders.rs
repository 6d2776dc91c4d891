//! The orders use cases on the emulator's table and payment simulator: one order per
//! idempotency key under concurrent identical requests, and one charge per order under
//! duplicated StockReserved, both checked in the items DynamoDB holds (outbox, payment records).
//! What the table's ports promise on their own is their contract (`contract::orders`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use emulator_tests::{partition, with_indexed_service_table};
use orders::adapters::dynamodb::{BY_CUSTOMER_INDEX, DynamoDbOrderRepository};
use orders::adapters::payment::SimulatedPaymentGateway;
use orders::domain::{IdempotencyKey, NewOrderLine, Order, OrderState, PaymentToken};
use orders::ports::{Orders, PriceSnapshot};
use orders::service::{self, PlaceOrderError, SagaOutcome};
use orders::worker::{Handled, handle_event};
use shared::dynamo::SK;
use shared::envelope::Trace;
use shared::events::{DomainEvent, ProductCreated, StockLine, StockReserved};
use shared::test_support::{decoded, eur};
use uuid::Uuid;

const INDEXES: &[(&str, &str, &str)] = &[(BY_CUSTOMER_INDEX, "customer_pk", "placed_sort")];

async fn product_for_sale(repo: &DynamoDbOrderRepository) -> Uuid {
    let product = Uuid::new_v4();
    let created = decoded(ProductCreated {
        product_id: product,
        sku: "A".into(),
        name: "A".into(),
        category: "c".into(),
        price: eur(1250),
        version: 1,
    });
    let DomainEvent::ProductCreated(p) = &created.data else {
        unreachable!()
    };
    let snapshot = PriceSnapshot {
        product_id: p.product_id,
        price: Some(p.price),
        version: p.version,
    };
    service::on_product_event(repo, &created, snapshot)
        .await
        .unwrap();
    product
}

/// `customer` orders `quantity` of `product` with `key`, paying with `tok_visa`.
async fn place(
    repo: &DynamoDbOrderRepository,
    customer: Uuid,
    key: &IdempotencyKey,
    product: Uuid,
    quantity: u32,
) -> Result<(Order, bool), PlaceOrderError> {
    let lines = [NewOrderLine {
        product_id: product,
        quantity,
    }];
    let token = PaymentToken::parse("tok_visa").unwrap();
    service::place_order(
        repo,
        customer,
        key,
        &lines,
        token,
        Trace::from_request("c", "r"),
    )
    .await
}

/// The event types in `table`'s outbox, sorted.
async fn outbox_types(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<String> {
    let mut types: Vec<String> = emulator_tests::outbox_events(client, table)
        .await
        .iter()
        .map(|envelope| envelope.data.event_type().to_owned())
        .collect();
    types.sort();
    types
}

#[tokio::test]
async fn concurrent_identical_requests_with_one_idempotency_key_place_exactly_one_order() {
    with_indexed_service_table("orders-idem", INDEXES, async |client, table| {
        let repo = DynamoDbOrderRepository::new(client.clone(), &table);
        let product = product_for_sale(&repo).await;
        let customer = Uuid::new_v4();
        let key = IdempotencyKey::parse("checkout-42", b"same body").unwrap();
        let attempts = (0..6).map(|_| place(&repo, customer, &key, product, 2));
        let outcomes = futures::future::join_all(attempts).await;
        let orders: Vec<_> = outcomes.into_iter().map(|o| o.unwrap()).collect();
        assert_eq!(orders.iter().filter(|(_, created)| *created).count(), 1);
        assert!(orders.iter().all(|(order, _)| order.id == orders[0].0.id));
        assert_eq!(orders[0].0.total, eur(2500));
        assert_eq!(outbox_types(&client, &table).await, ["OrderPlaced"]);

        let other_body = IdempotencyKey::parse("checkout-42", b"another body").unwrap();
        assert!(matches!(
            place(&repo, customer, &other_body, product, 2).await,
            Err(PlaceOrderError::KeyReused)
        ));
    })
    .await;
}

#[tokio::test]
async fn duplicated_stock_reserved_charges_exactly_once_and_confirms_once() {
    with_indexed_service_table("orders-charge", INDEXES, async |client, table| {
        let repo = DynamoDbOrderRepository::new(client.clone(), &table);
        let gateway = SimulatedPaymentGateway::new(client.clone(), &table);
        let product = product_for_sale(&repo).await;
        let key = IdempotencyKey::parse("k", b"b").unwrap();
        let (order, _) = place(&repo, Uuid::new_v4(), &key, product, 1)
            .await
            .unwrap();
        let event = decoded(StockReserved {
            order_id: order.id,
            lines: vec![StockLine {
                product_id: product,
                quantity: 1,
            }],
        });
        // The same delivery three times at once, then once more later.
        let outcomes =
            futures::future::join_all((0..3).map(|_| handle_event(&repo, &gateway, event.clone())))
                .await;
        let confirmed = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Handled::Saga(SagaOutcome::Confirmed))))
            .count();
        assert_eq!(confirmed, 1, "{outcomes:?}");
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        assert_eq!(
            handle_event(&repo, &gateway, event).await.unwrap(),
            Handled::Saga(SagaOutcome::Duplicate)
        );

        assert_eq!(
            repo.get(order.id).await.unwrap().unwrap().state,
            OrderState::Confirmed
        );
        let charges = partition(&client, &table, &format!("PAYMENT#{}", order.id)).await;
        let kinds: Vec<_> = charges
            .iter()
            .map(|item: &HashMap<String, AttributeValue>| item[SK].clone())
            .collect();
        assert_eq!(
            kinds,
            [AttributeValue::S("CHARGE".into())],
            "exactly one charge record, no refund"
        );
        assert_eq!(charges[0]["outcome"], AttributeValue::S("approved".into()));
        assert_eq!(charges[0]["amount_minor"], AttributeValue::N("1250".into()));
        assert_eq!(
            outbox_types(&client, &table).await,
            ["OrderConfirmed", "OrderPlaced"]
        );
    })
    .await;
}

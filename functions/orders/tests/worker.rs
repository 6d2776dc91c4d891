use orders::domain::{IdempotencyKey, NewOrderLine, OrderState, PaymentToken};
use orders::ports::{Applied, Checkout, Orders};
use orders::service::{self, SagaOutcome, WorkerError};
use orders::worker::{Handled, handle_batch, handle_event};
use shared::envelope::{EventEnvelope, Trace};
use shared::events::{
    CancellationReason, DomainEvent, ProductArchived, ProductCreated, ProductUpdated, Shortage,
    StockLine, StockReservationFailed, StockReserved,
};
use shared::test_support::{decoded, eur, sqs_batch};
use uuid::Uuid;

use crate::api;

/// A placed order paid with `token`, returning (api, order id, product).
async fn placed(
    token: &str,
) -> (
    orders::http::OrdersApi<
        orders::adapters::memory::InMemoryOrderRepository,
        orders::adapters::memory::InMemoryPaymentGateway,
    >,
    Uuid,
    Uuid,
) {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let key = IdempotencyKey::parse("k", b"body").unwrap();
    let lines = [NewOrderLine {
        product_id: product,
        quantity: 2,
    }];
    let (order, _) = service::place_order(
        &api.repo,
        Uuid::new_v4(),
        &key,
        &lines,
        PaymentToken::parse(token).unwrap(),
        Trace::from_request("corr", "req"),
    )
    .await
    .unwrap();
    (api, order.id, product)
}

fn reserved(order_id: Uuid, product: Uuid) -> EventEnvelope<DomainEvent> {
    decoded(StockReserved {
        order_id,
        lines: vec![StockLine {
            product_id: product,
            quantity: 2,
        }],
    })
}

fn types(
    api: &orders::http::OrdersApi<
        orders::adapters::memory::InMemoryOrderRepository,
        orders::adapters::memory::InMemoryPaymentGateway,
    >,
) -> Vec<String> {
    api.repo.outbox().into_iter().map(|(t, _)| t).collect()
}

#[tokio::test]
async fn stock_reserved_charges_and_confirms_caused_by_the_event() {
    let (api, order_id, product) = placed("tok_visa").await;
    let event = reserved(order_id, product);
    let event_id = event.id;
    assert_eq!(
        handle_event(&api.repo, &api.gateway, event).await.unwrap(),
        Handled::Saga(SagaOutcome::Confirmed)
    );
    assert_eq!(
        api.repo.get(order_id).await.unwrap().unwrap().state,
        OrderState::Confirmed
    );
    assert_eq!(api.gateway.captured(order_id), 1);
    let (event_type, envelope) = api.repo.outbox().pop().unwrap();
    assert_eq!(event_type, "OrderConfirmed");
    assert_eq!(envelope["causation_id"], event_id.to_string());
    assert_eq!(envelope["correlation_id"], "corr");
    assert_eq!(envelope["data"]["total"]["amount_minor"], 2000);
}

#[tokio::test]
async fn a_redelivered_stock_reserved_never_charges_twice() {
    let (api, order_id, product) = placed("tok_visa").await;
    let event = reserved(order_id, product);
    handle_event(&api.repo, &api.gateway, event.clone())
        .await
        .unwrap();
    assert_eq!(
        handle_event(&api.repo, &api.gateway, event).await.unwrap(),
        Handled::Saga(SagaOutcome::Duplicate)
    );
    // Even a different delivery of the same fact (a new event id) charges nothing more.
    assert_eq!(
        handle_event(&api.repo, &api.gateway, reserved(order_id, product))
            .await
            .unwrap(),
        Handled::Saga(SagaOutcome::Ignored)
    );
    assert_eq!(
        (
            api.gateway.captured(order_id),
            api.gateway.charge_calls(order_id)
        ),
        (1, 1)
    );
    assert_eq!(types(&api), ["OrderPlaced", "OrderConfirmed"]);
}

#[tokio::test]
async fn a_declined_card_cancels_the_order_and_inventory_is_told() {
    let (api, order_id, product) = placed("tok_chargeDeclined").await;
    assert_eq!(
        handle_event(&api.repo, &api.gateway, reserved(order_id, product))
            .await
            .unwrap(),
        Handled::Saga(SagaOutcome::PaymentDeclined)
    );
    assert_eq!(
        api.repo.get(order_id).await.unwrap().unwrap().state,
        OrderState::Cancelled(CancellationReason::PaymentDeclined)
    );
    let (event_type, envelope) = api.repo.outbox().pop().unwrap();
    assert_eq!(event_type, "OrderCancelled");
    assert_eq!(envelope["data"]["reason"], "payment_declined");
    assert_eq!(api.gateway.captured(order_id), 0);
}

#[tokio::test]
async fn a_transient_payment_failure_fails_the_record_and_the_retry_confirms() {
    let (api, order_id, product) = placed("tok_fail_once").await;
    let event = reserved(order_id, product);
    assert!(matches!(
        handle_event(&api.repo, &api.gateway, event.clone()).await,
        Err(WorkerError::Payment(_))
    ));
    assert_eq!(
        api.repo.get(order_id).await.unwrap().unwrap().state,
        OrderState::Pending
    );
    assert_eq!(
        handle_event(&api.repo, &api.gateway, event).await.unwrap(),
        Handled::Saga(SagaOutcome::Confirmed)
    );
    assert_eq!(api.gateway.captured(order_id), 1);
}

#[tokio::test]
async fn stock_reservation_failed_rejects_the_order_with_the_shortages() {
    let (api, order_id, product) = placed("tok_visa").await;
    let failed = decoded(StockReservationFailed {
        order_id,
        unavailable: vec![Shortage {
            product_id: product,
            requested: 2,
            available: 1,
        }],
    });
    assert_eq!(
        handle_event(&api.repo, &api.gateway, failed.clone())
            .await
            .unwrap(),
        Handled::Saga(SagaOutcome::Rejected)
    );
    assert_eq!(
        handle_event(&api.repo, &api.gateway, failed).await.unwrap(),
        Handled::Saga(SagaOutcome::Duplicate)
    );
    let (event_type, envelope) = api.repo.outbox().pop().unwrap();
    assert_eq!(event_type, "OrderRejected");
    assert_eq!(envelope["data"]["reason"], "out_of_stock");
    assert_eq!(envelope["data"]["unavailable"][0]["available"], 1);
    // A late StockReserved for a rejected order is ignored and charges nothing.
    assert_eq!(
        handle_event(&api.repo, &api.gateway, reserved(order_id, product))
            .await
            .unwrap(),
        Handled::Saga(SagaOutcome::Ignored)
    );
    assert_eq!(api.gateway.charge_calls(order_id), 0);
}

#[tokio::test]
async fn stock_reserved_after_the_customer_cancelled_charges_nothing() {
    let (api, order_id, product) = placed("tok_visa").await;
    let order = api.repo.get(order_id).await.unwrap().unwrap();
    service::cancel_order(
        &api.repo,
        &api.gateway,
        order.customer_id,
        order_id,
        Trace::from_request("c", "r"),
    )
    .await
    .unwrap();
    assert_eq!(
        handle_event(&api.repo, &api.gateway, reserved(order_id, product))
            .await
            .unwrap(),
        Handled::Saga(SagaOutcome::Ignored)
    );
    assert_eq!(api.gateway.charge_calls(order_id), 0);
}

#[tokio::test]
async fn product_events_keep_snapshots_and_never_go_back_a_version() {
    let api = api(&[]);
    let product = Uuid::new_v4();
    let created = decoded(ProductCreated {
        product_id: product,
        sku: "A".into(),
        name: "A".into(),
        category: "c".into(),
        price: eur(500),
        version: 1,
    });
    let updated = decoded(ProductUpdated {
        product_id: product,
        sku: "A".into(),
        name: "A".into(),
        category: "c".into(),
        price: eur(450),
        version: 2,
    });
    // Delivered out of order: the update first, then the (older) creation.
    assert_eq!(
        handle_event(&api.repo, &api.gateway, updated)
            .await
            .unwrap(),
        Handled::Snapshot(Applied::Done)
    );
    assert_eq!(
        handle_event(&api.repo, &api.gateway, created)
            .await
            .unwrap(),
        Handled::Snapshot(Applied::Done)
    );
    assert_eq!(api.repo.snapshot(product).unwrap().price, Some(eur(450)));
    let archived = decoded(ProductArchived {
        product_id: product,
        version: 3,
    });
    handle_event(&api.repo, &api.gateway, archived.clone())
        .await
        .unwrap();
    assert_eq!(
        handle_event(&api.repo, &api.gateway, archived)
            .await
            .unwrap(),
        Handled::Snapshot(Applied::AlreadyProcessed)
    );
    assert!(
        api.repo.active_prices(&[product]).await.unwrap().is_empty(),
        "archived products are not sold"
    );
}

#[tokio::test]
async fn the_sample_batch_creates_a_snapshot_and_a_poison_record_fails_alone() {
    let api = api(&[]);
    let mut event = sqs_batch("orders", "sqs-product-created.json");
    let mut poison = event.records[0].clone();
    poison.message_id = Some("poison".into());
    poison.body = Some("{}".into());
    event.records.push(poison);
    let response = handle_batch(&api.repo, &api.gateway, event).await.unwrap();
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["poison"]);
    let product: Uuid = "7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10".parse().unwrap();
    assert_eq!(api.repo.snapshot(product).unwrap().price, Some(eur(1999)));
}

#[tokio::test]
async fn stock_reserved_for_an_unknown_order_fails_its_record() {
    let api = api(&[]);
    let event = sqs_batch("orders", "sqs-stock-reserved.json");
    let response = handle_batch(&api.repo, &api.gateway, event).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
}

#[tokio::test]
async fn an_unreadable_charge_fails_the_record_and_never_cancels_the_order() {
    let (api, order_id, product) = placed("tok_visa").await;
    api.gateway.set_unreadable(true);
    let event = reserved(order_id, product);
    assert!(matches!(
        handle_event(&api.repo, &api.gateway, event.clone()).await,
        Err(WorkerError::Payment(_))
    ));
    assert_eq!(
        api.repo.get(order_id).await.unwrap().unwrap().state,
        OrderState::Pending
    );
    assert_eq!(types(&api), ["OrderPlaced"]);
    // Once the record reads again, the redelivery decides on it.
    api.gateway.set_unreadable(false);
    assert_eq!(
        handle_event(&api.repo, &api.gateway, event).await.unwrap(),
        Handled::Saga(SagaOutcome::Confirmed)
    );
}

/// A gateway through which the customer's cancellation lands while the charge is in flight:
/// after the worker read the order (PENDING, stock reserved) and before the charge answers.
/// With `confirmed_first`, another delivery of the reservation confirms the order before the
/// customer cancels it (so that cancel refunds).
struct CancelledDuringCharge<'a> {
    inner: &'a orders::adapters::memory::InMemoryPaymentGateway,
    repo: &'a orders::adapters::memory::InMemoryOrderRepository,
    customer_id: Uuid,
    confirmed_first: Option<EventEnvelope<DomainEvent>>,
}

impl orders::ports::PaymentGateway for CancelledDuringCharge<'_> {
    async fn charge(
        &self,
        order_id: Uuid,
        amount: shared::money::Money,
        token: &PaymentToken,
    ) -> Result<orders::ports::Charge, orders::ports::PaymentError> {
        if let Some(event) = &self.confirmed_first {
            handle_event(self.repo, self.inner, event.clone())
                .await
                .unwrap();
        }
        service::cancel_order(
            self.repo,
            self.inner,
            self.customer_id,
            order_id,
            Trace::from_request("customer", "cancel"),
        )
        .await
        .unwrap();
        self.inner.charge(order_id, amount, token).await
    }

    async fn refund(
        &self,
        order_id: Uuid,
        amount: shared::money::Money,
    ) -> Result<(), orders::ports::PaymentError> {
        self.inner.refund(order_id, amount).await
    }
}

#[tokio::test]
async fn a_charge_that_lands_after_the_customer_cancelled_is_refunded_recorded_and_announced() {
    let (api, order_id, product) = placed("tok_visa").await;
    let customer_id = api.repo.get(order_id).await.unwrap().unwrap().customer_id;
    let gateway = CancelledDuringCharge {
        inner: &api.gateway,
        repo: &api.repo,
        customer_id,
        confirmed_first: None,
    };
    let event = reserved(order_id, product);
    let event_id = event.id;
    assert_eq!(
        handle_event(&api.repo, &gateway, event.clone())
            .await
            .unwrap(),
        Handled::Saga(SagaOutcome::Refunded)
    );
    // The money: charged once, given back.
    assert_eq!(api.gateway.captured(order_id), 1);
    assert_eq!(api.gateway.refunded(order_id), Some(eur(2000)));
    // The record: a cancelled order showing its refund, as after a cancel-after-confirm.
    let order = api.repo.get(order_id).await.unwrap().unwrap();
    assert_eq!(
        order.state,
        OrderState::Cancelled(CancellationReason::Customer)
    );
    let view = orders::http::OrderView::from(&order);
    assert_eq!(
        (view.status.as_str(), view.refunded),
        ("CANCELLED", Some(eur(2000)))
    );
    // The message: OrderCancelled said nothing was charged, so the refund is announced.
    assert_eq!(
        types(&api),
        ["OrderPlaced", "OrderCancelled", "OrderRefunded"]
    );
    let outbox = api.repo.outbox();
    assert_eq!(outbox[1].1["data"]["refunded"], serde_json::Value::Null);
    let refunded = &outbox[2].1;
    assert_eq!(refunded["causation_id"], event_id.to_string());
    assert_eq!(refunded["data"]["customer_id"], customer_id.to_string());
    assert_eq!(refunded["data"]["refunded"]["amount_minor"], 2000);
    // A redelivery changes nothing and announces nothing more.
    assert_eq!(
        handle_event(&api.repo, &api.gateway, event).await.unwrap(),
        Handled::Saga(SagaOutcome::Duplicate)
    );
    assert_eq!(api.repo.outbox().len(), 3);
}

#[tokio::test]
async fn a_late_approval_for_an_order_whose_refund_is_recorded_is_neither_refunded_nor_announced_again()
 {
    let (api, order_id, product) = placed("tok_visa").await;
    let customer_id = api.repo.get(order_id).await.unwrap().unwrap().customer_id;
    // Two deliveries of the reservation (distinct events) both charge; while the second one's
    // charge is in flight the first confirms and the customer cancels, which refunds.
    let gateway = CancelledDuringCharge {
        inner: &api.gateway,
        repo: &api.repo,
        customer_id,
        confirmed_first: Some(reserved(order_id, product)),
    };
    assert_eq!(
        handle_event(&api.repo, &gateway, reserved(order_id, product))
            .await
            .unwrap(),
        Handled::Saga(SagaOutcome::Ignored)
    );
    assert_eq!(api.gateway.captured(order_id), 1);
    assert_eq!(api.gateway.refunded(order_id), Some(eur(2000)));
    assert_eq!(
        types(&api),
        ["OrderPlaced", "OrderConfirmed", "OrderCancelled"]
    );
    assert_eq!(
        api.repo.get(order_id).await.unwrap().unwrap().refunded,
        Some(eur(2000))
    );
}

/// The metric values `work` emitted on this thread, by name.
async fn metrics_of<F: std::future::Future>(work: F) -> (F::Output, Vec<(String, f64)>) {
    let captured = shared::telemetry::CapturedLogs::default();
    let output = {
        let _guard = captured.install();
        work.await
    };
    let values = shared::metrics::emitted(&captured.text())
        .into_iter()
        .map(|(name, value, _)| (name, value))
        .collect();
    (output, values)
}

#[tokio::test]
async fn a_confirmation_counts_once_with_its_saga_duration_and_a_redelivery_counts_a_duplicate() {
    let (api, order_id, product) = placed("tok_visa").await;
    let event = reserved(order_id, product);
    let (handled, first) = metrics_of(handle_event(&api.repo, &api.gateway, event.clone())).await;
    assert_eq!(handled.unwrap(), Handled::Saga(SagaOutcome::Confirmed));
    let names: Vec<&str> = first.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["OrdersConfirmed", "SagaDuration", "EventsProcessed"],
        "{first:?}"
    );
    assert_eq!(first[0].1, 1.0);
    assert!(first[1].1 >= 0.0 && first[1].1 < 10_000.0, "{first:?}");

    let (handled, again) = metrics_of(handle_event(&api.repo, &api.gateway, event)).await;
    assert_eq!(handled.unwrap(), Handled::Saga(SagaOutcome::Duplicate));
    assert_eq!(again, [("DuplicatesSkipped".to_owned(), 1.0)]);
}

#[tokio::test]
async fn a_declined_card_counts_a_cancellation_and_a_declined_payment() {
    let (api, order_id, product) = placed("tok_chargeDeclined").await;
    let (handled, values) = metrics_of(handle_event(
        &api.repo,
        &api.gateway,
        reserved(order_id, product),
    ))
    .await;
    assert_eq!(
        handled.unwrap(),
        Handled::Saga(SagaOutcome::PaymentDeclined)
    );
    let names: Vec<&str> = values.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "OrdersCancelled",
            "PaymentsDeclined",
            "SagaDuration",
            "EventsProcessed"
        ],
        "{values:?}"
    );
}

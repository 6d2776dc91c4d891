use lambda_http::Request;
use orders::adapters::memory::{InMemoryOrderRepository, InMemoryPaymentGateway};
use orders::http::OrdersApi;
use orders::worker::handle_event;
use serde_json::{Value, json};
use shared::auth::Role;
use shared::envelope::{EventEnvelope, RawEnvelope, Trace};
use shared::events::{StockLine, StockReserved};
use shared::test_support::{
    ApiRequest, assert_method_not_allowed, assert_problem as problem, body, decoded, eur,
};
use uuid::Uuid;

use crate::api;

type Api = OrdersApi<InMemoryOrderRepository, InMemoryPaymentGateway>;

/// A sample event of events/orders/.
fn sample(name: &str) -> ApiRequest {
    ApiRequest::sample("orders", name)
}

/// What orders' requests carry besides the kit's.
trait OrderRequest {
    /// A customer's bearer token.
    fn customer(self, customer: Uuid) -> Self;
    /// `Idempotency-Key: key`, or none.
    fn key(self, key: Option<&str>) -> Self;
}

impl OrderRequest for ApiRequest {
    fn customer(self, customer: Uuid) -> Self {
        self.by(&customer.to_string(), Role::Customer)
    }

    fn key(self, key: Option<&str>) -> Self {
        match key {
            Some(key) => self.header("idempotency-key", key),
            None => self.without_header("idempotency-key"),
        }
    }
}

fn order_body(product: Uuid, quantity: u32, token: &str) -> Value {
    json!({"lines": [{"product_id": product, "quantity": quantity}], "payment_token": token})
}

async fn place(api: &Api, customer: Uuid, product: Uuid, key: &str) -> Value {
    let response = api
        .handle(
            sample("place.json")
                .customer(customer)
                .key(Some(key))
                .body(&order_body(product, 2, "tok_visa"))
                .build(),
        )
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    body(&response)
}

#[tokio::test]
async fn placing_an_order_prices_it_from_the_snapshots_and_records_order_placed() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    let response = api
        .handle(sample("place.json").customer(customer).body(&json!({"lines": [{"product_id": product, "quantity": 3}], "payment_token": "tok_visa"})).build())
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    let order = body(&response);
    assert_eq!(order["status"], "PENDING");
    assert_eq!(
        order["lines"][0]["unit_price"],
        json!({"amount_minor": 1000, "currency": "EUR"})
    );
    assert_eq!(
        order["total"],
        json!({"amount_minor": 3000, "currency": "EUR"})
    );
    assert!(order.get("payment_token").is_none());
    assert_eq!(
        response.headers()["location"],
        format!("/orders/{}", order["id"].as_str().unwrap())
    );
    let (event_type, envelope) = api.repo.outbox().pop().unwrap();
    assert_eq!(event_type, "OrderPlaced");
    assert_eq!(envelope["data"]["customer_id"], customer.to_string());
    assert_eq!(envelope["data"]["total"]["amount_minor"], 3000);
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_return_the_same_order_with_200() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    let first = place(&api, customer, product, "k-1").await;
    let again = api
        .handle(
            sample("place.json")
                .customer(customer)
                .key(Some("k-1"))
                .body(&order_body(product, 2, "tok_visa"))
                .build(),
        )
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(body(&again), first);
    assert_eq!(api.repo.outbox().len(), 1, "one OrderPlaced");
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_422_and_keys_are_per_customer() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    place(&api, customer, product, "k-1").await;
    let other_body = api
        .handle(
            sample("place.json")
                .customer(customer)
                .key(Some("k-1"))
                .body(&order_body(product, 5, "tok_visa"))
                .build(),
        )
        .await;
    assert_eq!(
        problem(&other_body, 422)["errors"][0]["field"],
        "Idempotency-Key"
    );
    // Another customer may use the same key.
    place(&api, Uuid::new_v4(), product, "k-1").await;
}

#[tokio::test]
async fn a_missing_or_malformed_idempotency_key_is_a_400() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    problem(
        &api.handle(sample("place.json").customer(customer).key(None).build())
            .await,
        400,
    );
    problem(
        &api.handle(
            sample("place.json")
                .customer(customer)
                .key(Some("has space"))
                .build(),
        )
        .await,
        400,
    );
}

#[tokio::test]
async fn unknown_or_archived_products_are_a_422_naming_each_line() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let (unknown, customer) = (Uuid::new_v4(), Uuid::new_v4());
    let body = json!({"lines": [{"product_id": product, "quantity": 1}, {"product_id": unknown, "quantity": 1}], "payment_token": "tok_visa"});
    let response = api
        .handle(sample("place.json").customer(customer).body(&body).build())
        .await;
    let problem = problem(&response, 422);
    assert_eq!(problem["errors"][0]["field"], "lines[1].product_id");
    assert!(api.repo.outbox().is_empty());
}

#[tokio::test]
async fn invalid_orders_are_422_and_malformed_bodies_400() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    let cases = [
        (json!({"lines": [], "payment_token": "tok_visa"}), "lines"),
        (order_body(product, 0, "tok_visa"), "lines[0].quantity"),
        (order_body(product, 101, "tok_visa"), "lines[0].quantity"),
        (order_body(product, 1, "x"), "payment_token"),
        (
            json!({"lines": [{"product_id": product, "quantity": 1, "unit_price": 1}], "payment_token": "tok_visa"}),
            "lines[0].unit_price",
        ),
        (
            json!({"lines": [{"product_id": "nope", "quantity": 1}], "payment_token": "tok_visa"}),
            "lines[0].product_id",
        ),
    ];
    for (i, (bad, field)) in cases.into_iter().enumerate() {
        let response = api
            .handle(
                sample("place.json")
                    .customer(customer)
                    .key(Some(&format!("bad-{i}")))
                    .body(&bad)
                    .build(),
            )
            .await;
        assert_eq!(
            problem(&response, 422)["errors"][0]["field"],
            field,
            "{bad}"
        );
    }
    let malformed = sample("place.json")
        .customer(customer)
        .key(Some("malformed"))
        .raw_body("{\"lines\": [");
    problem(&api.handle(malformed.build()).await, 400);
}

#[tokio::test]
async fn every_order_route_needs_a_token() {
    let api = api(&[]);
    for name in ["place.json", "list.json", "get.json", "cancel.json"] {
        problem(&api.handle(sample(name).build()).await, 401);
    }
}

#[tokio::test]
async fn a_customer_sees_only_their_own_orders_newest_first_paginated() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let (ada, eve) = (Uuid::new_v4(), Uuid::new_v4());
    let first = place(&api, ada, product, "a-1").await;
    let second = place(&api, ada, product, "a-2").await;
    let third = place(&api, ada, product, "a-3").await;
    let theirs = place(&api, eve, product, "e-1").await;

    let page = body(
        &api.handle(
            sample("list.json")
                .customer(ada)
                .query(&[("limit", "2")])
                .build(),
        )
        .await,
    );
    let ids: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].clone())
        .collect();
    assert_eq!(ids, [third["id"].clone(), second["id"].clone()]);
    let token = page["next_token"].as_str().unwrap();
    let rest = body(
        &api.handle(
            sample("list.json")
                .customer(ada)
                .query(&[("limit", "2"), ("next_token", token)])
                .build(),
        )
        .await,
    );
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["id"], first["id"]);

    let mine = api
        .handle(
            sample("get.json")
                .customer(ada)
                .path(&format!("/orders/{}", first["id"].as_str().unwrap()))
                .build(),
        )
        .await;
    assert_eq!(body(&mine), first);
    let not_mine = api
        .handle(
            sample("get.json")
                .customer(ada)
                .path(&format!("/orders/{}", theirs["id"].as_str().unwrap()))
                .build(),
        )
        .await;
    problem(&not_mine, 404);
    problem(
        &api.handle(
            sample("get.json")
                .customer(ada)
                .path("/orders/not-a-uuid")
                .build(),
        )
        .await,
        404,
    );
    problem(
        &api.handle(
            sample("list.json")
                .customer(ada)
                .query(&[("next_token", "forged")])
                .build(),
        )
        .await,
        400,
    );
    // Ada's token continues only Ada's list: Eve presenting it gets a 400, not a page.
    let problem_body = problem(
        &api.handle(
            sample("list.json")
                .customer(eve)
                .query(&[("next_token", token)])
                .build(),
        )
        .await,
        400,
    );
    assert!(
        problem_body["detail"]
            .as_str()
            .unwrap()
            .contains("next_token"),
        "{problem_body}"
    );
}

async fn confirm(api: &Api, order_id: Uuid, product: Uuid) {
    let reserved = decoded(StockReserved {
        order_id,
        lines: vec![StockLine {
            product_id: product,
            quantity: 2,
        }],
    });
    handle_event(&api.repo, &api.gateway, reserved)
        .await
        .unwrap();
}

#[tokio::test]
async fn cancelling_a_pending_order_publishes_order_cancelled_without_a_refund() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    let order = place(&api, customer, product, "k").await;
    let path = format!("/orders/{}/cancel", order["id"].as_str().unwrap());
    let response = api
        .handle(sample("cancel.json").customer(customer).path(&path).build())
        .await;
    assert_eq!(response.status(), 200);
    let cancelled = body(&response);
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["reason"].as_str()),
        (Some("CANCELLED"), Some("customer"))
    );
    assert!(cancelled.get("refunded").is_none());
    let (event_type, envelope) = api.repo.outbox().pop().unwrap();
    assert_eq!(event_type, "OrderCancelled");
    assert_eq!(envelope["data"]["refunded"], Value::Null);
    // Cancelling again changes nothing.
    assert_eq!(
        api.handle(sample("cancel.json").customer(customer).path(&path).build())
            .await
            .status(),
        200
    );
    assert_eq!(api.repo.outbox().len(), 2);
}

#[tokio::test]
async fn cancelling_a_confirmed_order_refunds_the_charge() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    let order = place(&api, customer, product, "k").await;
    let order_id: Uuid = order["id"].as_str().unwrap().parse().unwrap();
    confirm(&api, order_id, product).await;
    let response = api
        .handle(
            sample("cancel.json")
                .customer(customer)
                .path(&format!("/orders/{order_id}/cancel"))
                .build(),
        )
        .await;
    let cancelled = body(&response);
    assert_eq!(
        cancelled["refunded"],
        json!({"amount_minor": 2000, "currency": "EUR"})
    );
    assert_eq!(api.gateway.refunded(order_id), Some(eur(2000)));
    let (_, envelope) = api.repo.outbox().pop().unwrap();
    assert_eq!(envelope["data"]["refunded"]["amount_minor"], 2000);
}

#[tokio::test]
async fn cancelling_someone_elses_or_a_rejected_order_is_refused() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    let order = place(&api, customer, product, "k").await;
    let path = format!("/orders/{}/cancel", order["id"].as_str().unwrap());
    problem(
        &api.handle(
            sample("cancel.json")
                .customer(Uuid::new_v4())
                .path(&path)
                .build(),
        )
        .await,
        404,
    );
    let failed = shared::events::StockReservationFailed {
        order_id: order["id"].as_str().unwrap().parse().unwrap(),
        unavailable: vec![],
    };
    let decoded = RawEnvelope::parse(
        &EventEnvelope::new(failed, Trace::from_request("c", "r"))
            .to_json()
            .unwrap(),
    )
    .unwrap()
    .decode()
    .unwrap();
    handle_event(&api.repo, &api.gateway, decoded)
        .await
        .unwrap();
    problem(
        &api.handle(sample("cancel.json").customer(customer).path(&path).build())
            .await,
        409,
    );
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let api = api(&[]);
    let customer = Uuid::new_v4();
    problem(
        &api.handle(
            sample("list.json")
                .customer(customer)
                .path("/orderz")
                .build(),
        )
        .await,
        404,
    );
    let collection = api
        .handle(
            sample("list.json")
                .customer(customer)
                .method("DELETE")
                .build(),
        )
        .await;
    problem(&collection, 405);
    assert_method_not_allowed(&collection, "POST, GET");
    let cancel = api
        .handle(
            sample("cancel.json")
                .customer(customer)
                .method("GET")
                .build(),
        )
        .await;
    problem(&cancel, 405);
    assert_method_not_allowed(&cancel, "POST");
    // The method is wrong whoever asks: 405 before any token is looked at.
    let anonymous = api.handle(sample("get.json").method("PATCH").build()).await;
    assert_method_not_allowed(&anonymous, "GET");
}

fn place_request(customer: Uuid, key: &str, body: &Value) -> Request {
    sample("place.json")
        .customer(customer)
        .key(Some(key))
        .body(body)
        .build()
}

#[tokio::test]
async fn two_concurrent_orders_with_one_key_and_body_place_one_order_despite_a_transaction_conflict()
 {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    // The first writer meets a TransactionConflict (the other request is writing the same key).
    api.repo.conflict_next_creates(1);
    let body = order_body(product, 2, "tok_visa");
    let (first, second) = tokio::join!(
        api.handle(place_request(customer, "same", &body)),
        api.handle(place_request(customer, "same", &body)),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 201],
        "{:?} {:?}",
        first.body(),
        second.body()
    );
    assert_eq!(self::body(&first)["id"], self::body(&second)["id"]);
    assert_eq!(api.repo.outbox().len(), 1, "one OrderPlaced");
}

#[tokio::test]
async fn a_concurrent_order_with_the_same_key_and_another_body_is_a_422_despite_a_transaction_conflict()
 {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    api.repo.conflict_next_creates(1);
    let (first, second) = tokio::join!(
        api.handle(place_request(
            customer,
            "same",
            &order_body(product, 2, "tok_visa")
        )),
        api.handle(place_request(
            customer,
            "same",
            &order_body(product, 5, "tok_visa")
        )),
    );
    let (created, refused) = if first.status() == 201 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(created.status(), 201, "{:?}", created.body());
    assert_eq!(
        problem(&refused, 422)["errors"][0]["field"],
        "Idempotency-Key"
    );
    assert_eq!(api.repo.outbox().len(), 1, "one OrderPlaced");
}

#[tokio::test]
async fn an_order_whose_creation_keeps_conflicting_is_a_503_with_retry_after() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    api.repo.conflict_next_creates(u32::MAX);
    let response = api
        .handle(place_request(
            Uuid::new_v4(),
            "k",
            &order_body(product, 1, "tok_visa"),
        ))
        .await;
    problem(&response, 503);
    assert!(response.headers().contains_key("retry-after"));
    assert!(api.repo.outbox().is_empty());
}

#[tokio::test]
async fn an_order_over_a_bound_is_refused_before_any_price_lookup() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    let line = |quantity: u32| json!({"product_id": product, "quantity": quantity});
    let too_many: Vec<Value> = (0..51).map(|_| line(1)).collect();
    let cases = [
        (
            json!({"lines": too_many, "payment_token": "tok_visa"}),
            "lines",
        ),
        (
            json!({"lines": [line(1), line(1), line(101)], "payment_token": "tok_visa"}),
            "lines[2].quantity",
        ),
        (
            json!({"lines": [line(0)], "payment_token": "tok_visa"}),
            "lines[0].quantity",
        ),
    ];
    for (i, (bad, field)) in cases.into_iter().enumerate() {
        let response = api
            .handle(place_request(customer, &format!("bound-{i}"), &bad))
            .await;
        assert_eq!(problem(&response, 422)["errors"][0]["field"], field);
    }
    assert_eq!(api.repo.price_lookups(), 0);
}

#[tokio::test]
async fn a_payment_outage_during_a_cancel_is_a_503_with_retry_after_and_the_order_stays_confirmed()
{
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    let order = place(&api, customer, product, "k").await;
    let order_id: Uuid = order["id"].as_str().unwrap().parse().unwrap();
    confirm(&api, order_id, product).await;
    let cancel = || {
        sample("cancel.json")
            .customer(customer)
            .path(&format!("/orders/{order_id}/cancel"))
            .build()
    };
    api.gateway.set_unavailable(true);
    let response = api.handle(cancel()).await;
    problem(&response, 503);
    assert!(response.headers().contains_key("retry-after"));
    let unchanged = api
        .handle(
            sample("get.json")
                .customer(customer)
                .path(&format!("/orders/{order_id}"))
                .build(),
        )
        .await;
    assert_eq!(body(&unchanged)["status"], "CONFIRMED");
    // The client's retry, once the gateway answers, cancels and refunds.
    api.gateway.set_unavailable(false);
    let retried = api.handle(cancel()).await;
    assert_eq!(retried.status(), 200);
    assert_eq!(body(&retried)["refunded"]["amount_minor"], 2000);
}

#[tokio::test]
async fn a_cancel_that_keeps_losing_races_is_a_503_with_retry_after() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    let order = place(&api, customer, product, "k").await;
    api.repo.stale_next_transitions(u32::MAX);
    let path = format!("/orders/{}/cancel", order["id"].as_str().unwrap());
    let response = api
        .handle(sample("cancel.json").customer(customer).path(&path).build())
        .await;
    problem(&response, 503);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_throttled_price_lookup_is_a_503_with_retry_after() {
    let product = Uuid::new_v4();
    let api = api(&[product]);
    let customer = Uuid::new_v4();
    api.repo.set_prices_unavailable(true);
    let body = order_body(product, 1, "tok_visa");
    let response = api.handle(place_request(customer, "k", &body)).await;
    let problem = problem(&response, 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(problem.get("errors").is_none(), "no business answer");
    assert!(api.repo.outbox().is_empty());
    // The same request, retried once the table answers, places the order.
    api.repo.set_prices_unavailable(false);
    let retried = api.handle(place_request(customer, "k", &body)).await;
    assert_eq!(retried.status(), 201);
}

use chrono::Utc;
use inventory::adapters::memory::InMemoryInventoryStore;
use inventory::http::InventoryApi;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::auth::Role;
use uuid::Uuid;

use crate::fixture;

const PRODUCT: &str = "7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10";

fn api() -> InventoryApi<InMemoryInventoryStore> {
    let store = InMemoryInventoryStore::default();
    store.put_stock(Uuid::parse_str(PRODUCT).unwrap(), 5, 3);
    InventoryApi {
        store,
        keys: shared::auth::testing::verifier(),
    }
}

fn request(name: &str, role: Option<Role>, body: Option<Value>, path: Option<&str>) -> Request {
    let mut event = fixture(name);
    match role {
        Some(role) => {
            let token = shared::auth::testing::issuer()
                .issue(&Uuid::new_v4().to_string(), role, Utc::now())
                .unwrap();
            event["headers"]["authorization"] = json!(format!("Bearer {}", token.access_token));
        }
        None => {
            event["headers"]
                .as_object_mut()
                .unwrap()
                .remove("authorization");
        }
    }
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    if let Some(path) = path {
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["path"] = json!(path);
    }
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

fn body(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

fn assert_problem(response: &Response<Body>, status: u16) {
    assert_eq!(response.status(), status, "{:?}", response.body());
    assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
}

#[tokio::test]
async fn anyone_reads_stock_with_on_hand_available_and_reserved() {
    let response = api().handle(request("get.json", None, None, None)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(&response),
        json!({"product_id": PRODUCT, "on_hand": 8, "available": 5, "reserved": 3})
    );
}

#[tokio::test]
async fn unknown_or_malformed_products_are_404() {
    let api = api();
    let unknown = format!("/inventory/{}", Uuid::new_v4());
    assert_problem(
        &api.handle(request("get.json", None, None, Some(&unknown)))
            .await,
        404,
    );
    assert_problem(
        &api.handle(request("get.json", None, None, Some("/inventory/nope")))
            .await,
        404,
    );
    assert_problem(
        &api.handle(request("put.json", Some(Role::Admin), None, Some(&unknown)))
            .await,
        404,
    );
    assert_problem(
        &api.handle(request("get.json", None, None, Some("/inventory")))
            .await,
        404,
    );
}

#[tokio::test]
async fn an_admin_sets_on_hand_and_reserved_units_stay_reserved() {
    let response = api()
        .handle(request("put.json", Some(Role::Admin), None, None))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    assert_eq!(
        body(&response),
        json!({"product_id": PRODUCT, "on_hand": 25, "available": 22, "reserved": 3})
    );
}

#[tokio::test]
async fn an_admin_adjusts_stock_up_and_down() {
    let api = api();
    let up = api
        .handle(request(
            "put.json",
            Some(Role::Admin),
            Some(json!({"adjust": 10})),
            None,
        ))
        .await;
    assert_eq!(body(&up)["available"], 15);
    let down = api
        .handle(request(
            "put.json",
            Some(Role::Admin),
            Some(json!({"adjust": -15})),
            None,
        ))
        .await;
    assert_eq!(
        body(&down),
        json!({"product_id": PRODUCT, "on_hand": 3, "available": 0, "reserved": 3})
    );
}

#[tokio::test]
async fn stock_never_goes_below_what_is_reserved() {
    let api = api();
    assert_problem(
        &api.handle(request(
            "put.json",
            Some(Role::Admin),
            Some(json!({"on_hand": 2})),
            None,
        ))
        .await,
        409,
    );
    assert_problem(
        &api.handle(request(
            "put.json",
            Some(Role::Admin),
            Some(json!({"adjust": -6})),
            None,
        ))
        .await,
        409,
    );
    assert_eq!(
        body(&api.handle(request("get.json", None, None, None)).await)["available"],
        5
    );
}

#[tokio::test]
async fn a_put_needs_exactly_one_of_on_hand_or_adjust() {
    let api = api();
    for bad in [
        json!({}),
        json!({"on_hand": 1, "adjust": 1}),
        json!({"on_hand": -1}),
        json!({"available": 3}),
    ] {
        assert_problem(
            &api.handle(request(
                "put.json",
                Some(Role::Admin),
                Some(bad.clone()),
                None,
            ))
            .await,
            422,
        );
    }
}

#[tokio::test]
async fn stock_writes_need_an_admin() {
    let api = api();
    assert_problem(
        &api.handle(request("put.json", None, None, None)).await,
        401,
    );
    assert_problem(
        &api.handle(request("put.json", Some(Role::Customer), None, None))
            .await,
        403,
    );
}

#[tokio::test]
async fn other_methods_are_405() {
    let mut event = fixture("get.json");
    event["requestContext"]["http"]["method"] = json!("DELETE");
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    assert_problem(&api().handle(request).await, 405);
}

#[tokio::test]
async fn a_stock_change_that_loses_five_races_to_reservations_still_applies() {
    use inventory::domain::StockChange;
    use inventory::ports::ChangeStockError;
    use inventory::service::change_stock;

    let store = InMemoryInventoryStore::default();
    let product = Uuid::new_v4();
    store.put_stock(product, 5, 3);
    store.lose_races(5);
    let level = change_stock(&store, product, StockChange::Adjust(2))
        .await
        .unwrap();
    assert_eq!((level.available, level.reserved), (7, 3));
    assert_eq!(store.attempts(), 6);

    store.lose_races(u32::MAX);
    assert!(matches!(
        change_stock(&store, product, StockChange::Adjust(1)).await,
        Err(ChangeStockError::Conflict)
    ));
}

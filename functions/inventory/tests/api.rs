use inventory::adapters::memory::InMemoryInventoryStore;
use inventory::http::InventoryApi;
use lambda_http::Request;
use serde_json::{Value, json};
use shared::auth::Role;
use shared::test_support::{ApiRequest, assert_method_not_allowed, assert_problem, body};
use uuid::Uuid;

const PRODUCT: &str = "7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10";

fn api() -> InventoryApi<InMemoryInventoryStore> {
    let store = InMemoryInventoryStore::default();
    store.put_stock(Uuid::parse_str(PRODUCT).unwrap(), 5, 3);
    InventoryApi {
        store,
        keys: shared::auth::testing::verifier(),
    }
}

/// A sample event of events/inventory/, by `role` (anonymous without), with `body` and `path`
/// when given.
fn request(name: &str, role: Option<Role>, body: Option<Value>, path: Option<&str>) -> Request {
    let mut request = ApiRequest::sample("inventory", name);
    request = match role {
        Some(role) => request.by(&Uuid::new_v4().to_string(), role),
        None => request.anonymous(),
    };
    if let Some(body) = body {
        request = request.body(&body);
    }
    if let Some(path) = path {
        request = request.path(path);
    }
    request.build()
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
async fn other_methods_are_405_with_allow() {
    let request = ApiRequest::sample("inventory", "get.json")
        .method("DELETE")
        .build();
    let response = api().handle(request).await;
    assert_problem(&response, 405);
    assert_method_not_allowed(&response, "GET, PUT");
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

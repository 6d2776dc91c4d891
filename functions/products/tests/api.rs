//! products-api in process: every route and every error, with the in-memory catalog and the
//! sample events from events/products/.

// Helpers are not #[test] functions, so clippy's allow-*-in-tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lambda_http::http::header::{ETAG, LOCATION};
use products::adapters::memory::InMemoryProductRepository;
use products::http::ProductsApi;
use serde_json::{Value, json};
use shared::auth::Role;
use shared::test_support::{self, ApiRequest, assert_method_not_allowed, assert_problem, body};

/// The user every request's token names.
const USER: &str = "0b9c8f4e-5d7a-4e8b-9a1c-2f3e4d5c6b7a";

fn api() -> ProductsApi<InMemoryProductRepository> {
    ProductsApi {
        cursors: test_support::cursors(),
        repo: InMemoryProductRepository::default(),
        keys: shared::auth::testing::verifier(),
    }
}

fn token(role: Role) -> String {
    test_support::token(USER, role)
}

/// A sample event of events/products/.
fn sample(name: &str) -> ApiRequest {
    ApiRequest::sample("products", name)
}

async fn create(
    api: &ProductsApi<InMemoryProductRepository>,
    sku: &str,
    name: &str,
    category: &str,
) -> Value {
    let request = sample("create.json")
        .by(USER, Role::Admin)
        .body(&json!({"sku": sku, "name": name, "category": category, "price": {"amount_minor": 1000, "currency": "EUR"}}))
        .build();
    let response = api.handle(request).await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    body(&response)
}

#[tokio::test]
async fn an_admin_creates_a_product_at_version_1_and_product_created_is_recorded() {
    let api = api();
    let response = api
        .handle(sample("create.json").by(USER, Role::Admin).build())
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()[ETAG], "\"1\"");
    let product = body(&response);
    assert_eq!(
        response.headers()[LOCATION],
        format!("/products/{}", product["id"].as_str().unwrap())
    );
    assert_eq!(product["sku"], "MUG-001");
    assert_eq!(
        product["price"],
        json!({"amount_minor": 1999, "currency": "EUR"})
    );
    assert_eq!(product["status"], "active");
    let outbox = api.repo.outbox();
    assert_eq!(outbox[0].0, "ProductCreated");
    assert_eq!(outbox[0].1["data"]["product_id"], product["id"]);
    assert_eq!(outbox[0].1["data"]["version"], 1);
}

#[tokio::test]
async fn catalog_writes_need_an_admin_token() {
    let api = api();
    let anonymous = sample("create.json")
        .without_header("authorization")
        .build();
    assert_problem(&api.handle(anonymous).await, 401);
    let customer = sample("create.json")
        .header(
            "authorization",
            &format!("Bearer {}", token(Role::Customer)),
        )
        .build();
    assert_problem(&api.handle(customer).await, 403);
    let id = create(&api, "A-1", "A", "kitchen").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let customer_patch = sample("patch.json")
        .path(&format!("/products/{id}"))
        .header(
            "authorization",
            &format!("Bearer {}", token(Role::Customer)),
        )
        .build();
    assert_problem(&api.handle(customer_patch).await, 403);
    let customer_delete = sample("archive.json")
        .path(&format!("/products/{id}"))
        .header(
            "authorization",
            &format!("Bearer {}", token(Role::Customer)),
        )
        .build();
    assert_problem(&api.handle(customer_delete).await, 403);
}

#[tokio::test]
async fn a_duplicate_sku_in_any_case_is_a_409() {
    let api = api();
    create(&api, "MUG-001", "Mug", "kitchen").await;
    let again = sample("create.json").by(USER, Role::Admin).build();
    assert_problem(&api.handle(again).await, 409);
}

#[tokio::test]
async fn a_create_that_loses_a_transaction_race_to_the_same_sku_answers_409() {
    let api = api();
    create(&api, "MUG-001", "Mug", "kitchen").await;
    // The concurrent creation of this SKU cancels this one's transaction first.
    api.repo.inject_create_conflicts(1);
    let again = sample("create.json").by(USER, Role::Admin).build();
    assert_problem(&api.handle(again).await, 409);
    assert_eq!(
        api.repo.create_attempts(),
        3,
        "1 + the conflicted try + its retry"
    );
    assert_eq!(api.repo.outbox().len(), 1, "one ProductCreated");
}

#[tokio::test]
async fn a_create_retries_transaction_conflicts_until_it_is_stored() {
    let api = api();
    api.repo.inject_create_conflicts(3);
    let product = create(&api, "TEE-001", "Tee", "clothing").await;
    assert_eq!(api.repo.create_attempts(), 4);
    let outbox = api.repo.outbox();
    assert_eq!(outbox.len(), 1, "stored once, announced once");
    assert_eq!(outbox[0].1["data"]["product_id"], product["id"]);
}

#[tokio::test]
async fn a_create_that_keeps_conflicting_is_a_503_with_retry_after_and_stores_nothing() {
    let api = api();
    api.repo.inject_create_conflicts(100);
    let response = api
        .handle(sample("create.json").by(USER, Role::Admin).build())
        .await;
    assert_problem(&response, 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(api.repo.outbox().is_empty());
}

#[tokio::test]
async fn invalid_fields_are_a_422_listing_each_one() {
    let api = api();
    let request = sample("create.json")
        .by(USER, Role::Admin)
        .body(&json!({"sku": "bad sku", "name": "", "category": "Office Supplies", "price": {"amount_minor": 0, "currency": "eur"}}))
        .build();
    let problem = assert_problem(&api.handle(request).await, 422);
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["sku", "name", "category", "price"]);
    let float_price = sample("create.json")
        .by(USER, Role::Admin)
        .body(&json!({"sku": "X", "name": "X", "category": "x", "price": {"amount_minor": 19.99, "currency": "EUR"}}))
        .build();
    assert_eq!(
        assert_problem(&api.handle(float_price).await, 422)["errors"][0]["field"],
        "price.amount_minor"
    );
}

#[tokio::test]
async fn get_returns_the_product_with_its_etag_and_404_for_unknown_or_malformed_ids() {
    let api = api();
    let created = create(&api, "A-1", "A", "kitchen").await;
    let id = created["id"].as_str().unwrap();
    let response = api
        .handle(sample("get.json").path(&format!("/products/{id}")).build())
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[ETAG], "\"1\"");
    assert_eq!(body(&response), created);
    assert_problem(&api.handle(sample("get.json").build()).await, 404);
    assert_problem(
        &api.handle(sample("get.json").path("/products/not-a-uuid").build())
            .await,
        404,
    );
}

#[tokio::test]
async fn patch_with_the_current_etag_changes_the_price_and_records_product_updated() {
    let api = api();
    let id = create(&api, "A-1", "A", "kitchen").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = api
        .handle(
            sample("patch.json")
                .path(&format!("/products/{id}"))
                .by(USER, Role::Admin)
                .build(),
        )
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    assert_eq!(response.headers()[ETAG], "\"2\"");
    assert_eq!(body(&response)["price"]["amount_minor"], 1799);
    let (event_type, envelope) = api.repo.outbox().pop().unwrap();
    assert_eq!(event_type, "ProductUpdated");
    assert_eq!(envelope["data"]["price"]["amount_minor"], 1799);
    assert_eq!(envelope["data"]["version"], 2);
}

#[tokio::test]
async fn patch_with_a_stale_etag_is_a_412_and_without_one_a_428() {
    let api = api();
    let id = create(&api, "A-1", "A", "kitchen").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let patch = || {
        sample("patch.json")
            .path(&format!("/products/{id}"))
            .by(USER, Role::Admin)
    };
    assert_eq!(api.handle(patch().build()).await.status(), 200);
    let stale = assert_problem(&api.handle(patch().build()).await, 412);
    assert!(stale["detail"].as_str().unwrap().contains("version 2"));
    assert_problem(
        &api.handle(patch().without_header("if-match").build()).await,
        428,
    );
    assert_problem(
        &api.handle(patch().header("if-match", "soon").build()).await,
        400,
    );
    assert_eq!(
        api.handle(
            patch()
                .header("if-match", "W/\"2\"")
                .body(&json!({"name": "B"}))
                .build()
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn patch_refuses_a_sku_change_and_invalid_fields_with_422() {
    let api = api();
    let id = create(&api, "A-1", "A", "kitchen").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let patch = |b: Value| {
        sample("patch.json")
            .path(&format!("/products/{id}"))
            .by(USER, Role::Admin)
            .body(&b)
            .build()
    };
    assert_eq!(
        assert_problem(&api.handle(patch(json!({"sku": "B-2"}))).await, 422)["errors"][0]["field"],
        "sku"
    );
    assert_problem(
        &api.handle(patch(
            json!({"price": {"amount_minor": -1, "currency": "EUR"}}),
        ))
        .await,
        422,
    );
}

#[tokio::test]
async fn archiving_hides_the_product_from_lists_refuses_edits_and_happens_once() {
    let api = api();
    let id = create(&api, "A-1", "Apple", "kitchen").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    create(&api, "B-1", "Banana", "kitchen").await;
    let archive = || {
        sample("archive.json")
            .path(&format!("/products/{id}"))
            .by(USER, Role::Admin)
            .build()
    };
    let response = api.handle(archive()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(&response)["status"], "archived");
    assert_eq!(api.handle(archive()).await.status(), 200);
    let archived_events = api
        .repo
        .outbox()
        .iter()
        .filter(|(t, _)| t == "ProductArchived")
        .count();
    assert_eq!(archived_events, 1);

    let listed = body(&api.handle(sample("list.json").query(&[]).build()).await);
    let names: Vec<_> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Banana"]);
    assert_eq!(
        body(
            &api.handle(sample("get.json").path(&format!("/products/{id}")).build())
                .await
        )["status"],
        "archived"
    );
    let edit = sample("patch.json")
        .path(&format!("/products/{id}"))
        .header("if-match", "\"2\"")
        .by(USER, Role::Admin)
        .build();
    assert_problem(&api.handle(edit).await, 409);
}

#[tokio::test]
async fn the_list_is_public_by_name_filters_by_category_and_pages_with_next_token() {
    let api = api();
    for (sku, name, category) in [
        ("C", "Cup", "kitchen"),
        ("A", "Apron", "kitchen"),
        ("P", "Pen", "office"),
        ("B", "Bowl", "kitchen"),
    ] {
        create(&api, sku, name, category).await;
    }
    let first = body(
        &api.handle(
            sample("list.json")
                .query(&[("category", "kitchen"), ("limit", "2")])
                .build(),
        )
        .await,
    );
    let names = |page: &Value| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&first), ["Apron", "Bowl"]);
    let token = first["next_token"].as_str().unwrap();
    let second = body(
        &api.handle(
            sample("list.json")
                .query(&[
                    ("category", "kitchen"),
                    ("limit", "2"),
                    ("next_token", token),
                ])
                .build(),
        )
        .await,
    );
    assert_eq!(names(&second), ["Cup"]);
    assert!(second.get("next_token").is_none());
    let all = body(&api.handle(sample("list.json").query(&[]).build()).await);
    assert_eq!(names(&all), ["Apron", "Bowl", "Cup", "Pen"]);

    // The kitchen list's token continues only the kitchen list: 400 in another category and in
    // the whole catalog (on DynamoDB its key would not fit those indexes: a 500 before).
    for other in [vec![("category", "office")], vec![]] {
        let mut query = other.clone();
        query.push(("next_token", token));
        assert_problem(
            &api.handle(sample("list.json").query(&query).build()).await,
            400,
        );
    }
}

#[tokio::test]
async fn bad_list_parameters_are_4xx_problems() {
    let api = api();
    assert_problem(
        &api.handle(sample("list.json").query(&[("limit", "1000")]).build())
            .await,
        422,
    );
    assert_problem(
        &api.handle(
            sample("list.json")
                .query(&[("category", "Not_A_Slug")])
                .build(),
        )
        .await,
        422,
    );
    assert_problem(
        &api.handle(
            sample("list.json")
                .query(&[("next_token", "forged")])
                .build(),
        )
        .await,
        400,
    );
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let api = api();
    assert_problem(
        &api.handle(sample("list.json").path("/productz").build())
            .await,
        404,
    );
    let collection = api.handle(sample("list.json").method("PUT").build()).await;
    assert_problem(&collection, 405);
    assert_method_not_allowed(&collection, "GET, POST");
    let item = api
        .handle(
            sample("create.json")
                .method("POST")
                .path("/products/7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10")
                .build(),
        )
        .await;
    assert_problem(&item, 405);
    assert_method_not_allowed(&item, "GET, PATCH, DELETE");
}

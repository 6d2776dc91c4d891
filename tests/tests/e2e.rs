//! End to end, through the stack `make up` (or `scripts/test.sh`) deployed onto the emulator:
//! HTTP API -> functions -> tables -> streams -> outbox relays -> SNS -> SQS -> workers. Each
//! saga test prints how long the order took from placed to its final state.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use emulator_tests::{dynamodb, outbox_envelopes, partition, sqs};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::envelope::RawEnvelope;
use uuid::Uuid;

mod faults;

const SAGA_TIMEOUT: Duration = Duration::from_secs(30);

/// The deployed stack, found through `.local/stack.local.json` (written by `scripts/stack.py`).
struct Shop {
    transport: Transport,
    stage: String,
    outputs: HashMap<String, String>,
}

/// How requests reach the functions, chosen by `API_TRANSPORT` (as `scripts/shop_api.py` does).
enum Transport {
    /// `http` (default): the stack's HTTP API, as any client reaches it.
    Http { http: reqwest::Client, url: String },
    /// `invoke`: the route's function through the Lambda Invoke API, with the API Gateway
    /// (payload 2.0) event the HTTP API would send. For emulators without HTTP APIs (the free
    /// LocalStack image); `make test` runs the suite this way too, so it cannot rot.
    Invoke { routes: Vec<Route> },
}

/// One route of the HTTP API (`GET /orders/{id}`) and the function it invokes.
struct Route {
    key: String,
    function: String,
}

impl Route {
    /// The path parameters when `method path` matches this route: as in API Gateway, a
    /// `{name}` segment matches one segment, a last `{name+}` the rest of the path.
    fn matches(&self, method: &Method, path: &str) -> Option<serde_json::Map<String, Value>> {
        let (route_method, template) = self.key.split_once(' ')?;
        if route_method != method.as_str() {
            return None;
        }
        let mut parameters = serde_json::Map::new();
        for (name, raw) in shared::router::match_template(template, path)?.iter() {
            // API Gateway decodes a `{name}` segment and passes a greedy `{name+}` as it is.
            let value = if template.ends_with(&format!("{{{name}+}}")) {
                raw.to_owned()
            } else {
                let url = reqwest::Url::parse(&format!("http://x/{raw}")).ok()?;
                url.path_segments()?.next()?.to_owned()
            };
            parameters.insert(name.to_owned(), json!(value));
        }
        Some(parameters)
    }
}

/// The API Gateway HTTP API (payload format 2.0) event for one request.
fn api_gateway_event(
    route: &Route,
    parameters: serde_json::Map<String, Value>,
    method: &Method,
    target: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> Value {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let now = chrono::Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "requestContext": {
            "accountId": "000000000000", "apiId": "invoke", "domainName": "invoke.local",
            "domainPrefix": "invoke",
            "http": {"method": method.as_str(), "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "emulator-tests"},
            "requestId": Uuid::new_v4().to_string(), "routeKey": route.key, "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        // API Gateway joins a repeated parameter's values with commas.
        let mut pairs: Vec<(String, String)> = Vec::new();
        let url = reqwest::Url::parse(&format!("http://x/?{query}")).unwrap();
        for (key, value) in url.query_pairs() {
            match pairs.iter_mut().find(|(k, _)| *k == key) {
                Some((_, joined)) => {
                    joined.push(',');
                    joined.push_str(&value);
                }
                None => pairs.push((key.into_owned(), value.into_owned())),
            }
        }
        event["queryStringParameters"] = pairs.into_iter().map(|(k, v)| (k, json!(v))).collect();
    }
    if !parameters.is_empty() {
        event["pathParameters"] = Value::Object(parameters);
    }
    if let Some(body) = body {
        event["body"] = json!(body.to_string());
    }
    event
}

#[derive(Clone)]
struct Customer {
    token: String,
}

impl Shop {
    fn connect() -> Self {
        // The API is reached through the emulator endpoint of this run, never a stored URL: a
        // dead AWS_ENDPOINT_URL fails these tests too.
        let endpoint = emulator_tests::endpoint();
        let path = format!("{}/../.local/stack.local.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{path} is missing: end-to-end tests need the deployed stack (`make up`, or `make test`)"));
        let stack: Value = serde_json::from_str(&text).unwrap();
        let transport = match std::env::var("API_TRANSPORT").as_deref() {
            Ok("invoke") => Transport::Invoke {
                routes: stack["routes"]
                    .as_array()
                    .expect("stack.local.json lists the routes: deploy with this scripts/stack.py")
                    .iter()
                    .map(|route| Route {
                        key: route["route_key"].as_str().unwrap().to_owned(),
                        function: route["function"].as_str().unwrap().to_owned(),
                    })
                    .collect(),
            },
            Ok("http") | Err(_) => Transport::Http {
                http: reqwest::Client::new(),
                url: format!(
                    "{}/_aws/execute-api/{}",
                    endpoint.trim_end_matches('/'),
                    stack["api_id"].as_str().unwrap()
                ),
            },
            Ok(other) => panic!("API_TRANSPORT={other:?}: expected http or invoke"),
        };
        Self {
            transport,
            stage: stack["stage"].as_str().unwrap().to_owned(),
            outputs: serde_json::from_value(stack["outputs"].clone()).unwrap(),
        }
    }

    /// `GET path` with `token`, when given.
    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, None, token, None).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let routes = match &self.transport {
            Transport::Http { http, url } => {
                let mut request = http.request(method, format!("{url}{path}"));
                if let Some(body) = body {
                    request = request.json(&body);
                }
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if let Some(key) = key {
                    request = request.header("idempotency-key", key);
                }
                let response = request.send().await.expect("the HTTP API answers");
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                return (status, serde_json::from_str(&text).unwrap_or(Value::Null));
            }
            Transport::Invoke { routes } => routes,
        };
        let route_path = path.split_once('?').map_or(path, |(p, _)| p);
        let Some((route, parameters)) = routes
            .iter()
            .find_map(|route| Some((route, route.matches(&method, route_path)?)))
        else {
            // What the HTTP API answers for a route it does not have.
            return (StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
        };
        let mut headers = vec![("content-type", "application/json".to_owned())];
        if let Some(token) = token {
            headers.push(("authorization", format!("Bearer {token}")));
        }
        if let Some(key) = key {
            headers.push(("idempotency-key", key.to_owned()));
        }
        let event = api_gateway_event(route, parameters, &method, path, &headers, body.as_ref());
        let answer = emulator_tests::lambda()
            .await
            .invoke()
            .function_name(&route.function)
            .payload(aws_sdk_lambda::primitives::Blob::new(event.to_string()))
            .send()
            .await
            .unwrap_or_else(|err| panic!("invoking {} failed: {err:?}", route.function));
        let payload: Value = answer
            .payload()
            .map(|blob| serde_json::from_slice(blob.as_ref()).unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        if answer.function_error().is_some() {
            // The HTTP API turns a failed invocation into a 500.
            return (StatusCode::INTERNAL_SERVER_ERROR, payload);
        }
        let status = payload["statusCode"]
            .as_u64()
            .and_then(|code| StatusCode::from_u16(u16::try_from(code).ok()?).ok())
            .unwrap_or_else(|| panic!("{} answered no statusCode: {payload}", route.function));
        let mut text = payload["body"].as_str().unwrap_or_default().to_owned();
        if payload["isBase64Encoded"] == true {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&text)
                .expect("a base64 body");
            text = String::from_utf8(bytes).expect("a UTF-8 body");
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The HTTP API's client and base URL, for a test that reads the response's headers
    /// (`Retry-After`): those run over HTTP only.
    fn http_api(&self) -> (&reqwest::Client, &str) {
        match &self.transport {
            Transport::Http { http, url } => (http, url),
            Transport::Invoke { .. } => {
                panic!("this test reads the HTTP API's headers: run it with API_TRANSPORT=http")
            }
        }
    }

    async fn register(&self, email: &str, password: &str) -> Customer {
        let (status, user) = self
            .call(
                Method::POST,
                "/users",
                Some(json!({"email": email, "password": password, "name": "E2E"})),
                None,
                None,
            )
            .await;
        assert!(
            status == StatusCode::CREATED || status == StatusCode::CONFLICT,
            "{status} {user}"
        );
        self.login(email, password).await
    }

    async fn login(&self, email: &str, password: &str) -> Customer {
        let (status, token) = self
            .call(
                Method::POST,
                "/auth/token",
                Some(json!({"email": email, "password": password})),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{token}");
        Customer {
            token: token["access_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn customer(&self) -> Customer {
        self.register(
            &format!("e2e-{}@example.org", Uuid::new_v4().simple()),
            "correct horse battery",
        )
        .await
    }

    async fn admin(&self) -> Customer {
        // Registration makes a customer (409 once seeded); the operator's command makes the
        // admin, as `scripts/stack.py seed` does. Granting a role the user has changes nothing.
        self.register("admin@shop.local", "local-admin-password")
            .await;
        self.operator(&["grant", "--email", "admin@shop.local"]);
        self.login("admin@shop.local", "local-admin-password").await
    }

    /// `users-admin <args>` on the stack's users table.
    fn operator(&self, args: &[&str]) -> String {
        emulator_tests::users_admin(&self.outputs["UsersTableName"], args)
    }

    /// A new product priced 10.00 EUR with `stock` on hand, once inventory has learned of it.
    async fn product(&self, stock: u32) -> String {
        let admin = self.admin().await;
        let sku = format!("E2E-{}", &Uuid::new_v4().simple().to_string()[..12]);
        let body = json!({"sku": sku, "name": format!("Test {sku}"), "category": "e2e", "price": {"amount_minor": 1000, "currency": "EUR"}});
        let (status, product) = self
            .call(
                Method::POST,
                "/products",
                Some(body),
                Some(&admin.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{product}");
        let id = product["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        loop {
            let (status, level) = self
                .call(
                    Method::PUT,
                    &format!("/inventory/{id}"),
                    Some(json!({"on_hand": stock})),
                    Some(&admin.token),
                    None,
                )
                .await;
            if status == StatusCode::OK {
                return id;
            }
            assert!(
                started.elapsed() < SAGA_TIMEOUT,
                "inventory never learned of {id}: {status} {level}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn place(
        &self,
        customer: &Customer,
        product: &str,
        quantity: u32,
        card: &str,
    ) -> (Value, Instant) {
        let body = json!({"lines": [{"product_id": product, "quantity": quantity}], "payment_token": card});
        let key = Uuid::new_v4().to_string();
        let started = Instant::now();
        // As a client must: a 503 (an emulator overloaded past the functions' SDK timeouts, a
        // race lost too often) is retried with the same key, which places one order at most.
        for _ in 0..10 {
            let (status, order) = self
                .call(
                    Method::POST,
                    "/orders",
                    Some(body.clone()),
                    Some(&customer.token),
                    Some(&key),
                )
                .await;
            if status == StatusCode::SERVICE_UNAVAILABLE {
                println!("POST /orders answered 503, retrying: {order}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            assert!(
                status == StatusCode::CREATED || status == StatusCode::OK,
                "{status} {order}"
            );
            return (order, started);
        }
        panic!("POST /orders still 503 after 10 tries");
    }

    /// Polls the order until it leaves PENDING; prints and returns how long that took.
    async fn settle(
        &self,
        customer: &Customer,
        order: &Value,
        started: Instant,
        label: &str,
    ) -> Value {
        self.settle_within(customer, order, started, label, SAGA_TIMEOUT)
            .await
    }

    async fn settle_within(
        &self,
        customer: &Customer,
        order: &Value,
        started: Instant,
        label: &str,
        timeout: Duration,
    ) -> Value {
        let id = order["id"].as_str().unwrap();
        loop {
            let (_, current) = self
                .get(&format!("/orders/{id}"), Some(&customer.token))
                .await;
            if current["status"] != "PENDING" {
                println!(
                    "saga[{label}]: placed -> {} in {} ms",
                    current["status"],
                    started.elapsed().as_millis()
                );
                return current;
            }
            assert!(
                started.elapsed() < timeout,
                "order {id} still PENDING after {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls every order until none is PENDING (16 requests at a time, so the API is not
    /// flooded); returns their final statuses in order.
    async fn settle_all(&self, orders: &[(&Customer, &str)], timeout: Duration) -> Vec<String> {
        use futures::StreamExt as _;
        let started = Instant::now();
        let mut statuses = vec![String::from("PENDING"); orders.len()];
        loop {
            let pending: Vec<usize> = (0..orders.len())
                .filter(|&n| statuses[n] == "PENDING")
                .collect();
            if pending.is_empty() {
                return statuses;
            }
            assert!(
                started.elapsed() < timeout,
                "{} orders still PENDING after {timeout:?}",
                pending.len()
            );
            let polled: Vec<(usize, String)> = futures::stream::iter(pending)
                .map(|n| async move {
                    let (customer, id) = orders[n];
                    let (_, order) = self
                        .get(&format!("/orders/{id}"), Some(&customer.token))
                        .await;
                    (n, order["status"].as_str().unwrap_or("PENDING").to_owned())
                })
                .buffer_unordered(16)
                .collect()
                .await;
            for (n, status) in polled {
                statuses[n] = status;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The bodies of the messages in the stage's queue `name` (a DLQ) that mention `needle`.
    /// Each is hidden for a few seconds while the queue is read to its end, so every message is
    /// seen once; other tests' messages stay where they are.
    async fn dead_letters(&self, name: &str, needle: &str) -> Vec<String> {
        let sqs = sqs().await;
        let url = sqs
            .get_queue_url()
            .queue_name(format!("{}-{name}", self.stage))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let mut found = Vec::new();
        loop {
            let received = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .visibility_timeout(5)
                .send()
                .await
                .unwrap();
            if received.messages().is_empty() {
                return found;
            }
            found.extend(
                received
                    .messages()
                    .iter()
                    .filter_map(|m| m.body())
                    .filter(|body| body.contains(needle))
                    .map(str::to_owned),
            );
        }
    }

    async fn stock(&self, product: &str) -> Value {
        self.get(&format!("/inventory/{product}"), None).await.1
    }

    async fn wait_for_stock(&self, product: &str, available: u64, reserved: u64) {
        let started = Instant::now();
        loop {
            let level = self.stock(product).await;
            if level["available"] == available && level["reserved"] == reserved {
                return;
            }
            assert!(
                started.elapsed() < SAGA_TIMEOUT,
                "stock of {product} is {level}, expected available {available} reserved {reserved}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the customer's notification of `event_type` about `order_id`.
    async fn notification(&self, customer: &Customer, event_type: &str, order_id: &str) -> Value {
        let started = Instant::now();
        loop {
            let (_, page) = self
                .get("/notifications?limit=100", Some(&customer.token))
                .await;
            let found: Vec<Value> = page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|n| {
                    n["event_type"] == event_type
                        && n["body"].as_str().is_some_and(|b| b.contains(order_id))
                })
                .cloned()
                .collect();
            if let [notification] = found.as_slice()
                && notification["status"] == "sent"
            {
                return notification.clone();
            }
            assert!(
                found.len() <= 1,
                "{} {event_type} notifications for {order_id}",
                found.len()
            );
            assert!(
                started.elapsed() < SAGA_TIMEOUT,
                "no sent {event_type} notification for {order_id}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn table(&self, output: &str) -> String {
        self.outputs
            .get(output)
            .cloned()
            .unwrap_or_else(|| panic!("stack output {output} missing"))
    }

    /// The payment simulator's records for an order: sort keys (`CHARGE`, `REFUND`).
    async fn payments(&self, order_id: &str) -> Vec<String> {
        let table = self.table("OrdersTableName");
        let items = partition(&dynamodb().await, &table, &format!("PAYMENT#{order_id}")).await;
        let mut kinds: Vec<String> = items
            .iter()
            .filter_map(|item| match item.get("sk") {
                Some(AttributeValue::S(sk)) if sk != "ATTEMPT" => Some(sk.clone()),
                _ => None,
            })
            .collect();
        kinds.sort();
        kinds
    }
}

#[tokio::test]
async fn a_registered_customer_becomes_admin_only_through_the_operator_command_and_back() {
    let shop = Shop::connect();
    let email = format!("e2e-ops-{}@example.org", Uuid::new_v4().simple());
    let password = "correct horse battery";
    let body = || json!({"sku": format!("E2E-{}", &Uuid::new_v4().simple().to_string()[..12]), "name": "Ops mug", "category": "e2e", "price": {"amount_minor": 1000, "currency": "EUR"}});
    let create = async |token: &str| {
        shop.call(Method::POST, "/products", Some(body()), Some(token), None)
            .await
    };
    let customer = shop.register(&email, password).await;
    let (status, _) = create(&customer.token).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "registration makes customers"
    );

    shop.operator(&["grant", "--email", &email]);
    let admin = shop.login(&email, password).await;
    let (status, product) = create(&admin.token).await;
    assert_eq!(status, StatusCode::CREATED, "{product}");

    shop.operator(&["revoke", "--email", &email]);
    let revoked = shop.login(&email, password).await;
    let (status, _) = create(&revoked.token).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a new token carries the revoked role"
    );
}

#[tokio::test]
async fn happy_path_placed_reserved_charged_confirmed_and_notified() {
    let shop = Shop::connect();
    let product = shop.product(5).await;
    let customer = shop.customer().await;
    let (order, started) = shop.place(&customer, &product, 2, "tok_visa").await;
    assert_eq!(
        order["total"],
        json!({"amount_minor": 2000, "currency": "EUR"})
    );
    let done = shop.settle(&customer, &order, started, "happy").await;
    assert_eq!(done["status"], "CONFIRMED");
    shop.wait_for_stock(&product, 3, 2).await;
    assert_eq!(
        shop.payments(order["id"].as_str().unwrap()).await,
        ["CHARGE"]
    );
    let note = shop
        .notification(&customer, "OrderConfirmed", order["id"].as_str().unwrap())
        .await;
    assert!(note["subject"].as_str().unwrap().ends_with("confirmed"));
    // The welcome names the email, not an order: any UserRegistered notification will do.
    shop.notification(&customer, "UserRegistered", "").await;
}

#[tokio::test]
async fn out_of_stock_is_rejected_without_a_charge_and_notified() {
    let shop = Shop::connect();
    let product = shop.product(1).await;
    let customer = shop.customer().await;
    let (order, started) = shop.place(&customer, &product, 2, "tok_visa").await;
    let done = shop
        .settle(&customer, &order, started, "out-of-stock")
        .await;
    assert_eq!(
        (done["status"].as_str(), done["reason"].as_str()),
        (Some("REJECTED"), Some("out_of_stock"))
    );
    shop.wait_for_stock(&product, 1, 0).await;
    assert!(
        shop.payments(order["id"].as_str().unwrap())
            .await
            .is_empty(),
        "never charged"
    );
    shop.notification(&customer, "OrderRejected", order["id"].as_str().unwrap())
        .await;
}

#[tokio::test]
async fn a_declined_payment_cancels_releases_the_stock_and_notifies() {
    let shop = Shop::connect();
    let product = shop.product(5).await;
    let customer = shop.customer().await;
    let (order, started) = shop
        .place(&customer, &product, 3, "tok_chargeDeclined")
        .await;
    let done = shop.settle(&customer, &order, started, "declined").await;
    assert_eq!(
        (done["status"].as_str(), done["reason"].as_str()),
        (Some("CANCELLED"), Some("payment_declined"))
    );
    shop.wait_for_stock(&product, 5, 0).await;
    shop.notification(&customer, "OrderCancelled", order["id"].as_str().unwrap())
        .await;
}

#[tokio::test]
async fn a_transient_gateway_failure_is_retried_through_sqs_and_the_order_confirms_once() {
    let shop = Shop::connect();
    let product = shop.product(5).await;
    let customer = shop.customer().await;
    let (order, started) = shop.place(&customer, &product, 1, "tok_fail_once").await;
    let done = shop.settle(&customer, &order, started, "fail-once").await;
    assert_eq!(done["status"], "CONFIRMED");
    assert_eq!(
        shop.payments(order["id"].as_str().unwrap()).await,
        ["CHARGE"]
    );
}

#[tokio::test]
async fn cancelling_after_confirmation_refunds_and_releases_the_stock() {
    let shop = Shop::connect();
    let product = shop.product(4).await;
    let customer = shop.customer().await;
    let (order, started) = shop.place(&customer, &product, 2, "tok_visa").await;
    assert_eq!(
        shop.settle(&customer, &order, started, "cancel").await["status"],
        "CONFIRMED"
    );
    let id = order["id"].as_str().unwrap();
    let (status, cancelled) = shop
        .call(
            Method::POST,
            &format!("/orders/{id}/cancel"),
            None,
            Some(&customer.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(
        cancelled["refunded"],
        json!({"amount_minor": 2000, "currency": "EUR"})
    );
    shop.wait_for_stock(&product, 4, 0).await;
    assert_eq!(shop.payments(id).await, ["CHARGE", "REFUND"]);
    shop.notification(&customer, "OrderCancelled", id).await;
}

#[tokio::test]
async fn thirty_concurrent_orders_for_stock_ten_confirm_exactly_ten() {
    let shop = Shop::connect();
    let product = shop.product(10).await;
    // One customer placing 30 orders at once: the concurrency under test is the orders', not
    // 30 registrations (each an Argon2id hash, slow in a debug build on a shared machine).
    let customer = shop.customer().await;
    let placed =
        futures::future::join_all((0..30).map(|_| shop.place(&customer, &product, 1, "tok_visa")))
            .await;
    let settled = futures::future::join_all(
        placed
            .iter()
            .map(|(order, started)| shop.settle(&customer, order, *started, "30-for-10")),
    )
    .await;
    let confirmed = settled
        .iter()
        .filter(|o| o["status"] == "CONFIRMED")
        .count();
    let rejected = settled.iter().filter(|o| o["status"] == "REJECTED").count();
    assert_eq!((confirmed, rejected), (10, 20));
    shop.wait_for_stock(&product, 0, 10).await;
}

/// A flash sale: 200 single-unit orders at once, from a few customers, for 50 units of one
/// product. Every reservation races on the same stock item; contention must end each order
/// CONFIRMED or REJECTED, never in a DLQ.
#[tokio::test]
async fn two_hundred_orders_for_fifty_units_confirm_exactly_fifty() {
    const ORDERS: usize = 200;
    const UNITS: u32 = 50;
    let shop = Shop::connect();
    let started = Instant::now();
    let product = shop.product(UNITS).await;
    // Four customers, not 200: registration hashes a password (Argon2id), slow in a debug build.
    let customers = futures::future::join_all((0..4).map(|_| shop.customer())).await;
    let placed = futures::future::join_all(
        (0..ORDERS).map(|n| shop.place(&customers[n % customers.len()], &product, 1, "tok_visa")),
    )
    .await;
    println!(
        "flash sale: {ORDERS} orders placed in {} ms",
        started.elapsed().as_millis()
    );
    let orders: Vec<(&Customer, &str)> = placed
        .iter()
        .enumerate()
        .map(|(n, (order, _))| {
            (
                &customers[n % customers.len()],
                order["id"].as_str().unwrap(),
            )
        })
        .collect();
    let settled = shop.settle_all(&orders, Duration::from_secs(180)).await;
    println!(
        "flash sale: every order final {} ms after the first was placed",
        started.elapsed().as_millis()
    );
    let count = |status: &str| settled.iter().filter(|s| s.as_str() == status).count();
    assert_eq!(
        (count("CONFIRMED"), count("REJECTED")),
        (UNITS as usize, ORDERS - UNITS as usize),
        "{settled:?}"
    );
    shop.wait_for_stock(&product, 0, u64::from(UNITS)).await;
    for dlq in ["inventory-dlq", "orders-dlq", "notifications-dlq"] {
        let dead = shop.dead_letters(dlq, &product).await;
        assert!(dead.is_empty(), "{dlq} holds events of this sale: {dead:?}");
    }
}

#[tokio::test]
async fn redelivered_events_reserve_charge_and_notify_once() {
    let shop = Shop::connect();
    let product = shop.product(5).await;
    let customer = shop.customer().await;
    let (order, started) = shop.place(&customer, &product, 2, "tok_visa").await;
    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(
        shop.settle(&customer, &order, started, "duplicates").await["status"],
        "CONFIRMED"
    );
    shop.notification(&customer, "OrderConfirmed", &id).await;

    // Deliver every event of this saga again, twice, to the queue that consumed it.
    let sqs = sqs().await;
    let queue = |name: &str| format!("{}-{name}", shop.stage);
    let deliveries = [
        ("OrdersTableName", "OrderPlaced", queue("inventory")),
        ("InventoryTableName", "StockReserved", queue("orders")),
        ("OrdersTableName", "OrderConfirmed", queue("notifications")),
    ];
    for (table, event_type, queue_name) in deliveries {
        let envelope = outbox_envelope(&shop.table(table), event_type, &id).await;
        let url = sqs
            .get_queue_url()
            .queue_name(&queue_name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        for _ in 0..2 {
            sqs.send_message()
                .queue_url(&url)
                .message_body(&envelope)
                .send()
                .await
                .unwrap();
        }
    }
    // Give the workers time to (not) act, then check nothing moved twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    shop.wait_for_stock(&product, 3, 2).await;
    assert_eq!(shop.payments(&id).await, ["CHARGE"]);
    shop.notification(&customer, "OrderConfirmed", &id).await;
    let (_, current) = shop
        .get(&format!("/orders/{id}"), Some(&customer.token))
        .await;
    assert_eq!(current["status"], "CONFIRMED");
}

/// The envelope JSON of the `event_type` outbox item about `order_id` in `table`.
#[tokio::test]
async fn tokens_are_eddsa_and_verify_with_the_published_jwks_alone() {
    let shop = Shop::connect();
    let customer = shop.customer().await;
    let (status, jwks) = shop.get("/.well-known/jwks.json", None).await;
    assert_eq!(status, StatusCode::OK, "{jwks}");
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|key| key["kty"] == "OKP" && key.get("d").is_none()),
        "public Ed25519 keys only: {jwks}"
    );
    let verifier = shared::auth::JwtKeys::from_jwks_json(&jwks.to_string()).unwrap();
    let identity = verifier.verify(&customer.token).unwrap();
    assert_eq!(identity.role, shared::auth::Role::Customer);
    // What every other API does with the same keys: the token opens a customer's list.
    let (status, _) = shop.get("/orders", Some(&customer.token)).await;
    assert_eq!(status, StatusCode::OK);
}

/// A `next_token` as the unsigned format before signed cursors made it: base64url of a JSON key
/// with the right attribute names, whatever values a client chose.
fn unsigned_token(key: &Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_string())
}

#[tokio::test]
async fn forged_or_foreign_next_tokens_are_a_400_on_every_list_never_a_500() {
    let shop = Shop::connect();
    let product = shop.product(10).await;
    let (ada, eve) = (shop.customer().await, shop.customer().await);
    for _ in 0..2 {
        let (order, started) = shop.place(&ada, &product, 1, "tok_visa").await;
        shop.settle(&ada, &order, started, "paging").await;
    }
    let page = |path: &str, token: Option<&str>| {
        let separator = if path.contains('?') { '&' } else { '?' };
        match token {
            Some(token) => format!("{path}{separator}next_token={token}"),
            None => path.to_owned(),
        }
    };
    let list = async |path: String, who: Option<&Customer>| {
        shop.get(&path, who.map(|c| c.token.as_str())).await
    };

    // Real tokens work, and only for the query they came from.
    let (status, first) = list(page("/orders?limit=1", None), Some(&ada)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let orders_token = first["next_token"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let (status, _) = list(page("/orders?limit=1", Some(&orders_token)), Some(&ada)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, catalog) = list(page("/products?limit=1", None), None).await;
    assert_eq!(status, StatusCode::OK, "{catalog}");
    let products_token = catalog["next_token"]
        .as_str()
        .expect("a second page")
        .to_owned();

    let forged_order_key = unsigned_token(&json!({
        "customer_pk": {"s": "CUSTOMER#someone-else"}, "placed_sort": {"s": "2020"},
        "pk": {"s": "ORDER#x"}, "sk": {"s": "ORDER"}
    }));
    let forged_product_key = unsigned_token(&json!({
        "category_pk": {"s": "CATEGORY#e2e"}, "name_sort": {"n": "1"},
        "pk": {"s": ""}, "sk": {"s": ""}
    }));
    let forged_notification_key = unsigned_token(&json!({"pk": {"s": "USER#x"}, "sk": {"n": "1"}}));
    for (path, who, label) in [
        (
            page("/orders", Some(&orders_token)),
            Some(&eve),
            "another customer's token",
        ),
        (
            page("/orders", Some(&forged_order_key)),
            Some(&ada),
            "forged order key",
        ),
        (
            page("/orders", Some(&products_token)),
            Some(&ada),
            "a products token",
        ),
        (
            page("/products?category=e2e", Some(&products_token)),
            None,
            "another list's token",
        ),
        (
            page("/products", Some(&forged_product_key)),
            None,
            "forged product key",
        ),
        (
            page("/notifications", Some(&orders_token)),
            Some(&ada),
            "an orders token",
        ),
        (
            page("/notifications", Some(&forged_notification_key)),
            Some(&ada),
            "forged notification key",
        ),
    ] {
        let (status, problem) = list(path, who).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{label}: {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("next_token"),
            "{label}: {problem}"
        );
    }
}

/// The JSON text of `table`'s outbox item of `event_type` for `order_id`.
async fn outbox_envelope(table: &str, event_type: &str, order_id: &str) -> String {
    outbox_envelopes(&dynamodb().await, table)
        .await
        .into_iter()
        .find(|json| {
            json.contains(order_id)
                && RawEnvelope::parse(json).is_ok_and(|raw| raw.event_type == event_type)
        })
        .unwrap_or_else(|| panic!("no {event_type} outbox item for {order_id} in {table}"))
}

#[tokio::test]
async fn a_poison_message_ends_in_the_dlq_while_the_rest_of_its_batch_is_processed() {
    let shop = Shop::connect();
    let sqs = sqs().await;
    let queue = sqs
        .get_queue_url()
        .queue_name(format!("{}-inventory", shop.stage))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq = sqs
        .get_queue_url()
        .queue_name(format!("{}-inventory-dlq", shop.stage))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let marker = format!("poison-{}", Uuid::new_v4());
    // A valid ProductCreated next to the poison one: it must be processed.
    let product = Uuid::new_v4();
    let created = shared::envelope::EventEnvelope::new(
        shared::events::ProductCreated {
            product_id: product,
            sku: "POISON-NEIGHBOUR".into(),
            name: "Neighbour".into(),
            category: "e2e".into(),
            price: shared::money::Money::new(100, shared::money::Currency::parse("EUR").unwrap()),
            version: 1,
        },
        shared::envelope::Trace::from_request("e2e", "e2e"),
    );
    let entries = [
        aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
            .id("poison")
            .message_body(format!("{{\"not\": \"{marker}\"}}"))
            .build()
            .unwrap(),
        aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
            .id("valid")
            .message_body(created.to_json().unwrap())
            .build()
            .unwrap(),
    ];
    sqs.send_message_batch()
        .queue_url(&queue)
        .set_entries(Some(entries.to_vec()))
        .send()
        .await
        .unwrap();

    let started = Instant::now();
    loop {
        let level = shop.stock(&product.to_string()).await;
        if level["available"] == 0 && level["reserved"] == 0 {
            break;
        }
        assert!(
            started.elapsed() < SAGA_TIMEOUT,
            "the valid neighbour was not processed: {level}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Ten failed receives (the inventory queue's maxReceiveCount), one visibility timeout
    // apart, then the DLQ.
    let deadline = Instant::now() + Duration::from_secs(200);
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&dlq)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        if received
            .messages()
            .iter()
            .any(|m| m.body().is_some_and(|b| b.contains(&marker)))
        {
            println!(
                "poison message reached the DLQ after {} s",
                started.elapsed().as_secs()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "poison message not in the DLQ after 200 s"
        );
    }
}

/// `make watch` (`scripts/stack.py watch`): `cargo lambda watch` serving the workspace's
/// functions with the environment the deployed stack gives them, read from the stack itself.
/// Killed with its process group (the functions it started) when dropped.
struct Watch {
    process: std::process::Child,
    port: u16,
    root: String,
}

impl Watch {
    fn start() -> Self {
        let root = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(format!("{root}/.local/watch-test.log")).unwrap();
        let process = std::process::Command::new(format!("{root}/.venv/bin/python"))
            .args(["scripts/stack.py", "watch", "--port", &port.to_string()])
            .current_dir(&root)
            .env("PATH", Self::path(&root))
            .env("AWS_ENDPOINT_URL", emulator_tests::endpoint())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start scripts/stack.py watch");
        let watch = Self {
            process,
            port,
            root,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen on {port} within 60 s: see .local/watch-test.log"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        watch
    }

    /// The project's tools first, as `make` puts them (cargo-lambda comes from the venv).
    fn path(root: &str) -> String {
        format!(
            "{root}/.venv/bin:{}",
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// `cargo lambda invoke <function> --data-ascii <event>`: what the function returned.
    fn invoke(&self, function: &str, event: &Value) -> Value {
        let output = std::process::Command::new("cargo")
            .args([
                "lambda",
                "invoke",
                function,
                "--invoke-address",
                "127.0.0.1",
            ])
            .args([
                "--invoke-port",
                &self.port.to_string(),
                "--output-format",
                "json",
            ])
            .args(["--data-ascii", &event.to_string()])
            .current_dir(&self.root)
            .env("PATH", Self::path(&self.root))
            .output()
            .expect("run cargo lambda invoke");
        assert!(
            output.status.success(),
            "cargo lambda invoke {function} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
            panic!(
                "{function} answered {:?}: {err}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.process.id());
        let _ = std::process::Command::new("kill")
            .args(["-TERM", "--", &group])
            .status();
        let _ = self.process.wait();
    }
}

fn sample_event(path: &str) -> Value {
    let path = format!("{}/../events/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The `cargo lambda watch` loop of docs/api.md, with nothing exported by hand: the API function
/// writes to the stack's own users table (the deployed API then logs the customer in) and the
/// worker to the stack's inventory table (the deployed API then shows the stock record). Run by
/// scripts/test.sh after the suite: the watch builds the two functions with `cargo run`.
#[tokio::test]
#[ignore = "builds functions under cargo lambda watch: scripts/test.sh runs it on its own"]
async fn make_watch_runs_an_api_function_and_a_worker_against_the_stack_with_nothing_exported() {
    let shop = Shop::connect();
    let watch = Watch::start();

    let email = format!("watch-{}@example.org", Uuid::new_v4().simple());
    let mut register = sample_event("users/register.json");
    let mut body: Value = serde_json::from_str(register["body"].as_str().unwrap()).unwrap();
    body["email"] = json!(email);
    register["body"] = json!(body.to_string());
    let created = watch.invoke("users-api", &register);
    assert_eq!(created["statusCode"], 201, "{created}");
    let again = watch.invoke("users-api", &register);
    assert_eq!(again["statusCode"], 409, "{again}");
    shop.login(&email, body["password"].as_str().unwrap()).await;

    let product = Uuid::new_v4().to_string();
    let mut created_event = sample_event("inventory/sqs-product-created.json");
    let record = &mut created_event["Records"][0];
    let mut envelope: Value = serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
    envelope["id"] = json!(Uuid::new_v4().to_string());
    envelope["data"]["product_id"] = json!(product);
    record["body"] = json!(envelope.to_string());
    let outcome = watch.invoke("inventory-worker", &created_event);
    assert_eq!(outcome, json!({"batchItemFailures": []}));
    let level = shop.stock(&product).await;
    assert_eq!(level["on_hand"], 0, "{level}");
    assert_eq!(level["product_id"], json!(product), "{level}");
}

/// Stops the emulator gracefully (it saves its state when started with EMULATOR_PERSIST=1) and
/// starts it again, as `make down` / `make up` would.
fn restart_emulator() {
    let script = format!("{}/../scripts/emulator.sh", env!("CARGO_MANIFEST_DIR"));
    for action in ["down", "up"] {
        let status = std::process::Command::new(&script)
            .arg(action)
            .env("EMULATOR_PERSIST", "1")
            .status()
            .expect("run scripts/emulator.sh");
        assert!(status.success(), "scripts/emulator.sh {action} failed");
    }
}

/// The order is placed, then the emulator stops before the saga can run and starts again. The
/// stream record of the order's outbox item does not survive that (an emulator gap); the outbox
/// sweeper publishes the item a minute later and the saga completes. Run alone, after the
/// parallel suite, by scripts/test.sh: it restarts the emulator under every other test.
#[tokio::test]
#[ignore = "restarts the emulator: scripts/test.sh runs it on its own"]
async fn an_emulator_restart_mid_saga_loses_no_order() {
    let shop = Shop::connect();
    let product = shop.product(5).await;
    let customer = shop.customer().await;
    let (order, started) = shop.place(&customer, &product, 1, "tok_visa").await;
    restart_emulator();
    // A fresh client: pooled connections died with the emulator.
    let shop = Shop::connect();
    let done = shop
        .settle_within(
            &customer,
            &order,
            started,
            "restart",
            Duration::from_secs(300),
        )
        .await;
    assert_eq!(done["status"], "CONFIRMED");
    shop.wait_for_stock(&product, 4, 1).await;
    assert_eq!(
        shop.payments(order["id"].as_str().unwrap()).await,
        ["CHARGE"]
    );
}

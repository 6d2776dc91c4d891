//! orders in process: every API route and error, and every saga branch of the worker, with the
//! in-memory table and payment simulator and the sample events from events/orders/.

// Helpers are not #[test] functions, so clippy's allow-*-in-tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod worker;

use orders::adapters::memory::{InMemoryOrderRepository, InMemoryPaymentGateway};
use orders::http::OrdersApi;
use serde_json::Value;
use shared::money::{Currency, Money};
use shared::pagination::Cursors;
use uuid::Uuid;

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/../../events/orders/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("EUR").unwrap())
}

/// An API over an empty table where `products` are for sale at 10.00 EUR each.
pub fn api(products: &[Uuid]) -> OrdersApi<InMemoryOrderRepository, InMemoryPaymentGateway> {
    let repo = InMemoryOrderRepository::default();
    for product in products {
        repo.put_price(*product, eur(1000));
    }
    OrdersApi {
        repo,
        gateway: InMemoryPaymentGateway::default(),
        keys: shared::auth::testing::verifier(),
        cursors: Cursors::from_secret(SECRET).unwrap(),
    }
}

//! orders in process: every API route and error, and every saga branch of the worker, with the
//! in-memory table and payment simulator and the sample events from events/orders/.

// Helpers are not #[test] functions, so clippy's allow-*-in-tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod worker;

use orders::adapters::memory::{InMemoryOrderRepository, InMemoryPaymentGateway};
use orders::http::OrdersApi;
use shared::test_support::{self, eur};
use uuid::Uuid;

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
        cursors: test_support::cursors(),
    }
}

//! Tests against the local AWS emulator (`AWS_ENDPOINT_URL`, see `make test`). One binary, one
//! module per area, each test with its own uniquely named resources.

// Test helpers are not #[test] functions, so clippy's allow-*-in-tests does not reach them;
// a panic is exactly how a helper should fail a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batch_processor;
mod contract;
mod e2e;
mod emulator;
mod notifications;
mod orders;
mod outbox_relay;
mod storefront;
mod unit_of_work;
mod users;

//! The one library every function shares: event contracts and their envelope, telemetry,
//! configuration, HTTP problems, routing and auth, SQS batch processing, and the DynamoDB
//! inbox/outbox.
//! No service's domain logic lives here.
//!
//! The event contracts (`events`, `envelope`, `money`) are the `contracts` crate, re-exported
//! here. Only they, configuration, telemetry, metrics and backoff are always compiled; the
//! rest sits behind a cargo feature named after what it needs (`dynamodb`, `http`, `auth`, `sqs`,
//! ...: see `Cargo.toml`), so a function compiles and links only the SDKs it calls.

pub use contracts::{envelope, events, money};

#[cfg(feature = "auth")]
pub mod auth;
pub mod config;
#[cfg(any(test, feature = "test-support"))]
pub mod contract;
#[cfg(feature = "dynamodb")]
pub mod dynamo;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "dynamodb")]
pub mod memory;
pub mod metrics;
#[cfg(feature = "openapi")]
pub mod openapi;
#[cfg(feature = "pagination")]
pub mod pagination;
pub mod retry;
#[cfg(feature = "http")]
pub mod router;
#[cfg(feature = "sqs")]
pub mod sqs;
#[cfg(feature = "http")]
mod strict_json;
pub mod telemetry;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

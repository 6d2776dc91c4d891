//! The one library every function shares: event contracts and their envelope, telemetry,
//! configuration, HTTP problems, routing and auth, SQS batch processing, and the DynamoDB
//! inbox/outbox.
//! No service's domain logic lives here.

pub mod auth;
pub mod config;
#[cfg(any(test, feature = "test-support"))]
pub mod contract;
pub mod dynamo;
pub mod envelope;
pub mod events;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod money;
pub mod openapi;
pub mod pagination;
pub mod retry;
pub mod router;
pub mod schemas;
pub mod sqs;
pub mod strict_json;
pub mod telemetry;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

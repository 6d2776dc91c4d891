//! outbox-relay: the only way events leave a service. It reads the outbox items that a service
//! wrote in the same transaction as its state change (via the table's DynamoDB stream) and
//! publishes them to the service's SNS topic with the `event_type` attribute subscriptions
//! filter on, and marks them published. `outbox-sweeper`, on a schedule, publishes the items the
//! stream never delivered. One deployment of each per publishing table.
//!
//! The crate reads like the services, from the model down to the binaries:
//! - [`domain`]: the message an outbox item carries, and a publish failure;
//! - [`ports`]: what the use cases need, sized to each function's IAM policy: a publisher
//!   (`sns:Publish`), marking items published (`dynamodb:UpdateItem`, both functions) and
//!   finding the pending ones (`dynamodb:Query` on the `outbox-pending` index, the sweeper only);
//! - [`adapters`]: SNS and DynamoDB for real, memory fakes for tests, and the pair both binaries
//!   build from their environment;
//! - [`service`]: the use cases, relay a batch and sweep, free of AWS types; the guarantees live
//!   here (marked only after the topic accepted it, only what failed reported);
//! - [`lambda`]: the Lambda glue (stream records in, batch item failures out; the schedule);
//! - `bin/`: `outbox-relay` and `outbox-sweeper`, a few lines each.
//!
//! Unlike the services' domains, [`domain`] holds no rules: the relay moves events it does not
//! read, so everything it decides (batching, retries, what to mark) is in [`service`].

pub mod adapters;
pub mod domain;
pub mod lambda;
pub mod ports;
pub mod service;

//! outbox-relay: the only way events leave a service. It reads the outbox items that a service
//! wrote in the same transaction as its state change (via the table's DynamoDB stream) and
//! publishes them to the service's SNS topic with the `event_type` attribute subscriptions
//! filter on, and marks them published. `outbox-sweeper`, on a schedule, publishes the items the
//! stream never delivered. One deployment of each per publishing table.

pub mod publisher;
pub mod relay;
pub mod store;

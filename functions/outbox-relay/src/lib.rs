//! outbox-relay: the only way events leave a service. It reads the outbox items that a service
//! wrote in the same transaction as its state change (via the table's DynamoDB stream) and
//! publishes them to the service's SNS topic with the `event_type` attribute subscriptions
//! filter on. One deployment per publishing table.

pub mod publisher;
pub mod relay;

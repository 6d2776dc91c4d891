//! Implementations of the ports: DynamoDB and the payment simulator for real, in-memory fakes
//! for tests.

pub mod dynamodb;
pub mod memory;
pub mod payment;

//! Implementations of the inventory port: DynamoDB for real, in memory for tests.

pub mod dynamodb;
pub mod memory;

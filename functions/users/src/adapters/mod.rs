//! Implementations of the ports: DynamoDB and Argon2 for real, in-memory fakes for tests.

pub mod argon;
pub mod dynamodb;
pub mod memory;

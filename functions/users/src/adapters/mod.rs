//! Implementations of the ports: DynamoDB, Argon2 and Secrets Manager for real, in-memory fakes
//! for tests.

pub mod argon;
pub mod dynamodb;
pub mod memory;
pub mod secrets_manager;

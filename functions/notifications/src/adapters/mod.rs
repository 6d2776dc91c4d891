//! Implementations of the ports: DynamoDB and Amazon SES for real, in-memory fakes for tests.

pub mod dynamodb;
pub mod memory;
pub mod ses;

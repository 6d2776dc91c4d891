//! The products service: the catalog. Admins create, change and archive products; anyone lists
//! and reads them. Every change publishes `ProductCreated`, `ProductUpdated` or
//! `ProductArchived` through the table's outbox, with the product's version.
//!
//! Every service reads the same way, from the inside out:
//! - [`domain`]: the model and its rules, without I/O;
//! - [`ports`]: what the use cases need from outside, one trait per capability, each function
//!   taking only the traits its IAM policy allows;
//! - [`service`]: the use cases, generic over the ports;
//! - [`adapters`]: the ports implemented, on DynamoDB and in memory (for tests);
//! - [`http`] (products-api): the Lambda glue, which `bin/` wires to the adapters once per cold
//!   start;
//! - `contract` (tests only, feature `test-support`): what every adapter of the ports must do,
//!   run on both adapters.

pub mod adapters;
#[cfg(any(test, feature = "test-support"))]
pub mod contract;
pub mod domain;
pub mod http;
pub mod ports;
pub mod service;

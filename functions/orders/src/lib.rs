//! The orders service, with payments: it takes orders (priced from its own snapshots of the
//! catalog), drives each through the saga (stock reserved -> charge -> confirmed, or rejected,
//! or cancelled) with a pure state machine, and publishes `OrderPlaced`, `OrderConfirmed`,
//! `OrderRejected` and `OrderCancelled` through its outbox.
//!
//! Every service reads the same way, from the inside out:
//! - [`domain`]: the model and its rules, without I/O;
//! - [`ports`]: what the use cases need from outside, one trait per capability, each function
//!   taking only the traits its IAM policy allows;
//! - [`service`]: the use cases, generic over the ports;
//! - [`adapters`]: the ports implemented, on DynamoDB (with the payment simulator) and in memory (for tests);
//! - [`http`] (orders-api) and [`worker`] (orders-worker): the Lambda glue, which `bin/` wires
//!   to the adapters once per cold start;
//! - `contract` (tests only, feature `test-support`): what every adapter of the ports must do,
//!   run on both adapters.

pub mod adapters;
#[cfg(any(test, feature = "test-support"))]
pub mod contract;
pub mod domain;
pub mod http;
pub mod ports;
pub mod service;
pub mod worker;

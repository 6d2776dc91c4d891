//! The notifications service: keeps its own directory of recipients from user events (it never
//! reads the users table), renders a message per event a customer should hear about, sends it
//! through a `NotificationSender` (Amazon SES by default) and records every notification, so
//! each event yields exactly one, and customers can list theirs.
//!
//! Every service reads the same way, from the inside out:
//! - [`domain`]: the model and its rules, without I/O;
//! - [`ports`]: what the use cases need from outside, one trait per capability, each function
//!   taking only the traits its IAM policy allows;
//! - [`service`]: the use cases, generic over the ports;
//! - [`adapters`]: the ports implemented, on DynamoDB and Amazon SES and in memory (for tests);
//! - [`http`] (notifications-api) and [`worker`] (notifications-worker): the Lambda glue,
//!   which `bin/` wires to the adapters once per cold start;
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

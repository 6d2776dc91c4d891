//! The users service: accounts, password hashes and profiles. It registers users (unique email,
//! always customers), issues the JWTs every other service verifies, and publishes
//! `UserRegistered`, `UserProfileUpdated` and `UserRoleChanged` through its table's outbox.
//! Admin rights are granted and revoked only by the operator's `users-admin` command
//! ([`admin`]); the token signing keys are kept by the operator's `users-keys` command
//! ([`signing_keys`]).
//!
//! Every service reads the same way, from the inside out:
//! - [`domain`]: the model and its rules, without I/O;
//! - [`ports`]: what the use cases need from outside, one trait per capability, each function
//!   taking only the traits its IAM policy allows;
//! - [`service`]: the use cases, generic over the ports;
//! - [`adapters`]: the ports implemented, on DynamoDB, Argon2id and Secrets Manager, and in
//!   memory (for tests);
//! - [`http`] (users-api): the Lambda glue, which `bin/` wires to the adapters once per cold
//!   start; [`admin`] and [`signing_keys`], the operator's commands (`users-admin`,
//!   `users-keys`), go through the same use cases and adapters;
//! - `contract` (tests only, feature `test-support`): what every adapter of the ports must do,
//!   run on both adapters.

pub mod adapters;
pub mod admin;
#[cfg(any(test, feature = "test-support"))]
pub mod contract;
pub mod domain;
pub mod http;
pub mod ports;
pub mod service;
pub mod signing_keys;

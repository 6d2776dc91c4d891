//! The users service: accounts, password hashes and profiles. It registers users (unique email),
//! issues the JWTs every other service verifies, and publishes `UserRegistered` and
//! `UserProfileUpdated` through its table's outbox.

pub mod adapters;
pub mod domain;
pub mod http;
pub mod ports;
pub mod service;

//! The users service: accounts, password hashes and profiles. It registers users (unique email,
//! always customers), issues the JWTs every other service verifies, and publishes
//! `UserRegistered`, `UserProfileUpdated` and `UserRoleChanged` through its table's outbox.
//! Admin rights are granted and revoked only by the operator's `users-admin` command
//! ([`admin`]); the token signing keys are kept by the operator's `users-keys` command
//! ([`signing_keys`]).

pub mod adapters;
pub mod admin;
pub mod domain;
pub mod http;
pub mod ports;
pub mod service;
pub mod signing_keys;

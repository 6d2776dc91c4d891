//! The services' port contracts (`<service>::contract`) on their DynamoDB adapters, each test on
//! a fresh copy of the service's table as the template defines it (`emulator_tests::tables`).
//! The same contracts run on the memory adapters in each service's `cargo test`, so a fake
//! cannot drift from the real table.

mod inventory;
mod notifications;
mod orders;
mod products;
mod users;

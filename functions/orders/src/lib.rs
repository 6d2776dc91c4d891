//! The orders service, with payments: it takes orders (priced from its own snapshots of the
//! catalog), drives each through the saga (stock reserved -> charge -> confirmed, or rejected,
//! or cancelled) with a pure state machine, and publishes `OrderPlaced`, `OrderConfirmed`,
//! `OrderRejected` and `OrderCancelled` through its outbox.

pub mod adapters;
pub mod domain;
pub mod http;
pub mod ports;
pub mod service;
pub mod worker;

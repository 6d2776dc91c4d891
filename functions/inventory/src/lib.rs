//! The inventory service: stock per product and reservations per order. Its worker reserves
//! every line of an order atomically (or none), releases reservations of cancelled orders, and
//! publishes `StockReserved`, `StockReservationFailed` and `StockReleased` through its outbox.

pub mod adapters;
pub mod domain;
pub mod http;
pub mod ports;
pub mod service;
pub mod worker;

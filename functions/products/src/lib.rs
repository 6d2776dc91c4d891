//! The products service: the catalog. Admins create, change and archive products; anyone lists
//! and reads them. Every change publishes `ProductCreated`, `ProductUpdated` or
//! `ProductArchived` through the table's outbox, with the product's version.

pub mod adapters;
pub mod domain;
pub mod http;
pub mod ports;
pub mod service;

//! The notifications service: keeps its own directory of recipients from user events (it never
//! reads the users table), renders a message per event a customer should hear about, sends it
//! through a `NotificationSender` (Amazon SES by default) and records every notification, so
//! each event yields exactly one, and customers can list theirs.

pub mod adapters;
pub mod domain;
pub mod http;
pub mod ports;
pub mod service;
pub mod worker;

//! inventory in process: the API routes and the worker's saga steps, with the in-memory store
//! and the sample events from events/inventory/.

// Helpers are not #[test] functions, so clippy's allow-*-in-tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod worker;

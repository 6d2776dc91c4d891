//! The event contracts of the system: every event type ([`events`]), the envelope each travels
//! in ([`envelope`]) and the money they carry ([`money`]).
//!
//! Only serde and the types the contracts carry: no AWS SDK, no HTTP, no schema tooling. With the
//! `json-schema` feature the types also derive schemars' `JsonSchema`; the JSON Schemas under
//! `events/schemas/` are generated from them by the `event-schemas` crate, which depends on this
//! one. `shared` re-exports the three modules, so functions name them `shared::events::...`.

pub mod envelope;
pub mod events;
pub mod money;

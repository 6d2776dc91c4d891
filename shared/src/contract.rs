//! The harness of the services' port contracts (`<service>::contract`): each service states
//! what every adapter of its ports must do as generic async functions, and
//! [`contract_tests!`](crate::contract_tests) makes one test of each, on a fresh store, for the
//! memory adapter in the service's `cargo test` and for the DynamoDB adapter in the emulator
//! suite. Tests only (feature `test-support`).

use crate::envelope::{EventEnvelope, RawEnvelope, Trace};
use crate::events::{DomainEvent, Event};

/// `event` as a consumer receives it: through its JSON, decoded into the closed set.
///
/// # Panics
/// When the event does not round-trip, which is a broken contract.
#[must_use]
#[allow(clippy::expect_used)]
pub fn consumed<E: Event>(event: E) -> EventEnvelope<DomainEvent> {
    let sent = EventEnvelope::new(event, Trace::from_request("contract", "contract"));
    RawEnvelope::parse(&sent.to_json().expect("an event serialises"))
        .expect("its envelope parses")
        .decode()
        .expect("it decodes")
}

/// Runs `body` on a fresh `S::default()`: the memory adapters' store for a contract test.
pub async fn with_default<S: Default>(body: impl AsyncFnOnce(&S)) {
    body(&S::default()).await;
}

/// One `#[tokio::test]` per contract function named, each running `$contracts::<name>` on the
/// store `$with_store` gives it: an async function taking an `AsyncFnOnce(&Store)`, such as
/// [`with_default`] or one that makes a fresh table and deletes it afterwards.
#[macro_export]
macro_rules! contract_tests {
    ($contracts:path, $with_store:path; [$($contract:ident),* $(,)?]) => {
        $(
            #[tokio::test]
            async fn $contract() {
                use $contracts as contracts;
                $with_store(async |store| contracts::$contract(store).await).await;
            }
        )*
    };
}

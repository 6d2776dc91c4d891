//! The harness of the services' port contracts (`<service>::contract`): each service states
//! what every adapter of its ports must do as generic async functions, and
//! [`contract_tests!`](crate::contract_tests) makes one test of each, on a fresh store, for the
//! memory adapter in the service's `cargo test` and for the DynamoDB adapter in the emulator
//! suite. Tests only (feature `test-support`).

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

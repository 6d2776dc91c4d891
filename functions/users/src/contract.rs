//! The contract of the users table's ports: what every adapter must do, stated once as generic
//! async functions over the ports. [`contract_tests!`](crate::contract_tests) turns them into one
//! test each; this crate runs them on the memory adapter (`cargo test`), the emulator suite on
//! the DynamoDB adapter, so the fake the handler tests use cannot drift from the real table.
//!
//! Each function starts from an empty store and builds what it needs through the use cases over
//! the ports alone (with cheap password hashing).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use shared::envelope::{EventEnvelope, Trace};
use shared::events::UserProfileUpdated;

use crate::adapters::argon::Argon2Hasher;
use crate::domain::{Email, Name, Password, User};
use crate::ports::{LoginFailures, UpdateUserError, Users};
use crate::service::{self, LoginLimit, ProfilePatch, Register, RegisterError, UpdateProfileError};

fn trace() -> Trace {
    Trace::from_request("contract", "contract")
}

/// Registers `email` through the use case, as users-api does.
async fn register<S: Users>(store: &S, email: &str) -> Result<User, RegisterError> {
    let hasher = Argon2Hasher::cheap_for_tests().unwrap();
    let registration = Register {
        email: Email::parse(email).unwrap(),
        password: Password::new("correct horse battery".into()).unwrap(),
        name: Name::parse("Ada").unwrap(),
    };
    service::register(store, &hasher, registration, trace()).await
}

/// [`Users::create`], [`Users::find_by_email`], [`Users::get`]: a user is found again by id and
/// by its email's key, whatever the case it was registered in.
pub async fn a_registered_user_is_found_by_id_and_by_email_key<S: Users>(store: &S) {
    let user = register(store, "Ada@Example.org").await.unwrap();
    assert_eq!(
        store.find_by_email("ada@example.org").await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(store.get(user.id).await.unwrap(), Some(user));
    assert_eq!(
        store.find_by_email("nobody@example.org").await.unwrap(),
        None
    );
}

/// [`Users::create`]: four concurrent registrations of one email, in any case, let one win.
pub async fn concurrent_registrations_of_one_email_let_exactly_one_win<S: Users>(store: &S) {
    let emails = [
        "grace@example.org",
        "Grace@example.org",
        "grace@EXAMPLE.org",
        "grace@example.org",
    ];
    let outcomes = futures::future::join_all(emails.map(|email| register(store, email))).await;
    let winners = outcomes.iter().filter(|o| o.is_ok()).count();
    let taken = outcomes
        .iter()
        .filter(|o| matches!(o, Err(RegisterError::EmailTaken)))
        .count();
    assert_eq!((winners, taken), (1, 3), "{outcomes:?}");
}

/// [`Users::update`]: an email change moves its claim (the old email is free again); an email
/// another account holds is refused.
pub async fn changing_the_email_moves_its_claim_and_a_taken_email_is_refused<S: Users>(store: &S) {
    let ada = register(store, "ada@example.org").await.unwrap();
    register(store, "grace@example.org").await.unwrap();
    let taken = ProfilePatch {
        email: Some(Email::parse("GRACE@example.org").unwrap()),
        ..ProfilePatch::default()
    };
    assert!(matches!(
        service::update_profile(store, ada.id, taken, trace()).await,
        Err(UpdateProfileError::EmailTaken)
    ));
    let moved = ProfilePatch {
        email: Some(Email::parse("augusta@example.org").unwrap()),
        ..ProfilePatch::default()
    };
    let updated = service::update_profile(store, ada.id, moved, trace())
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(
        store.find_by_email("ada@example.org").await.unwrap(),
        None,
        "old claim released"
    );
    assert_eq!(
        store
            .find_by_email("augusta@example.org")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(ada.id)
    );
    register(store, "ada@example.org").await.unwrap();
}

/// [`Users::update`]: a change based on a version no longer stored is refused and writes
/// nothing.
pub async fn an_update_based_on_a_stale_version_is_refused_and_writes_nothing<S: Users>(store: &S) {
    let user = register(store, "ada@example.org").await.unwrap();
    let renamed = ProfilePatch {
        name: Some(Name::parse("Augusta").unwrap()),
        ..ProfilePatch::default()
    };
    service::update_profile(store, user.id, renamed, trace())
        .await
        .unwrap();
    // `user` is version 1; the store holds version 2 now.
    let mut stale = user.clone();
    stale.name = Name::parse("Lost update").unwrap();
    stale.version = 2;
    let event = EventEnvelope::new(
        UserProfileUpdated {
            user_id: user.id.0,
            email: "ada@example.org".into(),
            name: "Lost update".into(),
        },
        trace(),
    );
    assert!(matches!(
        store.update(&user, &stale, &event).await,
        Err(UpdateUserError::Stale)
    ));
    assert_eq!(
        store.get(user.id).await.unwrap().unwrap().name.as_str(),
        "Augusta"
    );
}

/// [`LoginFailures`]: failures are counted atomically per email key and window, and cleared.
pub async fn failed_logins_are_counted_atomically_per_email_and_window<S: LoginFailures>(
    store: &S,
) {
    let limit = LoginLimit::default();
    let window = limit.window_at(chrono::Utc::now());
    let next = limit.window_at(window.end);
    let attempts = (0..10).map(|_| store.record_failure("ada@example.org", window));
    for outcome in futures::future::join_all(attempts).await {
        outcome.unwrap();
    }
    assert_eq!(store.failures("ada@example.org", window).await.unwrap(), 10);
    assert_eq!(store.failures("ada@example.org", next).await.unwrap(), 0);
    assert_eq!(
        store.failures("grace@example.org", window).await.unwrap(),
        0
    );
    store.clear("ada@example.org", window).await.unwrap();
    assert_eq!(store.failures("ada@example.org", window).await.unwrap(), 0);
}

/// One test per contract of the users ports, each on a fresh store from `$with_store` (see
/// [`shared::contract_tests!`]).
#[macro_export]
macro_rules! contract_tests {
    ($with_store:path) => {
        ::shared::contract_tests!($crate::contract, $with_store; [
            a_registered_user_is_found_by_id_and_by_email_key,
            concurrent_registrations_of_one_email_let_exactly_one_win,
            changing_the_email_moves_its_claim_and_a_taken_email_is_refused,
            an_update_based_on_a_stale_version_is_refused_and_writes_nothing,
            failed_logins_are_counted_atomically_per_email_and_window,
        ]);
    };
}

#[cfg(test)]
mod memory {
    crate::contract_tests!(
        shared::contract::with_default::<crate::adapters::memory::InMemoryUserRepository>
    );
}

//! The contract of the notifications ports: what every adapter must do, stated once as generic
//! async functions, each over only the ports it exercises. [`contract_tests!`](crate::contract_tests)
//! turns them into one test each; this crate runs them on the memory adapter (`cargo test`), the
//! emulator suite on the DynamoDB adapter, so the fake the handler tests use cannot drift from
//! the real table.
//!
//! Each function starts from an empty store and builds what it needs through the ports alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use shared::events::UserRegistered;
use shared::test_support::decoded;
use uuid::Uuid;

use crate::domain::{Message, Notification, NotificationStatus, Recipient};
use crate::ports::{
    Applied, Claim, Consumed, Inbox, NotificationHistory, Notifications, Recipients,
};

/// A long lease: no test waits it out unless it means to.
const LEASE: Duration = Duration::seconds(30);

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, second).unwrap()
}

fn registered(user_id: Uuid) -> Consumed {
    decoded(UserRegistered {
        user_id,
        email: "ada@example.org".into(),
        name: "Ada".into(),
    })
}

/// The record the worker claims for `event`, as `service::notify` makes it.
fn fresh(user_id: Uuid, event: &Consumed) -> Notification {
    Notification {
        user_id,
        event_id: event.id,
        event_type: event.event_type.clone(),
        event_time: event.time,
        channel: "email".to_owned(),
        recipient: "ada@example.org".to_owned(),
        message: Message {
            subject: "Welcome".to_owned(),
            body: "Hello".to_owned(),
        },
        status: NotificationStatus::Sending,
        attempts: 1,
        provider_message_id: None,
        error: None,
        created_at: Utc::now(),
        sent_at: None,
    }
}

fn claimed(claim: Claim) -> Notification {
    match claim {
        Claim::Claimed(notification) => *notification,
        other => panic!("expected a claim, got {other:?}"),
    }
}

/// [`Recipients`]: a recipient is only ever replaced by a newer version of itself.
pub async fn a_recipient_is_replaced_only_by_a_newer_one<S: Recipients>(store: &S) {
    let user_id = Uuid::new_v4();
    assert_eq!(store.recipient(user_id).await.unwrap(), None);
    let version = |email: &str, as_of| Recipient {
        user_id,
        email: email.to_owned(),
        name: "Ada".to_owned(),
        as_of,
    };
    for (email, second) in [("ada@example.org", 10), ("older@example.org", 5)] {
        store
            .upsert_recipient(&version(email, at(second)))
            .await
            .unwrap();
    }
    assert_eq!(
        store.recipient(user_id).await.unwrap(),
        Some(version("ada@example.org", at(10))),
        "an older event never overwrites a newer one"
    );
    store
        .upsert_recipient(&version("newer@example.org", at(20)))
        .await
        .unwrap();
    assert_eq!(
        store.recipient(user_id).await.unwrap(),
        Some(version("newer@example.org", at(20)))
    );
}

/// [`Notifications`]: one record per (user, event), held by one claim until it is sent; once
/// sent it is never claimed again, and its inbox marker is written with it.
pub async fn a_notification_is_claimed_once_and_sent_once<S: Notifications + Inbox>(store: &S) {
    let user_id = Uuid::new_v4();
    let event = registered(user_id);
    let first = claimed(store.claim(&fresh(user_id, &event), LEASE).await.unwrap());
    assert_eq!(
        (first.status, first.attempts, first.event_id),
        (NotificationStatus::Sending, 1, event.id)
    );
    assert_eq!(
        store.claim(&fresh(user_id, &event), LEASE).await.unwrap(),
        Claim::InProgress,
        "a live lease is another worker's"
    );
    assert_eq!(
        store.mark_sent(&event, &first, "ses-1").await.unwrap(),
        Applied::Done
    );
    assert_eq!(
        store.claim(&fresh(user_id, &event), LEASE).await.unwrap(),
        Claim::AlreadySent
    );
    assert_eq!(
        store.acknowledge(&event).await.unwrap(),
        Applied::AlreadyProcessed,
        "the inbox marker was written with the sent mark"
    );
}

/// Five workers claim one notification at once: exactly one gets it.
pub async fn concurrent_claims_of_one_notification_let_exactly_one_send<S: Notifications>(
    store: &S,
) {
    let user_id = Uuid::new_v4();
    let event = registered(user_id);
    let record = fresh(user_id, &event);
    let claims = futures::future::join_all((0..5).map(|_| store.claim(&record, LEASE))).await;
    let won = claims
        .iter()
        .filter(|claim| matches!(claim, Ok(Claim::Claimed(_))))
        .count();
    let waiting = claims
        .iter()
        .filter(|claim| matches!(claim, Ok(Claim::InProgress)))
        .count();
    assert_eq!((won, waiting), (1, 4), "{claims:?}");
}

/// A failed send leaves the record failed with its error, and the next claim takes it again,
/// counting the attempt.
pub async fn a_failed_notification_is_claimed_again_counting_the_attempt<
    S: Notifications + NotificationHistory + Inbox,
>(
    store: &S,
) {
    let user_id = Uuid::new_v4();
    let event = registered(user_id);
    let first = claimed(store.claim(&fresh(user_id, &event), LEASE).await.unwrap());
    store
        .mark_failed(&first, "SendEmail refused")
        .await
        .unwrap();
    let listed = store.list(user_id, 10, None).await.unwrap().items;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, NotificationStatus::Failed);
    assert_eq!(listed[0].error.as_deref(), Some("SendEmail refused"));
    assert!(
        store.mark_sent(&event, &first, "late").await.is_err(),
        "only a record being sent can be marked sent"
    );

    let second = claimed(store.claim(&fresh(user_id, &event), LEASE).await.unwrap());
    assert_eq!(
        (second.status, second.attempts),
        (NotificationStatus::Sending, 2)
    );
    assert_eq!(
        store.mark_sent(&event, &second, "ses-2").await.unwrap(),
        Applied::Done
    );
    let sent = &store.list(user_id, 10, None).await.unwrap().items[0];
    assert_eq!(
        (
            sent.status,
            sent.attempts,
            sent.provider_message_id.as_deref()
        ),
        (NotificationStatus::Sent, 2, Some("ses-2"))
    );
    assert!(sent.sent_at.is_some());
}

/// A claim whose lease expired (its worker died) is taken over by the next claim.
pub async fn a_claim_whose_lease_expired_is_taken_over<S: Notifications>(store: &S) {
    let user_id = Uuid::new_v4();
    let event = registered(user_id);
    claimed(
        store
            .claim(&fresh(user_id, &event), Duration::milliseconds(1))
            .await
            .unwrap(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let taken = claimed(store.claim(&fresh(user_id, &event), LEASE).await.unwrap());
    assert_eq!(taken.attempts, 2);
}

/// [`NotificationHistory`]: a user's notifications, newest first, page by page, and nobody
/// else's.
pub async fn a_users_notifications_are_listed_newest_first_page_by_page<
    S: Notifications + NotificationHistory,
>(
    store: &S,
) {
    let user_id = Uuid::new_v4();
    let mut events = Vec::new();
    for second in [1, 3, 2] {
        let mut event = registered(user_id);
        event.time = at(second);
        store.claim(&fresh(user_id, &event), LEASE).await.unwrap();
        events.push(event);
    }
    let someone_else = Uuid::new_v4();
    store
        .claim(&fresh(someone_else, &registered(someone_else)), LEASE)
        .await
        .unwrap();

    let first = store.list(user_id, 2, None).await.unwrap();
    assert_eq!(
        first.items.iter().map(|n| n.event_time).collect::<Vec<_>>(),
        [at(3), at(2)]
    );
    let next = first.last_key.expect("a second page");
    let second = store.list(user_id, 2, Some(next)).await.unwrap();
    assert_eq!(
        second
            .items
            .iter()
            .map(|n| n.event_time)
            .collect::<Vec<_>>(),
        [at(1)]
    );
    if let Some(after) = second.last_key {
        assert!(
            store
                .list(user_id, 2, Some(after))
                .await
                .unwrap()
                .items
                .is_empty()
        );
    }
    assert!(
        store
            .list(Uuid::new_v4(), 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// [`Inbox`]: an event is acknowledged once.
pub async fn an_event_is_acknowledged_once<S: Inbox>(store: &S) {
    let event = registered(Uuid::new_v4());
    assert_eq!(store.acknowledge(&event).await.unwrap(), Applied::Done);
    assert_eq!(
        store.acknowledge(&event).await.unwrap(),
        Applied::AlreadyProcessed
    );
}

/// One test per contract of the notifications ports, each on a fresh store from `$with_store` (see
/// [`shared::contract_tests!`]).
#[macro_export]
macro_rules! contract_tests {
    ($with_store:path) => {
        ::shared::contract_tests!($crate::contract, $with_store; [
            a_recipient_is_replaced_only_by_a_newer_one,
            a_notification_is_claimed_once_and_sent_once,
            concurrent_claims_of_one_notification_let_exactly_one_send,
            a_failed_notification_is_claimed_again_counting_the_attempt,
            a_claim_whose_lease_expired_is_taken_over,
            a_users_notifications_are_listed_newest_first_page_by_page,
            an_event_is_acknowledged_once,
        ]);
    };
}

#[cfg(test)]
mod memory {
    crate::contract_tests!(
        shared::contract::with_default::<crate::adapters::memory::InMemoryNotificationStore>
    );
}

//! notifications in process: the worker (exactly one notification per event, unknown recipient
//! then known, sender failure) and the API, with in-memory fakes and the sample events.

// Helpers are not #[test] functions, so clippy's allow-*-in-tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_http::Request;
use notifications::adapters::memory::{InMemoryNotificationStore, RecordingSender};
use notifications::domain::NotificationStatus;
use notifications::http::NotificationsApi;
use notifications::worker::handle_batch;
use serde_json::{Value, json};
use shared::auth::Role;
use shared::test_support::{self, ApiRequest, assert_method_not_allowed, assert_problem, body};

const CUSTOMER: &str = "0b9c8f4e-5d7a-4e8b-9a1c-2f3e4d5c6b7a";

fn batch(name: &str) -> SqsEvent {
    test_support::sqs_batch("notifications", name)
}

async fn failed(store: &InMemoryNotificationStore, sender: &RecordingSender, name: &str) -> usize {
    handle_batch(store, sender, batch(name))
        .await
        .unwrap()
        .batch_item_failures
        .len()
}

#[tokio::test]
async fn a_registration_sends_one_welcome_however_often_it_is_delivered() {
    let (store, sender) = (
        InMemoryNotificationStore::default(),
        RecordingSender::default(),
    );
    for _ in 0..3 {
        assert_eq!(failed(&store, &sender, "sqs-user-registered.json").await, 0);
    }
    let sent = sender.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "ada@example.org");
    assert_eq!(sent[0].1.subject, "Welcome to the shop");
    let records = store.all();
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].status, records[0].attempts),
        (NotificationStatus::Sent, 1)
    );
    assert_eq!(records[0].provider_message_id.as_deref(), Some("msg-1"));
}

#[tokio::test]
async fn an_order_event_for_a_user_not_known_yet_is_retried_not_dropped() {
    let (store, sender) = (
        InMemoryNotificationStore::default(),
        RecordingSender::default(),
    );
    assert_eq!(
        failed(&store, &sender, "sqs-order-confirmed.json").await,
        1,
        "unknown recipient: retry"
    );
    assert!(sender.sent().is_empty());
    assert_eq!(failed(&store, &sender, "sqs-user-registered.json").await, 0);
    assert_eq!(
        failed(&store, &sender, "sqs-order-confirmed.json").await,
        0,
        "the retry succeeds once the user is known"
    );
    let subjects: Vec<_> = sender.sent().into_iter().map(|(_, m)| m.subject).collect();
    assert_eq!(
        subjects,
        ["Welcome to the shop", "Order 5A4B3C2D confirmed"]
    );
}

#[tokio::test]
async fn a_sender_failure_records_the_failure_fails_the_record_and_the_retry_sends_once() {
    let (store, sender) = (
        InMemoryNotificationStore::default(),
        RecordingSender::default(),
    );
    failed(&store, &sender, "sqs-user-registered.json").await;
    sender.fail_next(1);
    assert_eq!(failed(&store, &sender, "sqs-order-rejected.json").await, 1);
    let rejected = store
        .all()
        .into_iter()
        .find(|n| n.event_type == "OrderRejected")
        .unwrap();
    assert_eq!(rejected.status, NotificationStatus::Failed);
    assert!(
        rejected
            .error
            .as_deref()
            .unwrap()
            .contains("simulated provider outage")
    );
    assert_eq!(failed(&store, &sender, "sqs-order-rejected.json").await, 0);
    let rejected = store
        .all()
        .into_iter()
        .find(|n| n.event_type == "OrderRejected")
        .unwrap();
    assert_eq!(
        (rejected.status, rejected.attempts),
        (NotificationStatus::Sent, 2)
    );
    assert_eq!(
        sender
            .sent()
            .iter()
            .filter(|(_, m)| m.subject.contains("could not be placed"))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_refund_after_the_cancellation_is_announced_in_its_own_message_once() {
    let (store, sender) = (
        InMemoryNotificationStore::default(),
        RecordingSender::default(),
    );
    failed(&store, &sender, "sqs-user-registered.json").await;
    for _ in 0..2 {
        assert_eq!(failed(&store, &sender, "sqs-order-refunded.json").await, 0);
    }
    let refunds: Vec<_> = sender
        .sent()
        .into_iter()
        .filter(|(_, m)| m.subject == "Order 5A4B3C2D refunded")
        .collect();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].0, "ada@example.org");
    assert!(refunds[0].1.body.contains("We refunded 39.98 EUR."));
}

#[tokio::test]
async fn when_recording_a_send_failure_fails_too_both_causes_are_logged_and_the_record_retried() {
    let (store, sender) = (
        InMemoryNotificationStore::default(),
        RecordingSender::default(),
    );
    failed(&store, &sender, "sqs-user-registered.json").await;
    sender.fail_next(1);
    store.fail_next_mark_failed(1);
    let logs = shared::telemetry::CapturedLogs::default();
    let failures = {
        let _guard = logs.install();
        failed(&store, &sender, "sqs-order-rejected.json").await
    };
    assert_eq!(failures, 1, "the record is retried");
    let text = logs.text();
    assert!(text.contains("simulated provider outage"), "{text}");
    assert!(
        text.contains("simulated throttling of UpdateItem"),
        "{text}"
    );
    // Unrecorded, the claim stays "sending" under its lease: a redelivery after the lease
    // takes it over and sends.
    let rejected = store
        .all()
        .into_iter()
        .find(|n| n.event_type == "OrderRejected")
        .unwrap();
    assert_eq!(rejected.status, NotificationStatus::Sending);
}

#[tokio::test]
async fn a_profile_update_changes_the_address_later_messages_go_to() {
    let (store, sender) = (
        InMemoryNotificationStore::default(),
        RecordingSender::default(),
    );
    failed(&store, &sender, "sqs-user-registered.json").await;
    let mut update = batch("sqs-user-registered.json");
    let mut envelope: Value =
        serde_json::from_str(update.records[0].body.as_deref().unwrap()).unwrap();
    envelope["id"] = json!(uuid::Uuid::new_v4());
    envelope["type"] = json!("UserProfileUpdated");
    envelope["time"] = json!("2026-11-26T11:59:30.000Z");
    envelope["data"]["email"] = json!("augusta@example.org");
    update.records[0].body = Some(envelope.to_string());
    assert_eq!(
        handle_batch(&store, &sender, update)
            .await
            .unwrap()
            .batch_item_failures
            .len(),
        0
    );
    failed(&store, &sender, "sqs-order-cancelled.json").await;
    let (to, message) = sender.sent().pop().unwrap();
    assert_eq!(to, "augusta@example.org");
    assert!(message.body.contains("We refunded 39.98 EUR."));
}

/// The sample `GET /notifications` with `token` (none without) and the `query`.
fn list_request(token: Option<&str>, query: &[(&str, &str)]) -> Request {
    let request = ApiRequest::sample("notifications", "list.json").query(query);
    match token {
        Some(token) => request.bearer(token),
        None => request.anonymous(),
    }
    .build()
}

fn api(store: InMemoryNotificationStore) -> NotificationsApi<InMemoryNotificationStore> {
    NotificationsApi {
        store,
        keys: shared::auth::testing::verifier(),
        cursors: test_support::cursors(),
    }
}

#[tokio::test]
async fn a_user_lists_their_own_notifications_newest_first_paginated() {
    let (store, sender) = (
        InMemoryNotificationStore::default(),
        RecordingSender::default(),
    );
    for name in [
        "sqs-user-registered.json",
        "sqs-order-confirmed.json",
        "sqs-order-cancelled.json",
    ] {
        failed(&store, &sender, name).await;
    }
    let api = api(store);
    let mine = test_support::token(CUSTOMER, Role::Customer);
    let first = body(
        &api.handle(list_request(Some(&mine), &[("limit", "2")]))
            .await,
    );
    let types: Vec<_> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 2);
    assert!(types.iter().all(|t| t.starts_with("Order")), "{types:?}");
    let token = first["next_token"].as_str().unwrap();
    let rest = body(
        &api.handle(list_request(
            Some(&mine),
            &[("limit", "2"), ("next_token", token)],
        ))
        .await,
    );
    assert_eq!(rest["items"][0]["event_type"], "UserRegistered");
    assert_eq!(rest["items"][0]["status"], "sent");

    let someone_else = test_support::token(&uuid::Uuid::new_v4().to_string(), Role::Customer);
    assert_eq!(
        body(&api.handle(list_request(Some(&someone_else), &[])).await)["items"],
        json!([])
    );
    assert_eq!(api.handle(list_request(None, &[])).await.status(), 401);
    assert_eq!(
        api.handle(list_request(Some(&mine), &[("limit", "0")]))
            .await
            .status(),
        422
    );
    assert_eq!(
        api.handle(list_request(Some(&mine), &[("next_token", "forged")]))
            .await
            .status(),
        400
    );
    // My token continues only my list: someone else presenting it gets a 400.
    assert_eq!(
        api.handle(list_request(Some(&someone_else), &[("next_token", token)]))
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_and_another_path_404() {
    let api = api(InMemoryNotificationStore::default());
    let mine = test_support::token(CUSTOMER, Role::Customer);
    let post = ApiRequest::sample("notifications", "list.json")
        .method("POST")
        .bearer(&mine)
        .build();
    assert_method_not_allowed(&api.handle(post).await, "GET");
    let other = ApiRequest::sample("notifications", "list.json")
        .path("/notifications/1")
        .bearer(&mine)
        .build();
    assert_problem(&api.handle(other).await, 404);
}

/// The value after `key:` on the first line at or after `from` in the SAM template that has it.
fn template_number(template: &str, from: &str, key: &str) -> i64 {
    let start = template
        .find(from)
        .unwrap_or_else(|| panic!("{from} not in the template"));
    template[start..]
        .lines()
        .find_map(|line| line.trim().strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {key} after {from}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn a_claim_whose_worker_died_expires_before_sqs_gives_up_on_the_message() {
    let template = std::fs::read_to_string(format!(
        "{}/../../infra/template.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let shortest_visibility =
        template_number(&template, "  WorkerQueueVisibilityTimeout:", "MinValue");
    let receives = template_number(&template, "  NotificationsQueue:", "maxReceiveCount");
    let function_timeout = template_number(&template, "Globals:", "Timeout");
    let lease = notifications::service::SEND_LEASE.num_seconds();
    // Redeliveries that meet the lease: every receive but the last must fit before it ends.
    assert!(
        lease < (receives - 1) * shortest_visibility,
        "a {lease} s lease outlives {receives} receives {shortest_visibility} s apart"
    );
    assert!(
        lease >= 2 * function_timeout,
        "a {lease} s lease may end while its {function_timeout} s invocation still sends"
    );
}

//! The notifications adapters on the emulator: SES SendEmail from a verified identity, one
//! record per event, and a rejected send left retryable.

use emulator_tests::{Scope, dynamodb, scoped, sdk_config, ses};
use notifications::adapters::dynamodb::DynamoDbNotificationStore;
use notifications::adapters::ses::SesSender;
use notifications::domain::NotificationStatus;
use notifications::ports::NotificationHistory;
use notifications::service::{NotifyError, Outcome};
use notifications::worker::handle_event;
use shared::events::{OrderConfirmed, UserRegistered};
use shared::test_support::{decoded, eur};
use uuid::Uuid;

/// A DynamoDB client whose calls go through an in-process fault proxy with `plan`.
async fn through_faults(plan: serde_json::Value) -> aws_sdk_dynamodb::Client {
    let proxy = fault_proxy::Proxy::new(&emulator_tests::endpoint()).unwrap();
    let addr = proxy.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = format!("http://{addr}");
    let response = reqwest::Client::new()
        .put(format!("{url}{}", fault_proxy::CONTROL_PATH))
        .json(&plan)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let config = aws_sdk_dynamodb::config::Builder::from(sdk_config().await)
        .endpoint_url(url)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A notifications table and a sender from an address SES verified, both the scope's.
struct Notifier {
    table: String,
    store: DynamoDbNotificationStore,
    sender: SesSender,
}

async fn notifier(scope: &Scope, prefix: &str) -> Notifier {
    let from = scope.verified_sender().await;
    let table = scope.table(prefix, &[]).await;
    Notifier {
        store: DynamoDbNotificationStore::new(dynamodb().await, &table),
        sender: SesSender::new(ses().await, &from),
        table,
    }
}

/// DynamoDB applied the claim but its answer was lost: the SDK's retry must find the claim its
/// own, not another worker's live lease (which left the message waiting a minute).
#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_taken_again_by_the_sdks_retry() {
    scoped(async |scope: &Scope| {
        let Notifier {
            table,
            store: clean,
            sender,
            ..
        } = notifier(scope, "notifications-lost-claim").await;
        let user = Uuid::new_v4();
        // The directory learns the recipient without faults.
        let registered = decoded(UserRegistered {
            user_id: user,
            email: "lost@example.org".into(),
            name: "Lost".into(),
        });
        assert!(matches!(
            handle_event(&clean, &sender, registered).await,
            Ok(Outcome::Sent)
        ));
        // The confirmation's first UpdateItem is its claim: its answer is lost.
        let faulty = DynamoDbNotificationStore::new(
            through_faults(serde_json::json!({"seed": 1, "rules": [{
                "service": "dynamodb", "operation": "UpdateItem", "share": 1.0, "limit": 1,
                "fault": {"kind": "drop_after_forward"}
            }]}))
            .await,
            &table,
        );
        let confirmed = decoded(OrderConfirmed {
            order_id: Uuid::new_v4(),
            customer_id: user,
            lines: vec![],
            total: eur(1000),
        });
        let outcome = handle_event(&faulty, &sender, confirmed).await;
        assert!(matches!(outcome, Ok(Outcome::Sent)), "{outcome:?}");
        let page = clean.list(user, 10, None).await.unwrap();
        assert_eq!(page.items.len(), 2);
        assert!(
            page.items
                .iter()
                .all(|n| n.status == NotificationStatus::Sent)
        );
    })
    .await;
}

#[tokio::test]
async fn a_welcome_is_sent_through_ses_and_recorded_exactly_once() {
    scoped(async |scope: &Scope| {
        let Notifier { store, sender, .. } = notifier(scope, "notifications-ses").await;
        let user = Uuid::new_v4();
        let event = decoded(UserRegistered {
            user_id: user,
            email: "ada@example.org".into(),
            name: "Ada".into(),
        });
        let outcomes =
            futures::future::join_all((0..3).map(|_| handle_event(&store, &sender, event.clone())))
                .await;
        let sent = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Outcome::Sent)))
            .count();
        assert_eq!(sent, 1, "{outcomes:?}");
        // The losers either saw it sent or in flight (and would be retried by SQS).
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Ok(_) | Err(NotifyError::InProgress(_)))),
            "{outcomes:?}"
        );
        assert!(matches!(
            handle_event(&store, &sender, event).await,
            Ok(Outcome::Duplicate)
        ));

        let page = store.list(user, 10, None).await.unwrap();
        assert_eq!(page.items.len(), 1);
        let record = &page.items[0];
        assert_eq!(record.status, NotificationStatus::Sent);
        assert!(
            record
                .provider_message_id
                .as_deref()
                .is_some_and(|id| !id.is_empty())
        );
        assert_eq!(record.recipient, "ada@example.org");
    })
    .await;
}

#[tokio::test]
async fn a_send_ses_rejects_leaves_the_notification_failed_and_retryable() {
    scoped(async |scope: &Scope| {
        let Notifier {
            store,
            sender: working,
            ..
        } = notifier(scope, "notifications-reject").await;
        let unverified = SesSender::new(ses().await, "noreply@not-verified.invalid");
        let user = Uuid::new_v4();
        handle_event(
            &store,
            &working,
            decoded(UserRegistered {
                user_id: user,
                email: "ada@example.org".into(),
                name: "Ada".into(),
            }),
        )
        .await
        .unwrap();
        let confirmed = decoded(OrderConfirmed {
            order_id: Uuid::new_v4(),
            customer_id: user,
            lines: vec![],
            total: eur(500),
        });
        assert!(matches!(
            handle_event(&store, &unverified, confirmed.clone()).await,
            Err(NotifyError::Send(_))
        ));
        // The user's OrderConfirmed notification, as it is now.
        let confirmation = async || {
            store
                .list(user, 10, None)
                .await
                .unwrap()
                .items
                .into_iter()
                .find(|n| n.event_type == "OrderConfirmed")
                .unwrap()
        };
        let failed = confirmation().await;
        assert_eq!(failed.status, NotificationStatus::Failed);
        assert!(
            failed.error.as_deref().unwrap().contains("SendEmail"),
            "{:?}",
            failed.error
        );

        // The retry, with a working sender, sends it.
        assert!(matches!(
            handle_event(&store, &working, confirmed).await,
            Ok(Outcome::Sent)
        ));
        let sent = confirmation().await;
        assert_eq!((sent.status, sent.attempts), (NotificationStatus::Sent, 2));
    })
    .await;
}

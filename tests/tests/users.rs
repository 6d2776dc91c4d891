//! The users table adapter on the emulator: email uniqueness under concurrency, the outbox item
//! written with the user, and email changes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use emulator_tests::{create_service_table, delete_table, dynamodb, with_cleanup};
use shared::dynamo::{KIND, OUTBOX_ENVELOPE};
use shared::envelope::{RawEnvelope, Trace};
use shared::events::DomainEvent;
use users::adapters::argon::Argon2Hasher;
use users::adapters::dynamodb::DynamoDbUserRepository;
use users::domain::{AdminEmails, Email, Name, Password};
use users::ports::{UpdateUserError, UserRepository};
use users::service::{self, ProfilePatch, Register, RegisterError, UpdateProfileError};

fn registration(email: &str) -> Register {
    Register {
        email: Email::parse(email).unwrap(),
        password: Password::new("correct horse battery".into()).unwrap(),
        name: Name::parse("Ada").unwrap(),
    }
}

fn trace() -> Trace {
    Trace::from_request("corr-users", "req-users")
}

async fn outbox_events(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<DomainEvent> {
    let items = client
        .scan()
        .table_name(table)
        .filter_expression("kind = :outbox")
        .expression_attribute_values(":outbox", AttributeValue::S("outbox".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    items
        .iter()
        .map(|item: &HashMap<String, AttributeValue>| {
            assert_eq!(item[KIND], AttributeValue::S("outbox".into()));
            let AttributeValue::S(json) = &item[OUTBOX_ENVELOPE] else {
                panic!("no envelope")
            };
            RawEnvelope::parse(json).unwrap().decode().unwrap().data
        })
        .collect()
}

#[tokio::test]
async fn registering_stores_the_user_and_its_user_registered_outbox_item_together() {
    let client = dynamodb().await;
    let table = create_service_table(&client, "users").await.unwrap();
    with_cleanup(
        async {
            let repo = DynamoDbUserRepository::new(client.clone(), &table);
            let hasher = Argon2Hasher::cheap_for_tests().unwrap();
            let user = service::register(
                &repo,
                &hasher,
                &AdminEmails::default(),
                registration("Ada@Example.org"),
                trace(),
            )
            .await
            .unwrap();

            let found = repo
                .find_by_email("ada@example.org")
                .await
                .unwrap()
                .expect("found by email key");
            assert_eq!(found, user);
            assert_eq!(repo.get(user.id).await.unwrap(), Some(user.clone()));

            let events = outbox_events(&client, &table).await;
            assert_eq!(events.len(), 1);
            let DomainEvent::UserRegistered(registered) = &events[0] else {
                panic!("{events:?}")
            };
            assert_eq!(registered.user_id, user.id.0);
            assert_eq!(registered.email, "Ada@example.org");
        },
        delete_table(&client, &table),
    )
    .await;
}

#[tokio::test]
async fn two_concurrent_registrations_of_one_email_let_exactly_one_win() {
    let client = dynamodb().await;
    let table = create_service_table(&client, "users-race").await.unwrap();
    with_cleanup(
        async {
            let repo = DynamoDbUserRepository::new(client.clone(), &table);
            let hasher = Argon2Hasher::cheap_for_tests().unwrap();
            let admins = AdminEmails::default();
            let emails = [
                "grace@example.org",
                "Grace@example.org",
                "grace@EXAMPLE.org",
                "grace@example.org",
            ];
            let attempts = emails.map(|email| {
                service::register(&repo, &hasher, &admins, registration(email), trace())
            });
            let outcomes = futures::future::join_all(attempts).await;
            let winners = outcomes.iter().filter(|o| o.is_ok()).count();
            let taken = outcomes
                .iter()
                .filter(|o| matches!(o, Err(RegisterError::EmailTaken)))
                .count();
            assert_eq!((winners, taken), (1, 3), "{outcomes:?}");
            assert_eq!(
                outbox_events(&client, &table).await.len(),
                1,
                "one UserRegistered"
            );
        },
        delete_table(&client, &table),
    )
    .await;
}

#[tokio::test]
async fn changing_the_email_moves_its_claim_and_a_taken_email_is_refused() {
    let client = dynamodb().await;
    let table = create_service_table(&client, "users-email").await.unwrap();
    with_cleanup(
        async {
            let repo = DynamoDbUserRepository::new(client.clone(), &table);
            let hasher = Argon2Hasher::cheap_for_tests().unwrap();
            let admins = AdminEmails::default();
            let ada = service::register(
                &repo,
                &hasher,
                &admins,
                registration("ada@example.org"),
                trace(),
            )
            .await
            .unwrap();
            service::register(
                &repo,
                &hasher,
                &admins,
                registration("grace@example.org"),
                trace(),
            )
            .await
            .unwrap();

            let taken = ProfilePatch {
                email: Some(Email::parse("GRACE@example.org").unwrap()),
                ..ProfilePatch::default()
            };
            assert!(matches!(
                service::update_profile(&repo, ada.id, taken, trace()).await,
                Err(UpdateProfileError::EmailTaken)
            ));

            let moved = ProfilePatch {
                email: Some(Email::parse("augusta@example.org").unwrap()),
                ..ProfilePatch::default()
            };
            let updated = service::update_profile(&repo, ada.id, moved, trace())
                .await
                .unwrap();
            assert_eq!(updated.version, 2);
            assert!(
                repo.find_by_email("ada@example.org")
                    .await
                    .unwrap()
                    .is_none(),
                "old claim released"
            );
            assert_eq!(
                repo.find_by_email("augusta@example.org")
                    .await
                    .unwrap()
                    .map(|u| u.id),
                Some(ada.id)
            );
            // The released email can be registered again.
            service::register(
                &repo,
                &hasher,
                &admins,
                registration("ada@example.org"),
                trace(),
            )
            .await
            .unwrap();

            let kinds: Vec<_> = outbox_events(&client, &table)
                .await
                .iter()
                .map(DomainEvent::event_type)
                .collect();
            assert_eq!(
                kinds.iter().filter(|k| **k == "UserProfileUpdated").count(),
                1
            );
        },
        delete_table(&client, &table),
    )
    .await;
}

#[tokio::test]
async fn an_update_based_on_a_stale_version_is_refused_and_writes_nothing() {
    let client = dynamodb().await;
    let table = create_service_table(&client, "users-stale").await.unwrap();
    with_cleanup(
        async {
            let repo = DynamoDbUserRepository::new(client.clone(), &table);
            let hasher = Argon2Hasher::cheap_for_tests().unwrap();
            let user = service::register(
                &repo,
                &hasher,
                &AdminEmails::default(),
                registration("ada@example.org"),
                trace(),
            )
            .await
            .unwrap();
            let renamed = ProfilePatch {
                name: Some(Name::parse("Augusta").unwrap()),
                ..ProfilePatch::default()
            };
            service::update_profile(&repo, user.id, renamed, trace())
                .await
                .unwrap();

            // `user` is version 1; the table holds version 2 now.
            let mut stale = user.clone();
            stale.name = Name::parse("Lost update").unwrap();
            stale.version = 2;
            let event = shared::envelope::EventEnvelope::new(
                shared::events::UserProfileUpdated {
                    user_id: user.id.0,
                    email: "ada@example.org".into(),
                    name: "Lost update".into(),
                },
                trace(),
            );
            assert!(matches!(
                repo.update(&user, &stale, &event).await,
                Err(UpdateUserError::Stale)
            ));
            assert_eq!(
                repo.get(user.id).await.unwrap().unwrap().name.as_str(),
                "Augusta"
            );
            assert_eq!(
                outbox_events(&client, &table).await.len(),
                2,
                "no event for the refused update"
            );
        },
        delete_table(&client, &table),
    )
    .await;
}

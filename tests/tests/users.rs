//! The users table adapter on the emulator: email uniqueness under concurrency, the outbox item
//! written with the user, email changes, the operator's `users-admin` command, and the
//! failed-login counters.

use aws_sdk_dynamodb::types::AttributeValue;
use emulator_tests::with_service_table;
use shared::auth::Role;
use shared::dynamo::KIND;
use shared::envelope::Trace;
use shared::events::{DomainEvent, UserRole};
use users::adapters::argon::Argon2Hasher;
use users::adapters::dynamodb::DynamoDbUserRepository;
use users::domain::{Email, Name, Password, User};
use users::ports::{LoginFailures, UpdateUserError, Users};
use users::service::{self, LoginLimit, ProfilePatch, Register, RegisterError, UpdateProfileError};

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

/// Registers `email` through the real use case, with cheap hashing.
async fn register(repo: &DynamoDbUserRepository, email: &str) -> Result<User, RegisterError> {
    let hasher = Argon2Hasher::cheap_for_tests().unwrap();
    service::register(repo, &hasher, registration(email), trace()).await
}

/// The events in `table`'s outbox.
async fn outbox_events(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<DomainEvent> {
    emulator_tests::outbox_events(client, table)
        .await
        .into_iter()
        .map(|envelope| envelope.data)
        .collect()
}

#[tokio::test]
async fn registering_stores_the_user_and_its_user_registered_outbox_item_together() {
    with_service_table("users", async |client, table| {
        let repo = DynamoDbUserRepository::new(client.clone(), &table);
        let user = register(&repo, "Ada@Example.org").await.unwrap();

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
    })
    .await;
}

#[tokio::test]
async fn two_concurrent_registrations_of_one_email_let_exactly_one_win() {
    with_service_table("users-race", async |client, table| {
        let repo = DynamoDbUserRepository::new(client.clone(), &table);
        let emails = [
            "grace@example.org",
            "Grace@example.org",
            "grace@EXAMPLE.org",
            "grace@example.org",
        ];
        let attempts = emails.map(|email| register(&repo, email));
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
    })
    .await;
}

#[tokio::test]
async fn changing_the_email_moves_its_claim_and_a_taken_email_is_refused() {
    with_service_table("users-email", async |client, table| {
        let repo = DynamoDbUserRepository::new(client.clone(), &table);
        let ada = register(&repo, "ada@example.org").await.unwrap();
        register(&repo, "grace@example.org").await.unwrap();

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
        register(&repo, "ada@example.org").await.unwrap();

        let kinds: Vec<_> = outbox_events(&client, &table)
            .await
            .iter()
            .map(DomainEvent::event_type)
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "UserProfileUpdated").count(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn an_update_based_on_a_stale_version_is_refused_and_writes_nothing() {
    with_service_table("users-stale", async |client, table| {
        let repo = DynamoDbUserRepository::new(client.clone(), &table);
        let user = register(&repo, "ada@example.org").await.unwrap();
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
    })
    .await;
}

#[tokio::test]
async fn the_users_admin_command_grants_and_revokes_with_user_role_changed_in_the_outbox() {
    with_service_table("users-admin", async |client, table| {
        let repo = DynamoDbUserRepository::new(client.clone(), &table);
        let user = register(&repo, "ops@example.org").await.unwrap();
        assert_eq!(user.role, Role::Customer);

        let report = emulator_tests::users_admin(&table, &["grant", "--email", "OPS@example.org"]);
        assert!(report.contains("is now admin"), "{report}");
        let granted = repo.get(user.id).await.unwrap().unwrap();
        assert_eq!((granted.role, granted.version), (Role::Admin, 2));

        let report = emulator_tests::users_admin(&table, &["grant", "--email", "ops@example.org"]);
        assert!(report.contains("already admin"), "{report}");
        emulator_tests::users_admin(&table, &["revoke", "--email", "ops@example.org"]);
        let revoked = repo.get(user.id).await.unwrap().unwrap();
        assert_eq!((revoked.role, revoked.version), (Role::Customer, 3));

        let changes: Vec<_> = outbox_events(&client, &table)
            .await
            .into_iter()
            .filter_map(|event| match event {
                DomainEvent::UserRoleChanged(change) => Some((change.role, change.previous_role)),
                _ => None,
            })
            .collect();
        assert_eq!(changes.len(), 2, "one event per change: {changes:?}");
        assert!(changes.contains(&(UserRole::Admin, UserRole::Customer)));
        assert!(changes.contains(&(UserRole::Customer, UserRole::Admin)));
    })
    .await;
}

#[tokio::test]
async fn failed_logins_are_counted_atomically_per_email_and_window_and_expire_with_it() {
    with_service_table("users-logins", async |client, table| {
        let repo = DynamoDbUserRepository::new(client.clone(), &table);
        let limit = LoginLimit::default();
        let window = limit.window_at(chrono::Utc::now());
        let next = limit.window_at(window.end);

        let attempts = (0..10).map(|_| repo.record_failure("ada@example.org", window));
        for outcome in futures::future::join_all(attempts).await {
            outcome.unwrap();
        }
        assert_eq!(repo.failures("ada@example.org", window).await.unwrap(), 10);
        assert_eq!(repo.failures("ada@example.org", next).await.unwrap(), 0);
        assert_eq!(repo.failures("grace@example.org", window).await.unwrap(), 0);

        let items = client
            .scan()
            .table_name(&table)
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default();
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(items[0][KIND], AttributeValue::S("login_failures".into()));
        assert_eq!(
            items[0]["expires_at"],
            AttributeValue::N(window.end.timestamp().to_string()),
            "the counter expires with its window"
        );

        repo.clear("ada@example.org", window).await.unwrap();
        assert_eq!(repo.failures("ada@example.org", window).await.unwrap(), 0);
    })
    .await;
}

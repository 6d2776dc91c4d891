//! users-api in process: every route and every error, with in-memory adapters and the sample
//! events from events/users/.

// Helpers are not #[test] functions, so clippy's allow-*-in-tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use lambda_http::http::header::{
    ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION, RETRY_AFTER,
};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::auth::{JwtKeys, Role};
use shared::telemetry::CapturedLogs;
use shared::test_support::{ApiRequest, assert_method_not_allowed, assert_problem, body};
use users::adapters::memory::{CountingHasher, InMemoryUserRepository};
use users::admin;
use users::http::UsersApi;
use users::service::{self, ChangeRoleError, LoginError, LoginLimit};

const PASSWORD: &str = "correct horse battery";

fn api() -> UsersApi<InMemoryUserRepository, CountingHasher> {
    UsersApi {
        repo: InMemoryUserRepository::default(),
        hasher: CountingHasher::default(),
        keys: shared::auth::testing::signing_keys(),
        login_limit: LoginLimit::default(),
    }
}

/// A sample event of events/users/ with its body replaced (when given) and a bearer token set
/// (when given).
fn request(name: &str, body: Option<Value>, token: Option<&str>) -> Request {
    let mut request = ApiRequest::sample("users", name);
    if let Some(body) = body {
        request = request.body(&body);
    }
    if let Some(token) = token {
        request = request.bearer(token);
    }
    request.build()
}

fn raw_request(method: &str, path: &str, body: &str) -> Request {
    ApiRequest::sample("users", "register.json")
        .method(method)
        .path(path)
        .raw_body(body)
        .build()
}

async fn register(api: &UsersApi<InMemoryUserRepository, CountingHasher>, email: &str) -> Value {
    let response = api
        .handle(request(
            "register.json",
            Some(json!({"email": email, "password": PASSWORD, "name": "Ada"})),
            None,
        ))
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    body(&response)
}

async fn token(api: &UsersApi<InMemoryUserRepository, CountingHasher>, email: &str) -> String {
    let response = api
        .handle(request(
            "token.json",
            Some(json!({"email": email, "password": PASSWORD})),
            None,
        ))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    body(&response)["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn register_returns_201_with_the_profile_and_records_user_registered_in_the_outbox() {
    let api = api();
    let response = api.handle(request("register.json", None, None)).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()[LOCATION], "/users/me");
    let user = body(&response);
    assert_eq!(user["email"], "ada@example.org");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["role"], "customer");
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());

    let outbox = api.repo.outbox();
    assert_eq!(outbox.len(), 1);
    let (event_type, envelope) = &outbox[0];
    assert_eq!(event_type, "UserRegistered");
    assert_eq!(envelope["data"]["user_id"], user["id"]);
    assert_eq!(envelope["correlation_id"], "sample-correlation-1");
    assert_eq!(envelope["causation_id"], "sample-post-users");
}

#[tokio::test]
async fn registering_any_email_makes_a_customer_even_one_an_admin_gave_up() {
    let api = api();
    // Whatever address registers, nobody self-registers into the admin role.
    assert_eq!(register(&api, "OPS@Example.org").await["role"], "customer");
    let token = token(&api, "ops@example.org").await;
    assert_eq!(
        api.keys.verifier().verify(&token).unwrap().role,
        Role::Customer
    );
}

/// Runs the operator's command, as `users-admin grant|revoke --email <email>` does.
async fn operator(api: &UsersApi<InMemoryUserRepository, CountingHasher>, args: &[&str]) -> String {
    let command = admin::parse_args(args.iter().map(|arg| (*arg).to_owned())).unwrap();
    admin::run(&api.repo, &command).await.unwrap()
}

#[tokio::test]
async fn an_operator_grant_or_revoke_applies_to_tokens_issued_afterwards_with_user_role_changed() {
    let api = api();
    let user = register(&api, "ops@example.org").await;
    let before = token(&api, "ops@example.org").await;

    operator(&api, &["grant", "--email", "OPS@example.org"]).await;
    let granted = token(&api, "ops@example.org").await;
    assert_eq!(
        api.keys.verifier().verify(&granted).unwrap().role,
        Role::Admin
    );
    // A token carries the role it was issued with, until it expires.
    assert_eq!(
        api.keys.verifier().verify(&before).unwrap().role,
        Role::Customer
    );
    let me = api.handle(request("me.json", None, Some(&granted))).await;
    assert_eq!(body(&me)["role"], "admin");

    operator(&api, &["revoke", "--email", "ops@example.org"]).await;
    let revoked = token(&api, "ops@example.org").await;
    assert_eq!(
        api.keys.verifier().verify(&revoked).unwrap().role,
        Role::Customer
    );

    let changes: Vec<_> = api
        .repo
        .outbox()
        .into_iter()
        .filter(|(event_type, _)| event_type == "UserRoleChanged")
        .map(|(_, envelope)| envelope["data"].clone())
        .collect();
    assert_eq!(
        changes,
        [
            json!({"user_id": user["id"], "role": "admin", "previous_role": "customer"}),
            json!({"user_id": user["id"], "role": "customer", "previous_role": "admin"}),
        ]
    );
}

#[tokio::test]
async fn granting_a_role_the_user_already_has_writes_nothing_and_an_unknown_email_is_refused() {
    let api = api();
    register(&api, "ops@example.org").await;
    operator(&api, &["grant", "--email", "ops@example.org"]).await;
    let events = api.repo.outbox().len();
    let again = operator(&api, &["grant", "--email", "ops@example.org"]).await;
    assert!(again.contains("already admin"), "{again}");
    assert_eq!(api.repo.outbox().len(), events, "no second event");

    let nobody =
        admin::parse_args(["grant", "--email", "nobody@example.org"].map(String::from)).unwrap();
    assert!(matches!(
        admin::run(&api.repo, &nobody).await,
        Err(ChangeRoleError::NotFound)
    ));
}

#[tokio::test]
async fn an_admin_who_changes_email_leaves_the_old_address_to_a_mere_customer() {
    let api = api();
    register(&api, "ops@example.org").await;
    operator(&api, &["grant", "--email", "ops@example.org"]).await;
    let token = token(&api, "ops@example.org").await;
    let response = api
        .handle(request(
            "me-patch.json",
            Some(json!({"email": "boss@example.org"})),
            Some(&token),
        ))
        .await;
    assert_eq!(
        body(&response)["role"],
        "admin",
        "the role follows the user"
    );
    assert_eq!(register(&api, "ops@example.org").await["role"], "customer");
}

#[tokio::test]
async fn register_returns_409_when_the_email_is_taken_even_in_another_case() {
    let api = api();
    register(&api, "ada@example.org").await;
    let response = api
        .handle(request(
            "register.json",
            Some(json!({"email": " ADA@example.ORG", "password": PASSWORD, "name": "Imposter"})),
            None,
        ))
        .await;
    assert_problem(&response, 409);
    assert_eq!(
        api.repo.outbox().len(),
        1,
        "no event for the refused registration"
    );
}

#[tokio::test]
async fn a_registration_that_loses_a_transaction_race_to_the_same_email_answers_409() {
    let api = api();
    register(&api, "ada@example.org").await;
    // The concurrent registration of this email cancels this one's transaction first.
    api.repo.inject_create_conflicts(1);
    let response = api
        .handle(request(
            "register.json",
            Some(json!({"email": "Ada@example.org", "password": PASSWORD, "name": "Twin"})),
            None,
        ))
        .await;
    assert_problem(&response, 409);
    assert_eq!(
        api.repo.create_attempts(),
        3,
        "1 + the conflicted try + its retry"
    );
    assert_eq!(api.repo.outbox().len(), 1, "one UserRegistered");
}

#[tokio::test]
async fn a_registration_retries_transaction_conflicts_until_it_is_stored() {
    let api = api();
    api.repo.inject_create_conflicts(3);
    let user = register(&api, "grace@example.org").await;
    assert_eq!(api.repo.create_attempts(), 4);
    let outbox = api.repo.outbox();
    assert_eq!(outbox.len(), 1, "stored once, announced once");
    assert_eq!(outbox[0].1["data"]["user_id"], user["id"]);
}

#[tokio::test]
async fn a_registration_that_keeps_conflicting_is_a_503_with_retry_after_and_stores_nothing() {
    let api = api();
    api.repo.inject_create_conflicts(100);
    let response = api.handle(request("register.json", None, None)).await;
    assert_problem(&response, 503);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert!(api.repo.outbox().is_empty());
}

#[tokio::test]
async fn register_returns_422_listing_every_invalid_field() {
    let response = api()
        .handle(request(
            "register.json",
            Some(json!({"email": "nope", "password": "short", "name": " "})),
            None,
        ))
        .await;
    let problem = assert_problem(&response, 422);
    let fields: Vec<_> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "password", "name"]);
}

#[tokio::test]
async fn register_refuses_a_role_in_the_body_with_422() {
    let response = api()
        .handle(request(
            "register.json",
            Some(json!({"email": "eve@example.org", "password": PASSWORD, "name": "Eve", "role": "admin"})),
            None,
        ))
        .await;
    assert_eq!(assert_problem(&response, 422)["errors"][0]["field"], "role");
}

#[tokio::test]
async fn register_returns_400_for_malformed_json_and_413_for_a_huge_body() {
    assert_problem(
        &api()
            .handle(raw_request("POST", "/users", "{\"email\":"))
            .await,
        400,
    );
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(70_000));
    assert_problem(
        &api().handle(raw_request("POST", "/users", &huge)).await,
        413,
    );
}

#[tokio::test]
async fn a_password_of_more_than_128_bytes_is_refused_before_hashing() {
    let api = api();
    let response = api
        .handle(request(
            "register.json",
            Some(json!({"email": "a@example.org", "password": "x".repeat(129), "name": "A"})),
            None,
        ))
        .await;
    assert_eq!(
        assert_problem(&response, 422)["errors"][0]["field"],
        "password"
    );
}

#[tokio::test]
async fn token_returns_a_non_cacheable_jwt_that_authenticates_get_me() {
    let api = api();
    let user = register(&api, "ada@example.org").await;
    let response = api.handle(request("token.json", None, None)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let issued = body(&response);
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["expires_in"], 3600);
    let me = api
        .handle(request("me.json", None, issued["access_token"].as_str()))
        .await;
    assert_eq!(me.status(), 200);
    assert_eq!(body(&me), user);
}

#[tokio::test]
async fn token_gives_the_same_401_after_one_verification_for_unknown_email_and_wrong_password() {
    let api = api();
    register(&api, "ada@example.org").await;
    let attempts = [
        json!({"email": "nobody@example.org", "password": PASSWORD}),
        json!({"email": "ada@example.org", "password": "wrong horse battery"}),
        json!({"email": "not an email", "password": PASSWORD}),
        json!({"email": "ada@example.org", "password": "x".repeat(500)}),
    ];
    let mut problems = Vec::new();
    for attempt in attempts {
        let before = api.hasher.verifications();
        let response = api
            .handle(request("token.json", Some(attempt.clone()), None))
            .await;
        assert_eq!(
            api.hasher.verifications() - before,
            1,
            "one verification's work for {attempt}"
        );
        problems.push(assert_problem(&response, 401));
    }
    assert!(
        problems.windows(2).all(|pair| pair[0] == pair[1]),
        "{problems:?}"
    );
}

/// `POST /auth/token` with `password` for `email`.
async fn login(
    api: &UsersApi<InMemoryUserRepository, CountingHasher>,
    email: &str,
    password: &str,
) -> Response<Body> {
    api.handle(request(
        "token.json",
        Some(json!({"email": email, "password": password})),
        None,
    ))
    .await
}

/// The default limit of failed logins per account and window.
const LIMIT: usize = 5;

#[tokio::test]
async fn after_the_limit_of_failed_logins_even_the_right_password_gets_429_with_retry_after() {
    let api = api();
    register(&api, "ada@example.org").await;
    for _ in 0..LIMIT {
        assert_problem(
            &login(&api, "ada@example.org", "wrong horse battery").await,
            401,
        );
    }
    let before = api.hasher.verifications();
    let response = login(&api, "ADA@example.org", PASSWORD).await;
    let problem = assert_problem(&response, 429);
    assert_eq!(
        api.hasher.verifications() - before,
        1,
        "still one verification's work"
    );
    let retry_after: i64 = response.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert!(!problem.to_string().contains("ada"), "{problem}");
    // Another account is not affected.
    register(&api, "grace@example.org").await;
    token(&api, "grace@example.org").await;
}

#[tokio::test]
async fn the_limit_answers_a_known_and_an_unknown_email_alike() {
    let api = api();
    register(&api, "ada@example.org").await;
    let mut answers = Vec::new();
    for email in ["ada@example.org", "nobody@example.org"] {
        for _ in 0..LIMIT {
            assert_problem(&login(&api, email, "wrong horse battery").await, 401);
        }
        let before = api.hasher.verifications();
        let response = login(&api, email, PASSWORD).await;
        assert_eq!(api.hasher.verifications() - before, 1, "{email}");
        answers.push(assert_problem(&response, 429));
    }
    assert_eq!(answers[0], answers[1]);
}

#[tokio::test]
async fn a_successful_login_starts_the_count_of_failures_again() {
    let api = api();
    register(&api, "ada@example.org").await;
    for _ in 0..2 {
        for _ in 0..LIMIT - 1 {
            assert_problem(
                &login(&api, "ada@example.org", "wrong horse battery").await,
                401,
            );
        }
        token(&api, "ada@example.org").await;
    }
}

#[tokio::test]
async fn the_limit_lifts_when_its_window_ends_and_retry_after_points_there() {
    let api = api();
    register(&api, "ada@example.org").await;
    let limit = LoginLimit {
        max_failures: 2,
        window: Duration::seconds(60),
    };
    let login_at = |password: &str, now| {
        service::login(
            &api.repo,
            &api.hasher,
            api.keys.issuer(),
            &limit,
            "ada@example.org",
            password.to_owned(),
            now,
        )
    };
    let start = limit.window_at(Utc::now()).start;
    for second in [1, 2] {
        let refused = login_at("wrong horse battery", start + Duration::seconds(second)).await;
        assert!(matches!(refused, Err(LoginError::InvalidCredentials)));
    }
    let throttled = login_at(PASSWORD, start + Duration::seconds(45)).await;
    assert!(
        matches!(throttled, Err(LoginError::Throttled { retry_after }) if retry_after == Duration::seconds(15)),
        "{throttled:?}"
    );
    assert!(
        login_at(PASSWORD, start + Duration::seconds(60))
            .await
            .is_ok()
    );
}

#[test]
fn login_windows_are_aligned_and_as_long_as_configured() {
    let limit = LoginLimit {
        max_failures: 5,
        window: Duration::minutes(15),
    };
    let now = chrono::DateTime::from_timestamp(1_800_000_123, 0).unwrap();
    let window = limit.window_at(now);
    assert_eq!(window.start.timestamp() % 900, 0);
    assert!(window.start <= now && now < window.end);
    assert_eq!(window.end - window.start, Duration::minutes(15));
    assert_eq!(limit.window_at(window.end - Duration::seconds(1)), window);
    assert_ne!(limit.window_at(window.end), window);
}

#[tokio::test]
async fn token_returns_422_when_a_field_is_missing() {
    let response = api()
        .handle(request(
            "token.json",
            Some(json!({"email": "ada@example.org"})),
            None,
        ))
        .await;
    assert_problem(&response, 422);
}

#[tokio::test]
async fn me_returns_401_without_a_valid_token() {
    let api = api();
    let forged = shared::auth::testing::key_set_from_seed(9)
        .issuer()
        .unwrap()
        .issue(
            "6c2a3f0e-0000-4000-8000-000000000000",
            Role::Admin,
            Utc::now(),
        )
        .unwrap()
        .access_token;
    let expired = api
        .keys
        .issuer()
        .issue(
            "6c2a3f0e-0000-4000-8000-000000000000",
            Role::Customer,
            Utc::now() - Duration::hours(3),
        )
        .unwrap()
        .access_token;
    let not_a_uuid = api
        .keys
        .issuer()
        .issue("someone", Role::Customer, Utc::now())
        .unwrap()
        .access_token;
    for token in [
        None,
        Some("garbage"),
        Some(forged.as_str()),
        Some(expired.as_str()),
        Some(not_a_uuid.as_str()),
    ] {
        let mut req = request("me.json", None, token);
        if token.is_none() {
            req.headers_mut().remove(AUTHORIZATION);
        }
        let response = api.handle(req).await;
        assert_problem(&response, 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
}

#[tokio::test]
async fn me_returns_404_when_the_tokens_user_does_not_exist() {
    let api = api();
    let token = api
        .keys
        .issuer()
        .issue(
            &uuid::Uuid::new_v4().to_string(),
            Role::Customer,
            Utc::now(),
        )
        .unwrap();
    assert_problem(
        &api.handle(request("me.json", None, Some(&token.access_token)))
            .await,
        404,
    );
}

#[tokio::test]
async fn patch_me_changes_name_and_email_and_records_user_profile_updated() {
    let api = api();
    register(&api, "ada@example.org").await;
    let token = token(&api, "ada@example.org").await;
    let response = api
        .handle(request(
            "me-patch.json",
            Some(json!({"name": "Augusta", "email": "augusta@example.org"})),
            Some(&token),
        ))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    let user = body(&response);
    assert_eq!(
        (user["name"].as_str(), user["email"].as_str()),
        (Some("Augusta"), Some("augusta@example.org"))
    );

    let outbox = api.repo.outbox();
    assert_eq!(outbox.last().unwrap().0, "UserProfileUpdated");
    assert_eq!(
        outbox.last().unwrap().1["data"]["email"],
        "augusta@example.org"
    );
    // The old email is free again and the new one logs in.
    register(&api, "ada@example.org").await;
    token_for_email_works(&api, "augusta@example.org").await;
}

async fn token_for_email_works(
    api: &UsersApi<InMemoryUserRepository, CountingHasher>,
    email: &str,
) {
    let response = api
        .handle(request(
            "token.json",
            Some(json!({"email": email, "password": PASSWORD})),
            None,
        ))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
}

#[tokio::test]
async fn patch_me_returns_409_when_the_new_email_belongs_to_someone_else() {
    let api = api();
    register(&api, "ada@example.org").await;
    register(&api, "grace@example.org").await;
    let token = token(&api, "ada@example.org").await;
    let response = api
        .handle(request(
            "me-patch.json",
            Some(json!({"email": "Grace@example.org"})),
            Some(&token),
        ))
        .await;
    assert_problem(&response, 409);
}

#[tokio::test]
async fn patch_me_without_a_change_records_no_event() {
    let api = api();
    register(&api, "ada@example.org").await;
    let token = token(&api, "ada@example.org").await;
    for patch in [json!({}), json!({"name": "Ada"})] {
        let response = api
            .handle(request("me-patch.json", Some(patch), Some(&token)))
            .await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(api.repo.outbox().len(), 1, "only UserRegistered");
}

#[tokio::test]
async fn patch_me_with_an_array_for_a_body_is_a_422_and_registering_with_one_creates_nobody() {
    // Found by Schemathesis: serde read `[null, null]` as a patch of nothing (200).
    let api = api();
    register(&api, "ada@example.org").await;
    let token = token(&api, "ada@example.org").await;
    let response = api
        .handle(request(
            "me-patch.json",
            Some(json!([null, null])),
            Some(&token),
        ))
        .await;
    assert_eq!(assert_problem(&response, 422)["errors"][0]["field"], "body");
    let positional = json!(["grace@example.org", "correct horse battery", "Grace"]);
    let response = api
        .handle(request("register.json", Some(positional), None))
        .await;
    assert_problem(&response, 422);
    assert_eq!(api.repo.outbox().len(), 1, "only Ada's UserRegistered");
}

#[tokio::test]
async fn patch_me_returns_422_for_invalid_fields_and_401_without_a_token() {
    let api = api();
    register(&api, "ada@example.org").await;
    let token = token(&api, "ada@example.org").await;
    let response = api
        .handle(request(
            "me-patch.json",
            Some(json!({"name": "", "email": "x@"})),
            Some(&token),
        ))
        .await;
    assert_eq!(
        assert_problem(&response, 422)["errors"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let response = api
        .handle(request(
            "me-patch.json",
            Some(json!({"password": "new password!"})),
            Some(&token),
        ))
        .await;
    assert_problem(&response, 422);
    let mut anonymous = request("me-patch.json", None, None);
    anonymous.headers_mut().remove(AUTHORIZATION);
    assert_problem(&api.handle(anonymous).await, 401);
}

#[tokio::test]
async fn an_unknown_route_is_404_and_a_wrong_method_is_405_with_allow() {
    let api = api();
    assert_problem(&api.handle(raw_request("GET", "/nope", "")).await, 404);
    let response = api.handle(raw_request("DELETE", "/users/me", "")).await;
    assert_problem(&response, 405);
    assert_eq!(
        response.headers()[ALLOW],
        HeaderValue::from_static("GET, PATCH")
    );
    for (method, path, allow) in [
        ("GET", "/users", "POST"),
        ("GET", "/auth/token", "POST"),
        ("PUT", "/users/me/", "GET, PATCH"),
    ] {
        let response = api.handle(raw_request(method, path, "")).await;
        assert_method_not_allowed(&response, allow);
    }
}

#[tokio::test]
async fn neither_responses_nor_logs_ever_contain_the_password_its_hash_or_the_token() {
    let logs = CapturedLogs::default();
    let _guard = logs.install();
    let api = api();
    let mut bodies = String::new();
    for req in [
        request("register.json", None, None),
        request("register.json", None, None),
        request(
            "token.json",
            Some(json!({"email": "ada@example.org", "password": "wrong horse battery"})),
            None,
        ),
    ] {
        bodies.push_str(&format!("{:?}", api.handle(req).await.body()));
    }
    let token = token(&api, "ada@example.org").await;
    bodies.push_str(&format!(
        "{:?}",
        api.handle(request("me.json", None, Some(&token)))
            .await
            .body()
    ));
    let logs = logs.text();
    assert!(
        logs.contains("user registered"),
        "logging is captured: {logs}"
    );
    for secret in [PASSWORD, "wrong horse battery", "plain:", token.as_str()] {
        assert!(!bodies.contains(secret), "{secret:?} in a response");
        assert!(!logs.contains(secret), "{secret:?} in the logs");
    }
}

#[tokio::test]
async fn the_jwks_lets_a_verifier_with_only_public_keys_accept_our_tokens() {
    let api = api();
    register(&api, "ada@example.org").await;
    let token = token(&api, "ada@example.org").await;
    let response = api
        .handle(raw_request("GET", "/.well-known/jwks.json", ""))
        .await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=300");
    let jwks = body(&response);
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert!(jwks["keys"][0].get("d").is_none(), "never a private part");
    let verifier = JwtKeys::from_jwks_json(&jwks.to_string()).unwrap();
    assert_eq!(
        verifier.verify(&token).unwrap().role,
        Role::Customer,
        "another function verifies with the published keys alone"
    );
    let post = api
        .handle(raw_request("POST", "/.well-known/jwks.json", "{}"))
        .await;
    assert_problem(&post, 405);
    assert_eq!(post.headers()[ALLOW], "GET");
}

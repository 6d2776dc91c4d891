//! The handler tests' kit (feature `test-support`, only ever a dev-dependency, never in a
//! function build): API Gateway requests built from the sample events under `events/`, bearer
//! tokens signed with the test key, pagination cursors with the test secret, response bodies,
//! problem+json assertions, and event envelopes as a consumer receives them.
//!
//! A helper that meets something unexpected panics: that is how it fails the test using it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::Utc;
use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use crate::auth::Role;
use crate::envelope::{EventEnvelope, RawEnvelope, Trace};
use crate::events::{DomainEvent, Event};
use crate::http::PROBLEM_JSON;
use crate::money::{Currency, Money};
use crate::pagination::Cursors;

/// The secret the tests' pagination cursors are signed with.
pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

/// Cursors signed with [`SECRET`].
#[must_use]
pub fn cursors() -> Cursors {
    Cursors::from_secret(SECRET).expect("the test secret is long enough")
}

/// A token for `user_id` with `role`, signed with the test key every test API verifies with
/// ([`crate::auth::testing::verifier`]).
#[must_use]
pub fn token(user_id: &str, role: Role) -> String {
    crate::auth::testing::issuer()
        .issue(user_id, role, Utc::now())
        .expect("the test key signs")
        .access_token
}

/// A sample event of `service` from `events/<service>/<name>`.
#[must_use]
pub fn fixture(service: &str, name: &str) -> Value {
    let path = format!("{}/../events/{service}/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// A sample SQS batch of `service` (`events/<service>/sqs-*.json`).
#[must_use]
pub fn sqs_batch(service: &str, name: &str) -> SqsEvent {
    serde_json::from_value(fixture(service, name)).expect("an SQS event")
}

/// An API Gateway HTTP API request (payload format 2.0), built from a sample event or from
/// nothing, with its path, method, headers, query and body replaced where told.
#[derive(Clone, Debug)]
pub struct ApiRequest(Value);

impl ApiRequest {
    /// The sample event `events/<service>/<name>`.
    #[must_use]
    pub fn sample(service: &str, name: &str) -> Self {
        Self(fixture(service, name))
    }

    /// `method path` with no headers and no body, as the HTTP API sends it.
    #[must_use]
    pub fn new(method: &str, path: &str) -> Self {
        Self(json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "accountId": "000000000000", "apiId": "api", "domainName": "localhost",
                "domainPrefix": "api",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "test"},
                "requestId": "test-request", "routeKey": "$default", "stage": "$default",
                "time": "26/Nov/2026:13:00:00 +0000", "timeEpoch": 1_795_000_000_000_i64
            },
            "isBase64Encoded": false
        }))
    }

    /// Another path.
    #[must_use]
    pub fn path(mut self, path: &str) -> Self {
        self.0["rawPath"] = json!(path);
        self.0["requestContext"]["http"]["path"] = json!(path);
        self
    }

    /// Another method.
    #[must_use]
    pub fn method(mut self, method: &str) -> Self {
        self.0["requestContext"]["http"]["method"] = json!(method);
        self
    }

    /// `body` as the JSON text of the request.
    #[must_use]
    pub fn body(self, body: &Value) -> Self {
        self.raw_body(&body.to_string())
    }

    /// `text` as the body, as it is.
    #[must_use]
    pub fn raw_body(mut self, text: &str) -> Self {
        self.0["body"] = json!(text);
        self
    }

    /// A header (`name` in lower case, as API Gateway passes them).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.0["headers"][name] = json!(value);
        self
    }

    /// Without the header `name`.
    #[must_use]
    pub fn without_header(mut self, name: &str) -> Self {
        if let Some(headers) = self.0["headers"].as_object_mut() {
            headers.remove(name);
        }
        self
    }

    /// `Authorization: Bearer <token>`.
    #[must_use]
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// With a fresh token for `user_id` in `role` (see [`token`]).
    #[must_use]
    pub fn by(self, user_id: &str, role: Role) -> Self {
        self.bearer(&token(user_id, role))
    }

    /// Without credentials.
    #[must_use]
    pub fn anonymous(self) -> Self {
        self.without_header("authorization")
    }

    /// The query string of `pairs` (no escaping: the tests' values need none).
    #[must_use]
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        let raw: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.0["rawQueryString"] = json!(raw.join("&"));
        self.0["queryStringParameters"] = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        self
    }

    /// The event as it stands.
    #[must_use]
    pub fn event(&self) -> &Value {
        &self.0
    }

    /// The request lambda_http hands the function.
    #[must_use]
    pub fn build(self) -> Request {
        lambda_http::request::from_str(&self.0.to_string()).expect("an API Gateway event")
    }
}

/// The body of `response` as text (empty for no body).
#[must_use]
pub fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8(bytes.clone()).expect("a UTF-8 body"),
        other => panic!("unexpected body {other:?}"),
    }
}

/// The JSON body of `response`.
#[must_use]
pub fn body(response: &Response<Body>) -> Value {
    let text = body_text(response);
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

/// Asserts `response` is an `application/problem+json` problem with `status`; returns it.
#[track_caller]
pub fn assert_problem(response: &Response<Body>, status: u16) -> Value {
    assert_eq!(response.status(), status, "{:?}", response.body());
    assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
    let problem = body(response);
    assert_eq!(problem["status"], status, "{problem}");
    problem
}

/// Asserts `response` is a 405 problem whose `Allow` header is `allow` (e.g. `GET, PATCH`).
#[track_caller]
pub fn assert_method_not_allowed(response: &Response<Body>, allow: &str) {
    assert_problem(response, 405);
    assert_eq!(response.headers()[ALLOW], allow);
}

/// `amount` minor units of EUR.
#[must_use]
pub fn eur(amount: i64) -> Money {
    Money::new(amount, Currency::parse("EUR").expect("EUR is a currency"))
}

/// `event` in an envelope (correlation `corr`), as a consumer decodes it off its queue.
#[must_use]
pub fn decoded<E: Event>(event: E) -> EventEnvelope<DomainEvent> {
    let json = EventEnvelope::new(event, Trace::from_request("corr", "req"))
        .to_json()
        .expect("an envelope serialises");
    RawEnvelope::parse(&json)
        .expect("an envelope parses")
        .decode()
        .expect("an envelope decodes")
}

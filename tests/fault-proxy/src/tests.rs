#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn plan(seed: u64, rules: Vec<Rule>) -> Plan {
    Plan { seed, rules }
}

fn rule(service: &str, operation: &str, share: f64, fault: Fault) -> Rule {
    Rule {
        service: service.to_owned(),
        operation: operation.to_owned(),
        share,
        fault,
        limit: None,
    }
}

fn call(service: &str, operation: &str) -> Call {
    Call {
        service: service.to_owned(),
        operation: operation.to_owned(),
    }
}

fn signed(service: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        hyper::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("AWS4-HMAC-SHA256 Credential=test/20261127/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")).unwrap(),
    );
    headers
}

#[test]
fn calls_are_named_by_their_sigv4_scope_and_protocol() {
    let mut dynamo = signed("dynamodb");
    dynamo.insert(
        "x-amz-target",
        HeaderValue::from_static("DynamoDB_20120810.TransactWriteItems"),
    );
    assert_eq!(
        Call::classify(&Method::POST, "/", &dynamo, b"{}"),
        call("dynamodb", "TransactWriteItems")
    );
    let mut sqs = signed("sqs");
    sqs.insert(
        "x-amz-target",
        HeaderValue::from_static("AmazonSQS.ChangeMessageVisibility"),
    );
    assert_eq!(
        Call::classify(&Method::POST, "/", &sqs, b"{}"),
        call("sqs", "ChangeMessageVisibility")
    );
    assert_eq!(
        Call::classify(
            &Method::POST,
            "/",
            &signed("sns"),
            b"Action=PublishBatch&Version=2010-03-31&TopicArn=arn"
        ),
        call("sns", "PublishBatch")
    );
    assert_eq!(
        Call::classify(
            &Method::POST,
            "/v2/email/outbound-emails",
            &signed("ses"),
            b"{}"
        ),
        call("ses", "SendEmail")
    );
    assert_eq!(
        Call::classify(&Method::GET, "/health", &HeaderMap::new(), b""),
        call("unknown", "GET /health")
    );
}

#[test]
fn without_a_plan_no_call_is_faulted_but_every_call_is_counted() {
    let mut injector = Injector::default();
    for _ in 0..100 {
        assert_eq!(injector.decide(&call("dynamodb", "PutItem")), None);
    }
    let stats = injector.report().stats;
    assert_eq!((stats.calls, stats.faulted), (100, 0));
}

#[test]
fn the_faulted_share_is_the_planned_share_split_between_the_rules() {
    let mut injector = Injector::default();
    injector.set(plan(
        19,
        vec![
            rule("*", "*", 0.04, Fault::Throttle),
            rule("*", "*", 0.03, Fault::Status { code: 500 }),
            rule("*", "*", 0.03, Fault::Status { code: 503 }),
        ],
    ));
    for n in 0..20_000 {
        let service = ["dynamodb", "sqs", "sns"][n % 3];
        injector.decide(&call(service, "Op"));
    }
    let stats = injector.report().stats;
    let share = |faulted: u64| faulted as f64 / stats.calls as f64;
    assert!((share(stats.faulted) - 0.10).abs() < 0.01, "{stats:?}");
    let throttled: u64 = stats
        .by_operation
        .values()
        .map(|op| op.faults.get("throttle").copied().unwrap_or(0))
        .sum();
    assert!((share(throttled) - 0.04).abs() < 0.008, "{stats:?}");
}

#[test]
fn rules_apply_only_to_their_service_and_operation() {
    let mut injector = Injector::default();
    injector.set(plan(
        1,
        vec![rule("sns", "Publish", 1.0, Fault::Status { code: 503 })],
    ));
    assert_eq!(
        injector.decide(&call("sns", "Publish")),
        Some(Fault::Status { code: 503 })
    );
    assert_eq!(injector.decide(&call("sns", "PublishBatch")), None);
    assert_eq!(injector.decide(&call("dynamodb", "Publish")), None);
}

#[test]
fn the_same_seed_faults_the_same_calls_whatever_other_operations_interleave() {
    let rules = vec![rule("*", "*", 0.3, Fault::Throttle)];
    let mut alone = Injector::default();
    alone.set(plan(7, rules.clone()));
    let first: Vec<_> = (0..200)
        .map(|_| alone.decide(&call("dynamodb", "GetItem")))
        .collect();
    let mut mixed = Injector::default();
    mixed.set(plan(7, rules.clone()));
    let second: Vec<_> = (0..200)
        .map(|_| {
            mixed.decide(&call("sqs", "SendMessage"));
            mixed.decide(&call("dynamodb", "GetItem"))
        })
        .collect();
    assert_eq!(first, second);
    let mut reseeded = Injector::default();
    reseeded.set(plan(8, rules));
    let third: Vec<_> = (0..200)
        .map(|_| reseeded.decide(&call("dynamodb", "GetItem")))
        .collect();
    assert_ne!(first, third, "another seed, other faults");
}

#[test]
fn a_rule_with_a_limit_faults_only_that_many_calls() {
    let mut injector = Injector::default();
    let mut once = rule("dynamodb", "UpdateItem", 1.0, Fault::DropAfterForward);
    once.limit = Some(1);
    injector.set(plan(1, vec![once]));
    let faults: Vec<_> = (0..3)
        .map(|_| injector.decide(&call("dynamodb", "UpdateItem")))
        .collect();
    assert_eq!(faults, [Some(Fault::DropAfterForward), None, None]);
}

#[test]
fn clearing_the_plan_stops_the_faults_and_keeps_the_counts() {
    let mut injector = Injector::default();
    injector.set(plan(1, vec![rule("*", "*", 1.0, Fault::Drop)]));
    assert_eq!(injector.decide(&call("sqs", "X")), Some(Fault::Drop));
    injector.clear();
    assert_eq!(injector.decide(&call("sqs", "X")), None);
    let report = injector.report();
    assert_eq!(report.plan, None);
    assert_eq!((report.stats.calls, report.stats.faulted), (2, 1));
}

#[test]
fn plans_with_impossible_values_are_refused() {
    assert!(
        plan(1, vec![rule("*", "*", 1.5, Fault::Throttle)])
            .validate()
            .is_err()
    );
    assert!(
        plan(1, vec![rule("*", "*", 0.1, Fault::Status { code: 404 })])
            .validate()
            .is_err()
    );
    assert!(
        plan(1, vec![rule("*", "*", 0.1, Fault::Delay { millis: 2000 })])
            .validate()
            .is_ok()
    );
    let parsed: Plan = serde_json::from_str(
        r#"{"seed": 3, "rules": [{"share": 0.05, "fault": {"kind": "delay", "millis": 2000}}]}"#,
    )
    .unwrap();
    assert_eq!(parsed.rules[0].service, "*");
}

/// An upstream that answers every request with `200 {"ok":true}` and counts them.
async fn upstream() -> (String, Arc<std::sync::atomic::AtomicU64>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0; 65536];
                let mut read = 0;
                // One request per connection is enough here: read headers and body, answer, close.
                loop {
                    let n = stream.read(&mut buffer[read..]).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    read += n;
                    let text = String::from_utf8_lossy(&buffer[..read]).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if read >= end + 4 + length {
                            break;
                        }
                    }
                }
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = r#"{"ConsumedCapacity":null}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(response.as_bytes()).await.unwrap();
            });
        }
    });
    (format!("http://{addr}"), seen)
}

async fn proxy_to(upstream: &str) -> String {
    let proxy = Proxy::new(upstream).unwrap();
    let addr = proxy.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    format!("http://{addr}")
}

async fn put_plan(proxy: &str, plan: &Plan) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = Request::put(format!("{proxy}{CONTROL_PATH}"))
        .body(Full::new(Bytes::from(serde_json::to_vec(plan).unwrap())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn dynamodb(endpoint: &str, attempts: u32) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

#[tokio::test]
async fn with_faults_off_the_proxy_forwards_every_call_unchanged() {
    let (upstream, seen) = upstream().await;
    let proxy = proxy_to(&upstream).await;
    let client = dynamodb(&proxy, 1).await;
    for _ in 0..3 {
        client
            .put_item()
            .table_name("t")
            .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("a".into()))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_sdks_read_each_services_throttle_as_that_services_throttling_error() {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
    let (upstream, seen) = upstream().await;
    let proxy = proxy_to(&upstream).await;
    put_plan(&proxy, &plan(1, vec![rule("*", "*", 1.0, Fault::Throttle)])).await;
    let creds = aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "test");
    let shared = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            creds,
        ))
        .endpoint_url(&proxy)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();

    let err = aws_sdk_dynamodb::Client::new(&shared)
        .get_item()
        .table_name("t")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err.as_service_error(), Some(e) if e.is_provisioned_throughput_exceeded_exception()),
        "{err:?}"
    );
    let err = aws_sdk_sqs::Client::new(&shared)
        .send_message()
        .queue_url("http://q")
        .message_body("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("Throttling"), "{err:?}");
    let err = aws_sdk_sns::Client::new(&shared)
        .publish()
        .topic_arn("arn:aws:sns:us-east-1:000000000000:t")
        .message("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("Throttling"), "{err:?}");
    let err = aws_sdk_sesv2::Client::new(&shared)
        .send_email()
        .from_email_address("a@example.org")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err.as_service_error(), Some(e) if e.is_too_many_requests_exception()),
        "{err:?}"
    );
    let err = aws_sdk_secretsmanager::Client::new(&shared)
        .get_secret_value()
        .secret_id("s")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ThrottlingException"), "{err:?}");
    for code in [
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
    ] {
        assert!(aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&code));
    }
    assert_eq!(
        seen.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a throttled call never reaches the emulator"
    );
}

#[tokio::test]
async fn throttles_5xx_and_dropped_connections_are_retried_by_the_sdk_until_one_goes_through() {
    let (upstream, seen) = upstream().await;
    let proxy = proxy_to(&upstream).await;
    // Each GetItem draws anew: with 60 % of calls failing, 10 attempts get through (p = 0.99).
    // Seed 5 is one where they do; the point is that every kind is retried, not luck.
    for fault in [
        Fault::Throttle,
        Fault::Status { code: 500 },
        Fault::Status { code: 503 },
        Fault::Drop,
    ] {
        put_plan(&proxy, &plan(5, vec![rule("dynamodb", "*", 0.6, fault)])).await;
        dynamodb(&proxy, 10)
            .await
            .get_item()
            .table_name("t")
            .send()
            .await
            .unwrap_or_else(|err| panic!("{fault:?}: {err:?}"));
    }
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_call_dropped_after_forwarding_took_effect_but_its_caller_sees_a_dispatch_failure() {
    let (upstream, seen) = upstream().await;
    let proxy = proxy_to(&upstream).await;
    put_plan(
        &proxy,
        &plan(1, vec![rule("*", "*", 1.0, Fault::DropAfterForward)]),
    )
    .await;
    let err = dynamodb(&proxy, 1)
        .await
        .get_item()
        .table_name("t")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
        "{err:?}"
    );
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_delayed_call_arrives_late_and_an_attempt_timeout_cuts_it_short() {
    let (upstream, _) = upstream().await;
    let proxy = proxy_to(&upstream).await;
    put_plan(
        &proxy,
        &plan(1, vec![rule("*", "*", 1.0, Fault::Delay { millis: 300 })]),
    )
    .await;
    let started = std::time::Instant::now();
    dynamodb(&proxy, 1)
        .await
        .get_item()
        .table_name("t")
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));

    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(&proxy)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(100))
                .build(),
        )
        .build();
    let err = aws_sdk_dynamodb::Client::from_conf(config)
        .get_item()
        .table_name("t")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, aws_sdk_dynamodb::error::SdkError::TimeoutError(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_control_endpoint_refuses_a_plan_it_cannot_follow() {
    let proxy = proxy_to("http://127.0.0.1:9").await;
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    for body in [
        r#"{"seed": 1, "rules": [{"share": 2, "fault": {"kind": "throttle"}}]}"#,
        r#"{"seed": 1, "rules": [{"share": 0.1, "fault": {"kind": "explode"}}]}"#,
        "not json",
    ] {
        let request = Request::put(format!("{proxy}{CONTROL_PATH}"))
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}

//! Jittered exponential backoff for work that lost a race or met a transient failure.
//!
//! Retrying at once after a `TransactionConflict`, a short reservation race or an unprocessed
//! batch key makes the contenders collide again: they all retry in lock step. "Full jitter"
//! (a random wait between zero and an exponentially growing cap, as the AWS Architecture Blog's
//! "Exponential Backoff And Jitter" measures it) spreads them out, so each retry has a real
//! chance. Every use case that retries goes through [`Backoff`], so the policy is in one place.

use std::future::Future;
use std::time::Duration;

/// A retry policy: how many attempts, and the bounds of the jittered wait between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// The cap of the wait before the second attempt; it doubles for every later one.
    pub base: Duration,
    /// The cap never grows past this.
    pub max: Duration,
}

impl Backoff {
    /// The policy for races between requests or messages on one item: 6 attempts, waits capped
    /// at 10, 20, 40, 80 and 160 ms (at most 310 ms in all, well inside an API's timeout).
    pub const CONTENTION: Self = Self {
        attempts: 6,
        base: Duration::from_millis(10),
        max: Duration::from_millis(200),
    };

    /// The cap of the wait after failed attempt `attempt` (0-based): `base * 2^attempt`, at
    /// most `max`.
    #[must_use]
    pub fn cap(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }

    /// A random wait in `0..=cap(attempt)` ("full jitter").
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Duration {
        let cap = u64::try_from(self.cap(attempt).as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(fastrand::u64(0..=cap))
    }

    /// Runs `attempt` until it returns something other than [`Retry::Again`], waiting a
    /// jittered [`delay`](Self::delay) between tries. Returns `Err(last)` with the last
    /// `Again` value when every attempt asked for another.
    ///
    /// # Errors
    /// The last [`Retry::Again`] value once the attempts are spent.
    pub async fn run<T, A, F, Fut>(&self, mut attempt: F) -> Result<T, A>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Retry<T, A>>,
    {
        let attempts = self.attempts.max(1);
        let mut number = 0;
        loop {
            match attempt(number).await {
                Retry::Done(value) => return Ok(value),
                Retry::Again(again) => {
                    number += 1;
                    if number >= attempts {
                        return Err(again);
                    }
                    tokio::time::sleep(self.delay(number - 1)).await;
                }
            }
        }
    }
}

/// What one attempt of [`Backoff::run`] came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Retry<T, A> {
    /// Finished (successfully or not): stop retrying.
    Done(T),
    /// Lost a race or met a transient failure: try again, or give this back when spent.
    Again(A),
}

/// Whether `err` (anywhere in its chain) is an AWS call that failed for a reason that passes:
/// throttled, a 5xx, timed out, or the connection failed, after the SDK's own retries ran out.
/// Such a request was fine and may succeed later, so an API answers it with a 503 and
/// `Retry-After` ([`crate::http::unexpected`]), never a 500. A failed condition, a validation
/// error or a missing resource is not transient.
///
/// It recognises the operations of the SDKs this crate's features link (`dynamodb`,
/// `secrets`, `sqs-requeue`), so it exists only with one of them.
#[cfg(any(feature = "dynamodb", feature = "secrets", feature = "sqs-requeue"))]
#[must_use]
pub fn is_transient_aws_error(err: &anyhow::Error) -> bool {
    macro_rules! classify {
        ($cause:expr, $($(#[$on:meta])* $error:ty),+ $(,)?) => {
            $(
                $(#[$on])*
                if let Some(sdk) = $cause.downcast_ref::<SdkError<$error, HttpResponse>>() {
                    return transient_sdk_error(sdk);
                }
            )+
        };
    }
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::http::Response as HttpResponse;
    for cause in err.chain() {
        classify!(
            cause,
            #[cfg(feature = "dynamodb")]
            aws_sdk_dynamodb::operation::get_item::GetItemError,
            #[cfg(feature = "dynamodb")]
            aws_sdk_dynamodb::operation::put_item::PutItemError,
            #[cfg(feature = "dynamodb")]
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            #[cfg(feature = "dynamodb")]
            aws_sdk_dynamodb::operation::delete_item::DeleteItemError,
            #[cfg(feature = "dynamodb")]
            aws_sdk_dynamodb::operation::query::QueryError,
            #[cfg(feature = "dynamodb")]
            aws_sdk_dynamodb::operation::scan::ScanError,
            #[cfg(feature = "dynamodb")]
            aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemError,
            #[cfg(feature = "dynamodb")]
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
            #[cfg(feature = "dynamodb")]
            aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError,
            #[cfg(feature = "sqs-requeue")]
            aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError,
            #[cfg(feature = "sqs-requeue")]
            aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityError,
            #[cfg(feature = "secrets")]
            aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError,
        );
    }
    false
}

#[cfg(any(feature = "dynamodb", feature = "secrets", feature = "sqs-requeue"))]
fn transient_sdk_error<E>(
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(failure) => {
            failure.is_io() || failure.is_timeout() || failure.is_other()
        }
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error()
                || service.err().code().is_some_and(|code| {
                    aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&code)
                        || aws_runtime::retries::classifiers::TRANSIENT_ERRORS.contains(&code)
                })
        }
        // Construction failures are bugs, not weather.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[cfg(feature = "dynamodb")]
    /// A one-shot HTTP server on a free port that answers every request with `response`.
    async fn answering(response: &'static str) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buffer = [0u8; 8192];
                let _ = stream.read(&mut buffer).await;
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        format!("http://{addr}")
    }

    #[cfg(feature = "dynamodb")]
    async fn get_item(endpoint: &str, attempt_timeout: Duration) -> anyhow::Error {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(endpoint)
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(attempt_timeout)
                    .build(),
            )
            .build();
        let err = aws_sdk_dynamodb::Client::from_conf(config)
            .get_item()
            .table_name("t")
            .send()
            .await
            .unwrap_err();
        anyhow::Error::new(err).context("reading the item")
    }

    #[cfg(feature = "dynamodb")]
    fn json_response(status: &str, body: &'static str) -> &'static str {
        Box::leak(
            format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_boxed_str(),
        )
    }

    #[cfg(feature = "dynamodb")]
    #[tokio::test]
    async fn throttles_5xx_timeouts_and_refused_connections_are_transient() {
        let throttled = answering(json_response(
            "400 Bad Request",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#,
        ))
        .await;
        let failing = answering(json_response(
            "503 Service Unavailable",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable","message":"later"}"#,
        ))
        .await;
        let silent = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // Accepts and never answers.
            tokio::spawn(async move {
                let mut held = Vec::new();
                while let Ok((stream, _)) = listener.accept().await {
                    held.push(stream);
                }
            });
            format!("http://{addr}")
        };
        let second = Duration::from_secs(1);
        for endpoint in [throttled, failing, "http://127.0.0.1:9".to_owned()] {
            let err = get_item(&endpoint, second).await;
            assert!(is_transient_aws_error(&err), "{endpoint}: {err:?}");
        }
        let err = get_item(&silent, Duration::from_millis(100)).await;
        assert!(is_transient_aws_error(&err), "timeout: {err:?}");
    }

    #[cfg(feature = "dynamodb")]
    #[tokio::test]
    async fn a_refused_request_or_a_non_aws_error_is_not_transient() {
        let invalid = answering(json_response(
            "400 Bad Request",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no table"}"#,
        ))
        .await;
        let err = get_item(&invalid, Duration::from_secs(1)).await;
        assert!(!is_transient_aws_error(&err), "{err:?}");
        assert!(!is_transient_aws_error(&anyhow::anyhow!("a bug")));
    }

    const FAST: Backoff = Backoff {
        attempts: 4,
        base: Duration::from_micros(1),
        max: Duration::from_micros(4),
    };

    #[test]
    fn the_cap_doubles_from_the_base_up_to_the_max() {
        let caps: Vec<_> = (0..7).map(|n| Backoff::CONTENTION.cap(n)).collect();
        let ms = Duration::from_millis;
        assert_eq!(
            caps,
            [ms(10), ms(20), ms(40), ms(80), ms(160), ms(200), ms(200)]
        );
        assert_eq!(Backoff::CONTENTION.cap(200), ms(200), "no overflow");
    }

    #[test]
    fn every_delay_lies_between_zero_and_its_cap_and_they_differ() {
        let delays: Vec<_> = (0..200).map(|_| Backoff::CONTENTION.delay(3)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(80)));
        let first = delays[0];
        assert!(delays.iter().any(|d| *d != first), "jitter: not all equal");
    }

    #[tokio::test]
    async fn run_stops_at_the_first_done() {
        let calls = Cell::new(0);
        let result: Result<u32, ()> = FAST
            .run(|n| {
                calls.set(calls.get() + 1);
                async move {
                    if n == 2 {
                        Retry::Done(n)
                    } else {
                        Retry::Again(())
                    }
                }
            })
            .await;
        assert_eq!(result, Ok(2));
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn run_gives_back_the_last_again_when_the_attempts_are_spent() {
        let calls = Cell::new(0);
        let result: Result<(), u32> = FAST
            .run(|n| {
                calls.set(calls.get() + 1);
                async move { Retry::Again(n) }
            })
            .await;
        assert_eq!(result, Err(3));
        assert_eq!(calls.get(), 4);
    }
}

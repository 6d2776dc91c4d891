//! Configuration from the environment, read once at cold start, and AWS SDK clients built from it.
//!
//! `AWS_ENDPOINT_URL` (standard across AWS SDKs) points every client at the local emulator;
//! nothing else in the code knows which endpoint it talks to.

#[cfg(feature = "aws")]
use std::time::Duration;

#[cfg(feature = "aws")]
use aws_config::retry::RetryConfig;
#[cfg(feature = "aws")]
use aws_config::timeout::TimeoutConfig;
#[cfg(feature = "aws")]
use aws_config::{BehaviorVersion, SdkConfig};

/// A missing or malformed environment variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The variable is not set (or is empty).
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    /// The variable is set but unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// The value of a required variable.
///
/// # Errors
/// [`ConfigError::Missing`] when unset or empty.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    optional(name).ok_or(ConfigError::Missing(name))
}

/// The value of an optional variable; empty counts as unset.
#[must_use]
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A required variable parsed into `T`.
///
/// # Errors
/// [`ConfigError::Missing`] or [`ConfigError::Invalid`].
pub fn parsed<T>(name: &'static str) -> Result<T, ConfigError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    required(name)?
        .parse()
        .map_err(|err: T::Err| ConfigError::Invalid {
            name,
            reason: err.to_string(),
        })
}

/// How long one AWS call may take and how often the SDK tries it: each function's clients are
/// built with its own budget, so that a throttled, failing or slow service is retried a few
/// times quickly and then given up on while the function still has time to answer (a 503, a
/// failed record that SQS redelivers, a stream record Lambda retries). The SDK's defaults have
/// no timeout but the connect one and back off for up to 20 s, longer than any of these
/// functions may run. The budgets, and what happens when they run out, are tabled in
/// docs/architecture.md ("Failure handling").
#[cfg(feature = "aws")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallBudget {
    /// Establishing a connection.
    pub connect: Duration,
    /// One attempt: sending the request and reading the whole answer.
    pub attempt: Duration,
    /// The call, every attempt and backoff included.
    pub operation: Duration,
    /// Attempts in all, the first included (the SDK's standard mode: throttles, 5xx, timeouts
    /// and dropped connections are retried; a condition that failed is not).
    pub max_attempts: u32,
    /// The cap of the jittered wait before the first retry; it doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

/// The variable that stretches every [`CallBudget`]'s timeouts (see [`CallBudget::from_env`]).
#[cfg(feature = "aws")]
pub const TIMEOUT_SCALE_VARIABLE: &str = "AWS_SDK_TIMEOUT_SCALE";

#[cfg(feature = "aws")]
impl CallBudget {
    /// The HTTP APIs (Lambda and API Gateway integration timeout 10 s). A request makes one to
    /// five calls in sequence, each normally a few milliseconds; a call gives up after 4 s, so
    /// a request that meets an unavailable service still answers (a 503) within the timeout.
    pub const API: Self = Self {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(2),
        operation: Duration::from_secs(4),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
    };

    /// The SQS workers (Lambda timeout 10 s, a batch's records in parallel). A record makes
    /// up to about six calls in sequence; a call that runs out fails the record, and SQS
    /// redelivers it after the visibility timeout (or sooner, see `shared::sqs`).
    pub const WORKER: Self = Self {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(2),
        operation: Duration::from_secs(4),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(1000),
    };

    /// `outbox-relay` and `outbox-sweeper` (Lambda timeout 10 s). They retry a failed publish
    /// themselves (the relay's `RetryPolicy`), so the SDK tries each call twice and gives up
    /// after 2 s; what still fails is reported (relay) or left pending (sweeper).
    pub const PUBLISHER: Self = Self {
        connect: Duration::from_secs(1),
        attempt: Duration::from_millis(1500),
        operation: Duration::from_secs(2),
        max_attempts: 2,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
    };

    /// Reading the secrets at cold start (`secret_string`). Lambda gives a function's init
    /// phase 10 s of its own, and an API cannot answer anything without its keys, so this call
    /// may take longer than a request's: a burst of cold starts (a flash sale) meets a slow
    /// Secrets Manager more often than a warm function does.
    pub const COLD_START: Self = Self {
        connect: Duration::from_secs(1),
        attempt: Duration::from_secs(3),
        operation: Duration::from_secs(8),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
    };

    /// The operator's commands (`users-admin`, `users-keys`): a person waits, nothing else does.
    pub const OPERATOR: Self = Self {
        connect: Duration::from_secs(3),
        attempt: Duration::from_secs(10),
        operation: Duration::from_secs(30),
        max_attempts: 5,
        initial_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(5),
    };

    /// This budget with every timeout `factor` times longer (attempts and backoff unchanged).
    #[must_use]
    pub fn scaled(self, factor: f64) -> Self {
        let scale = |duration: Duration| duration.mul_f64(factor);
        Self {
            connect: scale(self.connect),
            attempt: scale(self.attempt),
            operation: scale(self.operation),
            ..self
        }
    }

    /// The budget as configured for this process: `AWS_SDK_TIMEOUT_SCALE` (a number from 1 to
    /// 10, unset on AWS) stretches the timeouts for an emulator that answers a burst of calls
    /// seconds late; `scripts/emulator.sh` sets it for the local stack. A value out of range
    /// is logged and ignored.
    #[must_use]
    pub fn from_env(self) -> Self {
        match optional(TIMEOUT_SCALE_VARIABLE).map(|raw| raw.trim().parse::<f64>()) {
            None => self,
            Some(Ok(factor)) if (1.0..=10.0).contains(&factor) => self.scaled(factor),
            Some(_) => {
                tracing::warn!(
                    variable = TIMEOUT_SCALE_VARIABLE,
                    "not a number from 1 to 10; SDK timeouts unscaled"
                );
                self
            }
        }
    }

    /// The SDK's timeout configuration for this budget.
    #[must_use]
    pub fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// The SDK's retry configuration for this budget (standard mode).
    #[must_use]
    pub fn retries(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }
}

/// The shared SDK configuration: region, credentials and endpoint from the standard chain
/// (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, ...), with the function's
/// [`CallBudget`]. Build it once per cold start and make every client from it.
///
/// Its HTTPS client trusts the root CAs AWS service endpoints chain to ([`AWS_ROOT_CAS`])
/// instead of the system's store. The SDK's default client reads and parses every certificate
/// of the system store on its first request, a large share of a cold start (docs/performance.md,
/// "What the measurements found"). Setting `SSL_CERT_FILE` or `SSL_CERT_DIR` (an emulator behind TLS with
/// its own CA, a corporate proxy) brings the system store back.
#[cfg(feature = "aws")]
pub async fn aws_sdk_config(budget: CallBudget) -> SdkConfig {
    let budget = budget.from_env();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(budget.timeouts())
        .retry_config(budget.retries());
    if std::env::var_os("SSL_CERT_FILE").is_none() && std::env::var_os("SSL_CERT_DIR").is_none() {
        loader = loader.http_client(aws_roots_https_client());
    }
    let config = loader.load().await;
    if let Some(endpoint) = config.endpoint_url() {
        tracing::info!(endpoint, "AWS endpoint overridden");
    }
    config
}

/// The string value of the Secrets Manager secret named by the environment variable
/// `variable` (an ARN or name). Secrets are read once at cold start, never passed in plain
/// environment variables, where anyone allowed `lambda:GetFunctionConfiguration` could read them.
///
/// # Errors
/// The variable is unset, the secret cannot be read, or it has no string value.
#[cfg(feature = "secrets")]
pub async fn secret_string(config: &SdkConfig, variable: &'static str) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let secret_id = required(variable)?;
    let budget = CallBudget::COLD_START.from_env();
    let secrets = aws_sdk_secretsmanager::config::Builder::from(config)
        .timeout_config(budget.timeouts())
        .retry_config(budget.retries())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(secrets)
        .get_secret_value()
        .secret_id(&secret_id)
        .send()
        .await
        .with_context(|| format!("GetSecretValue {secret_id} (from {variable})"))?
        .secret_string
        .with_context(|| format!("secret {secret_id} has no string value"))
}

/// The root certificate authorities of AWS service endpoints: Amazon Trust Services' four roots
/// and Starfield Services Root G2, which cross-signs them (<https://www.amazontrust.com/repository/>).
/// Copied from Debian's ca-certificates; their SHA-256 fingerprints are checked by a test.
#[cfg(feature = "aws")]
pub const AWS_ROOT_CAS: [&str; 5] = [
    include_str!("../certs/Amazon_Root_CA_1.pem"),
    include_str!("../certs/Amazon_Root_CA_2.pem"),
    include_str!("../certs/Amazon_Root_CA_3.pem"),
    include_str!("../certs/Amazon_Root_CA_4.pem"),
    include_str!("../certs/Starfield_Services_Root_Certificate_Authority_-_G2.pem"),
];

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc) with [`AWS_ROOT_CAS`] as its
/// trust store.
#[cfg(feature = "aws")]
fn aws_roots_https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
    let store = AWS_ROOT_CAS.iter().fold(TrustStore::empty(), |store, pem| {
        store.with_pem_certificate(pem.as_bytes())
    });
    let builder = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(
        tls::rustls_provider::CryptoMode::AwsLc,
    ));
    match TlsContext::builder().with_trust_store(store).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // Cannot fail today (building only stores the certificates); if it ever does, the
        // default trust store still works.
        Err(err) => {
            tracing::warn!(error = %err, "AWS root CAs not usable; using the system's");
            builder.build_https()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_variable_names_itself_in_the_error() {
        let err = required("SHARED_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable SHARED_TEST_SURELY_UNSET_VARIABLE is required but not set"
        );
    }

    #[test]
    fn a_variable_that_does_not_parse_is_invalid() {
        // PATH is set in every test environment and is not a number.
        let err = parsed::<u32>("PATH").unwrap_err();
        assert!(
            matches!(err, ConfigError::Invalid { name: "PATH", .. }),
            "{err}"
        );
    }

    #[cfg(feature = "aws")]
    #[test]
    fn the_aws_root_cas_are_the_published_certificates() {
        use base64::Engine as _;
        use sha2::{Digest as _, Sha256};
        // SHA-256 of each certificate (DER), as published at https://www.amazontrust.com/repository/.
        let published = [
            "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
            "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
            "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
            "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
            "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
        ];
        for (pem, expected) in AWS_ROOT_CAS.iter().zip(published) {
            let body: String = pem
                .lines()
                .filter(|line| !line.starts_with("-----"))
                .collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap();
            let digest: String = Sha256::digest(&der)
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            assert_eq!(digest, expected);
        }
    }

    /// Every budget must leave its function time to answer: all attempts at their timeout
    /// plus the longest backoffs fit inside the operation timeout's cap, and the operation
    /// timeout leaves room for more than one call in a 10 s Lambda timeout.
    #[cfg(feature = "aws")]
    #[test]
    fn every_call_budget_gives_up_well_inside_a_ten_second_lambda() {
        for budget in [CallBudget::API, CallBudget::WORKER, CallBudget::PUBLISHER] {
            assert!(budget.attempt < budget.operation, "{budget:?}");
            assert!(budget.connect <= budget.attempt, "{budget:?}");
            assert!(
                budget.max_attempts >= 2,
                "{budget:?}: a throttle is retried"
            );
            assert!(
                budget.operation * 2 < Duration::from_secs(10),
                "{budget:?}: two calls that run out still leave the function time"
            );
            assert!(budget.max_backoff < budget.operation, "{budget:?}");
        }
        let init = CallBudget::COLD_START;
        assert!(
            init.operation < Duration::from_secs(10),
            "the secrets read fits in Lambda's 10 s init phase"
        );
    }

    #[cfg(feature = "aws")]
    #[test]
    fn a_scaled_budget_stretches_its_timeouts_and_keeps_its_attempts() {
        let scaled = CallBudget::API.scaled(3.0);
        assert_eq!(scaled.attempt, Duration::from_secs(6));
        assert_eq!(scaled.operation, Duration::from_secs(12));
        assert_eq!(scaled.connect, Duration::from_secs(3));
        assert_eq!(scaled.max_attempts, CallBudget::API.max_attempts);
        assert_eq!(scaled.max_backoff, CallBudget::API.max_backoff);
    }

    #[cfg(feature = "aws")]
    #[tokio::test]
    async fn the_sdk_config_carries_the_budgets_timeouts_and_retries() {
        let config = aws_sdk_config(CallBudget::WORKER).await;
        let timeouts = config.timeout_config().unwrap();
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(1)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(2))
        );
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(4)));
        let retries = config.retry_config().unwrap();
        assert_eq!(retries.max_attempts(), 3);
        assert_eq!(retries.initial_backoff(), Duration::from_millis(50));
        assert_eq!(retries.max_backoff(), Duration::from_secs(1));
    }

    #[cfg(feature = "dynamodb")]
    #[tokio::test]
    async fn an_https_request_through_the_aws_roots_client_gets_as_far_as_connecting() {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        // The trust store is parsed when the first HTTPS connection is set up: a certificate
        // that did not parse would panic there. Port 9 refuses the connection right after.
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(aws_roots_https_client())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url("https://127.0.0.1:9")
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .build();
        let err = aws_sdk_dynamodb::Client::from_conf(config)
            .list_tables()
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
            "{err:?}"
        );
    }
}

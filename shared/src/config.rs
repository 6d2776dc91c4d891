//! Configuration from the environment, read once at cold start, and AWS SDK clients built from it.
//!
//! `AWS_ENDPOINT_URL` (standard across AWS SDKs) points every client at the local emulator;
//! nothing else in the code knows which endpoint it talks to.

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

/// The shared SDK configuration: region, credentials and endpoint from the standard chain
/// (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, ...). Build it once per cold start
/// and make every client from it.
pub async fn aws_sdk_config() -> SdkConfig {
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    if let Some(endpoint) = config.endpoint_url() {
        tracing::info!(endpoint, "AWS endpoint overridden");
    }
    config
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
}

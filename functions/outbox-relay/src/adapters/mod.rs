//! Implementations of the relay's ports: SNS and DynamoDB for real, in memory for tests; and the
//! pair both functions run on, built from their environment.

pub mod dynamodb;
pub mod memory;
pub mod sns;

use shared::config::{self, CallBudget, ConfigError};

use self::dynamodb::DynamoDbOutboxStore;
use self::sns::SnsEventPublisher;

/// What `outbox-relay` and `outbox-sweeper` run on: the topic they publish to
/// (`EVENTS_TOPIC_ARN`) and the table whose outbox they drain (`OUTBOX_TABLE`).
#[derive(Clone, Debug)]
pub struct Deployed {
    pub publisher: SnsEventPublisher,
    pub store: DynamoDbOutboxStore,
}

impl Deployed {
    /// The adapters for the function's environment, with the publisher's call budget.
    ///
    /// # Errors
    /// [`ConfigError`] when a variable is missing.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let topic_arn = config::required("EVENTS_TOPIC_ARN")?;
        let table = config::required("OUTBOX_TABLE")?;
        let sdk = config::aws_sdk_config(CallBudget::PUBLISHER).await;
        Ok(Self {
            publisher: SnsEventPublisher::new(aws_sdk_sns::Client::new(&sdk), topic_arn),
            store: DynamoDbOutboxStore::new(aws_sdk_dynamodb::Client::new(&sdk), table),
        })
    }
}

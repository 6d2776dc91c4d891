//! The port the relay publishes through, its SNS adapter and an in-memory fake.

use std::future::Future;
use std::sync::Mutex;

use anyhow::Context as _;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

/// SNS `PublishBatch` takes at most this many entries.
pub const MAX_BATCH: usize = 10;

/// One event to publish, read from an outbox item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The stream record's sequence number: what a failure is reported by.
    pub sequence_number: String,
    /// The event id, for logs.
    pub event_id: String,
    /// The envelope `type`, published as the `event_type` message attribute.
    pub event_type: String,
    /// The envelope JSON, published as the message body.
    pub body: String,
}

/// Why one message was not published.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct PublishFailure {
    /// SNS error code, or `Unexpected` for transport errors.
    pub code: String,
    /// Details for the log.
    pub reason: String,
    /// Whether trying again may succeed (SNS: not a sender fault).
    pub retryable: bool,
}

/// Publishes events to the service's topic.
pub trait EventPublisher: Send + Sync {
    /// Publishes up to [`MAX_BATCH`] messages; returns one outcome per message, in order.
    fn publish_batch(
        &self,
        messages: &[OutboxMessage],
    ) -> impl Future<Output = Vec<Result<(), PublishFailure>>> + Send;
}

/// Publishes with SNS `PublishBatch`, checking each entry's outcome.
#[derive(Clone, Debug)]
pub struct SnsEventPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsEventPublisher {
    /// A publisher to `topic_arn`.
    #[must_use]
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    async fn send(
        &self,
        messages: &[OutboxMessage],
    ) -> anyhow::Result<Vec<Result<(), PublishFailure>>> {
        let mut entries = Vec::with_capacity(messages.len());
        for (index, message) in messages.iter().enumerate() {
            let event_type = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(&message.event_type)
                .build()
                .context("building event_type attribute")?;
            entries.push(
                PublishBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message(&message.body)
                    .message_attributes("event_type", event_type)
                    .build()
                    .context("building PublishBatch entry")?,
            );
        }
        let output = self
            .client
            .publish_batch()
            .topic_arn(&self.topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .context("SNS PublishBatch")?;
        let mut outcomes: Vec<Result<(), PublishFailure>> = vec![
            Err(PublishFailure {
                code: "Missing".into(),
                reason: "SNS reported neither success nor failure for this entry".into(),
                retryable: true,
            });
            messages.len()
        ];
        for ok in output.successful() {
            if let Some(slot) = ok
                .id()
                .and_then(|id| id.parse::<usize>().ok())
                .and_then(|i| outcomes.get_mut(i))
            {
                *slot = Ok(());
            }
        }
        for failed in output.failed() {
            if let Some(slot) = failed
                .id()
                .parse::<usize>()
                .ok()
                .and_then(|i| outcomes.get_mut(i))
            {
                *slot = Err(PublishFailure {
                    code: failed.code().to_owned(),
                    reason: failed.message().unwrap_or_default().to_owned(),
                    retryable: !failed.sender_fault(),
                });
            }
        }
        Ok(outcomes)
    }
}

impl EventPublisher for SnsEventPublisher {
    async fn publish_batch(&self, messages: &[OutboxMessage]) -> Vec<Result<(), PublishFailure>> {
        match self.send(messages).await {
            Ok(outcomes) => outcomes,
            Err(err) => {
                let failure = PublishFailure {
                    code: "Unexpected".into(),
                    reason: format!("{err:#}"),
                    retryable: true,
                };
                vec![Err(failure); messages.len()]
            }
        }
    }
}

/// A publisher that records what it publishes, and fails on demand: for tests.
#[derive(Debug, Default)]
pub struct InMemoryPublisher {
    published: Mutex<Vec<OutboxMessage>>,
    /// Event ids that fail, with how many more times each fails (`u32::MAX`: always).
    failures: Mutex<Vec<(String, u32, bool)>>,
}

impl InMemoryPublisher {
    /// Makes `event_id` fail its next `times` attempts, retryably or not.
    pub fn fail(&self, event_id: &str, times: u32, retryable: bool) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.push((event_id.to_owned(), times, retryable));
        }
    }

    /// Everything published so far, in order.
    #[must_use]
    pub fn published(&self) -> Vec<OutboxMessage> {
        self.published.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

impl EventPublisher for InMemoryPublisher {
    async fn publish_batch(&self, messages: &[OutboxMessage]) -> Vec<Result<(), PublishFailure>> {
        assert!(
            messages.len() <= MAX_BATCH,
            "SNS would refuse a batch of {}",
            messages.len()
        );
        let (Ok(mut failures), Ok(mut published)) = (self.failures.lock(), self.published.lock())
        else {
            return Vec::new();
        };
        messages
            .iter()
            .map(|message| {
                if let Some(entry) = failures
                    .iter_mut()
                    .find(|(id, left, _)| *id == message.event_id && *left > 0)
                {
                    entry.1 = entry.1.saturating_sub(1);
                    return Err(PublishFailure {
                        code: "InternalError".into(),
                        reason: "injected".into(),
                        retryable: entry.2,
                    });
                }
                published.push(message.clone());
                Ok(())
            })
            .collect()
    }
}

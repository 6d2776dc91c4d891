//! The publisher on SNS: one `PublishBatch` call per batch, each entry's outcome checked.

use anyhow::Context as _;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

use crate::domain::{OutboxMessage, PublishFailure};
use crate::ports::EventPublisher;

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
            Err(err) => vec![Err(PublishFailure::unexpected(format!("{err:#}"))); messages.len()],
        }
    }
}

//! The SQS batch processor every worker runs its handler through.
//!
//! Each record is parsed on its own (raw envelope or SNS notification wrapping one), handled in
//! its own span, and any failure (bad body, contract violation, handler error, handler panic)
//! fails that record only. The response lists just the failed message ids, for an event source
//! mapping with `ReportBatchItemFailures`: SQS redelivers those, and after `maxReceiveCount`
//! moves them to the DLQ. Nothing is dropped silently.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::{FutureExt as _, StreamExt as _};
use serde::Deserialize;
use tracing::Instrument as _;

use crate::envelope::{EventEnvelope, RawEnvelope};
use crate::events::DomainEvent;

/// Why a record's body could not become a [`DomainEvent`] envelope.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The record has no body.
    #[error("record has no body")]
    MissingBody,
    /// The body (or the SNS `Message` in it) is not an event envelope.
    #[error("body is not an event envelope: {0}")]
    NotAnEnvelope(#[source] serde_json::Error),
    /// The envelope does not match a contract.
    #[error(transparent)]
    Contract(#[from] crate::events::ContractError),
}

/// The whole batch must be retried: a failed record cannot be reported on its own.
#[derive(Debug, thiserror::Error)]
#[error("a record without a messageId failed; failing the whole batch so nothing is lost")]
pub struct UnidentifiableFailure;

impl From<UnidentifiableFailure> for lambda_runtime::Diagnostic {
    fn from(failure: UnidentifiableFailure) -> Self {
        Self {
            error_type: "UnidentifiableFailure".to_owned(),
            error_message: failure.to_string(),
        }
    }
}

/// The body SNS puts on SQS without raw message delivery.
#[derive(Deserialize)]
struct SnsNotification {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Message")]
    message: String,
}

/// Parses one record's body into a decoded envelope. Accepts a raw envelope (SNS raw message
/// delivery, or a direct send) and an SNS notification whose `Message` is the envelope.
///
/// # Errors
/// A [`RecordError`] saying why.
pub fn parse_record(message: &SqsMessage) -> Result<EventEnvelope<DomainEvent>, RecordError> {
    let body = message.body.as_deref().ok_or(RecordError::MissingBody)?;
    let envelope_json = match serde_json::from_str::<SnsNotification>(body) {
        Ok(notification) if notification.kind == "Notification" => notification.message,
        _ => body.to_owned(),
    };
    let raw = RawEnvelope::parse(&envelope_json).map_err(RecordError::NotAnEnvelope)?;
    Ok(raw.decode()?)
}

/// Handles every record of `event` with `handler`, at most `concurrency` at a time, and reports
/// the failed ones.
///
/// # Errors
/// [`UnidentifiableFailure`] when a record without a `messageId` fails: the runtime then reports
/// the invocation as failed and SQS redelivers the whole batch (consumers are idempotent).
pub async fn process_batch<F, Fut, E>(
    event: SqsEvent,
    concurrency: usize,
    handler: F,
) -> Result<SqsBatchResponse, UnidentifiableFailure>
where
    F: Fn(EventEnvelope<DomainEvent>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<anyhow::Error>,
{
    let handler = &handler;
    let outcomes: Vec<(Option<String>, bool)> = futures::stream::iter(event.records)
        .map(|record| async move {
            let message_id = record.message_id.clone();
            let ok = process_record(&record, handler).await;
            (message_id, ok)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;

    let mut response = SqsBatchResponse::default();
    for (message_id, ok) in outcomes {
        if ok {
            continue;
        }
        let Some(message_id) = message_id.filter(|id| !id.is_empty()) else {
            return Err(UnidentifiableFailure);
        };
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = message_id;
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

async fn process_record<F, Fut, E>(record: &SqsMessage, handler: &F) -> bool
where
    F: Fn(EventEnvelope<DomainEvent>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<anyhow::Error>,
{
    let message_id = record.message_id.as_deref().unwrap_or("<none>");
    let receive_count = record
        .attributes
        .get("ApproximateReceiveCount")
        .map(String::as_str);
    let envelope = match parse_record(record) {
        Ok(envelope) => envelope,
        Err(err) => {
            tracing::error!(message_id, receive_count, error = %err, "record rejected; it will be retried, then dead-lettered");
            return false;
        }
    };
    let span = tracing::info_span!(
        "record",
        message_id,
        event_id = %envelope.id,
        event_type = %envelope.event_type,
        correlation_id = %envelope.correlation_id,
    );
    async {
        match AssertUnwindSafe(handler(envelope)).catch_unwind().await {
            Ok(Ok(())) => {
                tracing::debug!("record handled");
                true
            }
            Ok(Err(err)) => {
                let err: anyhow::Error = err.into();
                tracing::error!(
                    receive_count,
                    error = format!("{err:#}"),
                    "handler failed; record will be retried"
                );
                false
            }
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "<non-string panic>".to_owned());
                tracing::error!(
                    receive_count,
                    reason,
                    "handler panicked; record will be retried"
                );
                false
            }
        }
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::envelope::Trace;
    use crate::events::ProductArchived;

    fn envelope_json() -> String {
        EventEnvelope::new(
            ProductArchived {
                product_id: Uuid::new_v4(),
                version: 1,
            },
            Trace::from_request("c", "r"),
        )
        .to_json()
        .unwrap()
    }

    fn record(id: Option<&str>, body: Option<String>) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = id.map(str::to_owned);
        message.body = body;
        message
    }

    fn event(records: Vec<SqsMessage>) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = records;
        event
    }

    fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
        let mut ids: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_raw_envelope_body_parses() {
        let parsed = parse_record(&record(Some("m"), Some(envelope_json()))).unwrap();
        assert_eq!(parsed.event_type, "ProductArchived");
    }

    #[test]
    fn an_sns_notification_body_is_unwrapped() {
        let body = json!({"Type": "Notification", "MessageId": "x", "TopicArn": "arn", "Message": envelope_json()});
        let parsed = parse_record(&record(Some("m"), Some(body.to_string()))).unwrap();
        assert_eq!(parsed.event_type, "ProductArchived");
    }

    #[test]
    fn bodies_that_are_not_envelopes_are_errors() {
        assert!(matches!(
            parse_record(&record(Some("m"), None)),
            Err(RecordError::MissingBody)
        ));
        assert!(matches!(
            parse_record(&record(Some("m"), Some("{oops".into()))),
            Err(RecordError::NotAnEnvelope(_))
        ));
        let unknown = envelope_json().replace("ProductArchived", "ProductExploded");
        assert!(matches!(
            parse_record(&record(Some("m"), Some(unknown))),
            Err(RecordError::Contract(_))
        ));
    }

    #[tokio::test]
    async fn only_the_malformed_record_fails_and_the_others_are_handled() {
        let handled = Mutex::new(Vec::new());
        let batch = event(vec![
            record(Some("good-1"), Some(envelope_json())),
            record(Some("bad"), Some("not json".into())),
            record(Some("good-2"), Some(envelope_json())),
        ]);
        let response = process_batch(batch, 4, |envelope| {
            handled.lock().unwrap().push(envelope.id);
            async { Ok::<_, anyhow::Error>(()) }
        })
        .await
        .unwrap();
        assert_eq!(failed_ids(&response), ["bad"]);
        assert_eq!(handled.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_handler_error_fails_that_record_only() {
        let failing_body = envelope_json();
        let failing = RawEnvelope::parse(&failing_body).unwrap().id;
        let batch = event(vec![
            record(Some("ok"), Some(envelope_json())),
            record(Some("err"), Some(failing_body)),
        ]);
        let response = process_batch(batch, 1, |envelope| async move {
            if envelope.id == failing {
                Err(anyhow::anyhow!("downstream unavailable"))
            } else {
                Ok(())
            }
        })
        .await
        .unwrap();
        assert_eq!(failed_ids(&response), ["err"]);
    }

    #[tokio::test]
    async fn a_panicking_handler_fails_its_record_and_not_the_batch() {
        let batch = event(vec![
            record(Some("a"), Some(envelope_json())),
            record(Some("b"), Some(envelope_json())),
        ]);
        let calls = Mutex::new(0);
        let response = process_batch(batch, 1, |_| {
            let first = {
                let mut calls = calls.lock().unwrap();
                *calls += 1;
                *calls == 1
            };
            async move {
                assert!(!first, "boom");
                Ok::<_, anyhow::Error>(())
            }
        })
        .await
        .unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
    }

    #[tokio::test]
    async fn a_failed_record_without_a_message_id_fails_the_whole_batch() {
        let batch = event(vec![record(None, Some("bad".into()))]);
        let result = process_batch(batch, 1, |_| async { Ok::<_, anyhow::Error>(()) }).await;
        assert!(result.is_err());
    }

    #[tokio::test]
    async fn an_all_good_batch_reports_no_failures_and_serialises_as_lambda_expects() {
        let batch = event(vec![record(Some("a"), Some(envelope_json()))]);
        let response = process_batch(batch, 1, |_| async { Ok::<_, anyhow::Error>(()) })
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({"batchItemFailures": []})
        );
    }
}

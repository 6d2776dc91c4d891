//! The SQS batch processor every worker runs its handler through.
//!
//! Each record is parsed on its own (raw envelope or SNS notification wrapping one), handled in
//! its own span, and any failure (bad body, contract violation, handler error, handler panic)
//! fails that record only. The response lists just the failed message ids, for an event source
//! mapping with `ReportBatchItemFailures`: SQS redelivers those, and after `maxReceiveCount`
//! moves them to the DLQ. Nothing is dropped silently.
//!
//! A failed record normally reappears after the queue's visibility timeout. A handler that only
//! lost a race (contention: another message changed the same item) says so with [`RetryLater`]
//! in its error's chain; [`process_batch_with`] then asks SQS to show the record again after a
//! few seconds ([`retry_later_delay`], through a [`Requeue`] such as [`SqsRequeue`]) instead of
//! the whole timeout, and still reports it as failed, so the message is never lost.

#[cfg(feature = "sqs-requeue")]
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
#[cfg(feature = "sqs-requeue")]
use std::sync::Mutex;
use std::time::Duration;

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

/// A cause in a handler error's chain saying the record lost a race and should be tried again
/// soon, rather than after the queue's full visibility timeout (see [`process_batch_with`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("lost a race with other messages; retry in a few seconds")]
pub struct RetryLater;

/// Whether `err` asks for its record back soon: [`RetryLater`] is somewhere in its chain.
#[must_use]
pub fn asks_to_retry_later(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<RetryLater>())
}

/// How long a [`RetryLater`] record stays hidden after its `receive_count`-th receive: a random
/// whole number of seconds from 1 to `2^receive_count`, at most 30. Contenders that failed
/// together come back at different times, and each further loss waits longer, so a record gets
/// several rounds while contention lasts and still returns well before a 60 s visibility
/// timeout would end.
#[must_use]
pub fn retry_later_delay(receive_count: u32) -> Duration {
    let cap = 1u64
        .checked_shl(receive_count.max(1))
        .unwrap_or(u64::MAX)
        .min(RETRY_LATER_MAX_SECONDS);
    Duration::from_secs(fastrand::u64(1..=cap))
}

/// The longest [`retry_later_delay`], in seconds.
pub const RETRY_LATER_MAX_SECONDS: u64 = 30;

/// Logs an event the consumer has no use for: the subscription's filter policy should have kept
/// it out, so the warning points at the filter rather than dropping it silently.
pub fn not_consumed(consumer: &str, event: &DomainEvent) {
    tracing::warn!(
        event_type = event.event_type(),
        consumer,
        "event not consumed here; check the subscription filter"
    );
}

/// Logs what a consumer did with an event and counts it: a duplicate it skipped, or an event
/// it processed (the `EventsProcessed` and `DuplicatesSkipped` metrics).
pub fn record_outcome(outcome: &impl std::fmt::Debug, duplicate: bool) {
    tracing::info!(?outcome, "event handled");
    crate::metrics::count(if duplicate {
        crate::metrics::names::DUPLICATES_SKIPPED
    } else {
        crate::metrics::names::EVENTS_PROCESSED
    });
}

/// Makes a failed record visible again after `delay` instead of the queue's visibility timeout.
pub trait Requeue: Sync {
    /// Hides `record` for `delay` from now.
    fn requeue(
        &self,
        record: &SqsMessage,
        delay: Duration,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// No early return: every failed record waits out the queue's visibility timeout. What
/// [`process_batch`] uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRequeue;

impl Requeue for NoRequeue {
    async fn requeue(&self, _record: &SqsMessage, _delay: Duration) -> anyhow::Result<()> {
        anyhow::bail!("this worker does not return records early")
    }
}

/// [`Requeue`] with SQS `ChangeMessageVisibility` on the record's receipt handle. The queue URL
/// is looked up once per source queue (`GetQueueUrl` by the name and account in the record's
/// `eventSourceARN`), so it is right on every partition and on an emulator alike. Needs
/// `sqs:GetQueueUrl` and `sqs:ChangeMessageVisibility` on the queue.
#[cfg(feature = "sqs-requeue")]
#[derive(Debug)]
pub struct SqsRequeue {
    client: aws_sdk_sqs::Client,
    urls: Mutex<HashMap<String, String>>,
}

#[cfg(feature = "sqs-requeue")]
impl SqsRequeue {
    #[must_use]
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self {
            client,
            urls: Mutex::new(HashMap::new()),
        }
    }

    async fn queue_url(&self, arn: &str) -> anyhow::Result<String> {
        if let Some(url) = self
            .urls
            .lock()
            .ok()
            .and_then(|urls| urls.get(arn).cloned())
        {
            return Ok(url);
        }
        let (account, name) =
            queue_of_arn(arn).ok_or_else(|| anyhow::anyhow!("{arn:?} is not an SQS queue ARN"))?;
        let url = self
            .client
            .get_queue_url()
            .queue_name(name)
            .queue_owner_aws_account_id(account)
            .send()
            .await?
            .queue_url
            .ok_or_else(|| anyhow::anyhow!("GetQueueUrl returned no URL for {arn}"))?;
        if let Ok(mut urls) = self.urls.lock() {
            urls.insert(arn.to_owned(), url.clone());
        }
        Ok(url)
    }
}

#[cfg(feature = "sqs-requeue")]
impl Requeue for SqsRequeue {
    async fn requeue(&self, record: &SqsMessage, delay: Duration) -> anyhow::Result<()> {
        let arn = record
            .event_source_arn
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("record has no eventSourceARN"))?;
        let receipt_handle = record
            .receipt_handle
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("record has no receipt handle"))?;
        let url = self.queue_url(arn).await?;
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(i32::try_from(delay.as_secs()).unwrap_or(i32::MAX))
            .send()
            .await?;
        Ok(())
    }
}

/// `(account, queue name)` of `arn:<partition>:sqs:<region>:<account>:<name>`.
#[cfg(feature = "sqs-requeue")]
fn queue_of_arn(arn: &str) -> Option<(&str, &str)> {
    match arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "sqs", _, account, name] if !account.is_empty() && !name.is_empty() => {
            Some((account, name))
        }
        _ => None,
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
/// the failed ones. Every failed record waits out the queue's visibility timeout; see
/// [`process_batch_with`] for records that ask to come back sooner.
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
    process_batch_with(event, concurrency, &NoRequeue, handler).await
}

/// [`process_batch`], and a record whose handler error has [`RetryLater`] in its chain is
/// handed to `requeue` to reappear after [`retry_later_delay`] (by its `ApproximateReceiveCount`)
/// instead of the visibility timeout. It is reported as failed either way; if `requeue` fails,
/// that is logged and the record simply waits out the visibility timeout.
///
/// # Errors
/// See [`process_batch`].
pub async fn process_batch_with<R, F, Fut, E>(
    event: SqsEvent,
    concurrency: usize,
    requeue: &R,
    handler: F,
) -> Result<SqsBatchResponse, UnidentifiableFailure>
where
    R: Requeue,
    F: Fn(EventEnvelope<DomainEvent>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<anyhow::Error>,
{
    let handler = &handler;
    let outcomes: Vec<(Option<String>, bool)> = futures::stream::iter(event.records)
        .map(|record| async move {
            let message_id = record.message_id.clone();
            let ok = process_record(&record, requeue, handler).await;
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

async fn process_record<R, F, Fut, E>(record: &SqsMessage, requeue: &R, handler: &F) -> bool
where
    R: Requeue,
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
            crate::metrics::count(crate::metrics::names::RECORDS_FAILED);
            tracing::error!(message_id, receive_count, error = %err, "record rejected; it will be retried, then dead-lettered");
            return false;
        }
    };
    // The trace the record was sent in (SQS passes it on as `AWSTraceHeader`), else this
    // invocation's: either leads from the line to the saga's trace in X-Ray.
    let xray_trace_id = record
        .attributes
        .get("AWSTraceHeader")
        .and_then(|header| crate::telemetry::trace_root(header))
        .map(str::to_owned)
        .or_else(crate::telemetry::invocation_trace_id);
    let span = tracing::info_span!(
        "record",
        message_id,
        event_id = %envelope.id,
        event_type = %envelope.event_type,
        correlation_id = %envelope.correlation_id,
        xray_trace_id = tracing::field::Empty,
    );
    if let Some(trace) = &xray_trace_id {
        span.record("xray_trace_id", trace.as_str());
    }
    let correlation_id = envelope.correlation_id.clone();
    let handled = async {
        match AssertUnwindSafe(handler(envelope)).catch_unwind().await {
            Ok(Ok(())) => {
                tracing::debug!("record handled");
                true
            }
            Ok(Err(err)) => {
                let err: anyhow::Error = err.into();
                crate::metrics::count(crate::metrics::names::RECORDS_FAILED);
                if asks_to_retry_later(&err) {
                    crate::metrics::count(crate::metrics::names::RECORDS_REQUEUED);
                    retry_later(record, requeue, &err).await;
                } else {
                    tracing::error!(
                        receive_count,
                        error = format!("{err:#}"),
                        "handler failed; record will be retried"
                    );
                }
                false
            }
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "<non-string panic>".to_owned());
                crate::metrics::count(crate::metrics::names::RECORDS_FAILED);
                tracing::error!(
                    receive_count,
                    reason,
                    "handler panicked; record will be retried"
                );
                false
            }
        }
    }
    .instrument(span);
    crate::telemetry::correlated(&correlation_id, xray_trace_id, handled).await
}

/// Returns a [`RetryLater`] record to the queue soon; on failure it waits out the visibility
/// timeout like any failed record.
async fn retry_later<R: Requeue>(record: &SqsMessage, requeue: &R, err: &anyhow::Error) {
    let receive_count = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse::<u32>().ok())
        .unwrap_or(1);
    let delay = retry_later_delay(receive_count);
    match requeue.requeue(record, delay).await {
        Ok(()) => tracing::warn!(
            receive_count,
            delay_s = delay.as_secs(),
            error = format!("{err:#}"),
            "handler asked to retry later; record returns after the delay"
        ),
        Err(requeue_err) => tracing::error!(
            receive_count,
            error = format!("{err:#}"),
            requeue_error = format!("{requeue_err:#}"),
            "handler asked to retry later but the record could not be returned early; it will be retried after the visibility timeout"
        ),
    }
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

    /// Remembers every record it was asked to return, and how soon.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<(String, Duration)>>);

    impl Requeue for Recorded {
        async fn requeue(&self, record: &SqsMessage, delay: Duration) -> anyhow::Result<()> {
            let id = record.message_id.clone().unwrap_or_default();
            self.0.lock().unwrap().push((id, delay));
            Ok(())
        }
    }

    struct Unreachable;

    impl Requeue for Unreachable {
        async fn requeue(&self, _: &SqsMessage, _: Duration) -> anyhow::Result<()> {
            anyhow::bail!("SQS unreachable")
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("order lost every race")]
    struct Contended(#[source] RetryLater);

    fn received(id: &str, receive_count: u32, body: String) -> SqsMessage {
        let mut message = record(Some(id), Some(body));
        message
            .attributes
            .insert("ApproximateReceiveCount".into(), receive_count.to_string());
        message
    }

    /// A batch of a contended record (receive `count`), a plainly failing one and a good one.
    async fn contended_batch<R: Requeue>(requeue: &R, count: u32) -> SqsBatchResponse {
        let (contended_body, failing_body) = (envelope_json(), envelope_json());
        let contended = RawEnvelope::parse(&contended_body).unwrap().id;
        let failing = RawEnvelope::parse(&failing_body).unwrap().id;
        let batch = event(vec![
            received("contended", count, contended_body),
            received("failing", count, failing_body),
            received("ok", count, envelope_json()),
        ]);
        process_batch_with(batch, 2, requeue, |envelope| async move {
            if envelope.id == contended {
                Err(anyhow::Error::new(Contended(RetryLater)).context("handling OrderPlaced"))
            } else if envelope.id == failing {
                Err(anyhow::anyhow!("downstream unavailable"))
            } else {
                Ok(())
            }
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_record_that_asks_to_retry_later_is_returned_within_seconds_and_still_reported() {
        let requeue = Recorded::default();
        let response = contended_batch(&requeue, 1).await;
        assert_eq!(failed_ids(&response), ["contended", "failing"]);
        let requeued = requeue.0.into_inner().unwrap();
        assert_eq!(requeued.len(), 1, "only the contended record: {requeued:?}");
        let (id, delay) = &requeued[0];
        assert_eq!(id, "contended");
        assert!(
            (Duration::from_secs(1)..=Duration::from_secs(2)).contains(delay),
            "{delay:?}"
        );
    }

    #[tokio::test]
    async fn a_record_that_could_not_be_returned_early_still_fails_and_is_not_lost() {
        let response = contended_batch(&Unreachable, 3).await;
        assert_eq!(failed_ids(&response), ["contended", "failing"]);
    }

    #[tokio::test]
    async fn the_plain_batch_processor_never_returns_a_record_early_and_still_reports_it() {
        let body = envelope_json();
        let batch = event(vec![received("contended", 1, body)]);
        let response = process_batch(batch, 1, |_| async {
            Err::<(), _>(anyhow::Error::new(Contended(RetryLater)))
        })
        .await
        .unwrap();
        assert_eq!(failed_ids(&response), ["contended"]);
    }

    #[test]
    fn the_retry_later_delay_is_jittered_grows_with_the_receive_count_and_is_capped() {
        let secs = |count| {
            (0..1000)
                .map(|_| retry_later_delay(count).as_secs())
                .collect::<Vec<_>>()
        };
        for (count, cap) in [(0, 2), (1, 2), (2, 4), (4, 16), (5, 30), (40, 30)] {
            let delays = secs(count);
            assert!(
                delays.iter().all(|s| (1..=cap).contains(s)),
                "receive {count}: {delays:?}"
            );
            assert!(
                delays.contains(&cap),
                "receive {count} reaches its cap {cap}"
            );
            assert!(delays.contains(&1), "receive {count} can come back at once");
        }
    }

    #[test]
    fn only_the_chain_with_retry_later_asks_for_it() {
        assert!(asks_to_retry_later(&anyhow::Error::new(RetryLater)));
        assert!(asks_to_retry_later(
            &anyhow::Error::new(Contended(RetryLater)).context("outer")
        ));
        assert!(!asks_to_retry_later(&anyhow::anyhow!("retry later")));
    }

    #[cfg(feature = "sqs-requeue")]
    #[test]
    fn the_queue_is_named_by_its_arn() {
        assert_eq!(
            queue_of_arn("arn:aws:sqs:us-east-1:000000000000:local-inventory"),
            Some(("000000000000", "local-inventory"))
        );
        assert_eq!(
            queue_of_arn("arn:aws-cn:sqs:cn-north-1:123456789012:q"),
            Some(("123456789012", "q"))
        );
        assert_eq!(queue_of_arn("arn:aws:sns:us-east-1:1:topic"), None);
        assert_eq!(queue_of_arn("local-inventory"), None);
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

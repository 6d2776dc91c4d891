//! The use cases: relay a batch of outbox messages (publish, then mark what was published), and
//! sweep what the stream left behind. No AWS type here: the ports in, counts and what failed out.
//!
//! Publishing and marking are a pipeline of bounded concurrency: up to
//! [`PUBLISHES_IN_FLIGHT`] `PublishBatch` calls of [`MAX_BATCH`] messages and up to
//! [`MARKS_IN_FLIGHT`] marks at once, a message's mark starting as soon as its batch came back.
//! Each message is marked only after the publisher accepted it, and only the messages that still
//! failed after the [`RetryPolicy`] come back as failed. The order in which events reach the topic
//! is not kept within a batch: SNS and SQS promise none anyway, so consumers already deduplicate
//! and drop stale events (docs/design.md, "Delivery guarantees").

use std::time::Duration;

use futures::StreamExt as _;
use futures::stream;

use crate::domain::OutboxMessage;
use crate::ports::{EventPublisher, MAX_BATCH, OutboxMarker, PendingOutbox};

/// `PublishBatch` calls in flight at once per invocation: a full stream batch (100 records) is
/// ten calls; four at once overlap their round trips while keeping the function's connections
/// and its burst against the topic's publish quota small.
pub const PUBLISHES_IN_FLIGHT: usize = 4;
/// Marks (`UpdateItem`) in flight at once per invocation: enough to keep up with the publishes
/// above, few enough that a slow table does not open a connection per item.
pub const MARKS_IN_FLIGHT: usize = 10;

/// How often a retryable per-entry failure is tried again within one invocation.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, including the first.
    pub attempts: u32,
    /// Wait before the second attempt; doubled each time after.
    pub backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            backoff: Duration::from_millis(50),
        }
    }
}

/// What relaying a batch did.
#[derive(Debug, Default)]
pub struct Relayed {
    /// How many messages the publisher accepted (each then marked, or tried to be).
    pub published: usize,
    /// The messages still not published after the retries, in no particular order.
    pub failed: Vec<OutboxMessage>,
}

/// Publishes `messages` in batches of at most [`MAX_BATCH`], retrying retryable per-message
/// failures, and marks each published message once the publisher accepted it. Marking is best
/// effort: an unmarked item is published once more by the sweeper, and consumers deduplicate.
pub async fn relay(
    messages: Vec<OutboxMessage>,
    publisher: &impl EventPublisher,
    marker: &impl OutboxMarker,
    policy: RetryPolicy,
) -> Relayed {
    let mut relayed = Relayed::default();
    let batches: Vec<Vec<OutboxMessage>> = messages
        .chunks(MAX_BATCH)
        .map(<[OutboxMessage]>::to_vec)
        .collect();
    let failed = &mut relayed.failed;
    relayed.published = stream::iter(batches)
        .map(|batch| publish_with_retries(batch, publisher, policy))
        .buffer_unordered(PUBLISHES_IN_FLIGHT)
        .flat_map(|(published, still_failed)| {
            failed.extend(still_failed);
            stream::iter(published)
        })
        .map(|message| mark_published(marker, message))
        .buffer_unordered(MARKS_IN_FLIGHT)
        .count()
        .await;
    relayed
}

/// One batch through the publisher, retrying what failed retryably; returns what was published
/// and what still failed.
async fn publish_with_retries(
    mut remaining: Vec<OutboxMessage>,
    publisher: &impl EventPublisher,
    policy: RetryPolicy,
) -> (Vec<OutboxMessage>, Vec<OutboxMessage>) {
    let (mut published, mut failed) = (Vec::new(), Vec::new());
    let mut backoff = policy.backoff;
    for attempt in 1..=policy.attempts.max(1) {
        let mut outcomes = publisher.publish_batch(&remaining).await.into_iter();
        let mut retry = Vec::new();
        for message in remaining {
            match outcomes.next() {
                Some(Ok(())) => {
                    tracing::info!(event_id = %message.event_id, event_type = %message.event_type, "event published");
                    published.push(message);
                }
                Some(Err(err)) if err.retryable && attempt < policy.attempts => {
                    tracing::warn!(event_id = %message.event_id, attempt, error = %err, "publish failed; retrying");
                    retry.push(message);
                }
                Some(Err(err)) => {
                    tracing::error!(event_id = %message.event_id, attempt, error = %err, "publish failed; reporting it");
                    failed.push(message);
                }
                None => {
                    tracing::error!(event_id = %message.event_id, "publisher returned no outcome; reporting it");
                    failed.push(message);
                }
            }
        }
        if retry.is_empty() {
            break;
        }
        tokio::time::sleep(backoff).await;
        backoff *= 2;
        remaining = retry;
    }
    (published, failed)
}

async fn mark_published(marker: &impl OutboxMarker, message: OutboxMessage) {
    if let Err(err) = marker.mark_published(&message).await {
        tracing::warn!(event_id = %message.event_id, error = format!("{err:#}"), "could not mark outbox item published; the sweeper may publish it again");
    }
}

/// What a sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub republished: usize,
    pub failed: usize,
}

/// How old a pending outbox item must be before the sweeper publishes it: well past the time
/// the stream and relay normally take, so the sweeper is a fallback, not a race.
pub const SWEEP_MIN_AGE: chrono::Duration = chrono::Duration::seconds(60);
/// Most items one sweep publishes.
pub const SWEEP_LIMIT: i32 = 100;

/// Publishes outbox items that are still pending `min_age` after they were written: the ones
/// whose stream record never reached the relay (an emulator restart loses them; on AWS a relay
/// disabled past the stream's 24 h retention would). Runs on a schedule.
///
/// # Errors
/// When the store cannot be read; publish failures are counted and retried next sweep.
pub async fn sweep(
    store: &(impl PendingOutbox + OutboxMarker),
    publisher: &impl EventPublisher,
    policy: RetryPolicy,
    now: chrono::DateTime<chrono::Utc>,
    min_age: chrono::Duration,
) -> anyhow::Result<SweepReport> {
    let stale = store.pending_before(now - min_age, SWEEP_LIMIT).await?;
    if stale.is_empty() {
        return Ok(SweepReport::default());
    }
    tracing::warn!(
        count = stale.len(),
        "outbox items were never relayed; publishing them now"
    );
    let relayed = relay(stale, publisher, store, policy).await;
    Ok(SweepReport {
        republished: relayed.published,
        failed: relayed.failed.len(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::adapters::memory::{InMemoryOutboxStore, InMemoryPublisher};

    const NO_WAIT: RetryPolicy = RetryPolicy {
        attempts: 3,
        backoff: Duration::ZERO,
    };

    fn message(i: usize) -> OutboxMessage {
        OutboxMessage {
            sequence_number: format!("{i:05}"),
            event_id: format!("event-{i}"),
            event_type: "ProductCreated".into(),
            body: format!(r#"{{"id":"event-{i}"}}"#),
        }
    }

    fn messages(n: usize) -> Vec<OutboxMessage> {
        (0..n).map(message).collect()
    }

    /// Relays `count` new messages through `publisher` into an outbox of their own.
    async fn relay_to(publisher: &InMemoryPublisher, count: usize) -> Relayed {
        relay(
            messages(count),
            publisher,
            &InMemoryOutboxStore::default(),
            NO_WAIT,
        )
        .await
    }

    async fn sweep_at(
        store: &InMemoryOutboxStore,
        publisher: &InMemoryPublisher,
        now: chrono::DateTime<chrono::Utc>,
    ) -> SweepReport {
        sweep(store, publisher, NO_WAIT, now, SWEEP_MIN_AGE)
            .await
            .unwrap()
    }

    fn sorted<T: Ord>(mut items: Vec<T>) -> Vec<T> {
        items.sort();
        items
    }

    fn ids(messages: &[OutboxMessage]) -> Vec<String> {
        sorted(messages.iter().map(|m| m.event_id.clone()).collect())
    }

    /// An outbox that fails the test when asked to mark what the publisher has not accepted, and
    /// counts the marks in flight at once.
    struct CheckingMarker<'a> {
        publisher: &'a InMemoryPublisher,
        store: InMemoryOutboxStore,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
        marked: Mutex<Vec<String>>,
    }

    impl<'a> CheckingMarker<'a> {
        fn new(publisher: &'a InMemoryPublisher) -> Self {
            Self {
                publisher,
                store: InMemoryOutboxStore::default(),
                in_flight: AtomicUsize::new(0),
                most_in_flight: AtomicUsize::new(0),
                marked: Mutex::new(Vec::new()),
            }
        }
    }

    impl OutboxMarker for CheckingMarker<'_> {
        async fn mark_published(&self, message: &OutboxMessage) -> anyhow::Result<()> {
            assert!(
                self.publisher.has_published(&message.event_id),
                "{} marked before it was published",
                message.event_id
            );
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            // Lets the other marks start before this one ends, as a round trip would.
            tokio::task::yield_now().await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.marked.lock().unwrap().push(message.event_id.clone());
            self.store.mark_published(message).await
        }
    }

    #[tokio::test]
    async fn messages_are_published_in_batches_of_at_most_ten() {
        let publisher = InMemoryPublisher::default();
        let relayed = relay_to(&publisher, 23).await;
        assert_eq!(relayed.published, 23);
        assert!(relayed.failed.is_empty());
        let batches = sorted(publisher.batches());
        assert_eq!(batches, [3, 10, 10]);
        assert_eq!(ids(&publisher.published()), ids(&messages(23)));
    }

    #[tokio::test]
    async fn a_message_is_marked_only_after_the_publisher_accepted_it_and_never_when_it_failed() {
        let publisher = InMemoryPublisher::default();
        publisher.fail("event-4", u32::MAX, true);
        publisher.fail("event-17", 1, false);
        let marker = CheckingMarker::new(&publisher);
        let relayed = relay(messages(25), &publisher, &marker, NO_WAIT).await;
        assert_eq!(ids(&relayed.failed), ["event-17", "event-4"]);
        let marked = marker.marked.lock().unwrap().clone();
        assert_eq!(marked.len(), 23);
        assert!(
            !marked.contains(&"event-4".to_owned()) && !marked.contains(&"event-17".to_owned())
        );
    }

    #[tokio::test]
    async fn marks_run_concurrently_but_never_more_than_the_bound() {
        let publisher = InMemoryPublisher::default();
        let marker = CheckingMarker::new(&publisher);
        let relayed = relay(messages(100), &publisher, &marker, NO_WAIT).await;
        assert_eq!(relayed.published, 100);
        assert_eq!(marker.marked.lock().unwrap().len(), 100);
        let most = marker.most_in_flight.load(Ordering::SeqCst);
        assert!(
            (2..=MARKS_IN_FLIGHT).contains(&most),
            "{most} marks were in flight at once"
        );
    }

    #[tokio::test]
    async fn a_partial_batch_failure_retries_only_the_failed_entries() {
        let publisher = InMemoryPublisher::default();
        publisher.fail("event-3", 2, true);
        publisher.fail("event-7", 1, true);
        let relayed = relay_to(&publisher, 10).await;
        assert_eq!(relayed.published, 10);
        assert!(relayed.failed.is_empty());
        // The whole batch, then the two that failed, then the one that failed twice.
        assert_eq!(publisher.batches(), [10, 2, 1]);
        // Each event reached the topic once: the retries did not publish the others again.
        assert_eq!(publisher.published().len(), 10);
    }

    #[tokio::test]
    async fn retries_stop_after_the_policys_attempts_and_report_what_still_fails() {
        let publisher = InMemoryPublisher::default();
        publisher.fail("event-12", u32::MAX, true);
        let store = InMemoryOutboxStore::default();
        for m in messages(15) {
            store.add(chrono::Utc::now(), m);
        }
        let relayed = relay(messages(15), &publisher, &store, NO_WAIT).await;
        assert_eq!(relayed.published, 14);
        assert_eq!(ids(&relayed.failed), ["event-12"]);
        let batches = sorted(publisher.batches());
        // The batches of 10 and 5, then event-12 twice more: three attempts in all.
        assert_eq!(batches, [1, 1, 5, 10]);
        assert!(!store.is_published("event-12"));
        assert!(store.is_published("event-11") && store.is_published("event-13"));
    }

    #[tokio::test]
    async fn a_non_retryable_failure_is_reported_without_another_attempt() {
        let publisher = InMemoryPublisher::default();
        publisher.fail("event-0", 1, false);
        let relayed = relay_to(&publisher, 2).await;
        assert_eq!(ids(&relayed.failed), ["event-0"]);
        assert_eq!(publisher.batches(), [2]);
    }

    #[tokio::test]
    async fn a_sweep_publishes_only_items_pending_longer_than_the_minimum_age() {
        let (publisher, store) = (InMemoryPublisher::default(), InMemoryOutboxStore::default());
        let now = chrono::Utc::now();
        let (stale, fresh) = (message(0), message(1));
        store.add(now - chrono::Duration::minutes(5), stale.clone());
        store.add(now - chrono::Duration::seconds(5), fresh.clone());
        assert_eq!(
            sweep_at(&store, &publisher, now).await,
            SweepReport {
                republished: 1,
                failed: 0
            }
        );
        assert_eq!(publisher.published(), std::slice::from_ref(&stale));
        assert!(store.is_published(&stale.event_id) && !store.is_published(&fresh.event_id));
        // A second sweep finds nothing more to do.
        assert_eq!(
            sweep_at(&store, &publisher, now).await,
            SweepReport::default()
        );
    }

    #[tokio::test]
    async fn a_sweep_that_cannot_publish_counts_the_failure_and_leaves_the_item_pending() {
        let (publisher, store) = (InMemoryPublisher::default(), InMemoryOutboxStore::default());
        let now = chrono::Utc::now();
        let stale = message(0);
        store.add(now - chrono::Duration::minutes(5), stale.clone());
        publisher.fail(&stale.event_id, u32::MAX, true);
        assert_eq!(
            sweep_at(&store, &publisher, now).await,
            SweepReport {
                republished: 0,
                failed: 1
            }
        );
        assert!(!store.is_published(&stale.event_id));
    }
}

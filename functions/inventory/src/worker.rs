//! SQS glue for inventory-worker: each record through the shared batch processor, each event to
//! its use case.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use shared::events::DomainEvent;
use shared::sqs::{Requeue, UnidentifiableFailure, process_batch_with};

use crate::ports::{Consumed, Inbox, Reservations, StockLevels};
use crate::service::{self, Outcome, WorkerError};

/// Records handled concurrently per batch. Reservations of different orders are independent,
/// and conditional writes keep concurrent ones on one product correct.
pub const CONCURRENCY: usize = 4;

/// Routes one event to its use case; events this service does not consume are acknowledged.
///
/// # Errors
/// [`WorkerError`]: the record is retried, then dead-lettered.
pub async fn handle_event<S: StockLevels + Reservations + Inbox>(
    store: &S,
    event: Consumed,
) -> Result<Outcome, WorkerError> {
    let outcome = match &event.data {
        DomainEvent::ProductCreated(created) => {
            service::on_product_created(store, &event, created.product_id).await?
        }
        DomainEvent::OrderPlaced(placed) => service::on_order_placed(store, &event, placed).await?,
        DomainEvent::OrderCancelled(cancelled) => {
            service::on_order_cancelled(store, &event, cancelled).await?
        }
        other => {
            shared::sqs::not_consumed("inventory", other);
            Outcome::Ignored
        }
    };
    shared::sqs::record_outcome(&outcome, outcome == Outcome::Duplicate);
    Ok(outcome)
}

/// Handles a batch from the inventory queue, reporting only the failed records. A record whose
/// every attempt lost a race ([`WorkerError::Contended`]) goes to `requeue` to come back within
/// seconds (see [`process_batch_with`]).
///
/// # Errors
/// [`UnidentifiableFailure`] (see [`process_batch_with`]).
pub async fn handle_batch<S: StockLevels + Reservations + Inbox, R: Requeue>(
    store: &S,
    requeue: &R,
    event: SqsEvent,
) -> Result<SqsBatchResponse, UnidentifiableFailure> {
    process_batch_with(event, CONCURRENCY, requeue, |envelope| async move {
        handle_event(store, envelope).await.map(|_| ())
    })
    .await
}

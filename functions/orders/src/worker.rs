//! SQS glue for orders-worker: product events keep the price snapshots; inventory events move
//! orders through the saga.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use shared::events::DomainEvent;
use shared::sqs::{UnidentifiableFailure, process_batch};

use crate::ports::{Consumed, Inbox, Orders, PaymentGateway, PriceSnapshot, PriceSnapshots};
use crate::service::{self, SagaOutcome, WorkerError};

/// Records handled concurrently per batch.
pub const CONCURRENCY: usize = 4;

/// What the worker did, for logs and tests.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Snapshot(crate::ports::Applied),
    Saga(SagaOutcome),
    Ignored,
}

/// Routes one event to its use case.
///
/// # Errors
/// [`WorkerError`]: the record is retried, then dead-lettered.
pub async fn handle_event<R: Orders + PriceSnapshots + Inbox, G: PaymentGateway>(
    repo: &R,
    gateway: &G,
    event: Consumed,
) -> Result<Handled, WorkerError> {
    let handled = match &event.data {
        DomainEvent::ProductCreated(p) => {
            let snapshot = PriceSnapshot {
                product_id: p.product_id,
                price: Some(p.price),
                version: p.version,
            };
            Handled::Snapshot(service::on_product_event(repo, &event, snapshot).await?)
        }
        DomainEvent::ProductUpdated(p) => {
            let snapshot = PriceSnapshot {
                product_id: p.product_id,
                price: Some(p.price),
                version: p.version,
            };
            Handled::Snapshot(service::on_product_event(repo, &event, snapshot).await?)
        }
        DomainEvent::ProductArchived(p) => {
            let snapshot = PriceSnapshot {
                product_id: p.product_id,
                price: None,
                version: p.version,
            };
            Handled::Snapshot(service::on_product_event(repo, &event, snapshot).await?)
        }
        DomainEvent::StockReserved(reserved) => Handled::Saga(
            service::on_stock_reserved(repo, gateway, &event, reserved.order_id).await?,
        ),
        DomainEvent::StockReservationFailed(failed) => Handled::Saga(
            service::on_stock_short(repo, &event, failed.order_id, &failed.unavailable).await?,
        ),
        other => {
            shared::sqs::not_consumed("orders", other);
            Handled::Ignored
        }
    };
    shared::sqs::record_outcome(
        &handled,
        matches!(
            handled,
            Handled::Saga(SagaOutcome::Duplicate)
                | Handled::Snapshot(crate::ports::Applied::AlreadyProcessed)
        ),
    );
    Ok(handled)
}

/// Handles a batch from the orders queue, reporting only the failed records.
///
/// # Errors
/// [`UnidentifiableFailure`].
pub async fn handle_batch<R: Orders + PriceSnapshots + Inbox, G: PaymentGateway>(
    repo: &R,
    gateway: &G,
    event: SqsEvent,
) -> Result<SqsBatchResponse, UnidentifiableFailure> {
    process_batch(event, CONCURRENCY, |envelope| async move {
        handle_event(repo, gateway, envelope).await.map(|_| ())
    })
    .await
}

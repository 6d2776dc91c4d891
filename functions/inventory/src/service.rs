//! The inventory use cases: the operator's stock API and the saga steps of the worker.

use shared::envelope::{EventEnvelope, Trace};
use shared::events::{
    OrderCancelled, OrderPlaced, StockLine, StockReleased, StockReservationFailed, StockReserved,
};
use shared::retry::{Backoff, Retry};
use shared::sqs::RetryLater;
use uuid::Uuid;

use crate::domain::{
    LinesError, ReservationStatus, StockChange, StockLevel, merge_lines, shortages,
};
use crate::ports::{
    Applied, ChangeStockError, Consumed, Inbox, Reservations, ReserveAttempt, StockAdjustments,
    StockLevels,
};

/// How every use case retries after losing a race: reservations of one hot product collide
/// constantly in a flash sale, and contenders retrying in lock step would collide again.
const RETRY: Backoff = Backoff::CONTENTION;

/// The stock of a product.
///
/// # Errors
/// [`ChangeStockError::NotFound`] when inventory does not know the product.
pub async fn get_stock<S: StockLevels>(
    store: &S,
    product_id: Uuid,
) -> Result<StockLevel, ChangeStockError> {
    store
        .stock(product_id)
        .await?
        .ok_or(ChangeStockError::NotFound)
}

/// Sets or adjusts a product's stock, never below what is reserved; retries when a reservation
/// changes the level concurrently.
///
/// # Errors
/// See [`ChangeStockError`].
pub async fn change_stock<S: StockLevels + StockAdjustments>(
    store: &S,
    product_id: Uuid,
    change: StockChange,
) -> Result<StockLevel, ChangeStockError> {
    RETRY
        .run(|_| async move {
            let current = match get_stock(store, product_id).await {
                Ok(current) => current,
                Err(err) => return Retry::Done(Err(err)),
            };
            match store.change_stock(&current, change).await {
                Err(ChangeStockError::Conflict) => Retry::Again(ChangeStockError::Conflict),
                other => Retry::Done(other),
            }
        })
        .await
        .unwrap_or_else(Err)
}

/// What the worker did with an event, for logs and tests.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    StockCreated,
    Reserved,
    ReservationFailed,
    Released,
    NothingToRelease,
    OrderAlreadyClosed,
    Duplicate,
    Ignored,
}

/// Why the worker could not handle an event; the record fails, is retried, then dead-lettered.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("OrderPlaced {order_id} cannot be reserved: {source}")]
    BadLines {
        order_id: Uuid,
        #[source]
        source: LinesError,
    },
    /// Every in-process attempt lost a race: the record asks the batch processor to bring it
    /// back in a few seconds.
    #[error("kept losing races for order {order_id}")]
    Contended {
        order_id: Uuid,
        #[source]
        retry: RetryLater,
    },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl WorkerError {
    fn contended(order_id: Uuid) -> Self {
        Self::Contended {
            order_id,
            retry: RetryLater,
        }
    }
}

/// One attempt's result: finished (`Ok(Some)` or an error), or lost a race (`Ok(None)`).
fn attempt<T>(result: Result<Option<T>, WorkerError>) -> Retry<Result<T, WorkerError>, ()> {
    match result {
        Ok(Some(done)) => Retry::Done(Ok(done)),
        Ok(None) => {
            shared::metrics::count(shared::metrics::names::RESERVATION_CONFLICTS);
            Retry::Again(())
        }
        Err(err) => Retry::Done(Err(err)),
    }
}

fn applied(applied: Applied, outcome: Outcome) -> Outcome {
    match applied {
        Applied::Done => outcome,
        Applied::AlreadyProcessed => Outcome::Duplicate,
    }
}

/// `ProductCreated`: a stock record at zero.
///
/// # Errors
/// [`WorkerError::Unexpected`].
pub async fn on_product_created<S: Reservations>(
    store: &S,
    event: &Consumed,
    product_id: Uuid,
) -> Result<Outcome, WorkerError> {
    Ok(applied(
        store.add_product(event, product_id).await?,
        Outcome::StockCreated,
    ))
}

/// `OrderPlaced`: reserve every line in one transaction, or nothing and report the shortages.
///
/// # Errors
/// [`WorkerError`].
pub async fn on_order_placed<S: StockLevels + Reservations + Inbox>(
    store: &S,
    event: &Consumed,
    order: &OrderPlaced,
) -> Result<Outcome, WorkerError> {
    let lines = merge_lines(
        order
            .lines
            .iter()
            .map(|line| (line.product_id, line.quantity)),
    )
    .map_err(|source| WorkerError::BadLines {
        order_id: order.order_id,
        source,
    })?;
    let (trace, lines) = (&Trace::caused_by(event), &lines);
    RETRY
        .run(|_| async move { attempt(reserve_once(store, event, order, lines, trace).await) })
        .await
        .unwrap_or_else(|()| Err(WorkerError::contended(order.order_id)))
}

/// One reservation attempt; `Ok(None)` when it lost a race.
async fn reserve_once<S: StockLevels + Reservations + Inbox>(
    store: &S,
    event: &Consumed,
    order: &OrderPlaced,
    lines: &[StockLine],
    trace: &Trace,
) -> Result<Option<Outcome>, WorkerError> {
    let reserved = EventEnvelope::new(
        StockReserved {
            order_id: order.order_id,
            lines: lines.to_vec(),
        },
        trace.clone(),
    );
    match store.try_reserve(event, lines, &reserved).await? {
        ReserveAttempt::Reserved => {
            tracing::info!(order_id = %order.order_id, "stock reserved");
            Ok(Some(Outcome::Reserved))
        }
        ReserveAttempt::AlreadyProcessed => Ok(Some(Outcome::Duplicate)),
        ReserveAttempt::OrderClosed => {
            tracing::info!(order_id = %order.order_id, "order already closed; nothing reserved");
            Ok(Some(Outcome::OrderAlreadyClosed))
        }
        ReserveAttempt::Conflict => Ok(None),
        ReserveAttempt::Short => {
            let mut levels = Vec::with_capacity(lines.len());
            for line in lines {
                levels.push(store.stock(line.product_id).await?);
            }
            let unavailable = shortages(lines, &levels);
            if unavailable.is_empty() {
                // Stock arrived between the attempt and the read: try again.
                return Ok(None);
            }
            let failed = EventEnvelope::new(
                StockReservationFailed {
                    order_id: order.order_id,
                    unavailable,
                },
                trace.clone(),
            );
            let outcome = applied(
                store.record_failure(event, &failed).await?,
                Outcome::ReservationFailed,
            );
            tracing::info!(order_id = %order.order_id, ?outcome, "stock reservation failed");
            Ok(Some(outcome))
        }
    }
}

/// `OrderCancelled`: release the order's reservation, once.
///
/// # Errors
/// [`WorkerError`].
pub async fn on_order_cancelled<S: Reservations + Inbox>(
    store: &S,
    event: &Consumed,
    order: &OrderCancelled,
) -> Result<Outcome, WorkerError> {
    RETRY
        .run(|_| async move { attempt(release_once(store, event, order).await) })
        .await
        .unwrap_or_else(|()| Err(WorkerError::contended(order.order_id)))
}

/// One release attempt; `Ok(None)` when the reservation changed concurrently.
async fn release_once<S: Reservations + Inbox>(
    store: &S,
    event: &Consumed,
    order: &OrderCancelled,
) -> Result<Option<Outcome>, WorkerError> {
    let Some(reservation) = store.reservation(order.order_id).await? else {
        return Ok(store
            .close_unreserved(event, order.order_id)
            .await?
            .map(|done| applied(done, Outcome::NothingToRelease)));
    };
    if reservation.status != ReservationStatus::Reserved {
        return Ok(Some(applied(
            store.acknowledge(event).await?,
            Outcome::NothingToRelease,
        )));
    }
    let released = EventEnvelope::new(
        StockReleased {
            order_id: order.order_id,
            lines: reservation.lines.clone(),
        },
        Trace::caused_by(event),
    );
    let done = store.release(event, &reservation, &released).await?;
    if done.is_some() {
        tracing::info!(order_id = %order.order_id, "reservation released");
    }
    Ok(done.map(|done| applied(done, Outcome::Released)))
}

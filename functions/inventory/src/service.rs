//! The inventory use cases: the operator's stock API and the saga steps of the worker.

use shared::envelope::{EventEnvelope, Trace};
use shared::events::{
    OrderCancelled, OrderPlaced, StockReleased, StockReservationFailed, StockReserved,
};
use uuid::Uuid;

use crate::domain::{
    LinesError, ReservationStatus, StockChange, StockLevel, merge_lines, shortages,
};
use crate::ports::{Applied, ChangeStockError, Consumed, InventoryStore, ReserveAttempt};

/// How often a use case retries after losing a race.
const ATTEMPTS: usize = 5;

/// The stock of a product.
///
/// # Errors
/// [`ChangeStockError::NotFound`] when inventory does not know the product.
pub async fn get_stock<S: InventoryStore>(
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
pub async fn change_stock<S: InventoryStore>(
    store: &S,
    product_id: Uuid,
    change: StockChange,
) -> Result<StockLevel, ChangeStockError> {
    for _ in 0..ATTEMPTS {
        let current = get_stock(store, product_id).await?;
        match store.change_stock(&current, change).await {
            Err(ChangeStockError::Conflict) => continue,
            other => return other,
        }
    }
    Err(ChangeStockError::Conflict)
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
    #[error("kept losing races for order {0}; will retry")]
    Contended(Uuid),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
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
pub async fn on_product_created<S: InventoryStore>(
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
pub async fn on_order_placed<S: InventoryStore>(
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
    let trace = Trace::caused_by(event);
    for _ in 0..ATTEMPTS {
        let reserved = EventEnvelope::new(
            StockReserved {
                order_id: order.order_id,
                lines: lines.clone(),
            },
            trace.clone(),
        );
        match store.try_reserve(event, &lines, &reserved).await? {
            ReserveAttempt::Reserved => {
                tracing::info!(order_id = %order.order_id, "stock reserved");
                return Ok(Outcome::Reserved);
            }
            ReserveAttempt::AlreadyProcessed => return Ok(Outcome::Duplicate),
            ReserveAttempt::OrderClosed => {
                tracing::info!(order_id = %order.order_id, "order already closed; nothing reserved");
                return Ok(Outcome::OrderAlreadyClosed);
            }
            ReserveAttempt::Conflict => continue,
            ReserveAttempt::Short => {
                let mut levels = Vec::with_capacity(lines.len());
                for line in &lines {
                    levels.push(store.stock(line.product_id).await?);
                }
                let unavailable = shortages(&lines, &levels);
                if unavailable.is_empty() {
                    // Stock arrived between the attempt and the read: try again.
                    continue;
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
                return Ok(outcome);
            }
        }
    }
    Err(WorkerError::Contended(order.order_id))
}

/// `OrderCancelled`: release the order's reservation, once.
///
/// # Errors
/// [`WorkerError`].
pub async fn on_order_cancelled<S: InventoryStore>(
    store: &S,
    event: &Consumed,
    order: &OrderCancelled,
) -> Result<Outcome, WorkerError> {
    for _ in 0..ATTEMPTS {
        let Some(reservation) = store.reservation(order.order_id).await? else {
            match store.close_unreserved(event, order.order_id).await? {
                Some(done) => return Ok(applied(done, Outcome::NothingToRelease)),
                None => continue,
            }
        };
        if reservation.status != ReservationStatus::Reserved {
            return Ok(applied(
                store.acknowledge(event).await?,
                Outcome::NothingToRelease,
            ));
        }
        let released = EventEnvelope::new(
            StockReleased {
                order_id: order.order_id,
                lines: reservation.lines.clone(),
            },
            Trace::caused_by(event),
        );
        match store.release(event, &reservation, &released).await? {
            Some(done) => {
                tracing::info!(order_id = %order.order_id, "reservation released");
                return Ok(applied(done, Outcome::Released));
            }
            None => continue,
        }
    }
    Err(WorkerError::Contended(order.order_id))
}

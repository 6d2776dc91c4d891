//! What the inventory use cases need from storage, one trait per capability: inventory-api takes
//! [`StockLevels`] and [`StockAdjustments`], inventory-worker [`StockLevels`], [`Reservations`]
//! and [`Inbox`], each exactly what its IAM policy allows. Each write that consumes an event
//! takes that event and records its inbox marker in the same transaction; each that publishes
//! takes the outgoing envelope and writes it to the outbox in that transaction too.

use std::future::Future;

use shared::envelope::EventEnvelope;
use shared::events::{
    DomainEvent, StockLine, StockReleased, StockReservationFailed, StockReserved,
};
use uuid::Uuid;

use crate::domain::{Reservation, StockChange, StockChangeError, StockLevel};

/// The event being consumed.
pub type Consumed = EventEnvelope<DomainEvent>;

/// Outcome of a write that consumes an event.
pub use shared::dynamo::Applied;

/// Outcome of one reservation attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum ReserveAttempt {
    /// Every line was reserved; `StockReserved` is in the outbox.
    Reserved,
    /// Some line's condition failed; nothing was written.
    Short,
    /// The order already has a reservation record (for example it was cancelled before this
    /// `OrderPlaced` arrived): nothing reserved, inbox marker written.
    OrderClosed,
    /// A concurrent transaction touched the same items; try again.
    Conflict,
    AlreadyProcessed,
}

/// Why an operator's stock change failed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeStockError {
    #[error("no stock record for this product")]
    NotFound,
    #[error(transparent)]
    Refused(#[from] StockChangeError),
    /// The level changed between read and write (a reservation, say); try again.
    #[error("stock changed concurrently")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Reading a product's stock: both functions (IAM `GetItem`).
pub trait StockLevels: Send + Sync {
    /// The stock of `product_id`, if it has a record.
    fn stock(
        &self,
        product_id: Uuid,
    ) -> impl Future<Output = anyhow::Result<Option<StockLevel>>> + Send;
}

/// The operator's stock changes: inventory-api (IAM `UpdateItem`).
pub trait StockAdjustments: Send + Sync {
    /// Applies `change` if the level is still `current` (optimistic), returning the new level.
    fn change_stock(
        &self,
        current: &StockLevel,
        change: StockChange,
    ) -> impl Future<Output = Result<StockLevel, ChangeStockError>> + Send;
}

/// The saga's steps on stock and reservations: inventory-worker (IAM `GetItem`, and `PutItem`
/// and `UpdateItem` inside `TransactWriteItems`). Each step records the consumed event's inbox
/// marker in its transaction.
pub trait Reservations: Send + Sync {
    /// Creates a zero stock record for a new product (no-op if one exists).
    fn add_product(
        &self,
        event: &Consumed,
        product_id: Uuid,
    ) -> impl Future<Output = anyhow::Result<Applied>> + Send;

    /// Reserves every line (each conditional on `available >= quantity`), creates the
    /// reservation record and publishes `reserved`, in one transaction.
    fn try_reserve(
        &self,
        event: &Consumed,
        lines: &[StockLine],
        reserved: &EventEnvelope<StockReserved>,
    ) -> impl Future<Output = anyhow::Result<ReserveAttempt>> + Send;

    /// Records a failed reservation and publishes `failed`.
    fn record_failure(
        &self,
        event: &Consumed,
        failed: &EventEnvelope<StockReservationFailed>,
    ) -> impl Future<Output = anyhow::Result<Applied>> + Send;

    /// The reservation record of `order_id`.
    fn reservation(
        &self,
        order_id: Uuid,
    ) -> impl Future<Output = anyhow::Result<Option<Reservation>>> + Send;

    /// Returns a `Reserved` reservation's lines to available stock, marks it released and
    /// publishes `released`. `Ok(None)` when the reservation changed concurrently.
    fn release(
        &self,
        event: &Consumed,
        reservation: &Reservation,
        released: &EventEnvelope<StockReleased>,
    ) -> impl Future<Output = anyhow::Result<Option<Applied>>> + Send;

    /// Closes an order that has no reservation yet (cancelled before `OrderPlaced` arrived), so
    /// a late `OrderPlaced` reserves nothing. `Ok(None)` when a reservation appeared meanwhile.
    fn close_unreserved(
        &self,
        event: &Consumed,
        order_id: Uuid,
    ) -> impl Future<Output = anyhow::Result<Option<Applied>>> + Send;
}

/// Acknowledging an event that needs no change: inventory-worker (IAM `PutItem` inside
/// `TransactWriteItems`).
pub trait Inbox: Send + Sync {
    /// Records only the inbox marker of `event`.
    fn acknowledge(&self, event: &Consumed)
    -> impl Future<Output = anyhow::Result<Applied>> + Send;
}

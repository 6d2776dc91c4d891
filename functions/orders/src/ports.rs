//! What the order use cases need, one trait per capability: storage of orders, price snapshots
//! and idempotency keys (one table), and a payment gateway. orders-api takes [`Orders`],
//! [`Checkout`], [`OrderHistory`] and a [`PaymentGateway`] (to refund a cancelled order);
//! orders-worker [`Orders`], [`PriceSnapshots`], [`Inbox`] and a [`PaymentGateway`]. Each set is
//! exactly what the function's IAM policy allows.

use std::collections::HashMap;
use std::future::Future;

use shared::envelope::EventEnvelope;
use shared::events::{
    DomainEvent, OrderCancelled, OrderConfirmed, OrderPlaced, OrderRefunded, OrderRejected,
};
use shared::money::Money;
use shared::pagination::{KeyPage, StartKey};
use uuid::Uuid;

use crate::domain::{IdempotencyKey, Order, PaymentToken};

/// The event being consumed.
pub type Consumed = EventEnvelope<DomainEvent>;

/// Outcome of a write that consumes an event.
pub use shared::dynamo::Applied;

/// The orders service's copy of a product's price, kept from product events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceSnapshot {
    pub product_id: Uuid,
    /// The selling price; `None` once the product is archived (not sold any more).
    pub price: Option<Money>,
    /// The product version it reflects; older events never overwrite newer ones.
    pub version: u64,
}

/// A stored idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    pub order_id: Uuid,
    pub fingerprint: String,
}

/// Why a new order was not stored.
#[derive(Debug, thiserror::Error)]
pub enum CreateOrderError {
    /// The idempotency key was taken by a concurrent request.
    #[error("idempotency key already used")]
    KeyTaken,
    /// A concurrent transaction touched the same items (the same key, in flight); nothing was
    /// written and trying again may succeed.
    #[error("order creation conflicted with a concurrent write")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a lookup found no answer.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The table could not serve the read now (throttled, still after backing off): the answer
    /// is unknown, which is never the same as "not there". The caller retries later.
    #[error("temporarily unavailable: {0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a transition was not stored.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    /// The order changed since it was read.
    #[error("order changed concurrently")]
    Stale,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The event published with a transition.
#[derive(Debug)]
pub enum Outgoing<'a> {
    Confirmed(&'a EventEnvelope<OrderConfirmed>),
    Rejected(&'a EventEnvelope<OrderRejected>),
    Cancelled(&'a EventEnvelope<OrderCancelled>),
    Refunded(&'a EventEnvelope<OrderRefunded>),
}

/// Orders by id, moved through the state machine: both functions (IAM `GetItem`, and `PutItem`
/// inside `TransactWriteItems`).
pub trait Orders: Send + Sync {
    /// An order by id.
    fn get(&self, order_id: Uuid) -> impl Future<Output = anyhow::Result<Option<Order>>> + Send;

    /// Replaces `before` (same version as stored) with `after` and publishes `event`, with the
    /// inbox marker of `consumed` when a worker does it.
    fn transition(
        &self,
        before: &Order,
        after: &Order,
        consumed: Option<&Consumed>,
        event: Outgoing<'_>,
    ) -> impl Future<Output = Result<Applied, TransitionError>> + Send;
}

/// Placing an order: orders-api (IAM `BatchGetItem` for the prices, `GetItem` for the key,
/// `PutItem` inside `TransactWriteItems`).
pub trait Checkout: Send + Sync {
    /// Prices of the active products among `product_ids`: a product missing from the answer is
    /// known not to be for sale.
    fn active_prices(
        &self,
        product_ids: &[Uuid],
    ) -> impl Future<Output = Result<HashMap<Uuid, Money>, LookupError>> + Send;

    /// What `customer_id` already placed with `key`.
    fn stored_key(
        &self,
        customer_id: Uuid,
        key: &str,
    ) -> impl Future<Output = anyhow::Result<Option<StoredKey>>> + Send;

    /// Stores a new order, its idempotency key and `OrderPlaced`, atomically.
    fn create(
        &self,
        order: &Order,
        key: &IdempotencyKey,
        event: &EventEnvelope<OrderPlaced>,
    ) -> impl Future<Output = Result<(), CreateOrderError>> + Send;
}

/// A customer's orders, for reading: orders-api (IAM `Query` on the `by-customer` index).
pub trait OrderHistory: Send + Sync {
    /// A customer's orders, newest first, from `start` (a key a previous page ended with).
    fn list_for_customer(
        &self,
        customer_id: Uuid,
        limit: i32,
        start: Option<StartKey>,
    ) -> impl Future<Output = anyhow::Result<KeyPage<Order>>> + Send;
}

/// The price snapshots kept from product events: orders-worker (IAM `UpdateItem` inside
/// `TransactWriteItems`).
pub trait PriceSnapshots: Send + Sync {
    /// Stores `snapshot` unless a newer version is stored, with the event's inbox marker.
    fn apply_snapshot(
        &self,
        event: &Consumed,
        snapshot: PriceSnapshot,
    ) -> impl Future<Output = anyhow::Result<Applied>> + Send;
}

/// Acknowledging an event that needs no change: orders-worker (IAM `PutItem` inside
/// `TransactWriteItems`).
pub trait Inbox: Send + Sync {
    /// Records only the inbox marker of `consumed`.
    fn acknowledge(
        &self,
        consumed: &Consumed,
    ) -> impl Future<Output = anyhow::Result<Applied>> + Send;
}

/// A successful charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    pub payment_id: String,
}

/// Why a charge or refund did not go through.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The card was declined: final.
    #[error("payment declined: {0}")]
    Declined(String),
    /// The gateway could not answer: retry later.
    #[error("payment gateway unavailable")]
    Transient(#[source] anyhow::Error),
    /// The gateway answered something that cannot be read (a malformed record): never taken
    /// for an outcome, so whoever asked fails and it is looked at.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

/// Takes and gives back money. Both calls are idempotent per order: a retried charge returns the
/// first charge's outcome, a retried refund refunds nothing more.
pub trait PaymentGateway: Send + Sync {
    fn charge(
        &self,
        order_id: Uuid,
        amount: Money,
        token: &PaymentToken,
    ) -> impl Future<Output = Result<Charge, PaymentError>> + Send;

    fn refund(
        &self,
        order_id: Uuid,
        amount: Money,
    ) -> impl Future<Output = Result<(), PaymentError>> + Send;
}

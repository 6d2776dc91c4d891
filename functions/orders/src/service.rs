//! The order use cases: placing, reading and cancelling orders, and the saga steps the worker
//! runs. Every state change goes through [`decide`].

use std::future::Future;
use std::sync::OnceLock;

use chrono::Utc;
use shared::envelope::{EventEnvelope, Trace};
use shared::events::{
    OrderCancelled, OrderConfirmed, OrderPlaced, OrderRefunded, OrderRejected, Shortage,
};
use shared::metrics::{self, Unit, names};
use shared::pagination::{KeyPage, StartKey};
use shared::retry::{Backoff, Retry};
use uuid::Uuid;

use crate::domain::{
    Decision, Effect, IdempotencyKey, NewOrderLine, Order, OrderError, OrderState, PaymentToken,
    Trigger, check_lines, decide, price_lines,
};
use crate::ports::{
    Applied, Checkout, Consumed, CreateOrderError, Inbox, LookupError, OrderHistory, Orders,
    Outgoing, PaymentError, PaymentGateway, PriceSnapshot, PriceSnapshots, TransitionError,
};

/// Runs `attempt` until it stops losing races (`Ok(None)`: lost one, nothing written), waiting
/// a jittered, growing time between tries ([`Backoff::CONTENTION`]): contenders that retried at
/// once would collide again. `exhausted` is the error once every attempt lost.
async fn contended<T, E, F, Fut>(exhausted: impl FnOnce() -> E, mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, E>>,
{
    Backoff::CONTENTION
        .run(|_| {
            let attempt = attempt();
            async move {
                match attempt.await {
                    Ok(Some(value)) => Retry::Done(Ok(value)),
                    Ok(None) => Retry::Again(()),
                    Err(err) => Retry::Done(Err(err)),
                }
            }
        })
        .await
        .unwrap_or_else(|()| Err(exhausted()))
}

/// Why an order was not placed.
#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    /// The key was used before with another body.
    #[error("Idempotency-Key was already used for a different request")]
    KeyReused,
    #[error(transparent)]
    Invalid(#[from] OrderError),
    /// Nothing is wrong with the request, but it cannot be answered now (the reason is for
    /// logs): the caller retries later.
    #[error("temporarily unavailable: {0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<LookupError> for PlaceOrderError {
    fn from(err: LookupError) -> Self {
        match err {
            LookupError::Unavailable(why) => Self::Unavailable(why),
            LookupError::Unexpected(err) => Self::Unexpected(err),
        }
    }
}

/// Why an order could not be read or cancelled.
#[derive(Debug, thiserror::Error)]
pub enum OrderAccessError {
    /// No such order, or someone else's.
    #[error("order not found")]
    NotFound,
    #[error("{0}")]
    Refused(&'static str),
    /// The order kept changing under the request: the caller retries later.
    #[error("temporarily unavailable: {0}")]
    Unavailable(&'static str),
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why the worker could not handle an event: the record is retried, then dead-lettered.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("event for unknown order {0}")]
    UnknownOrder(Uuid),
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error("kept losing races on order {0}")]
    Contended(Uuid),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Places an order, or returns the order this key already placed (`false`: not new).
///
/// # Errors
/// See [`PlaceOrderError`].
pub async fn place_order<R: Orders + Checkout>(
    repo: &R,
    customer_id: Uuid,
    key: &IdempotencyKey,
    lines: &[NewOrderLine],
    token: PaymentToken,
    trace: Trace,
) -> Result<(Order, bool), PlaceOrderError> {
    // Every bound of the request before any I/O: a request that cannot be placed costs no read
    // and gets the same answer whatever the table holds.
    check_lines(lines)?;
    let ids: Vec<Uuid> = lines.iter().map(|l| l.product_id).collect();
    // Both reads at once: one round trip before the write instead of two (orders-api's cold
    // start and latency in `make bench`). A replay still wins over whatever pricing says.
    let (replayed, prices) = tokio::join!(replay(repo, customer_id, key), repo.active_prices(&ids));
    if let Some(order) = replayed? {
        return Ok((order, false));
    }
    let (priced, total) = price_lines(lines, &prices?)?;
    let now = Utc::now();
    let order = Order {
        id: Uuid::new_v4(),
        customer_id,
        lines: priced,
        total,
        state: OrderState::Pending,
        payment_token: token,
        refunded: None,
        placed_at: now,
        updated_at: now,
        version: 1,
    };
    let event = EventEnvelope::new(
        OrderPlaced {
            order_id: order.id,
            customer_id,
            lines: order.lines.clone(),
            total,
            placed_at: now,
        },
        trace,
    );
    let (order_ref, event_ref) = (&order, &event);
    // A conflict means a concurrent request with this key is writing: nothing of ours was
    // written, so try again; the next attempt creates the order or finds the key taken.
    let created = contended(
        || PlaceOrderError::Unavailable("order creation kept conflicting"),
        move || async move {
            match repo.create(order_ref, key, event_ref).await {
                Ok(()) => Ok(Some(true)),
                Err(CreateOrderError::KeyTaken) => Ok(Some(false)),
                Err(CreateOrderError::Conflict) => Ok(None),
                Err(CreateOrderError::Unexpected(err)) => Err(PlaceOrderError::from(err)),
            }
        },
    )
    .await?;
    if created {
        tracing::info!(order_id = %order.id, total = %order.total, "order placed");
        metrics::count(names::ORDERS_PLACED);
        return Ok((order, true));
    }
    // A concurrent request with the same key won: answer as it did (or 422 for another body).
    match replay(repo, customer_id, key).await? {
        Some(order) => Ok((order, false)),
        None => Err(anyhow::anyhow!("idempotency key taken but not readable").into()),
    }
}

async fn replay<R: Orders + Checkout>(
    repo: &R,
    customer_id: Uuid,
    key: &IdempotencyKey,
) -> Result<Option<Order>, PlaceOrderError> {
    let Some(stored) = repo.stored_key(customer_id, &key.key).await? else {
        return Ok(None);
    };
    if stored.fingerprint != key.fingerprint {
        return Err(PlaceOrderError::KeyReused);
    }
    repo.get(stored.order_id).await?.map(Some).ok_or_else(|| {
        anyhow::anyhow!(
            "idempotency key points at missing order {}",
            stored.order_id
        )
        .into()
    })
}

/// The caller's order.
///
/// # Errors
/// [`OrderAccessError::NotFound`] also for someone else's order.
pub async fn get_order<R: Orders>(
    repo: &R,
    customer_id: Uuid,
    order_id: Uuid,
) -> Result<Order, OrderAccessError> {
    repo.get(order_id)
        .await?
        .filter(|order| order.customer_id == customer_id)
        .ok_or(OrderAccessError::NotFound)
}

/// The caller's orders, newest first, from `start` (where the previous page ended).
///
/// # Errors
/// Storage errors.
pub async fn list_orders<R: OrderHistory>(
    repo: &R,
    customer_id: Uuid,
    limit: i32,
    start: Option<StartKey>,
) -> anyhow::Result<KeyPage<Order>> {
    repo.list_for_customer(customer_id, limit, start).await
}

fn cancelled_event(order: &Order, trace: Trace) -> EventEnvelope<OrderCancelled> {
    let reason = match order.state {
        OrderState::Cancelled(reason) => reason,
        _ => shared::events::CancellationReason::Customer,
    };
    EventEnvelope::new(
        OrderCancelled {
            order_id: order.id,
            customer_id: order.customer_id,
            reason,
            lines: order.lines.clone(),
            total: order.total,
            refunded: order.refunded,
        },
        trace,
    )
}

fn refunded_event(order: &Order, trace: Trace) -> EventEnvelope<OrderRefunded> {
    EventEnvelope::new(
        OrderRefunded {
            order_id: order.id,
            customer_id: order.customer_id,
            lines: order.lines.clone(),
            total: order.total,
            refunded: order.refunded.unwrap_or(order.total),
        },
        trace,
    )
}

fn moved(before: &Order, state: OrderState, effects: &[Effect]) -> Order {
    Order {
        state,
        refunded: if effects.contains(&Effect::Refund) {
            Some(before.total)
        } else {
            before.refunded
        },
        updated_at: Utc::now(),
        version: before.version + 1,
        ..before.clone()
    }
}

/// Cancels the caller's order (PENDING or CONFIRMED), refunding a charge, and publishes
/// `OrderCancelled`. Cancelling a cancelled order returns it unchanged.
///
/// # Errors
/// See [`OrderAccessError`].
pub async fn cancel_order<R: Orders, G: PaymentGateway>(
    repo: &R,
    gateway: &G,
    customer_id: Uuid,
    order_id: Uuid,
    trace: Trace,
) -> Result<Order, OrderAccessError> {
    let trace = &trace;
    contended(
        || OrderAccessError::Unavailable("the order kept changing while being cancelled"),
        move || cancel_once(repo, gateway, customer_id, order_id, trace),
    )
    .await
}

/// One attempt of [`cancel_order`]; `Ok(None)` when the order changed since it was read.
async fn cancel_once<R: Orders, G: PaymentGateway>(
    repo: &R,
    gateway: &G,
    customer_id: Uuid,
    order_id: Uuid,
    trace: &Trace,
) -> Result<Option<Order>, OrderAccessError> {
    let order = get_order(repo, customer_id, order_id).await?;
    match decide(order.state, Trigger::CustomerCancels) {
        Decision::Become(next, effects) => {
            if effects.contains(&Effect::Refund) {
                gateway.refund(order.id, order.total).await?;
            }
            let after = moved(&order, next, effects);
            let event = cancelled_event(&after, trace.clone());
            match repo
                .transition(&order, &after, None, Outgoing::Cancelled(&event))
                .await
            {
                Ok(_) => {
                    tracing::info!(%order_id, refunded = after.refunded.is_some(), "order cancelled by customer");
                    if order.state == OrderState::Pending {
                        saga_ended(&order, &[names::ORDERS_CANCELLED]);
                    } else {
                        metrics::count(names::ORDERS_CANCELLED);
                    }
                    Ok(Some(after))
                }
                Err(TransitionError::Stale) => Ok(None),
                Err(TransitionError::Unexpected(err)) => Err(err.into()),
            }
        }
        Decision::Ignore => Ok(Some(order)),
        Decision::Refuse(why) => Err(OrderAccessError::Refused(why)),
        other => {
            Err(anyhow::anyhow!("unexpected decision {other:?} for a customer cancellation").into())
        }
    }
}

/// Counts an order's move out of PENDING (once: only a transition this call applied) with
/// `outcomes`, and the saga's duration from placement to now.
fn saga_ended(order: &Order, outcomes: &[&str]) {
    let took = (Utc::now() - order.placed_at).num_milliseconds().max(0);
    #[allow(clippy::cast_precision_loss)] // milliseconds stay far below 2^52
    let took = took as f64;
    let mut values: Vec<(&str, Unit, f64)> = outcomes
        .iter()
        .map(|name| (*name, Unit::Count, 1.0))
        .collect();
    values.push((names::SAGA_DURATION, Unit::Milliseconds, took));
    metrics::emit(&values);
}

/// A product event: update the price snapshot.
///
/// # Errors
/// [`WorkerError::Unexpected`].
pub async fn on_product_event<R: PriceSnapshots>(
    repo: &R,
    consumed: &Consumed,
    snapshot: PriceSnapshot,
) -> Result<Applied, WorkerError> {
    Ok(repo.apply_snapshot(consumed, snapshot).await?)
}

/// What the worker did with a saga event, for logs and tests.
#[derive(Debug, PartialEq, Eq)]
pub enum SagaOutcome {
    Confirmed,
    PaymentDeclined,
    Rejected,
    Refunded,
    Ignored,
    Duplicate,
}

fn done(applied: Applied, outcome: SagaOutcome) -> SagaOutcome {
    match applied {
        Applied::Done => outcome,
        Applied::AlreadyProcessed => SagaOutcome::Duplicate,
    }
}

/// `StockReserved`: charge, then confirm, or cancel on a decline. A charge is idempotent per
/// order, so a redelivered or concurrent `StockReserved` never charges twice.
///
/// # Errors
/// [`WorkerError`]; a transient payment failure is retried through SQS.
pub async fn on_stock_reserved<R: Orders + Inbox, G: PaymentGateway>(
    repo: &R,
    gateway: &G,
    consumed: &Consumed,
    order_id: Uuid,
) -> Result<SagaOutcome, WorkerError> {
    // The charge's outcome, once known: a retry after a lost race decides on it again instead
    // of charging again.
    let payment = &OnceLock::new();
    contended(
        || WorkerError::Contended(order_id),
        move || reserved_once(repo, gateway, consumed, order_id, payment),
    )
    .await
}

/// One attempt of [`on_stock_reserved`]; `Ok(None)` when the order changed since it was read.
async fn reserved_once<R: Orders + Inbox, G: PaymentGateway>(
    repo: &R,
    gateway: &G,
    consumed: &Consumed,
    order_id: Uuid,
    payment: &OnceLock<Trigger>,
) -> Result<Option<SagaOutcome>, WorkerError> {
    let order = repo
        .get(order_id)
        .await?
        .ok_or(WorkerError::UnknownOrder(order_id))?;
    let trigger = payment.get().copied().unwrap_or(Trigger::StockReserved);
    let decision = match decide(order.state, trigger) {
        Decision::Charge => {
            let outcome = match gateway
                .charge(order.id, order.total, &order.payment_token)
                .await
            {
                Ok(charge) => {
                    tracing::info!(%order_id, payment_id = charge.payment_id, "payment approved");
                    Trigger::PaymentApproved
                }
                Err(PaymentError::Declined(reason)) => {
                    tracing::info!(%order_id, reason, "payment declined");
                    Trigger::PaymentDeclined
                }
                Err(err) => return Err(err.into()),
            };
            let outcome = *payment.get_or_init(|| outcome);
            decide(order.state, outcome)
        }
        other => other,
    };
    match decision {
        Decision::Become(next, effects) => {
            let after = moved(&order, next, effects);
            let trace = Trace::caused_by(consumed);
            let result = match next {
                OrderState::Confirmed => {
                    let event = EventEnvelope::new(
                        OrderConfirmed {
                            order_id,
                            customer_id: order.customer_id,
                            lines: order.lines.clone(),
                            total: order.total,
                        },
                        trace,
                    );
                    repo.transition(&order, &after, Some(consumed), Outgoing::Confirmed(&event))
                        .await
                }
                _ => {
                    let event = cancelled_event(&after, trace);
                    repo.transition(&order, &after, Some(consumed), Outgoing::Cancelled(&event))
                        .await
                }
            };
            match result {
                Ok(applied) => {
                    let outcome = if next == OrderState::Confirmed {
                        SagaOutcome::Confirmed
                    } else {
                        SagaOutcome::PaymentDeclined
                    };
                    let outcome = done(applied, outcome);
                    match outcome {
                        SagaOutcome::Confirmed => saga_ended(&order, &[names::ORDERS_CONFIRMED]),
                        SagaOutcome::PaymentDeclined => {
                            saga_ended(&order, &[names::ORDERS_CANCELLED, names::PAYMENTS_DECLINED])
                        }
                        _ => {}
                    }
                    Ok(Some(outcome))
                }
                Err(TransitionError::Stale) => Ok(None),
                Err(TransitionError::Unexpected(err)) => Err(err.into()),
            }
        }
        Decision::Compensate(effects) => {
            // One charge per order, so one refund: an order that records a refund already (its
            // cancellation gave this same charge back) has nothing left to return or announce.
            if order.refunded.is_some() {
                return Ok(Some(done(
                    repo.acknowledge(consumed).await?,
                    SagaOutcome::Ignored,
                )));
            }
            if effects.contains(&Effect::Refund) {
                gateway.refund(order.id, order.total).await?;
                tracing::warn!(%order_id, state = order.state.status(), "charge arrived after the order stopped waiting for it; refunded");
            }
            // The refund is recorded on the order and announced with the event's inbox marker,
            // so a redelivery neither records nor announces it twice. Should this write fail
            // after the refund, the redelivery finds the order ended and charges nothing; the
            // money is back but the order does not show it (the error is logged with the order).
            let after = moved(&order, order.state, effects);
            let event = refunded_event(&after, Trace::caused_by(consumed));
            match repo
                .transition(&order, &after, Some(consumed), Outgoing::Refunded(&event))
                .await
            {
                Ok(applied) => Ok(Some(done(applied, SagaOutcome::Refunded))),
                Err(TransitionError::Stale) => Ok(None),
                Err(TransitionError::Unexpected(err)) => Err(err
                    .context(format!("recording the refund of order {order_id}"))
                    .into()),
            }
        }
        Decision::Ignore | Decision::Refuse(_) => Ok(Some(done(
            repo.acknowledge(consumed).await?,
            SagaOutcome::Ignored,
        ))),
        Decision::Charge => {
            Err(anyhow::anyhow!("charge decided twice for order {order_id}").into())
        }
    }
}

/// `StockReservationFailed`: reject the order with the shortages.
///
/// # Errors
/// [`WorkerError`].
pub async fn on_stock_short<R: Orders + Inbox>(
    repo: &R,
    consumed: &Consumed,
    order_id: Uuid,
    unavailable: &[Shortage],
) -> Result<SagaOutcome, WorkerError> {
    contended(
        || WorkerError::Contended(order_id),
        move || short_once(repo, consumed, order_id, unavailable),
    )
    .await
}

/// One attempt of [`on_stock_short`]; `Ok(None)` when the order changed since it was read.
async fn short_once<R: Orders + Inbox>(
    repo: &R,
    consumed: &Consumed,
    order_id: Uuid,
    unavailable: &[Shortage],
) -> Result<Option<SagaOutcome>, WorkerError> {
    let order = repo
        .get(order_id)
        .await?
        .ok_or(WorkerError::UnknownOrder(order_id))?;
    match decide(order.state, Trigger::StockShort) {
        Decision::Become(next @ OrderState::Rejected(reason), effects) => {
            let after = moved(&order, next, effects);
            let event = EventEnvelope::new(
                OrderRejected {
                    order_id,
                    customer_id: order.customer_id,
                    reason,
                    lines: order.lines.clone(),
                    total: order.total,
                    unavailable: unavailable.to_vec(),
                },
                Trace::caused_by(consumed),
            );
            match repo
                .transition(&order, &after, Some(consumed), Outgoing::Rejected(&event))
                .await
            {
                Ok(applied) => {
                    if applied == Applied::Done {
                        saga_ended(&order, &[names::ORDERS_REJECTED]);
                    }
                    Ok(Some(done(applied, SagaOutcome::Rejected)))
                }
                Err(TransitionError::Stale) => Ok(None),
                Err(TransitionError::Unexpected(err)) => Err(err.into()),
            }
        }
        Decision::Ignore | Decision::Refuse(_) => Ok(Some(done(
            repo.acknowledge(consumed).await?,
            SagaOutcome::Ignored,
        ))),
        other => {
            Err(anyhow::anyhow!("unexpected decision {other:?} on StockReservationFailed").into())
        }
    }
}

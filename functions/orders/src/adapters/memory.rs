//! In-memory fakes with the real adapters' semantics: the orders table (atomic transitions
//! with inbox and outbox, version checks, idempotency keys, snapshots that only move forward)
//! and the payment simulator (same token rules, idempotent per order, counting every call).
//!
//! Each also has knobs for the failures the real ones meet under load, so the use cases' answers
//! to them are tested: transaction conflicts, orders that keep changing, and a gateway that does
//! not answer.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::envelope::EventEnvelope;
use shared::events::OrderPlaced;
use shared::memory::{Countdown, Locked, Outbox};
use shared::money::Money;
use shared::pagination::{KeyPage, StartKey, page_in_memory};
use uuid::Uuid;

use super::dynamodb::{by_customer_key, placed_sort};
use super::payment::{TokenBehaviour, behaviour};
use crate::domain::{IdempotencyKey, Order, PaymentToken};
use crate::ports::{
    Applied, Charge, Checkout, Consumed, CreateOrderError, Inbox, LookupError, OrderHistory,
    Orders, Outgoing, PaymentError, PaymentGateway, PriceSnapshot, PriceSnapshots, StoredKey,
    TransitionError,
};

#[derive(Debug, Default)]
struct State {
    orders: HashMap<Uuid, Order>,
    keys: HashMap<(Uuid, String), StoredKey>,
    prices: HashMap<Uuid, PriceSnapshot>,
    inbox: HashSet<Uuid>,
    outbox: Outbox,
}

/// The orders table in memory.
#[derive(Debug, Default)]
pub struct InMemoryOrderRepository {
    state: Locked<State>,
    /// Creations still to fail with a transaction conflict.
    create_conflicts: Countdown,
    /// Transitions still to find the order changed.
    stale_transitions: Countdown,
    /// Price lookups made, to check what a request reads before it is validated.
    price_lookups: AtomicUsize,
    /// Whether price lookups fail as a throttled table does.
    prices_unavailable: AtomicBool,
}

impl InMemoryOrderRepository {
    /// Events recorded so far: `(type, envelope JSON)`.
    #[must_use]
    pub fn outbox(&self) -> Vec<(String, serde_json::Value)> {
        self.state.read(|s| s.outbox.events())
    }

    /// Test setup: an active product at `price`.
    pub fn put_price(&self, product_id: Uuid, price: Money) {
        if let Ok(mut state) = self.state.lock() {
            state.prices.insert(
                product_id,
                PriceSnapshot {
                    product_id,
                    price: Some(price),
                    version: 1,
                },
            );
        }
    }

    /// The stored snapshot of a product.
    #[must_use]
    pub fn snapshot(&self, product_id: Uuid) -> Option<PriceSnapshot> {
        self.state
            .lock()
            .ok()
            .and_then(|s| s.prices.get(&product_id).copied())
    }

    /// The next `n` creations fail with [`CreateOrderError::Conflict`] and write nothing, as
    /// DynamoDB's `TransactionConflict` does when another request writes the same key.
    pub fn conflict_next_creates(&self, n: u32) {
        self.create_conflicts.arm(n);
    }

    /// The next `n` transitions find the order changed ([`TransitionError::Stale`]).
    pub fn stale_next_transitions(&self, n: u32) {
        self.stale_transitions.arm(n);
    }

    /// While `true`, price lookups fail with [`LookupError::Unavailable`], as the DynamoDB
    /// adapter's do when keys stay unprocessed after backing off.
    pub fn set_prices_unavailable(&self, unavailable: bool) {
        self.prices_unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// How many price lookups were made.
    #[must_use]
    pub fn price_lookups(&self) -> usize {
        self.price_lookups.load(Ordering::SeqCst)
    }
}

impl Orders for InMemoryOrderRepository {
    async fn get(&self, order_id: Uuid) -> anyhow::Result<Option<Order>> {
        Ok(self.state.lock()?.orders.get(&order_id).cloned())
    }

    async fn transition(
        &self,
        before: &Order,
        after: &Order,
        consumed: Option<&Consumed>,
        event: Outgoing<'_>,
    ) -> Result<Applied, TransitionError> {
        let mut state = self.state.lock()?;
        if let Some(consumed) = consumed
            && state.inbox.contains(&consumed.id)
        {
            return Ok(Applied::AlreadyProcessed);
        }
        if self.stale_transitions.take()
            || state.orders.get(&before.id).map(|o| o.version) != Some(before.version)
        {
            return Err(TransitionError::Stale);
        }
        if let Some(consumed) = consumed {
            state.inbox.insert(consumed.id);
        }
        state.orders.insert(after.id, after.clone());
        match event {
            Outgoing::Confirmed(event) => state.outbox.record(event)?,
            Outgoing::Rejected(event) => state.outbox.record(event)?,
            Outgoing::Cancelled(event) => state.outbox.record(event)?,
            Outgoing::Refunded(event) => state.outbox.record(event)?,
        }
        Ok(Applied::Done)
    }
}

impl Checkout for InMemoryOrderRepository {
    async fn active_prices(
        &self,
        product_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Money>, LookupError> {
        self.price_lookups.fetch_add(1, Ordering::SeqCst);
        if self.prices_unavailable.load(Ordering::SeqCst) {
            return Err(LookupError::Unavailable("simulated throttling"));
        }
        let state = self.state.lock()?;
        Ok(product_ids
            .iter()
            .filter_map(|id| {
                state
                    .prices
                    .get(id)
                    .and_then(|p| p.price)
                    .map(|price| (*id, price))
            })
            .collect())
    }

    async fn stored_key(&self, customer_id: Uuid, key: &str) -> anyhow::Result<Option<StoredKey>> {
        Ok(self
            .state
            .lock()?
            .keys
            .get(&(customer_id, key.to_owned()))
            .cloned())
    }

    async fn create(
        &self,
        order: &Order,
        key: &IdempotencyKey,
        event: &EventEnvelope<OrderPlaced>,
    ) -> Result<(), CreateOrderError> {
        if self.create_conflicts.take() {
            return Err(CreateOrderError::Conflict);
        }
        let mut state = self.state.lock()?;
        let slot = (order.customer_id, key.key.clone());
        if state.keys.contains_key(&slot) {
            return Err(CreateOrderError::KeyTaken);
        }
        state.keys.insert(
            slot,
            StoredKey {
                order_id: order.id,
                fingerprint: key.fingerprint.clone(),
            },
        );
        state.orders.insert(order.id, order.clone());
        state.outbox.record(event)?;
        Ok(())
    }
}

impl OrderHistory for InMemoryOrderRepository {
    async fn list_for_customer(
        &self,
        customer_id: Uuid,
        limit: i32,
        start: Option<StartKey>,
    ) -> anyhow::Result<KeyPage<Order>> {
        let after = match start.as_ref().map(|key| key.get("placed_sort")) {
            None => None,
            Some(Some(AttributeValue::S(sort))) => Some(Reverse(sort.clone())),
            Some(_) => anyhow::bail!("start key without placed_sort: {start:?}"),
        };
        let state = self.state.lock()?;
        let mine = state
            .orders
            .values()
            .filter(|order| order.customer_id == customer_id)
            .map(|order| (Reverse(placed_sort(order)), order.clone()));
        Ok(page_in_memory(mine, after.as_ref(), limit, by_customer_key))
    }
}

impl PriceSnapshots for InMemoryOrderRepository {
    async fn apply_snapshot(
        &self,
        event: &Consumed,
        snapshot: PriceSnapshot,
    ) -> anyhow::Result<Applied> {
        let mut state = self.state.lock()?;
        if !state.inbox.insert(event.id) {
            return Ok(Applied::AlreadyProcessed);
        }
        let newer = state
            .prices
            .get(&snapshot.product_id)
            .is_none_or(|stored| stored.version < snapshot.version);
        if newer {
            state.prices.insert(snapshot.product_id, snapshot);
        }
        Ok(Applied::Done)
    }
}

impl Inbox for InMemoryOrderRepository {
    async fn acknowledge(&self, consumed: &Consumed) -> anyhow::Result<Applied> {
        Ok(shared::memory::acknowledge(
            &mut self.state.lock()?.inbox,
            consumed.id,
        ))
    }
}

#[derive(Debug, Default)]
struct Ledger {
    charges: HashMap<Uuid, Result<String, String>>,
    charge_calls: HashMap<Uuid, usize>,
    refunds: HashMap<Uuid, Money>,
    attempts: HashSet<Uuid>,
}

/// The payment simulator in memory.
#[derive(Debug, Default)]
pub struct InMemoryPaymentGateway {
    ledger: Mutex<Ledger>,
    /// Whether every call fails as a gateway that does not answer.
    unavailable: AtomicBool,
    /// Whether charges answer as a charge record that cannot be read.
    unreadable: AtomicBool,
}

impl InMemoryPaymentGateway {
    /// While `true`, every charge and refund fails with [`PaymentError::Transient`] and
    /// changes nothing.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// While `true`, every charge fails with [`PaymentError::Unexpected`], as the simulator's
    /// does for a stored charge record it cannot read.
    pub fn set_unreadable(&self, unreadable: bool) {
        self.unreadable.store(unreadable, Ordering::SeqCst);
    }

    fn check_available(&self) -> Result<(), PaymentError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(PaymentError::Transient(anyhow::anyhow!(
                "simulated gateway outage"
            )));
        }
        Ok(())
    }

    /// Charges actually taken (approved, once per order).
    #[must_use]
    pub fn captured(&self, order_id: Uuid) -> usize {
        self.ledger
            .lock()
            .map(|l| usize::from(matches!(l.charges.get(&order_id), Some(Ok(_)))))
            .unwrap_or(0)
    }

    /// Every charge call for the order, replays included.
    #[must_use]
    pub fn charge_calls(&self, order_id: Uuid) -> usize {
        self.ledger
            .lock()
            .map(|l| l.charge_calls.get(&order_id).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// The refund of the order, if any.
    #[must_use]
    pub fn refunded(&self, order_id: Uuid) -> Option<Money> {
        self.ledger
            .lock()
            .ok()
            .and_then(|l| l.refunds.get(&order_id).copied())
    }
}

impl PaymentGateway for InMemoryPaymentGateway {
    async fn charge(
        &self,
        order_id: Uuid,
        _amount: Money,
        token: &PaymentToken,
    ) -> Result<Charge, PaymentError> {
        self.check_available()?;
        if self.unreadable.load(Ordering::SeqCst) {
            return Err(PaymentError::Unexpected(anyhow::anyhow!(
                "simulated unreadable charge record"
            )));
        }
        let mut ledger = self
            .ledger
            .lock()
            .map_err(|_| PaymentError::Transient(anyhow::anyhow!("poisoned")))?;
        *ledger.charge_calls.entry(order_id).or_insert(0) += 1;
        let rule = behaviour(token.expose());
        if rule == TokenBehaviour::FailOnceThenApprove && ledger.attempts.insert(order_id) {
            return Err(PaymentError::Transient(anyhow::anyhow!(
                "simulated gateway timeout"
            )));
        }
        let outcome = ledger
            .charges
            .entry(order_id)
            .or_insert_with(|| {
                if rule == TokenBehaviour::Decline {
                    Err("card declined".to_owned())
                } else {
                    Ok(format!("pay_{}", Uuid::new_v4().simple()))
                }
            })
            .clone();
        outcome
            .map(|payment_id| Charge { payment_id })
            .map_err(PaymentError::Declined)
    }

    async fn refund(&self, order_id: Uuid, amount: Money) -> Result<(), PaymentError> {
        self.check_available()?;
        let mut ledger = self
            .ledger
            .lock()
            .map_err(|_| PaymentError::Transient(anyhow::anyhow!("poisoned")))?;
        ledger.refunds.entry(order_id).or_insert(amount);
        Ok(())
    }
}

//! The inventory in memory, with the DynamoDB adapter's semantics: every write that consumes an
//! event is all-or-nothing together with its inbox marker, and conditions are checked before
//! anything changes. Tests can make the next conditional writes lose a race
//! ([`InMemoryInventoryStore::lose_races`]), as DynamoDB cancels a transaction that conflicts
//! with a concurrent one, or give reservations a duration during which any other reservation of
//! the same product conflicts ([`InMemoryInventoryStore::take_time_per_reservation`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use shared::envelope::EventEnvelope;
use shared::events::{StockLine, StockReleased, StockReservationFailed, StockReserved};
use shared::memory::{Locked, Outbox};
use uuid::Uuid;

use crate::domain::{Reservation, ReservationStatus, StockChange, StockLevel};
use crate::ports::{
    Applied, ChangeStockError, Consumed, Inbox, Reservations, ReserveAttempt, StockAdjustments,
    StockLevels,
};

#[derive(Debug, Default)]
struct State {
    stock: HashMap<Uuid, StockLevel>,
    reservations: HashMap<Uuid, Reservation>,
    inbox: HashSet<Uuid>,
    outbox: Outbox,
    /// How long a reservation transaction takes, if it is not instantaneous.
    reservation_time: Option<Duration>,
    /// Products a reservation transaction is writing right now.
    in_flight: HashSet<Uuid>,
}

/// Stock, reservations, inbox and outbox in memory.
#[derive(Debug, Default)]
pub struct InMemoryInventoryStore {
    state: Locked<State>,
    /// Conditional writes still to lose a race.
    races_to_lose: AtomicU32,
    /// Conditional writes attempted (a lost race included).
    attempts: AtomicU32,
}

impl InMemoryInventoryStore {
    /// Sets a product's stock directly (test setup).
    pub fn put_stock(&self, product_id: Uuid, available: u32, reserved: u32) {
        if let Ok(mut state) = self.state.lock() {
            state.stock.insert(
                product_id,
                StockLevel {
                    product_id,
                    available,
                    reserved,
                },
            );
        }
    }

    /// Events recorded so far: `(type, envelope JSON)`.
    #[must_use]
    pub fn outbox(&self) -> Vec<(String, serde_json::Value)> {
        self.state.read(|s| s.outbox.events())
    }

    /// Makes the next `count` conditional writes (reservation, release, closing an unreserved
    /// order, an operator's stock change) lose a race without changing anything.
    pub fn lose_races(&self, count: u32) {
        self.races_to_lose.store(count, Ordering::SeqCst);
    }

    /// Makes every later reservation take `time`, during which another reservation of one of
    /// its products loses the race (DynamoDB's `TransactionConflict`) instead of waiting.
    pub fn take_time_per_reservation(&self, time: Duration) {
        if let Ok(mut state) = self.state.lock() {
            state.reservation_time = Some(time);
        }
    }

    /// How many conditional writes were attempted so far, lost races included.
    #[must_use]
    pub fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::SeqCst)
    }

    /// Counts an attempt; `true` when it must lose a race.
    fn loses_race(&self) -> bool {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        self.races_to_lose
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }

    /// The reservation transaction itself, at once.
    fn reserve_now(
        &self,
        event: &Consumed,
        lines: &[StockLine],
        reserved: &EventEnvelope<StockReserved>,
    ) -> anyhow::Result<ReserveAttempt> {
        let mut state = self.state.lock()?;
        if state.inbox.contains(&event.id) {
            return Ok(ReserveAttempt::AlreadyProcessed);
        }
        let covered = lines.iter().all(|line| {
            state
                .stock
                .get(&line.product_id)
                .is_some_and(|s| s.available >= line.quantity)
        });
        if !covered {
            return Ok(ReserveAttempt::Short);
        }
        state.inbox.insert(event.id);
        let order_id = reserved.data.order_id;
        if state.reservations.contains_key(&order_id) {
            return Ok(ReserveAttempt::OrderClosed);
        }
        for line in lines {
            if let Some(stock) = state.stock.get_mut(&line.product_id) {
                stock.available -= line.quantity;
                stock.reserved += line.quantity;
            }
        }
        state.reservations.insert(
            order_id,
            Reservation {
                order_id,
                status: ReservationStatus::Reserved,
                lines: lines.to_vec(),
            },
        );
        state.outbox.record(reserved)?;
        Ok(ReserveAttempt::Reserved)
    }
}

impl StockLevels for InMemoryInventoryStore {
    async fn stock(&self, product_id: Uuid) -> anyhow::Result<Option<StockLevel>> {
        Ok(self.state.lock()?.stock.get(&product_id).copied())
    }
}

impl StockAdjustments for InMemoryInventoryStore {
    async fn change_stock(
        &self,
        current: &StockLevel,
        change: StockChange,
    ) -> Result<StockLevel, ChangeStockError> {
        let available = change.apply(current)?;
        if self.loses_race() {
            return Err(ChangeStockError::Conflict);
        }
        let mut state = self.state.lock()?;
        // As DynamoDB's conditional update: a record that is not there fails the condition on
        // the level read, like one that changed.
        let stored = state
            .stock
            .get_mut(&current.product_id)
            .ok_or(ChangeStockError::Conflict)?;
        if stored != current {
            return Err(ChangeStockError::Conflict);
        }
        stored.available = available;
        Ok(*stored)
    }
}

impl Reservations for InMemoryInventoryStore {
    async fn add_product(&self, event: &Consumed, product_id: Uuid) -> anyhow::Result<Applied> {
        let mut state = self.state.lock()?;
        if !state.inbox.insert(event.id) {
            return Ok(Applied::AlreadyProcessed);
        }
        state.stock.entry(product_id).or_insert(StockLevel {
            product_id,
            available: 0,
            reserved: 0,
        });
        Ok(Applied::Done)
    }

    async fn try_reserve(
        &self,
        event: &Consumed,
        lines: &[StockLine],
        reserved: &EventEnvelope<StockReserved>,
    ) -> anyhow::Result<ReserveAttempt> {
        if self.loses_race() {
            return Ok(ReserveAttempt::Conflict);
        }
        let reservation_time = self.state.lock()?.reservation_time;
        let Some(time) = reservation_time else {
            return self.reserve_now(event, lines, reserved);
        };
        {
            let mut state = self.state.lock()?;
            if lines
                .iter()
                .any(|l| state.in_flight.contains(&l.product_id))
            {
                return Ok(ReserveAttempt::Conflict);
            }
            state.in_flight.extend(lines.iter().map(|l| l.product_id));
        }
        tokio::time::sleep(time).await;
        let result = self.reserve_now(event, lines, reserved);
        let mut state = self.state.lock()?;
        for line in lines {
            state.in_flight.remove(&line.product_id);
        }
        result
    }

    async fn record_failure(
        &self,
        event: &Consumed,
        failed: &EventEnvelope<StockReservationFailed>,
    ) -> anyhow::Result<Applied> {
        let mut state = self.state.lock()?;
        if !state.inbox.insert(event.id) {
            return Ok(Applied::AlreadyProcessed);
        }
        let order_id = failed.data.order_id;
        if let std::collections::hash_map::Entry::Vacant(slot) = state.reservations.entry(order_id)
        {
            slot.insert(Reservation {
                order_id,
                status: ReservationStatus::Failed,
                lines: Vec::new(),
            });
            state.outbox.record(failed)?;
        }
        Ok(Applied::Done)
    }

    async fn reservation(&self, order_id: Uuid) -> anyhow::Result<Option<Reservation>> {
        Ok(self.state.lock()?.reservations.get(&order_id).cloned())
    }

    async fn release(
        &self,
        event: &Consumed,
        reservation: &Reservation,
        released: &EventEnvelope<StockReleased>,
    ) -> anyhow::Result<Option<Applied>> {
        if self.loses_race() {
            return Ok(None);
        }
        let mut state = self.state.lock()?;
        if state.inbox.contains(&event.id) {
            return Ok(Some(Applied::AlreadyProcessed));
        }
        if state
            .reservations
            .get(&reservation.order_id)
            .map(|r| r.status)
            != Some(ReservationStatus::Reserved)
        {
            return Ok(None);
        }
        // Every line's condition first, then the changes: a short line must leave the others
        // untouched, as the DynamoDB transaction does. Lines of one product count together.
        let mut returned: HashMap<Uuid, u32> = HashMap::new();
        for line in &reservation.lines {
            *returned.entry(line.product_id).or_default() += line.quantity;
        }
        for (product_id, quantity) in &returned {
            if state
                .stock
                .get(product_id)
                .is_none_or(|s| s.reserved < *quantity)
            {
                anyhow::bail!("stock of {product_id} holds less than its reservation");
            }
        }
        for (product_id, quantity) in returned {
            if let Some(stock) = state.stock.get_mut(&product_id) {
                stock.reserved -= quantity;
                stock.available += quantity;
            }
        }
        state.inbox.insert(event.id);
        if let Some(record) = state.reservations.get_mut(&reservation.order_id) {
            record.status = ReservationStatus::Released;
        }
        state.outbox.record(released)?;
        Ok(Some(Applied::Done))
    }

    async fn close_unreserved(
        &self,
        event: &Consumed,
        order_id: Uuid,
    ) -> anyhow::Result<Option<Applied>> {
        if self.loses_race() {
            return Ok(None);
        }
        let mut state = self.state.lock()?;
        if state.inbox.contains(&event.id) {
            return Ok(Some(Applied::AlreadyProcessed));
        }
        if state.reservations.contains_key(&order_id) {
            return Ok(None);
        }
        state.inbox.insert(event.id);
        state.reservations.insert(
            order_id,
            Reservation {
                order_id,
                status: ReservationStatus::Released,
                lines: Vec::new(),
            },
        );
        Ok(Some(Applied::Done))
    }
}

impl Inbox for InMemoryInventoryStore {
    async fn acknowledge(&self, event: &Consumed) -> anyhow::Result<Applied> {
        Ok(shared::memory::acknowledge(
            &mut self.state.lock()?.inbox,
            event.id,
        ))
    }
}

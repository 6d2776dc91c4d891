//! The contract of the inventory ports: what every adapter must do, stated once as generic
//! async functions, each over only the ports it exercises. [`contract_tests!`](crate::contract_tests)
//! turns them into one test each; this crate runs them on the memory adapter (`cargo test`), the
//! emulator suite on the DynamoDB adapter, so the fake the handler tests use cannot drift from
//! the real table.
//!
//! Each function starts from an empty store and builds what it needs through the ports alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use chrono::Utc;
use shared::envelope::{EventEnvelope, Trace};
use shared::events::{
    CancellationReason, OrderCancelled, OrderLine, OrderPlaced, StockLine, StockReleased,
    StockReservationFailed, StockReserved,
};
use shared::test_support::{decoded, eur};
use uuid::Uuid;

use crate::domain::{ReservationStatus, StockChange, StockLevel};
use crate::ports::{
    Applied, ChangeStockError, Consumed, Inbox, Reservations, ReserveAttempt, StockAdjustments,
    StockLevels,
};
use crate::service::{self, Outcome};
use crate::worker::handle_event;

fn placed(order_id: Uuid, lines: &[(Uuid, u32)]) -> Consumed {
    decoded(OrderPlaced {
        order_id,
        customer_id: Uuid::new_v4(),
        lines: lines
            .iter()
            .map(|&(product_id, quantity)| OrderLine {
                product_id,
                quantity,
                unit_price: eur(100),
            })
            .collect(),
        total: eur(100),
        placed_at: Utc::now(),
    })
}

fn cancelled(order_id: Uuid) -> Consumed {
    decoded(OrderCancelled {
        order_id,
        customer_id: Uuid::new_v4(),
        reason: CancellationReason::PaymentDeclined,
        lines: vec![],
        total: eur(100),
        refunded: None,
    })
}

fn reserved_event(order_id: Uuid, lines: &[StockLine]) -> EventEnvelope<StockReserved> {
    EventEnvelope::new(
        StockReserved {
            order_id,
            lines: lines.to_vec(),
        },
        Trace::from_request("contract", "contract"),
    )
}

fn line(product_id: Uuid, quantity: u32) -> StockLine {
    StockLine {
        product_id,
        quantity,
    }
}

/// One reservation attempt of `lines` for `order` by `event`, as the worker makes it.
async fn reserve_by<S: Reservations>(
    store: &S,
    event: &Consumed,
    order: Uuid,
    lines: &[(Uuid, u32)],
) -> ReserveAttempt {
    let lines: Vec<StockLine> = lines.iter().map(|&(p, q)| line(p, q)).collect();
    store
        .try_reserve(event, &lines, &reserved_event(order, &lines))
        .await
        .unwrap()
}

/// [`reserve_by`] with the order's own `OrderPlaced`.
async fn reserve<S: Reservations>(store: &S, order: Uuid, lines: &[(Uuid, u32)]) -> ReserveAttempt {
    reserve_by(store, &placed(order, lines), order, lines).await
}

/// Hands every event to the worker at once.
async fn deliver_at_once<S: StockLevels + Reservations + Inbox>(
    store: &S,
    events: Vec<Consumed>,
) -> Vec<Result<Outcome, crate::service::WorkerError>> {
    futures::future::join_all(events.into_iter().map(|event| handle_event(store, event))).await
}

fn count(outcomes: &[Result<Outcome, crate::service::WorkerError>], wanted: &Outcome) -> usize {
    outcomes
        .iter()
        .filter(|o| matches!(o, Ok(outcome) if outcome == wanted))
        .count()
}

/// `ProductCreated` for `product_id`, as the catalog publishes it.
fn product_created(product_id: Uuid) -> Consumed {
    decoded(shared::events::ProductCreated {
        product_id,
        sku: "SKU-1".into(),
        name: "Mug".into(),
        category: "kitchen".into(),
        price: eur(100),
        version: 1,
    })
}

/// A new product with `units` on hand, the way production makes one: `ProductCreated`'s zero
/// record, then the operator's change.
async fn product_with<S: Reservations + StockLevels + StockAdjustments>(
    store: &S,
    units: u32,
) -> Uuid {
    let product_id = Uuid::new_v4();
    let created = product_created(product_id);
    assert_eq!(
        store.add_product(&created, product_id).await.unwrap(),
        Applied::Done
    );
    service::change_stock(store, product_id, StockChange::SetOnHand(units))
        .await
        .unwrap();
    product_id
}

async fn level<S: StockLevels>(store: &S, product_id: Uuid) -> (u32, u32) {
    let level = store.stock(product_id).await.unwrap().unwrap();
    (level.available, level.reserved)
}

/// [`StockLevels`]: a product inventory never heard of has no stock record.
pub async fn a_product_without_a_record_has_no_stock<S: StockLevels>(store: &S) {
    assert_eq!(store.stock(Uuid::new_v4()).await.unwrap(), None);
}

/// [`Reservations::add_product`]: a zero record, once; a record that exists is kept.
pub async fn a_new_product_gets_a_zero_stock_record_and_an_existing_one_is_kept<
    S: Reservations + StockLevels + StockAdjustments,
>(
    store: &S,
) {
    let product_id = Uuid::new_v4();
    let created = product_created(product_id);
    let applied = [
        store.add_product(&created, product_id).await.unwrap(),
        store.add_product(&created, product_id).await.unwrap(),
    ];
    assert_eq!(applied, [Applied::Done, Applied::AlreadyProcessed]);
    assert_eq!(level(store, product_id).await, (0, 0));
    service::change_stock(store, product_id, StockChange::SetOnHand(7))
        .await
        .unwrap();
    let again = product_created(product_id);
    assert_eq!(
        store.add_product(&again, product_id).await.unwrap(),
        Applied::Done
    );
    assert_eq!(level(store, product_id).await, (7, 0), "the record is kept");
}

/// [`StockAdjustments`]: a change applies only to the level it was based on, and never takes
/// stock below what is reserved.
pub async fn a_stock_change_applies_only_to_the_level_it_read_and_never_below_the_reserved<
    S: Reservations + StockLevels + StockAdjustments + Inbox,
>(
    store: &S,
) {
    let product_id = product_with(store, 5).await;
    let read = store.stock(product_id).await.unwrap().unwrap();
    let changed = store
        .change_stock(&read, StockChange::Adjust(2))
        .await
        .unwrap();
    assert_eq!((changed.available, changed.reserved), (7, 0));
    assert!(matches!(
        store.change_stock(&read, StockChange::Adjust(1)).await,
        Err(ChangeStockError::Conflict)
    ));
    assert_eq!(level(store, product_id).await, (7, 0));
    // A product without a record: the level it claims to have read is not there.
    let phantom = StockLevel {
        product_id: Uuid::new_v4(),
        available: 0,
        reserved: 0,
    };
    assert!(matches!(
        store.change_stock(&phantom, StockChange::Adjust(1)).await,
        Err(ChangeStockError::Conflict)
    ));
    assert_eq!(store.stock(phantom.product_id).await.unwrap(), None);

    let order = Uuid::new_v4();
    assert_eq!(
        handle_event(store, placed(order, &[(product_id, 4)]))
            .await
            .unwrap(),
        Outcome::Reserved
    );
    assert!(
        service::change_stock(store, product_id, StockChange::SetOnHand(3))
            .await
            .is_err(),
        "4 units are reserved"
    );
    let level_now = service::change_stock(store, product_id, StockChange::Adjust(2))
        .await
        .unwrap();
    assert_eq!((level_now.available, level_now.reserved), (5, 4));
}

/// [`Reservations::try_reserve`]: every line or none; a product without stock is short.
pub async fn a_reservation_takes_every_line_or_nothing<
    S: Reservations + StockLevels + StockAdjustments,
>(
    store: &S,
) {
    let (plenty, scarce) = (product_with(store, 5).await, product_with(store, 1).await);
    let order = Uuid::new_v4();
    assert_eq!(
        reserve(store, order, &[(plenty, 2), (scarce, 2)]).await,
        ReserveAttempt::Short
    );
    assert_eq!(level(store, plenty).await, (5, 0), "nothing was taken");
    assert_eq!(level(store, scarce).await, (1, 0));
    assert_eq!(store.reservation(order).await.unwrap(), None);

    assert_eq!(
        reserve(store, Uuid::new_v4(), &[(Uuid::new_v4(), 1)]).await,
        ReserveAttempt::Short,
        "a product without a stock record"
    );

    let order = Uuid::new_v4();
    let wanted = [(plenty, 2), (scarce, 1)];
    let event = placed(order, &wanted);
    assert_eq!(
        reserve_by(store, &event, order, &wanted).await,
        ReserveAttempt::Reserved
    );
    assert_eq!(level(store, plenty).await, (3, 2));
    assert_eq!(level(store, scarce).await, (0, 1));
    let reservation = store.reservation(order).await.unwrap().unwrap();
    assert_eq!(reservation.status, ReservationStatus::Reserved);
    assert_eq!(reservation.lines, [line(plenty, 2), line(scarce, 1)]);
    assert_eq!(
        reserve_by(store, &event, order, &wanted).await,
        ReserveAttempt::AlreadyProcessed,
        "a redelivery reserves nothing more"
    );
    assert_eq!(level(store, plenty).await, (3, 2));
}

/// Twenty concurrent single-unit orders against 5 units: exactly 5 reserved, never oversold.
pub async fn twenty_concurrent_reservations_against_stock_5_reserve_exactly_5<
    S: Reservations + StockLevels + StockAdjustments + Inbox,
>(
    store: &S,
) {
    let product = product_with(store, 5).await;
    let orders = (0..20)
        .map(|_| placed(Uuid::new_v4(), &[(product, 1)]))
        .collect();
    let outcomes = deliver_at_once(store, orders).await;
    let counted = [Outcome::Reserved, Outcome::ReservationFailed].map(|o| count(&outcomes, &o));
    assert_eq!(counted, [5, 15], "{outcomes:?}");
    assert_eq!(level(store, product).await, (0, 5));
}

/// One `OrderPlaced` delivered three times at once reserves once.
pub async fn a_duplicated_order_placed_reserves_once<
    S: Reservations + StockLevels + StockAdjustments + Inbox,
>(
    store: &S,
) {
    let product = product_with(store, 5).await;
    let event = placed(Uuid::new_v4(), &[(product, 2)]);
    let outcomes = deliver_at_once(store, vec![event; 3]).await;
    let counted = [Outcome::Reserved, Outcome::Duplicate].map(|o| count(&outcomes, &o));
    assert_eq!(counted, [1, 2], "{outcomes:?}");
    assert_eq!(level(store, product).await, (3, 2));
}

/// [`Reservations::record_failure`]: the order is closed as failed, once; a later placement of
/// it reserves nothing.
pub async fn a_failed_reservation_closes_the_order<
    S: Reservations + StockLevels + StockAdjustments,
>(
    store: &S,
) {
    let product = product_with(store, 5).await;
    let order = Uuid::new_v4();
    let event = placed(order, &[(product, 9)]);
    let failed = EventEnvelope::new(
        StockReservationFailed {
            order_id: order,
            unavailable: vec![],
        },
        Trace::caused_by(&event),
    );
    assert_eq!(
        store.record_failure(&event, &failed).await.unwrap(),
        Applied::Done
    );
    assert_eq!(
        store.record_failure(&event, &failed).await.unwrap(),
        Applied::AlreadyProcessed
    );
    let reservation = store.reservation(order).await.unwrap().unwrap();
    assert_eq!(
        (reservation.status, reservation.lines.len()),
        (ReservationStatus::Failed, 0)
    );
    assert_eq!(
        reserve(store, order, &[(product, 1)]).await,
        ReserveAttempt::OrderClosed
    );
    assert_eq!(level(store, product).await, (5, 0));
}

/// [`Reservations::close_unreserved`]: a cancellation that overtakes its placement closes the
/// order, so the late placement reserves nothing; it never closes a reserved order.
pub async fn an_order_cancelled_before_its_placement_reserves_nothing<
    S: Reservations + StockLevels + StockAdjustments,
>(
    store: &S,
) {
    let product = product_with(store, 5).await;
    let order = Uuid::new_v4();
    let cancel = cancelled(order);
    assert_eq!(
        store.close_unreserved(&cancel, order).await.unwrap(),
        Some(Applied::Done)
    );
    assert_eq!(
        store.close_unreserved(&cancel, order).await.unwrap(),
        Some(Applied::AlreadyProcessed)
    );
    assert_eq!(
        store.reservation(order).await.unwrap().unwrap().status,
        ReservationStatus::Released
    );
    let late = placed(order, &[(product, 2)]);
    assert_eq!(
        reserve_by(store, &late, order, &[(product, 2)]).await,
        ReserveAttempt::OrderClosed
    );
    assert_eq!(
        reserve_by(store, &late, order, &[(product, 2)]).await,
        ReserveAttempt::AlreadyProcessed
    );
    assert_eq!(level(store, product).await, (5, 0));

    let reserved_order = Uuid::new_v4();
    assert_eq!(
        reserve(store, reserved_order, &[(product, 1)]).await,
        ReserveAttempt::Reserved
    );
    assert_eq!(
        store
            .close_unreserved(&cancelled(reserved_order), reserved_order)
            .await
            .unwrap(),
        None,
        "a reservation exists"
    );
}

/// [`Reservations::release`]: a reserved order's lines go back once; a reservation no longer
/// reserved is not released again.
pub async fn a_release_returns_the_reserved_lines_once<
    S: Reservations + StockLevels + StockAdjustments,
>(
    store: &S,
) {
    let product = product_with(store, 5).await;
    let order = Uuid::new_v4();
    let lines = [line(product, 4)];
    assert_eq!(
        reserve(store, order, &[(product, 4)]).await,
        ReserveAttempt::Reserved
    );
    let reservation = store.reservation(order).await.unwrap().unwrap();
    let cancel = cancelled(order);
    let released = EventEnvelope::new(
        StockReleased {
            order_id: order,
            lines: lines.to_vec(),
        },
        Trace::caused_by(&cancel),
    );
    assert_eq!(
        store
            .release(&cancel, &reservation, &released)
            .await
            .unwrap(),
        Some(Applied::Done)
    );
    assert_eq!(level(store, product).await, (5, 0));
    assert_eq!(
        store.reservation(order).await.unwrap().unwrap().status,
        ReservationStatus::Released
    );
    assert_eq!(
        store
            .release(&cancel, &reservation, &released)
            .await
            .unwrap(),
        Some(Applied::AlreadyProcessed)
    );
    assert_eq!(
        store
            .release(&cancelled(order), &reservation, &released)
            .await
            .unwrap(),
        None,
        "released already"
    );
    assert_eq!(level(store, product).await, (5, 0));
}

/// [`Inbox`]: an event is acknowledged once, and an acknowledged event changes nothing later.
pub async fn an_acknowledged_event_is_never_applied_again<
    S: Reservations + StockLevels + StockAdjustments + Inbox,
>(
    store: &S,
) {
    let product = product_with(store, 5).await;
    let order = Uuid::new_v4();
    let event = placed(order, &[(product, 1)]);
    assert_eq!(store.acknowledge(&event).await.unwrap(), Applied::Done);
    assert_eq!(
        store.acknowledge(&event).await.unwrap(),
        Applied::AlreadyProcessed
    );
    assert_eq!(
        reserve_by(store, &event, order, &[(product, 1)]).await,
        ReserveAttempt::AlreadyProcessed
    );
    assert_eq!(level(store, product).await, (5, 0));
}

/// One test per contract of the inventory ports, each on a fresh store from `$with_store` (see
/// [`shared::contract_tests!`]).
#[macro_export]
macro_rules! contract_tests {
    ($with_store:path) => {
        ::shared::contract_tests!($crate::contract, $with_store; [
            a_product_without_a_record_has_no_stock,
            a_new_product_gets_a_zero_stock_record_and_an_existing_one_is_kept,
            a_stock_change_applies_only_to_the_level_it_read_and_never_below_the_reserved,
            a_reservation_takes_every_line_or_nothing,
            twenty_concurrent_reservations_against_stock_5_reserve_exactly_5,
            a_duplicated_order_placed_reserves_once,
            a_failed_reservation_closes_the_order,
            an_order_cancelled_before_its_placement_reserves_nothing,
            a_release_returns_the_reserved_lines_once,
            an_acknowledged_event_is_never_applied_again,
        ]);
    };
}

#[cfg(test)]
mod memory {
    crate::contract_tests!(
        shared::contract::with_default::<crate::adapters::memory::InMemoryInventoryStore>
    );
}

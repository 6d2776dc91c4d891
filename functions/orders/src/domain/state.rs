//! The order state machine: a total, pure function from (state, trigger) to a decision.
//!
//! Every pair is spelled out (no wildcard arm), so adding a state or a trigger fails to compile
//! until each combination is decided. Duplicated and reordered deliveries land on `Ignore`; a
//! charge that succeeds after the order stopped waiting for it is compensated with a refund,
//! recorded on the order and announced (the customer was told the order ended uncharged).

use serde::{Deserialize, Serialize};
use shared::events::{CancellationReason, RejectionReason};

/// Where an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum OrderState {
    /// Placed; waiting for inventory, then for payment.
    Pending,
    /// Stock reserved and payment taken.
    Confirmed,
    /// Inventory could not reserve it.
    Rejected(RejectionReason),
    /// Cancelled by the customer or because payment was declined.
    Cancelled(CancellationReason),
}

impl OrderState {
    /// Whether the order can still change.
    #[must_use]
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Confirmed)
    }

    /// The status word the API and the table use.
    #[must_use]
    pub fn status(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Confirmed => "CONFIRMED",
            Self::Rejected(_) => "REJECTED",
            Self::Cancelled(_) => "CANCELLED",
        }
    }
}

/// What can happen to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Inventory reserved every line.
    StockReserved,
    /// Inventory could not.
    StockShort,
    /// The payment gateway took the money.
    PaymentApproved,
    /// The payment gateway declined.
    PaymentDeclined,
    /// The customer asked to cancel.
    CustomerCancels,
}

/// A side effect that goes with a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Publish `OrderConfirmed`.
    PublishConfirmed,
    /// Publish `OrderRejected`.
    PublishRejected,
    /// Publish `OrderCancelled` (inventory releases the reservation on it).
    PublishCancelled,
    /// Give the charge back.
    Refund,
    /// Publish `OrderRefunded`: the customer was already told how the order ended, and not
    /// about this money.
    PublishRefunded,
}

/// What to do about a trigger in a state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Take payment now; feed its outcome back as `PaymentApproved` or `PaymentDeclined`.
    Charge,
    /// Move to the state, with these effects.
    Become(OrderState, &'static [Effect]),
    /// Stay in the state, but undo a charge that came too late (the order is no longer waiting
    /// for it) and record that on the order, with these effects.
    Compensate(&'static [Effect]),
    /// A duplicate or stale delivery: nothing to do.
    Ignore,
    /// A request that makes no sense in this state (shown to the caller).
    Refuse(&'static str),
}

/// The transition function.
#[must_use]
pub fn decide(state: OrderState, trigger: Trigger) -> Decision {
    use Decision::{Become, Charge, Compensate, Ignore, Refuse};
    use OrderState::{Cancelled, Confirmed, Pending, Rejected};
    use Trigger::{CustomerCancels, PaymentApproved, PaymentDeclined, StockReserved, StockShort};
    match (state, trigger) {
        (Pending, StockReserved) => Charge,
        (Pending, StockShort) => Become(
            Rejected(RejectionReason::OutOfStock),
            &[Effect::PublishRejected],
        ),
        (Pending, PaymentApproved) => Become(Confirmed, &[Effect::PublishConfirmed]),
        (Pending, PaymentDeclined) => Become(
            Cancelled(CancellationReason::PaymentDeclined),
            &[Effect::PublishCancelled],
        ),
        (Pending, CustomerCancels) => Become(
            Cancelled(CancellationReason::Customer),
            &[Effect::PublishCancelled],
        ),

        // Redeliveries of what led here.
        (Confirmed, StockReserved | PaymentApproved) => Ignore,
        // Inventory answered twice, differently, or the gateway contradicts itself: the
        // confirmed order stands; logs show the anomaly.
        (Confirmed, StockShort | PaymentDeclined) => Ignore,
        (Confirmed, CustomerCancels) => Become(
            Cancelled(CancellationReason::Customer),
            &[Effect::Refund, Effect::PublishCancelled],
        ),

        (Rejected(_), StockReserved | StockShort | PaymentDeclined) => Ignore,
        // Never charged while pending-then-rejected; if a gateway says otherwise, give it back
        // and say so: the rejection told the customer they were not charged.
        (Rejected(_), PaymentApproved) => Compensate(&[Effect::Refund, Effect::PublishRefunded]),
        (Rejected(_), CustomerCancels) => {
            Refuse("the order was rejected; there is nothing to cancel")
        }

        (Cancelled(_), StockReserved | StockShort | PaymentDeclined) => Ignore,
        // Charged while the customer was cancelling: refund, and say so (the cancellation, sent
        // before the charge completed, said nothing was charged).
        (Cancelled(_), PaymentApproved) => Compensate(&[Effect::Refund, Effect::PublishRefunded]),
        // Cancelling twice is fine.
        (Cancelled(_), CustomerCancels) => Ignore,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const STATES: [OrderState; 6] = [
        OrderState::Pending,
        OrderState::Confirmed,
        OrderState::Rejected(RejectionReason::OutOfStock),
        OrderState::Cancelled(CancellationReason::Customer),
        OrderState::Cancelled(CancellationReason::PaymentDeclined),
        OrderState::Pending,
    ];
    const TRIGGERS: [Trigger; 5] = [
        Trigger::StockReserved,
        Trigger::StockShort,
        Trigger::PaymentApproved,
        Trigger::PaymentDeclined,
        Trigger::CustomerCancels,
    ];

    #[test]
    fn every_state_and_trigger_pair_is_decided_as_the_table_says() {
        use Decision::*;
        use OrderState::*;
        let declined = Cancelled(CancellationReason::PaymentDeclined);
        let by_customer = Cancelled(CancellationReason::Customer);
        let rejected = Rejected(RejectionReason::OutOfStock);
        let expected: [(OrderState, [Decision; 5]); 5] = [
            (
                Pending,
                [
                    Charge,
                    Become(rejected, &[Effect::PublishRejected]),
                    Become(Confirmed, &[Effect::PublishConfirmed]),
                    Become(declined, &[Effect::PublishCancelled]),
                    Become(by_customer, &[Effect::PublishCancelled]),
                ],
            ),
            (
                Confirmed,
                [
                    Ignore,
                    Ignore,
                    Ignore,
                    Ignore,
                    Become(by_customer, &[Effect::Refund, Effect::PublishCancelled]),
                ],
            ),
            (
                rejected,
                [
                    Ignore,
                    Ignore,
                    Compensate(&[Effect::Refund, Effect::PublishRefunded]),
                    Ignore,
                    Refuse("the order was rejected; there is nothing to cancel"),
                ],
            ),
            (
                by_customer,
                [
                    Ignore,
                    Ignore,
                    Compensate(&[Effect::Refund, Effect::PublishRefunded]),
                    Ignore,
                    Ignore,
                ],
            ),
            (
                declined,
                [
                    Ignore,
                    Ignore,
                    Compensate(&[Effect::Refund, Effect::PublishRefunded]),
                    Ignore,
                    Ignore,
                ],
            ),
        ];
        for (state, decisions) in expected {
            for (trigger, decision) in TRIGGERS.into_iter().zip(decisions) {
                assert_eq!(decide(state, trigger), decision, "{state:?} + {trigger:?}");
            }
        }
    }

    #[test]
    fn a_charge_approved_after_the_customer_cancelled_is_refunded() {
        let (state, confirmations, charges, refunds) = run(
            &[Trigger::StockReserved, Trigger::CustomerCancels],
            true,
            true,
        );
        assert_eq!(state, OrderState::Cancelled(CancellationReason::Customer));
        assert_eq!((confirmations, charges, refunds), (0, 1, 1));
    }

    #[test]
    fn every_refund_is_recorded_and_announced_to_the_customer() {
        for state in STATES {
            for trigger in TRIGGERS {
                let effects: &[Effect] = match decide(state, trigger) {
                    Decision::Become(_, effects) | Decision::Compensate(effects) => effects,
                    Decision::Charge | Decision::Ignore | Decision::Refuse(_) => &[],
                };
                if effects.contains(&Effect::Refund) {
                    assert!(
                        effects.contains(&Effect::PublishCancelled)
                            || effects.contains(&Effect::PublishRefunded),
                        "{state:?} + {trigger:?} refunds without telling anyone: {effects:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn final_states_never_leave_except_confirmed_to_cancelled() {
        for state in STATES {
            for trigger in TRIGGERS {
                if let Decision::Become(next, _) = decide(state, trigger) {
                    assert!(
                        !state.is_final(),
                        "{state:?} is final but moved to {next:?}"
                    );
                    assert_ne!(next, OrderState::Pending);
                }
            }
        }
    }

    /// Runs a delivery sequence through the machine the way the worker does: a `Charge`
    /// decision calls the gateway, which is idempotent per order (a second call returns the
    /// first charge) and approves or declines consistently, and feeds the outcome back: at once,
    /// or with `slow_gateway` only after every other delivery (the customer cancels, inventory
    /// redelivers, while the charge is in flight). Returns the final state, confirmations
    /// published, distinct charges taken and refunds made.
    fn run(
        triggers: &[Trigger],
        approves: bool,
        slow_gateway: bool,
    ) -> (OrderState, usize, usize, usize) {
        let (mut state, mut confirmations, mut charged, mut refunds) =
            (OrderState::Pending, 0, false, 0);
        let outcome = if approves {
            Trigger::PaymentApproved
        } else {
            Trigger::PaymentDeclined
        };
        let mut queue: std::collections::VecDeque<Trigger> = triggers.iter().copied().collect();
        let mut in_flight: Option<Trigger> = None;
        loop {
            let next = if slow_gateway {
                queue.pop_front().or_else(|| in_flight.take())
            } else {
                in_flight.take().or_else(|| queue.pop_front())
            };
            let Some(trigger) = next else { break };
            match decide(state, trigger) {
                Decision::Charge => {
                    charged = true;
                    in_flight = Some(outcome);
                }
                Decision::Become(next, effects) => {
                    confirmations += effects
                        .iter()
                        .filter(|e| **e == Effect::PublishConfirmed)
                        .count();
                    refunds += effects.iter().filter(|e| **e == Effect::Refund).count();
                    state = next;
                }
                Decision::Compensate(effects) => {
                    refunds += effects.iter().filter(|e| **e == Effect::Refund).count()
                }
                Decision::Ignore | Decision::Refuse(_) => {}
            }
        }
        (state, confirmations, usize::from(charged), refunds)
    }

    fn trigger() -> impl Strategy<Value = Trigger> {
        prop::sample::select(vec![
            Trigger::StockReserved,
            Trigger::StockShort,
            Trigger::CustomerCancels,
        ])
    }

    proptest! {
        #[test]
        fn any_delivery_sequence_confirms_at_most_once_and_never_keeps_money_it_should_not(
            triggers in prop::collection::vec(trigger(), 0..12),
            approves in any::<bool>(),
            slow_gateway in any::<bool>(),
        ) {
            let (state, confirmations, charges, refunds) = run(&triggers, approves, slow_gateway);
            prop_assert!(confirmations <= 1);
            // A Confirmed order got exactly one confirmation.
            prop_assert_eq!(state == OrderState::Confirmed, confirmations == 1 && refunds == 0);
            // Money taken is either kept by a confirmed order or given back.
            let kept = usize::from(state == OrderState::Confirmed);
            let approved_charges = if approves { charges } else { 0 };
            prop_assert!(approved_charges <= kept + refunds, "{state:?}: {charges} charges, {refunds} refunds");
            // ...and never refunded more than was taken.
            prop_assert!(refunds <= approved_charges, "{state:?}: {charges} charges, {refunds} refunds");
        }

        #[test]
        fn duplicating_every_delivery_changes_nothing(triggers in prop::collection::vec(trigger(), 0..8), approves in any::<bool>()) {
            let doubled: Vec<Trigger> = triggers.iter().flat_map(|t| [*t, *t]).collect();
            let (state, confirmations, _, _) = run(&triggers, approves, false);
            let (doubled_state, doubled_confirmations, _, _) = run(&doubled, approves, false);
            prop_assert_eq!(state, doubled_state);
            prop_assert_eq!(confirmations, doubled_confirmations);
        }
    }
}

//! One template per event type: subject and plain-text body. Pure: the same event always
//! renders the same message.

use std::fmt::Write as _;

use shared::events::{
    CancellationReason, OrderCancelled, OrderConfirmed, OrderLine, OrderRefunded, OrderRejected,
    RejectionReason, UserRegistered,
};

/// A rendered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub body: String,
}

fn short(id: &uuid::Uuid) -> String {
    id.simple().to_string()[..8].to_uppercase()
}

fn lines_table(lines: &[OrderLine]) -> String {
    let mut text = String::new();
    for line in lines {
        let line_total = line
            .unit_price
            .checked_mul(line.quantity)
            .map_or_else(|_| "-".to_owned(), |m| m.to_string());
        let _ = writeln!(
            text,
            "  {} x {} @ {} = {}",
            line.quantity, line.product_id, line.unit_price, line_total
        );
    }
    text
}

/// The welcome message.
#[must_use]
pub fn welcome(event: &UserRegistered) -> Message {
    Message {
        subject: "Welcome to the shop".to_owned(),
        body: format!(
            "Hello {},\n\nyour account {} is ready. Happy shopping!\n",
            event.name, event.email
        ),
    }
}

/// The order-confirmed message.
#[must_use]
pub fn confirmed(name: &str, event: &OrderConfirmed) -> Message {
    Message {
        subject: format!("Order {} confirmed", short(&event.order_id)),
        body: format!(
            "Hello {name},\n\nthank you: order {} is confirmed and paid.\n\n{}\nTotal: {}\n",
            event.order_id,
            lines_table(&event.lines),
            event.total
        ),
    }
}

/// The order-rejected message.
#[must_use]
pub fn rejected(name: &str, event: &OrderRejected) -> Message {
    let reason = match event.reason {
        RejectionReason::OutOfStock => "some items are out of stock",
    };
    let mut short_items = String::new();
    for shortage in &event.unavailable {
        let _ = writeln!(
            short_items,
            "  {}: asked {}, available {}",
            shortage.product_id, shortage.requested, shortage.available
        );
    }
    Message {
        subject: format!("Order {} could not be placed", short(&event.order_id)),
        body: format!(
            "Hello {name},\n\nwe could not accept order {}: {reason}.\n\n{}\n{}Total: {} (you were not charged)\n",
            event.order_id,
            lines_table(&event.lines),
            if short_items.is_empty() {
                String::new()
            } else {
                format!("Unavailable:\n{short_items}\n")
            },
            event.total
        ),
    }
}

/// The order-cancelled message.
#[must_use]
pub fn cancelled(name: &str, event: &OrderCancelled) -> Message {
    let reason = match event.reason {
        CancellationReason::Customer => "you cancelled it",
        CancellationReason::PaymentDeclined => "the payment was declined",
    };
    let refund = match (event.refunded, event.reason) {
        (Some(amount), _) => format!("We refunded {amount}."),
        (None, CancellationReason::PaymentDeclined) => "You were not charged.".to_owned(),
        // A customer may cancel while the payment is under way; should it complete after all,
        // it is refunded and a separate message (OrderRefunded) says so.
        (None, CancellationReason::Customer) => "You were not charged. Should a payment already under way complete, we will refund it and tell you.".to_owned(),
    };
    Message {
        subject: format!("Order {} cancelled", short(&event.order_id)),
        body: format!(
            "Hello {name},\n\norder {} was cancelled: {reason}.\n\n{}\nTotal: {}\n{refund}\n",
            event.order_id,
            lines_table(&event.lines),
            event.total
        ),
    }
}

/// The message for a refund made after the order's end was announced (a payment that completed
/// just as the order was cancelled).
#[must_use]
pub fn refunded(name: &str, event: &OrderRefunded) -> Message {
    Message {
        subject: format!("Order {} refunded", short(&event.order_id)),
        body: format!(
            "Hello {name},\n\na payment for order {} completed after the order had ended, so we gave it back.\n\n{}\nTotal: {}\nWe refunded {}.\n",
            event.order_id,
            lines_table(&event.lines),
            event.total,
            event.refunded
        ),
    }
}

#[cfg(test)]
mod tests {
    use shared::events::Shortage;
    use shared::money::{Currency, Money};
    use uuid::Uuid;

    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("EUR").unwrap())
    }

    fn order_id() -> Uuid {
        Uuid::parse_str("5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d").unwrap()
    }

    fn lines() -> Vec<OrderLine> {
        vec![OrderLine {
            product_id: Uuid::parse_str("7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10").unwrap(),
            quantity: 2,
            unit_price: eur(1999),
        }]
    }

    #[test]
    fn the_welcome_message_snapshot() {
        let message = welcome(&UserRegistered {
            user_id: Uuid::nil(),
            email: "ada@example.org".into(),
            name: "Ada".into(),
        });
        assert_eq!(message.subject, "Welcome to the shop");
        assert_eq!(
            message.body,
            "Hello Ada,\n\nyour account ada@example.org is ready. Happy shopping!\n"
        );
    }

    #[test]
    fn the_confirmed_message_snapshot() {
        let message = confirmed(
            "Ada",
            &OrderConfirmed {
                order_id: order_id(),
                customer_id: Uuid::nil(),
                lines: lines(),
                total: eur(3998),
            },
        );
        assert_eq!(message.subject, "Order 5A4B3C2D confirmed");
        assert_eq!(
            message.body,
            "Hello Ada,\n\nthank you: order 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d is confirmed and paid.\n\n  2 x 7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10 @ 19.99 EUR = 39.98 EUR\n\nTotal: 39.98 EUR\n"
        );
    }

    #[test]
    fn the_rejected_message_snapshot() {
        let message = rejected(
            "Ada",
            &OrderRejected {
                order_id: order_id(),
                customer_id: Uuid::nil(),
                reason: RejectionReason::OutOfStock,
                lines: lines(),
                total: eur(3998),
                unavailable: vec![Shortage {
                    product_id: lines()[0].product_id,
                    requested: 2,
                    available: 1,
                }],
            },
        );
        assert_eq!(message.subject, "Order 5A4B3C2D could not be placed");
        assert_eq!(
            message.body,
            "Hello Ada,\n\nwe could not accept order 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d: some items are out of stock.\n\n  2 x 7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10 @ 19.99 EUR = 39.98 EUR\n\nUnavailable:\n  7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10: asked 2, available 1\n\nTotal: 39.98 EUR (you were not charged)\n"
        );
    }

    #[test]
    fn the_cancelled_message_snapshots_with_and_without_refund() {
        let mut event = OrderCancelled {
            order_id: order_id(),
            customer_id: Uuid::nil(),
            reason: CancellationReason::Customer,
            lines: lines(),
            total: eur(3998),
            refunded: Some(eur(3998)),
        };
        let message = cancelled("Ada", &event);
        assert_eq!(message.subject, "Order 5A4B3C2D cancelled");
        assert_eq!(
            message.body,
            "Hello Ada,\n\norder 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d was cancelled: you cancelled it.\n\n  2 x 7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10 @ 19.99 EUR = 39.98 EUR\n\nTotal: 39.98 EUR\nWe refunded 39.98 EUR.\n"
        );
        event.refunded = None;
        let pending = cancelled("Ada", &event);
        assert!(
            pending.body.ends_with("You were not charged. Should a payment already under way complete, we will refund it and tell you.\n"),
            "a customer cancelling a pending order may race its payment: {}",
            pending.body
        );
        event.reason = CancellationReason::PaymentDeclined;
        let declined = cancelled("Ada", &event);
        assert!(declined.body.contains("the payment was declined"));
        assert!(declined.body.ends_with("You were not charged.\n"));
    }

    #[test]
    fn the_refunded_message_snapshot() {
        let message = refunded(
            "Ada",
            &OrderRefunded {
                order_id: order_id(),
                customer_id: Uuid::nil(),
                lines: lines(),
                total: eur(3998),
                refunded: eur(3998),
            },
        );
        assert_eq!(message.subject, "Order 5A4B3C2D refunded");
        assert_eq!(
            message.body,
            "Hello Ada,\n\na payment for order 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d completed after the order had ended, so we gave it back.\n\n  2 x 7d0f3b3e-1c2a-4c55-9a43-0b6f7f3f9d10 @ 19.99 EUR = 39.98 EUR\n\nTotal: 39.98 EUR\nWe refunded 39.98 EUR.\n"
        );
    }
}

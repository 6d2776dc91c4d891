//! The payment simulator: a deterministic `PaymentGateway` keyed by card token, recording every
//! charge and refund in the orders table, so tests (and operators) can see that an order was
//! charged exactly once.
//!
//! Tokens: `tok_visa`, `tok_mastercard` approve; `tok_chargeDeclined` declines; `tok_fail_once`
//! fails transiently on its first attempt per order, then approves; anything else declines as
//! an unknown card. Items, per order: `PAYMENT#<order>` / `CHARGE` (created once, with
//! `attribute_not_exists`; a repeated charge returns its stored outcome and counts a `replay`),
//! `PAYMENT#<order>` / `REFUND` (likewise), `PAYMENT#<order>` / `ATTEMPT` (for `tok_fail_once`).

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use shared::dynamo::{KIND, PK, SK};
use shared::money::Money;
use uuid::Uuid;

use crate::domain::PaymentToken;
use crate::ports::{Charge, PaymentError, PaymentGateway};

/// How the simulator answers a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenBehaviour {
    Approve,
    Decline,
    FailOnceThenApprove,
}

/// The simulator's rule for `token`.
#[must_use]
pub fn behaviour(token: &str) -> TokenBehaviour {
    match token {
        "tok_visa" | "tok_mastercard" => TokenBehaviour::Approve,
        "tok_fail_once" => TokenBehaviour::FailOnceThenApprove,
        // tok_chargeDeclined and every unknown token.
        _ => TokenBehaviour::Decline,
    }
}

/// The simulator, storing its records in the orders table.
#[derive(Clone, Debug)]
pub struct SimulatedPaymentGateway {
    client: Client,
    table: String,
}

impl SimulatedPaymentGateway {
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(order_id: Uuid, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                PK.to_owned(),
                AttributeValue::S(format!("PAYMENT#{order_id}")),
            ),
            (SK.to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    }

    /// Puts `item` unless it exists; `Ok(false)` when it did.
    async fn put_once(&self, item: HashMap<String, AttributeValue>) -> anyhow::Result<bool> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(err))
                if matches!(err.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(err) => Err(anyhow::Error::new(err).context("PutItem payment record")),
        }
    }

    /// The stored charge of `order_id`, counting this call as a replay.
    async fn replay(&self, order_id: Uuid) -> anyhow::Result<HashMap<String, AttributeValue>> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(order_id, "CHARGE")))
            .update_expression("ADD replays :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .context("UpdateItem charge replay")?
            .attributes
            .context("charge record vanished")
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// The outcome a stored charge record says. Only the two outcomes the simulator writes are
/// outcomes: a record without one, or with another, is not a decline (that would cancel a paid
/// order) but an error that fails whoever asked, so it is retried, then looked at.
fn stored_outcome(
    order_id: Uuid,
    stored: &HashMap<String, AttributeValue>,
) -> Result<Charge, PaymentError> {
    match (stored.get("outcome"), stored.get("payment_id")) {
        (Some(AttributeValue::S(outcome)), Some(AttributeValue::S(id)))
            if outcome == "approved" =>
        {
            Ok(Charge {
                payment_id: id.clone(),
            })
        }
        (Some(AttributeValue::S(outcome)), _) if outcome == "declined" => {
            Err(PaymentError::Declined("card declined".to_owned()))
        }
        (outcome, payment_id) => Err(PaymentError::Unexpected(anyhow::anyhow!(
            "charge record of order {order_id} is unreadable: outcome {outcome:?}, payment_id present: {}",
            payment_id.is_some()
        ))),
    }
}

impl PaymentGateway for SimulatedPaymentGateway {
    async fn charge(
        &self,
        order_id: Uuid,
        amount: Money,
        token: &PaymentToken,
    ) -> Result<Charge, PaymentError> {
        let rule = behaviour(token.expose());
        if rule == TokenBehaviour::FailOnceThenApprove {
            let mut attempt = Self::key(order_id, "ATTEMPT");
            attempt.insert(KIND.to_owned(), s("payment_attempt"));
            if self
                .put_once(attempt)
                .await
                .map_err(PaymentError::Transient)?
            {
                return Err(PaymentError::Transient(anyhow::anyhow!(
                    "simulated gateway timeout (tok_fail_once, first attempt)"
                )));
            }
        }
        let approved = rule != TokenBehaviour::Decline;
        let payment_id = format!("pay_{}", Uuid::new_v4().simple());
        let mut item = Self::key(order_id, "CHARGE");
        item.extend([
            (KIND.to_owned(), s("payment_charge")),
            ("order_id".to_owned(), s(order_id.to_string())),
            ("payment_id".to_owned(), s(&payment_id)),
            (
                "outcome".to_owned(),
                s(if approved { "approved" } else { "declined" }),
            ),
            (
                "amount_minor".to_owned(),
                AttributeValue::N(amount.amount_minor.to_string()),
            ),
            ("currency".to_owned(), s(amount.currency.to_string())),
            ("replays".to_owned(), AttributeValue::N("0".into())),
            ("charged_at".to_owned(), s(Utc::now().to_rfc3339())),
        ]);
        let stored = if self
            .put_once(item.clone())
            .await
            .map_err(PaymentError::Transient)?
        {
            item
        } else {
            self.replay(order_id)
                .await
                .map_err(PaymentError::Transient)?
        };
        stored_outcome(order_id, &stored)
    }

    async fn refund(&self, order_id: Uuid, amount: Money) -> Result<(), PaymentError> {
        let mut item = Self::key(order_id, "REFUND");
        item.extend([
            (KIND.to_owned(), s("payment_refund")),
            ("order_id".to_owned(), s(order_id.to_string())),
            (
                "amount_minor".to_owned(),
                AttributeValue::N(amount.amount_minor.to_string()),
            ),
            ("currency".to_owned(), s(amount.currency.to_string())),
            ("refunded_at".to_owned(), s(Utc::now().to_rfc3339())),
        ]);
        // Already refunded is success: refunds are idempotent per order.
        self.put_once(item)
            .await
            .map(|_| ())
            .map_err(PaymentError::Transient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    #[test]
    fn a_stored_charge_is_approved_or_declined_as_recorded() {
        let order = Uuid::from_u128(7);
        let approved = record(&[("outcome", s("approved")), ("payment_id", s("pay_1"))]);
        assert_eq!(
            stored_outcome(order, &approved).unwrap(),
            Charge {
                payment_id: "pay_1".into()
            }
        );
        let declined = record(&[("outcome", s("declined")), ("payment_id", s("pay_2"))]);
        assert!(matches!(
            stored_outcome(order, &declined),
            Err(PaymentError::Declined(_))
        ));
    }

    #[test]
    fn a_stored_charge_that_cannot_be_read_is_an_error_never_a_decline() {
        let order = Uuid::from_u128(7);
        let unreadable = [
            // Only the replay counter: what UpdateItem's ADD leaves when the record is gone.
            record(&[("replays", AttributeValue::N("1".into()))]),
            record(&[("outcome", s("approved"))]),
            record(&[("outcome", s("pending")), ("payment_id", s("pay_1"))]),
            record(&[
                ("outcome", AttributeValue::Bool(true)),
                ("payment_id", s("pay_1")),
            ]),
        ];
        for stored in unreadable {
            let outcome = stored_outcome(order, &stored);
            assert!(
                matches!(outcome, Err(PaymentError::Unexpected(_))),
                "{stored:?}: {outcome:?}"
            );
        }
    }

    #[test]
    fn tokens_behave_as_documented() {
        assert_eq!(behaviour("tok_visa"), TokenBehaviour::Approve);
        assert_eq!(behaviour("tok_mastercard"), TokenBehaviour::Approve);
        assert_eq!(behaviour("tok_chargeDeclined"), TokenBehaviour::Decline);
        assert_eq!(
            behaviour("tok_fail_once"),
            TokenBehaviour::FailOnceThenApprove
        );
        assert_eq!(behaviour("tok_unknown"), TokenBehaviour::Decline);
    }
}

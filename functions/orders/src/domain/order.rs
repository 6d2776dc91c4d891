//! The order aggregate and the rules a new order must satisfy.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use shared::events::OrderLine;
use shared::money::{Money, MoneyError};
use uuid::Uuid;

use super::OrderState;

/// Most lines one order may have.
pub const MAX_LINES: usize = 50;
/// Most units of one product per line.
pub const MAX_QUANTITY: u32 = 100;

/// An order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub state: OrderState,
    pub payment_token: PaymentToken,
    /// What was refunded, if anything.
    pub refunded: Option<Money>,
    pub placed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// +1 on every change; writes are conditional on it.
    pub version: u64,
}

/// A line as the customer asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewOrderLine {
    pub product_id: Uuid,
    pub quantity: u32,
}

/// Why an order cannot be placed; each names the offending line(s).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("an order needs between 1 and {MAX_LINES} lines")]
    LineCount,
    #[error("line {index}: quantity must be between 1 and {MAX_QUANTITY}")]
    Quantity { index: usize },
    /// Unknown or archived products, by line index.
    #[error("products not for sale: {0:?}")]
    NotForSale(Vec<(usize, Uuid)>),
    #[error("all products of an order must be priced in one currency")]
    MixedCurrencies,
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// Checks every bound of the request itself (line count, quantities): what needs no lookup.
/// Run it before any I/O, so an oversized request costs nothing and gets the same answer
/// whatever the table's state.
///
/// # Errors
/// [`OrderError::LineCount`], [`OrderError::Quantity`].
pub fn check_lines(lines: &[NewOrderLine]) -> Result<(), OrderError> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(OrderError::LineCount);
    }
    if let Some(index) = lines
        .iter()
        .position(|l| !(1..=MAX_QUANTITY).contains(&l.quantity))
    {
        return Err(OrderError::Quantity { index });
    }
    Ok(())
}

/// Prices `lines` from `prices` (the service's snapshots of active products) and totals them.
///
/// # Errors
/// [`OrderError`].
pub fn price_lines(
    lines: &[NewOrderLine],
    prices: &HashMap<Uuid, Money>,
) -> Result<(Vec<OrderLine>, Money), OrderError> {
    check_lines(lines)?;
    let missing: Vec<(usize, Uuid)> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| !prices.contains_key(&line.product_id))
        .map(|(index, line)| (index, line.product_id))
        .collect();
    if !missing.is_empty() {
        return Err(OrderError::NotForSale(missing));
    }
    let priced: Vec<OrderLine> = lines
        .iter()
        .map(|line| OrderLine {
            product_id: line.product_id,
            quantity: line.quantity,
            unit_price: prices[&line.product_id],
        })
        .collect();
    let currency = priced[0].unit_price.currency;
    if priced
        .iter()
        .any(|line| line.unit_price.currency != currency)
    {
        return Err(OrderError::MixedCurrencies);
    }
    let mut total = Money::zero(currency);
    for line in &priced {
        total = total.checked_add(line.unit_price.checked_mul(line.quantity)?)?;
    }
    Ok((priced, total))
}

/// A card token from the payment provider's client-side SDK (never a card number). Not logged,
/// not returned.
#[derive(Clone, PartialEq, Eq)]
pub struct PaymentToken(String);

impl PaymentToken {
    /// A token of 3 to 100 visible ASCII characters.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = (3..=100).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self(raw.to_owned()))
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PaymentToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PaymentToken(<redacted>)")
    }
}

/// A client's `Idempotency-Key`, scoped to the customer, with a fingerprint of the request body
/// it came with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    pub fingerprint: String,
}

impl IdempotencyKey {
    /// A key of 1 to 255 visible ASCII characters, fingerprinting `body` (SHA-256).
    #[must_use]
    pub fn parse(raw: &str, body: &[u8]) -> Option<Self> {
        let valid = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self {
            key: raw.to_owned(),
            fingerprint: format!("{:x}", Sha256::digest(body)),
        })
    }
}

#[cfg(test)]
mod tests {
    use shared::money::Currency;

    use super::*;

    fn eur(amount: i64) -> Money {
        Money::new(amount, Currency::parse("EUR").unwrap())
    }

    #[test]
    fn lines_are_priced_from_the_snapshots_and_totalled() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let prices = HashMap::from([(a, eur(250)), (b, eur(1000))]);
        let (lines, total) = price_lines(
            &[
                NewOrderLine {
                    product_id: a,
                    quantity: 2,
                },
                NewOrderLine {
                    product_id: b,
                    quantity: 1,
                },
            ],
            &prices,
        )
        .unwrap();
        assert_eq!(lines[0].unit_price, eur(250));
        assert_eq!(total, eur(1500));
    }

    #[test]
    fn unknown_products_are_named_by_line() {
        let (a, unknown) = (Uuid::from_u128(1), Uuid::from_u128(9));
        let prices = HashMap::from([(a, eur(1))]);
        let lines = [
            NewOrderLine {
                product_id: a,
                quantity: 1,
            },
            NewOrderLine {
                product_id: unknown,
                quantity: 1,
            },
        ];
        assert_eq!(
            price_lines(&lines, &prices),
            Err(OrderError::NotForSale(vec![(1, unknown)]))
        );
    }

    #[test]
    fn line_counts_quantities_and_currencies_are_checked() {
        let a = Uuid::from_u128(1);
        let prices = HashMap::from([
            (a, eur(1)),
            (
                Uuid::from_u128(2),
                Money::new(1, Currency::parse("USD").unwrap()),
            ),
        ]);
        assert_eq!(price_lines(&[], &prices), Err(OrderError::LineCount));
        assert_eq!(
            price_lines(
                &[NewOrderLine {
                    product_id: a,
                    quantity: 0
                }],
                &prices
            ),
            Err(OrderError::Quantity { index: 0 })
        );
        assert_eq!(
            price_lines(
                &[NewOrderLine {
                    product_id: a,
                    quantity: 101
                }],
                &prices
            ),
            Err(OrderError::Quantity { index: 0 })
        );
        let mixed = [
            NewOrderLine {
                product_id: a,
                quantity: 1,
            },
            NewOrderLine {
                product_id: Uuid::from_u128(2),
                quantity: 1,
            },
        ];
        assert_eq!(
            price_lines(&mixed, &prices),
            Err(OrderError::MixedCurrencies)
        );
        let too_many: Vec<_> = (0..51)
            .map(|_| NewOrderLine {
                product_id: a,
                quantity: 1,
            })
            .collect();
        assert_eq!(price_lines(&too_many, &prices), Err(OrderError::LineCount));
    }

    #[test]
    fn an_idempotency_key_fingerprints_its_body() {
        let one = IdempotencyKey::parse("key-1", b"{\"a\":1}").unwrap();
        let same = IdempotencyKey::parse("key-1", b"{\"a\":1}").unwrap();
        let other = IdempotencyKey::parse("key-1", b"{\"a\":2}").unwrap();
        assert_eq!(one, same);
        assert_ne!(one.fingerprint, other.fingerprint);
        assert!(IdempotencyKey::parse("", b"").is_none());
        assert!(IdempotencyKey::parse("has space", b"").is_none());
    }

    #[test]
    fn a_payment_token_is_never_shown() {
        assert_eq!(
            format!("{:?}", PaymentToken::parse("tok_visa").unwrap()),
            "PaymentToken(<redacted>)"
        );
        assert!(PaymentToken::parse("x").is_none());
    }
}

//! Money as integer minor units plus an ISO 4217 currency: never floats.
//!
//! This is a contract type (events and HTTP bodies carry it), so it lives with the contracts;
//! pricing rules belong to the services.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An ISO 4217 alphabetic currency code: three ASCII uppercase letters, e.g. `EUR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// Why a currency code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("currency must be a three-letter ISO 4217 code in upper case, e.g. EUR")]
pub struct InvalidCurrency;

impl Currency {
    /// Parses a code such as `"EUR"`.
    ///
    /// # Errors
    /// [`InvalidCurrency`] unless the input is exactly three ASCII uppercase letters.
    pub fn parse(code: &str) -> Result<Self, InvalidCurrency> {
        match code.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|ch| ch.is_ascii_uppercase()) => {
                Ok(Self([*a, *b, *c]))
            }
            _ => Err(InvalidCurrency),
        }
    }

    /// The code as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII uppercase bytes are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidCurrency;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "json-schema")]
impl schemars::JsonSchema for Currency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Currency".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "ISO 4217 alphabetic currency code"
        })
    }
}

/// An amount of money in the currency's minor unit (cents for EUR/USD).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Amount in minor units, e.g. 1999 for 19.99 EUR.
    pub amount_minor: i64,
    /// The currency of `amount_minor`.
    pub currency: Currency,
}

/// Why an arithmetic operation on [`Money`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The two amounts are in different currencies.
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    /// The result does not fit in an `i64` of minor units.
    #[error("amount overflows")]
    Overflow,
}

impl Money {
    /// An amount of `amount_minor` minor units of `currency`.
    #[must_use]
    pub const fn new(amount_minor: i64, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }

    /// Zero in `currency`.
    #[must_use]
    pub const fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// `self + other`.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] or [`MoneyError::Overflow`].
    pub fn checked_add(self, other: Self) -> Result<Self, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency, other.currency));
        }
        self.amount_minor
            .checked_add(other.amount_minor)
            .map(|amount| Self::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }

    /// `self * quantity`, e.g. a line total.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`].
    pub fn checked_mul(self, quantity: u32) -> Result<Self, MoneyError> {
        self.amount_minor
            .checked_mul(i64::from(quantity))
            .map(|amount| Self::new(amount, self.currency))
            .ok_or(MoneyError::Overflow)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", abs / 100, abs % 100, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn currency_accepts_three_uppercase_letters_only() {
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EU", "EURO", "", "E1R", "ÉUR"] {
            assert_eq!(Currency::parse(bad), Err(InvalidCurrency), "{bad:?}");
        }
    }

    #[test]
    fn money_serialises_as_minor_units_and_code() {
        let json = serde_json::to_value(Money::new(1999, eur())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"amount_minor": 1999, "currency": "EUR"})
        );
    }

    #[test]
    fn money_refuses_a_float_amount_and_a_bad_currency() {
        assert!(
            serde_json::from_str::<Money>(r#"{"amount_minor": 19.99, "currency": "EUR"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<Money>(r#"{"amount_minor": 1999, "currency": "euro"}"#).is_err()
        );
    }

    #[test]
    fn adding_different_currencies_is_refused() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(
            Money::new(1, eur()).checked_add(Money::new(1, usd)),
            Err(MoneyError::CurrencyMismatch(eur(), usd))
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(
            Money::new(i64::MAX, eur()).checked_mul(2),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::new(i64::MAX, eur()).checked_add(Money::new(1, eur())),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn display_shows_major_and_minor_units() {
        assert_eq!(Money::new(1999, eur()).to_string(), "19.99 EUR");
        assert_eq!(Money::new(-5, eur()).to_string(), "-0.05 EUR");
    }

    proptest! {
        #[test]
        fn currency_round_trips_through_json(code in "[A-Z]{3}") {
            let currency = Currency::parse(&code).unwrap();
            let back: Currency = serde_json::from_value(serde_json::to_value(currency).unwrap()).unwrap();
            prop_assert_eq!(back, currency);
        }

        #[test]
        fn line_totals_equal_repeated_addition(price in 0i64..1_000_000, qty in 0u32..50) {
            let unit = Money::new(price, eur());
            let mut sum = Money::zero(eur());
            for _ in 0..qty { sum = sum.checked_add(unit).unwrap(); }
            prop_assert_eq!(unit.checked_mul(qty).unwrap(), sum);
        }
    }
}

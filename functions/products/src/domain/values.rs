//! Catalog values, parsed once at the edge.

use shared::money::{Currency, Money};

/// Why a catalog value was refused; the message is for the field it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("is required")]
    Empty,
    #[error("must be at most {0} characters")]
    TooLong(usize),
    #[error("must not contain control characters")]
    ControlCharacters,
    #[error("may contain only letters, digits and '-', starting with a letter or digit")]
    BadSku,
    #[error("may contain only lowercase letters, digits and '-'")]
    BadCategory,
    #[error("must be between 1 and {max} minor units")]
    PriceOutOfRange { max: i64 },
    #[error("must be a three-letter ISO 4217 code in upper case, e.g. EUR")]
    BadCurrency,
}

fn text(raw: &str, max: usize, allow_empty: bool) -> Result<String, ValueError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() && !allow_empty {
        return Err(ValueError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(ValueError::TooLong(max));
    }
    // Newlines and tabs are fine in a description; other control characters are not.
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValueError::ControlCharacters);
    }
    Ok(trimmed.to_owned())
}

/// A stock keeping unit: unique across the catalog, stored upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    pub const MAX: usize = 40;

    /// Parses a SKU such as `mug-001` (stored as `MUG-001`).
    ///
    /// # Errors
    /// [`ValueError`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let sku = raw.trim().to_ascii_uppercase();
        if sku.is_empty() {
            return Err(ValueError::Empty);
        }
        if sku.len() > Self::MAX {
            return Err(ValueError::TooLong(Self::MAX));
        }
        let valid = sku.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && sku
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric());
        if !valid {
            return Err(ValueError::BadSku);
        }
        Ok(Self(sku))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A product's name, 1 to 200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    pub const MAX: usize = 200;

    /// # Errors
    /// [`ValueError`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        text(raw, Self::MAX, false).map(Self)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A product's description, up to 2000 characters, may be empty.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Description(String);

impl Description {
    pub const MAX: usize = 2000;

    /// # Errors
    /// [`ValueError`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        text(raw, Self::MAX, true).map(Self)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A category slug such as `kitchen` or `office-supplies`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Category(String);

impl Category {
    pub const MAX: usize = 50;

    /// # Errors
    /// [`ValueError`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let slug = raw.trim().to_ascii_lowercase();
        if slug.is_empty() {
            return Err(ValueError::Empty);
        }
        if slug.len() > Self::MAX {
            return Err(ValueError::TooLong(Self::MAX));
        }
        if !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ValueError::BadCategory);
        }
        Ok(Self(slug))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A selling price: positive, at most 1 000 000.00 in the currency's minor unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price(Money);

impl Price {
    pub const MAX_MINOR: i64 = 100_000_000;

    /// # Errors
    /// [`ValueError::PriceOutOfRange`] or [`ValueError::BadCurrency`].
    pub fn parse(amount_minor: i64, currency: &str) -> Result<Self, ValueError> {
        let currency = Currency::parse(currency).map_err(|_| ValueError::BadCurrency)?;
        if !(1..=Self::MAX_MINOR).contains(&amount_minor) {
            return Err(ValueError::PriceOutOfRange {
                max: Self::MAX_MINOR,
            });
        }
        Ok(Self(Money::new(amount_minor, currency)))
    }

    #[must_use]
    pub fn money(&self) -> Money {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_sku_is_stored_upper_case_and_limited_to_letters_digits_and_dashes() {
        assert_eq!(Sku::parse(" mug-001 ").unwrap().as_str(), "MUG-001");
        assert_eq!(Sku::parse("-mug"), Err(ValueError::BadSku));
        assert_eq!(Sku::parse("mug 1"), Err(ValueError::BadSku));
        assert_eq!(Sku::parse(""), Err(ValueError::Empty));
        assert_eq!(Sku::parse(&"A".repeat(41)), Err(ValueError::TooLong(40)));
    }

    #[test]
    fn names_and_descriptions_are_bounded() {
        assert_eq!(ProductName::parse("  "), Err(ValueError::Empty));
        assert_eq!(
            ProductName::parse(&"n".repeat(201)),
            Err(ValueError::TooLong(200))
        );
        assert_eq!(Description::parse("").unwrap().as_str(), "");
        assert!(Description::parse("two\nlines").is_ok());
        assert_eq!(
            Description::parse("bell\u{7}"),
            Err(ValueError::ControlCharacters)
        );
        assert_eq!(
            Description::parse(&"d".repeat(2001)),
            Err(ValueError::TooLong(2000))
        );
    }

    #[test]
    fn a_category_is_a_lowercase_slug() {
        assert_eq!(Category::parse("Kitchen").unwrap().as_str(), "kitchen");
        assert_eq!(
            Category::parse("office supplies"),
            Err(ValueError::BadCategory)
        );
    }

    #[test]
    fn a_price_is_positive_bounded_and_in_a_real_currency_format() {
        assert_eq!(
            Price::parse(1999, "EUR").unwrap().money().amount_minor,
            1999
        );
        assert!(matches!(
            Price::parse(0, "EUR"),
            Err(ValueError::PriceOutOfRange { .. })
        ));
        assert!(matches!(
            Price::parse(-5, "EUR"),
            Err(ValueError::PriceOutOfRange { .. })
        ));
        assert!(matches!(
            Price::parse(Price::MAX_MINOR + 1, "EUR"),
            Err(ValueError::PriceOutOfRange { .. })
        ));
        assert_eq!(Price::parse(100, "eur"), Err(ValueError::BadCurrency));
    }

    proptest! {
        #[test]
        fn sku_parsing_is_idempotent_and_never_panics(raw in "\\PC{0,50}") {
            if let Ok(sku) = Sku::parse(&raw) {
                prop_assert_eq!(Sku::parse(sku.as_str()).unwrap(), sku);
            }
        }
    }
}

//! Pure inventory rules: stock levels, stock changes, order lines and shortages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shared::events::{Shortage, StockLine};
use uuid::Uuid;

/// Most distinct products one order may reserve: one transaction holds 100 items, and the
/// reservation, the inbox marker and the outbox item take three of them.
pub const MAX_DISTINCT_LINES: usize = 97;

/// Stock of one product. `available` can be reserved; `reserved` is held for orders;
/// together they are what is on hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    pub product_id: Uuid,
    pub available: u32,
    pub reserved: u32,
}

impl StockLevel {
    /// Units physically held.
    #[must_use]
    pub fn on_hand(&self) -> u64 {
        u64::from(self.available) + u64::from(self.reserved)
    }
}

/// An operator's change to a product's stock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StockChange {
    /// Units on hand are now exactly this (available becomes this minus what is reserved).
    SetOnHand(u32),
    /// Units on hand change by this many (a delivery, a breakage).
    Adjust(i64),
}

/// Why a stock change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StockChangeError {
    /// Stock would fall below what orders already hold.
    #[error("stock cannot go below the {reserved} units reserved for orders")]
    BelowReserved { reserved: u32 },
    /// More than `u32::MAX` units.
    #[error("stock would exceed {}", u32::MAX)]
    TooLarge,
}

impl StockChange {
    /// The new available quantity for `level`.
    ///
    /// # Errors
    /// [`StockChangeError`].
    pub fn apply(self, level: &StockLevel) -> Result<u32, StockChangeError> {
        let on_hand = match self {
            Self::SetOnHand(units) => i128::from(units),
            Self::Adjust(delta) => i128::from(level.on_hand()) + i128::from(delta),
        };
        let available = on_hand - i128::from(level.reserved);
        if available < 0 {
            return Err(StockChangeError::BelowReserved {
                reserved: level.reserved,
            });
        }
        u32::try_from(available).map_err(|_| StockChangeError::TooLarge)
    }
}

/// Why an order's lines cannot be reserved at all (a malformed event: it goes to the DLQ).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinesError {
    #[error("an order must have at least one line")]
    Empty,
    #[error("line for {0} has quantity 0")]
    ZeroQuantity(Uuid),
    #[error("{0} distinct products exceed the {MAX_DISTINCT_LINES} one reservation can hold")]
    TooMany(usize),
    #[error("quantities of {0} overflow")]
    Overflow(Uuid),
}

/// Merges lines of the same product (a transaction may touch each stock item once), in a stable
/// order.
///
/// # Errors
/// [`LinesError`].
pub fn merge_lines(
    lines: impl IntoIterator<Item = (Uuid, u32)>,
) -> Result<Vec<StockLine>, LinesError> {
    let mut merged: BTreeMap<Uuid, u32> = BTreeMap::new();
    for (product_id, quantity) in lines {
        if quantity == 0 {
            return Err(LinesError::ZeroQuantity(product_id));
        }
        let total = merged.entry(product_id).or_insert(0);
        *total = total
            .checked_add(quantity)
            .ok_or(LinesError::Overflow(product_id))?;
    }
    if merged.is_empty() {
        return Err(LinesError::Empty);
    }
    if merged.len() > MAX_DISTINCT_LINES {
        return Err(LinesError::TooMany(merged.len()));
    }
    Ok(merged
        .into_iter()
        .map(|(product_id, quantity)| StockLine {
            product_id,
            quantity,
        })
        .collect())
}

/// The lines `levels` cannot cover (`None`: the product has no stock record).
#[must_use]
pub fn shortages(lines: &[StockLine], levels: &[Option<StockLevel>]) -> Vec<Shortage> {
    lines
        .iter()
        .zip(levels)
        .filter_map(|(line, level)| {
            let available = level.map_or(0, |l| l.available);
            (available < line.quantity).then_some(Shortage {
                product_id: line.product_id,
                requested: line.quantity,
                available,
            })
        })
        .collect()
}

/// What happened to an order's reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Stock is held for the order.
    Reserved,
    /// Some line was short; nothing is held.
    Failed,
    /// The hold was returned to available stock (or the order was cancelled before anything
    /// was reserved, which closes it against a late `OrderPlaced`).
    Released,
}

/// An order's reservation record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub order_id: Uuid,
    pub status: ReservationStatus,
    pub lines: Vec<StockLine>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn level(available: u32, reserved: u32) -> StockLevel {
        StockLevel {
            product_id: Uuid::nil(),
            available,
            reserved,
        }
    }

    #[test]
    fn setting_on_hand_keeps_reservations_and_never_goes_below_them() {
        assert_eq!(StockChange::SetOnHand(10).apply(&level(5, 3)), Ok(7));
        assert_eq!(StockChange::SetOnHand(3).apply(&level(5, 3)), Ok(0));
        assert_eq!(
            StockChange::SetOnHand(2).apply(&level(5, 3)),
            Err(StockChangeError::BelowReserved { reserved: 3 })
        );
    }

    #[test]
    fn adjusting_moves_on_hand_by_the_delta() {
        assert_eq!(StockChange::Adjust(4).apply(&level(5, 3)), Ok(9));
        assert_eq!(StockChange::Adjust(-5).apply(&level(5, 3)), Ok(0));
        assert_eq!(
            StockChange::Adjust(-6).apply(&level(5, 3)),
            Err(StockChangeError::BelowReserved { reserved: 3 })
        );
        assert_eq!(
            StockChange::Adjust(i64::MAX).apply(&level(5, 3)),
            Err(StockChangeError::TooLarge)
        );
    }

    #[test]
    fn lines_of_one_product_are_merged_and_bad_lines_refused() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let merged = merge_lines([(b, 1), (a, 2), (b, 3)]).unwrap();
        assert_eq!(
            merged,
            [
                StockLine {
                    product_id: a,
                    quantity: 2
                },
                StockLine {
                    product_id: b,
                    quantity: 4
                }
            ]
        );
        assert_eq!(merge_lines([]), Err(LinesError::Empty));
        assert_eq!(merge_lines([(a, 0)]), Err(LinesError::ZeroQuantity(a)));
        assert_eq!(
            merge_lines([(a, u32::MAX), (a, 1)]),
            Err(LinesError::Overflow(a))
        );
        let many = (0..98u128).map(|i| (Uuid::from_u128(i), 1));
        assert_eq!(merge_lines(many), Err(LinesError::TooMany(98)));
    }

    #[test]
    fn shortages_name_each_line_stock_cannot_cover() {
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let lines = [
            StockLine {
                product_id: a,
                quantity: 2,
            },
            StockLine {
                product_id: b,
                quantity: 5,
            },
            StockLine {
                product_id: c,
                quantity: 1,
            },
        ];
        let levels = [
            Some(StockLevel {
                product_id: a,
                available: 2,
                reserved: 0,
            }),
            Some(StockLevel {
                product_id: b,
                available: 4,
                reserved: 1,
            }),
            None,
        ];
        let short = shortages(&lines, &levels);
        assert_eq!(
            short,
            [
                Shortage {
                    product_id: b,
                    requested: 5,
                    available: 4
                },
                Shortage {
                    product_id: c,
                    requested: 1,
                    available: 0
                }
            ]
        );
    }

    proptest! {
        #[test]
        fn a_stock_change_never_leaves_on_hand_below_reserved(available in 0u32..1000, reserved in 0u32..1000, delta in -3000i64..3000) {
            let level = level(available, reserved);
            if let Ok(new_available) = StockChange::Adjust(delta).apply(&level) {
                prop_assert_eq!(i128::from(new_available) + i128::from(reserved), i128::from(level.on_hand()) + i128::from(delta));
            } else {
                prop_assert!(i128::from(level.on_hand()) + i128::from(delta) < i128::from(reserved));
            }
        }
    }
}

//! The product aggregate and its state changes.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Category, Description, Price, ProductName, Sku};

/// A product's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProductId(pub Uuid);

impl ProductId {
    #[must_use]
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses a path parameter; `None` if it is not a UUID.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self)
    }
}

impl Default for ProductId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether a product is sold.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ProductStatus {
    Active,
    /// Not sold any more; kept so old orders and links still resolve.
    Archived,
}

/// A catalog entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub sku: Sku,
    pub name: ProductName,
    pub description: Description,
    pub category: Category,
    pub price: Price,
    pub status: ProductStatus,
    /// 1 at creation, +1 on every change: the `ETag`, and what events carry.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A partial update; `None` keeps the current value. The SKU is the product's identity in the
/// warehouse and cannot change.
#[derive(Clone, Debug, Default)]
pub struct ProductChanges {
    pub name: Option<ProductName>,
    pub description: Option<Description>,
    pub category: Option<Category>,
    pub price: Option<Price>,
}

impl Product {
    /// The product after `changes`, with the version bumped; `None` if nothing would change.
    #[must_use]
    pub fn apply(&self, changes: &ProductChanges, now: DateTime<Utc>) -> Option<Self> {
        let mut next = self.clone();
        if let Some(name) = &changes.name {
            next.name = name.clone();
        }
        if let Some(description) = &changes.description {
            next.description = description.clone();
        }
        if let Some(category) = &changes.category {
            next.category = category.clone();
        }
        if let Some(price) = changes.price {
            next.price = price;
        }
        if next == *self {
            return None;
        }
        next.version += 1;
        next.updated_at = now;
        Some(next)
    }

    /// The product archived, version bumped; `None` if it already is.
    #[must_use]
    pub fn archive(&self, now: DateTime<Utc>) -> Option<Self> {
        (self.status == ProductStatus::Active).then(|| Self {
            status: ProductStatus::Archived,
            version: self.version + 1,
            updated_at: now,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mug() -> Product {
        let now = Utc::now();
        Product {
            id: ProductId::new(),
            sku: Sku::parse("MUG-1").unwrap(),
            name: ProductName::parse("Mug").unwrap(),
            description: Description::default(),
            category: Category::parse("kitchen").unwrap(),
            price: Price::parse(1000, "EUR").unwrap(),
            status: ProductStatus::Active,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_change_bumps_the_version_and_no_change_is_none() {
        let mug = mug();
        let changes = ProductChanges {
            price: Some(Price::parse(900, "EUR").unwrap()),
            ..ProductChanges::default()
        };
        let cheaper = mug.apply(&changes, Utc::now()).unwrap();
        assert_eq!(
            (cheaper.version, cheaper.price.money().amount_minor),
            (2, 900)
        );
        let same = ProductChanges {
            name: Some(ProductName::parse("Mug").unwrap()),
            ..ProductChanges::default()
        };
        assert!(mug.apply(&same, Utc::now()).is_none());
    }

    #[test]
    fn archiving_is_once() {
        let archived = mug().archive(Utc::now()).unwrap();
        assert_eq!(
            (archived.status, archived.version),
            (ProductStatus::Archived, 2)
        );
        assert!(archived.archive(Utc::now()).is_none());
    }
}

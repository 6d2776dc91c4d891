//! What the catalog use cases need from storage, one trait per capability: products-api takes
//! [`Products`] and [`Catalog`], exactly what its IAM policy allows.

use std::future::Future;

use shared::envelope::EventEnvelope;
use shared::events::{ProductArchived, ProductCreated, ProductUpdated};
use shared::pagination::{KeyPage, StartKey};

use crate::domain::{Category, Product, ProductId};

/// Why a new product could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum CreateProductError {
    /// Another product has this SKU.
    #[error("SKU already in use")]
    SkuTaken,
    /// A concurrent transaction on the same items (DynamoDB's `TransactionConflict`) cancelled
    /// this one; nothing was written, and trying again gives the real answer.
    #[error("write conflicted with a concurrent transaction")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a product change could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum UpdateProductError {
    /// The stored product's version is not the one this change was based on (or a concurrent
    /// transaction on it won).
    #[error("product changed since it was read")]
    Stale,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A change to store with the event announcing it.
#[derive(Debug)]
pub enum ProductEvent<'a> {
    Updated(&'a EventEnvelope<ProductUpdated>),
    Archived(&'a EventEnvelope<ProductArchived>),
}

/// The products, by id: products-api (IAM `GetItem`, and `PutItem` inside
/// `TransactWriteItems`).
pub trait Products: Send + Sync {
    /// Stores a new product, claims its SKU and records `event`, atomically.
    fn create(
        &self,
        product: &Product,
        event: &EventEnvelope<ProductCreated>,
    ) -> impl Future<Output = Result<(), CreateProductError>> + Send;

    /// The product with `id`, active or archived.
    fn get(&self, id: ProductId) -> impl Future<Output = anyhow::Result<Option<Product>>> + Send;

    /// Replaces the product stored at `expected_version` with `product`, and records `event`.
    fn update(
        &self,
        product: &Product,
        expected_version: u64,
        event: ProductEvent<'_>,
    ) -> impl Future<Output = Result<(), UpdateProductError>> + Send;
}

/// The catalog, for reading: products-api (IAM `Query` on the `by-name` and `by-category`
/// indexes).
pub trait Catalog: Send + Sync {
    /// Active products, by name, optionally in one category, from `start` (a key a previous
    /// page of the same list ended with).
    fn list_active(
        &self,
        category: Option<&Category>,
        limit: i32,
        start: Option<StartKey>,
    ) -> impl Future<Output = anyhow::Result<KeyPage<Product>>> + Send;
}

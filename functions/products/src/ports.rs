//! What the catalog use cases need from storage.

use std::future::Future;

use shared::envelope::EventEnvelope;
use shared::events::{ProductArchived, ProductCreated, ProductUpdated};

use crate::domain::{Category, Product, ProductId};

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Another product has this SKU.
    #[error("SKU already in use")]
    SkuTaken,
    /// The stored product's version is not the one this change was based on.
    #[error("product changed since it was read")]
    Stale,
    /// A concurrent transaction on the same items (DynamoDB's `TransactionConflict`) cancelled
    /// this new product's; nothing was written, and trying again gives the real answer.
    #[error("write conflicted with a concurrent transaction")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// One page of active products.
#[derive(Debug)]
pub struct ProductPage {
    pub products: Vec<Product>,
    /// Opaque; present when there are more.
    pub next_token: Option<String>,
}

/// A change to store with the event announcing it.
#[derive(Debug)]
pub enum ProductEvent<'a> {
    Updated(&'a EventEnvelope<ProductUpdated>),
    Archived(&'a EventEnvelope<ProductArchived>),
}

/// The products table.
pub trait ProductRepository: Send + Sync {
    /// Stores a new product, claims its SKU and records `event`, atomically.
    fn create(
        &self,
        product: &Product,
        event: &EventEnvelope<ProductCreated>,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// The product with `id`, active or archived.
    fn get(&self, id: ProductId) -> impl Future<Output = anyhow::Result<Option<Product>>> + Send;

    /// Replaces the product stored at `expected_version` with `product`, and records `event`.
    fn update(
        &self,
        product: &Product,
        expected_version: u64,
        event: ProductEvent<'_>,
    ) -> impl Future<Output = Result<(), WriteError>> + Send;

    /// Active products, by name, optionally in one category.
    ///
    /// # Errors
    /// A problem (400) for a bad `next_token`, anything else unexpected.
    fn list_active(
        &self,
        category: Option<&Category>,
        limit: i32,
        next_token: Option<&str>,
    ) -> impl Future<Output = Result<ProductPage, ListError>> + Send;
}

/// Why a page could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("invalid next_token")]
    BadToken(shared::http::Problem),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

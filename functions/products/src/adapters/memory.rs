//! The catalog in memory, with the DynamoDB adapter's semantics (unique SKUs, version checks,
//! active-only lists ordered by name, paged with the same keys).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::envelope::EventEnvelope;
use shared::events::ProductCreated;
use shared::memory::{Countdown, Locked, Outbox};
use shared::pagination::{KeyPage, StartKey, page_in_memory};

use super::dynamodb::{list_key, name_sort};
use crate::domain::{Category, Product, ProductId, ProductStatus};
use crate::ports::{Catalog, CreateProductError, ProductEvent, Products, UpdateProductError};

#[derive(Debug, Default)]
struct State {
    products: HashMap<ProductId, Product>,
    skus: HashSet<String>,
    outbox: Outbox,
}

/// Products in a `HashMap`.
#[derive(Debug, Default)]
pub struct InMemoryProductRepository {
    state: Locked<State>,
    /// How many of the next `create` calls lose to a concurrent transaction.
    create_conflicts: Countdown,
    creates: AtomicUsize,
}

impl InMemoryProductRepository {
    /// The next `n` `create` calls fail with [`CreateProductError::Conflict`] and write nothing, as
    /// DynamoDB cancels a transaction that races another one on the same items.
    pub fn inject_create_conflicts(&self, n: u32) {
        self.create_conflicts.arm(n);
    }

    /// How many times `create` was called (conflicted attempts included).
    #[must_use]
    pub fn create_attempts(&self) -> usize {
        self.creates.load(Ordering::SeqCst)
    }

    /// Events recorded so far: `(type, envelope JSON)`.
    #[must_use]
    pub fn outbox(&self) -> Vec<(String, serde_json::Value)> {
        self.state.read(|s| s.outbox.events())
    }
}

impl Products for InMemoryProductRepository {
    async fn create(
        &self,
        product: &Product,
        event: &EventEnvelope<ProductCreated>,
    ) -> Result<(), CreateProductError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        if self.create_conflicts.take() {
            return Err(CreateProductError::Conflict);
        }
        let mut state = self.state.lock()?;
        if !state.skus.insert(product.sku.as_str().to_owned()) {
            return Err(CreateProductError::SkuTaken);
        }
        state.products.insert(product.id, product.clone());
        state.outbox.record(event)?;
        Ok(())
    }

    async fn get(&self, id: ProductId) -> anyhow::Result<Option<Product>> {
        Ok(self.state.lock()?.products.get(&id).cloned())
    }

    async fn update(
        &self,
        product: &Product,
        expected_version: u64,
        event: ProductEvent<'_>,
    ) -> Result<(), UpdateProductError> {
        let mut state = self.state.lock()?;
        if state.products.get(&product.id).map(|p| p.version) != Some(expected_version) {
            return Err(UpdateProductError::Stale);
        }
        state.products.insert(product.id, product.clone());
        match event {
            ProductEvent::Updated(event) => state.outbox.record(event)?,
            ProductEvent::Archived(event) => state.outbox.record(event)?,
        }
        Ok(())
    }
}

impl Catalog for InMemoryProductRepository {
    async fn list_active(
        &self,
        category: Option<&Category>,
        limit: i32,
        start: Option<StartKey>,
    ) -> anyhow::Result<KeyPage<Product>> {
        let after = match start.as_ref().map(|key| key.get("name_sort")) {
            None => None,
            Some(Some(AttributeValue::S(sort))) => Some(sort.clone()),
            Some(_) => anyhow::bail!("start key without name_sort: {start:?}"),
        };
        let state = self.state.lock()?;
        let active = state
            .products
            .values()
            .filter(|p| {
                p.status == ProductStatus::Active && category.is_none_or(|c| &p.category == c)
            })
            .map(|p| (name_sort(p), p.clone()));
        Ok(page_in_memory(active, after.as_ref(), limit, |p| {
            list_key(p, category)
        }))
    }
}

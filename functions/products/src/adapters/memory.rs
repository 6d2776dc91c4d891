//! The catalog in memory, with the DynamoDB adapter's semantics (unique SKUs, version checks,
//! active-only lists ordered by name, paged with the same keys).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use shared::envelope::EventEnvelope;
use shared::events::{Event, ProductCreated};
use shared::pagination::{KeyPage, StartKey, page_in_memory};

use super::dynamodb::{list_key, name_sort};
use crate::domain::{Category, Product, ProductId, ProductStatus};
use crate::ports::{Catalog, CreateProductError, ProductEvent, Products, UpdateProductError};

#[derive(Debug, Default)]
struct State {
    products: HashMap<ProductId, Product>,
    skus: HashSet<String>,
    outbox: Vec<(String, serde_json::Value)>,
}

/// Products in a `HashMap`.
#[derive(Debug, Default)]
pub struct InMemoryProductRepository {
    state: Mutex<State>,
    /// How many of the next `create` calls lose to a concurrent transaction.
    create_conflicts: AtomicUsize,
    creates: AtomicUsize,
}

impl InMemoryProductRepository {
    /// The next `n` `create` calls fail with [`CreateProductError::Conflict`] and write nothing, as
    /// DynamoDB cancels a transaction that races another one on the same items.
    pub fn inject_create_conflicts(&self, n: usize) {
        self.create_conflicts.store(n, Ordering::SeqCst);
    }

    /// How many times `create` was called (conflicted attempts included).
    #[must_use]
    pub fn create_attempts(&self) -> usize {
        self.creates.load(Ordering::SeqCst)
    }

    /// Events recorded so far: `(type, envelope JSON)`.
    #[must_use]
    pub fn outbox(&self) -> Vec<(String, serde_json::Value)> {
        self.state
            .lock()
            .map(|s| s.outbox.clone())
            .unwrap_or_default()
    }

    fn lock(&self) -> anyhow::Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| anyhow::anyhow!("in-memory repository poisoned"))
    }
}

fn record<E: Event>(state: &mut State, event: &EventEnvelope<E>) -> anyhow::Result<()> {
    state
        .outbox
        .push((E::TYPE.to_owned(), serde_json::to_value(event)?));
    Ok(())
}

impl Products for InMemoryProductRepository {
    async fn create(
        &self,
        product: &Product,
        event: &EventEnvelope<ProductCreated>,
    ) -> Result<(), CreateProductError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        if self
            .create_conflicts
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(CreateProductError::Conflict);
        }
        let mut state = self.lock()?;
        if !state.skus.insert(product.sku.as_str().to_owned()) {
            return Err(CreateProductError::SkuTaken);
        }
        state.products.insert(product.id, product.clone());
        record(&mut state, event)?;
        Ok(())
    }

    async fn get(&self, id: ProductId) -> anyhow::Result<Option<Product>> {
        Ok(self.lock()?.products.get(&id).cloned())
    }

    async fn update(
        &self,
        product: &Product,
        expected_version: u64,
        event: ProductEvent<'_>,
    ) -> Result<(), UpdateProductError> {
        let mut state = self.lock()?;
        if state.products.get(&product.id).map(|p| p.version) != Some(expected_version) {
            return Err(UpdateProductError::Stale);
        }
        state.products.insert(product.id, product.clone());
        match event {
            ProductEvent::Updated(event) => record(&mut state, event)?,
            ProductEvent::Archived(event) => record(&mut state, event)?,
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
        let state = self.lock()?;
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

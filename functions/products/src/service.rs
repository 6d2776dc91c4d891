//! The catalog use cases.

use chrono::Utc;
use shared::envelope::{EventEnvelope, Trace};
use shared::events::{ProductArchived, ProductCreated, ProductUpdated};
use shared::pagination::{KeyPage, StartKey};
use shared::retry::{Backoff, Retry};

use crate::domain::{
    Category, Description, Price, Product, ProductChanges, ProductId, ProductName, ProductStatus,
    Sku,
};
use crate::ports::{Catalog, CreateProductError, ProductEvent, Products, UpdateProductError};

/// A new product, parsed.
#[derive(Debug)]
pub struct NewProduct {
    pub sku: Sku,
    pub name: ProductName,
    pub description: Description,
    pub category: Category,
    pub price: Price,
}

/// Why a product could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("SKU already in use")]
    SkuTaken,
    /// Every attempt lost a race on the same items: nothing was written, the same request may
    /// succeed in a moment.
    #[error("creating the product kept conflicting with concurrent writes")]
    Contended,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a product could not be changed or archived.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("product not found")]
    NotFound,
    /// The caller's `If-Match` version is not the current one.
    #[error("product is at version {current}")]
    VersionMismatch { current: u64 },
    /// Archived products are not edited.
    #[error("product is archived")]
    Archived,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Creates an active product at version 1 and publishes `ProductCreated`.
///
/// # Errors
/// [`CreateError::SkuTaken`].
pub async fn create_product<R: Products>(
    repo: &R,
    new: NewProduct,
    trace: Trace,
) -> Result<Product, CreateError> {
    let now = Utc::now();
    let product = Product {
        id: ProductId::new(),
        sku: new.sku,
        name: new.name,
        description: new.description,
        category: new.category,
        price: new.price,
        status: ProductStatus::Active,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let event = EventEnvelope::new(
        ProductCreated {
            product_id: product.id.0,
            sku: product.sku.as_str().to_owned(),
            name: product.name.as_str().to_owned(),
            category: product.category.as_str().to_owned(),
            price: product.price.money(),
            version: product.version,
        },
        trace,
    );
    // A transaction that raced another on the same items (two creations of one SKU) wrote
    // nothing; the retry meets the winner's SKU claim and says so, or succeeds.
    let (product_ref, event_ref) = (&product, &event);
    Backoff::CONTENTION
        .run(|_| async move {
            match repo.create(product_ref, event_ref).await {
                Ok(()) => Retry::Done(Ok(())),
                Err(CreateProductError::Conflict) => Retry::Again(()),
                Err(CreateProductError::SkuTaken) => Retry::Done(Err(CreateError::SkuTaken)),
                Err(CreateProductError::Unexpected(err)) => Retry::Done(Err(err.into())),
            }
        })
        .await
        .unwrap_or(Err(CreateError::Contended))?;
    tracing::info!(product_id = %product.id, "product created");
    Ok(product)
}

/// A product by id.
///
/// # Errors
/// [`ChangeError::NotFound`].
pub async fn get_product<R: Products>(repo: &R, id: ProductId) -> Result<Product, ChangeError> {
    repo.get(id).await?.ok_or(ChangeError::NotFound)
}

fn stale_as_mismatch(err: UpdateProductError, expected: u64) -> ChangeError {
    match err {
        // Someone else changed it between our read and our write: the caller's version is stale.
        UpdateProductError::Stale => ChangeError::VersionMismatch {
            current: expected + 1,
        },
        UpdateProductError::Unexpected(err) => ChangeError::Unexpected(err),
    }
}

/// Applies `changes` if the product is still at `if_match`; publishes `ProductUpdated` (with the
/// new price) when something changed.
///
/// # Errors
/// See [`ChangeError`].
pub async fn update_product<R: Products>(
    repo: &R,
    id: ProductId,
    if_match: u64,
    changes: ProductChanges,
    trace: Trace,
) -> Result<Product, ChangeError> {
    let current = get_product(repo, id).await?;
    if current.version != if_match {
        return Err(ChangeError::VersionMismatch {
            current: current.version,
        });
    }
    if current.status == ProductStatus::Archived {
        return Err(ChangeError::Archived);
    }
    let Some(updated) = current.apply(&changes, Utc::now()) else {
        return Ok(current);
    };
    let event = EventEnvelope::new(
        ProductUpdated {
            product_id: updated.id.0,
            sku: updated.sku.as_str().to_owned(),
            name: updated.name.as_str().to_owned(),
            category: updated.category.as_str().to_owned(),
            price: updated.price.money(),
            version: updated.version,
        },
        trace,
    );
    repo.update(&updated, current.version, ProductEvent::Updated(&event))
        .await
        .map_err(|err| stale_as_mismatch(err, current.version))?;
    tracing::info!(product_id = %id, version = updated.version, "product updated");
    Ok(updated)
}

/// Archives a product (idempotent: archiving an archived product changes nothing and publishes
/// nothing).
///
/// # Errors
/// [`ChangeError::NotFound`].
pub async fn archive_product<R: Products>(
    repo: &R,
    id: ProductId,
    trace: Trace,
) -> Result<Product, ChangeError> {
    // Archiving needs no If-Match: whatever changed concurrently, the outcome is "archived".
    let trace = &trace;
    Backoff::CONTENTION
        .run(|_| async move {
            let current = match get_product(repo, id).await {
                Ok(current) => current,
                Err(err) => return Retry::Done(Err(err)),
            };
            let Some(archived) = current.archive(Utc::now()) else {
                return Retry::Done(Ok(current));
            };
            let event = EventEnvelope::new(
                ProductArchived {
                    product_id: archived.id.0,
                    version: archived.version,
                },
                trace.clone(),
            );
            match repo
                .update(&archived, current.version, ProductEvent::Archived(&event))
                .await
            {
                Ok(()) => {
                    tracing::info!(product_id = %id, "product archived");
                    Retry::Done(Ok(archived))
                }
                Err(UpdateProductError::Stale) => Retry::Again(()),
                Err(err) => Retry::Done(Err(stale_as_mismatch(err, current.version))),
            }
        })
        .await
        .unwrap_or_else(|()| {
            Err(ChangeError::Unexpected(anyhow::anyhow!(
                "product {id} kept changing while being archived"
            )))
        })
}

/// A page of active products, from `start` (where the previous page ended).
///
/// # Errors
/// Storage errors.
pub async fn list_products<R: Catalog>(
    repo: &R,
    category: Option<&Category>,
    limit: i32,
    start: Option<StartKey>,
) -> anyhow::Result<KeyPage<Product>> {
    repo.list_active(category, limit, start).await
}

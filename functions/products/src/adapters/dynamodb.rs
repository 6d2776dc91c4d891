//! The products table on DynamoDB.
//!
//! Items:
//! - `PRODUCT#<id>` / `PRODUCT`, kind `product`. While active it also carries `active_pk`
//!   (`ACTIVE`), `category_pk` (`CATEGORY#<slug>`) and `name_sort` (`<lowercase name>#<id>`):
//!   the keys of the sparse indexes `by-name` and `by-category` that list the catalog. Archiving
//!   drops them, so archived products vanish from both lists.
//! - `SKU#<sku>` / `SKU`, kind `sku_lock`: claims a SKU for one product (`attribute_not_exists`
//!   in the creating transaction), as the users service claims emails.

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::dynamo::{CommitError, KIND, PK, SK, UnitOfWork, get_consistent};
use shared::envelope::EventEnvelope;
use shared::events::ProductCreated;
use shared::pagination::{KeyPage, StartKey};
use uuid::Uuid;

use crate::domain::{
    Category, Description, Price, Product, ProductId, ProductName, ProductStatus, Sku,
};
use crate::ports::{Catalog, CreateProductError, ProductEvent, Products, UpdateProductError};

/// Index of active products by name.
pub const BY_NAME_INDEX: &str = "by-name";
/// Index of active products by category, then name.
pub const BY_CATEGORY_INDEX: &str = "by-category";

/// The products table.
#[derive(Clone, Debug)]
pub struct DynamoDbProductRepository {
    client: Client,
    table: String,
}

impl DynamoDbProductRepository {
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn product_pk(id: ProductId) -> String {
    format!("PRODUCT#{id}")
}

/// The index a list reads, its partition attribute and the partition: the whole active catalog
/// or one category.
fn list_partition(category: Option<&Category>) -> (&'static str, &'static str, String) {
    match category {
        Some(category) => (
            BY_CATEGORY_INDEX,
            "category_pk",
            format!("CATEGORY#{}", category.as_str()),
        ),
        None => (BY_NAME_INDEX, "active_pk", "ACTIVE".to_owned()),
    }
}

/// The sort key of both list indexes: by name, ties broken by id.
pub(crate) fn name_sort(product: &Product) -> String {
    format!("{}#{}", product.name.as_str().to_lowercase(), product.id)
}

/// The key DynamoDB returns as `LastEvaluatedKey` when a page of the list of `category` ends at
/// `product`, for the memory adapter to page with the same keys.
pub(crate) fn list_key(product: &Product, category: Option<&Category>) -> StartKey {
    let (_, partition_attr, partition) = list_partition(category);
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(product_pk(product.id))),
        (SK.to_owned(), AttributeValue::S("PRODUCT".to_owned())),
        (partition_attr.to_owned(), AttributeValue::S(partition)),
        (
            "name_sort".to_owned(),
            AttributeValue::S(name_sort(product)),
        ),
    ])
}

#[derive(Serialize, Deserialize)]
struct ProductItem {
    pk: String,
    sk: String,
    kind: String,
    product_id: Uuid,
    sku: String,
    name: String,
    description: String,
    category: String,
    price_minor: i64,
    currency: String,
    status: ProductStatus,
    version: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    active_pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    category_pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    name_sort: Option<String>,
}

impl ProductItem {
    fn from_product(product: &Product) -> Self {
        let active = product.status == ProductStatus::Active;
        Self {
            pk: product_pk(product.id),
            sk: "PRODUCT".to_owned(),
            kind: "product".to_owned(),
            product_id: product.id.0,
            sku: product.sku.as_str().to_owned(),
            name: product.name.as_str().to_owned(),
            description: product.description.as_str().to_owned(),
            category: product.category.as_str().to_owned(),
            price_minor: product.price.money().amount_minor,
            currency: product.price.money().currency.to_string(),
            status: product.status,
            version: product.version,
            created_at: product.created_at,
            updated_at: product.updated_at,
            active_pk: active.then(|| "ACTIVE".to_owned()),
            category_pk: active.then(|| format!("CATEGORY#{}", product.category.as_str())),
            name_sort: active.then(|| name_sort(product)),
        }
    }

    fn into_product(self) -> anyhow::Result<Product> {
        let id = self.product_id;
        let bad = |field: &str, err: &dyn std::fmt::Display| {
            anyhow::anyhow!("stored {field} of product {id}: {err}")
        };
        Ok(Product {
            id: ProductId(id),
            sku: Sku::parse(&self.sku).map_err(|e| bad("sku", &e))?,
            name: ProductName::parse(&self.name).map_err(|e| bad("name", &e))?,
            description: Description::parse(&self.description)
                .map_err(|e| bad("description", &e))?,
            category: Category::parse(&self.category).map_err(|e| bad("category", &e))?,
            price: Price::parse(self.price_minor, &self.currency).map_err(|e| bad("price", &e))?,
            status: self.status,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn to_product(item: HashMap<String, AttributeValue>) -> anyhow::Result<Product> {
    serde_dynamo::from_item::<_, ProductItem>(item)
        .context("deserialising product item")?
        .into_product()
}

impl DynamoDbProductRepository {
    fn put(
        &self,
        product: &Product,
        condition: &str,
        expected_version: Option<u64>,
    ) -> anyhow::Result<TransactWriteItem> {
        let item = serde_dynamo::to_item(ProductItem::from_product(product))
            .context("serialising product")?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(expected_version.map(|v| {
                HashMap::from([(":expected".to_owned(), AttributeValue::N(v.to_string()))])
            }))
            .build()
            .context("building Put")?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl Products for DynamoDbProductRepository {
    async fn create(
        &self,
        product: &Product,
        event: &EventEnvelope<ProductCreated>,
    ) -> Result<(), CreateProductError> {
        let mut unit = UnitOfWork::new(&self.table);
        unit.push(self.put(product, "attribute_not_exists(pk)", None)?);
        let lock_item = HashMap::from([
            (
                PK.to_owned(),
                AttributeValue::S(format!("SKU#{}", product.sku.as_str())),
            ),
            (SK.to_owned(), AttributeValue::S("SKU".to_owned())),
            (KIND.to_owned(), AttributeValue::S("sku_lock".to_owned())),
            (
                "product_id".to_owned(),
                AttributeValue::S(product.id.to_string()),
            ),
        ]);
        let lock = unit.push(unit.put(lock_item, Some("attribute_not_exists(pk)"))?);
        unit.publish(event).map_err(|err| anyhow::anyhow!(err))?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(()),
            Err(CommitError::ConditionFailed { index }) if index == lock => {
                Err(CreateProductError::SkuTaken)
            }
            Err(CommitError::Conflict) => Err(CreateProductError::Conflict),
            Err(err) => Err(anyhow::Error::new(err)
                .context("storing new product")
                .into()),
        }
    }

    async fn get(&self, id: ProductId) -> anyhow::Result<Option<Product>> {
        let key = HashMap::from([
            (PK.to_owned(), AttributeValue::S(product_pk(id))),
            (SK.to_owned(), AttributeValue::S("PRODUCT".to_owned())),
        ]);
        get_consistent(&self.client, &self.table, key, "product")
            .await?
            .map(to_product)
            .transpose()
    }

    async fn update(
        &self,
        product: &Product,
        expected_version: u64,
        event: ProductEvent<'_>,
    ) -> Result<(), UpdateProductError> {
        let mut unit = UnitOfWork::new(&self.table);
        let put = unit.push(self.put(product, "version = :expected", Some(expected_version))?);
        match event {
            ProductEvent::Updated(event) => unit.publish(event),
            ProductEvent::Archived(event) => unit.publish(event),
        }
        .map_err(|err| anyhow::anyhow!(err))?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(()),
            Err(CommitError::ConditionFailed { index }) if index == put => {
                Err(UpdateProductError::Stale)
            }
            Err(CommitError::Conflict) => Err(UpdateProductError::Stale),
            Err(err) => Err(anyhow::Error::new(err).context("updating product").into()),
        }
    }
}

impl Catalog for DynamoDbProductRepository {
    async fn list_active(
        &self,
        category: Option<&Category>,
        limit: i32,
        start: Option<StartKey>,
    ) -> anyhow::Result<KeyPage<Product>> {
        let (index, partition_attr, partition) = list_partition(category);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", partition_attr)
            .expression_attribute_values(":p", AttributeValue::S(partition))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("querying active products")?;
        let items = output
            .items()
            .iter()
            .cloned()
            .map(to_product)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(KeyPage {
            items,
            last_key: output.last_evaluated_key,
        })
    }
}

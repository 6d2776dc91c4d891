//! The orders table on DynamoDB.
//!
//! Items:
//! - `ORDER#<id>` / `ORDER`, kind `order`: the order, its `version`, and `customer_pk`
//!   (`CUSTOMER#<id>`) + `placed_sort` (`<placed_at>#<id>`), the keys of the `by-customer`
//!   index that lists a customer's orders newest first;
//! - `IDEMPOTENCY#<customer>#<key>` / `IDEMPOTENCY`: the order a key placed and the body's
//!   fingerprint (24 h TTL), created in the same transaction as the order;
//! - `PRICE#<product>` / `PRICE`: the price snapshot, written only by newer product versions;
//! - payment records (see [`super::payment`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use shared::dynamo::{CommitError, EXPIRES_AT, KIND, PK, SK, UnitOfWork, get_consistent, s};
use shared::envelope::EventEnvelope;
use shared::events::{OrderLine, OrderPlaced};
use shared::money::{Currency, Money};
use shared::pagination::{KeyPage, StartKey};
use shared::retry::{Backoff, Retry};
use uuid::Uuid;

use crate::domain::{IdempotencyKey, Order, OrderState, PaymentToken};
use crate::ports::{
    Applied, Checkout, Consumed, CreateOrderError, Inbox, LookupError, OrderHistory, Orders,
    Outgoing, PriceSnapshot, PriceSnapshots, StoredKey, TransitionError,
};

/// Index of a customer's orders by placement time.
pub const BY_CUSTOMER_INDEX: &str = "by-customer";
/// How long an idempotency key is remembered.
const KEY_TTL: Duration = Duration::hours(24);

/// The orders table.
#[derive(Clone, Debug)]
pub struct DynamoDbOrderRepository {
    client: Client,
    table: String,
}

impl DynamoDbOrderRepository {
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

fn order_key(id: Uuid) -> HashMap<String, AttributeValue> {
    key(format!("ORDER#{id}"), "ORDER")
}

fn idempotency_key(customer_id: Uuid, key_text: &str) -> HashMap<String, AttributeValue> {
    key(
        format!("IDEMPOTENCY#{customer_id}#{key_text}"),
        "IDEMPOTENCY",
    )
}

fn price_key(product_id: Uuid) -> HashMap<String, AttributeValue> {
    key(format!("PRICE#{product_id}"), "PRICE")
}

/// The sort key of the `by-customer` index: newest first when read backwards.
pub(crate) fn placed_sort(order: &Order) -> String {
    format!(
        "{}#{}",
        order
            .placed_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        order.id
    )
}

/// The key DynamoDB returns as `LastEvaluatedKey` when a page of the `by-customer` index ends
/// at `order`, for the memory adapter to page with the same keys.
pub(crate) fn by_customer_key(order: &Order) -> StartKey {
    let mut key = order_key(order.id);
    key.insert(
        "customer_pk".to_owned(),
        s(format!("CUSTOMER#{}", order.customer_id)),
    );
    key.insert("placed_sort".to_owned(), s(placed_sort(order)));
    key
}

#[derive(Serialize, Deserialize)]
struct OrderItem {
    pk: String,
    sk: String,
    kind: String,
    order_id: Uuid,
    customer_id: Uuid,
    lines: Vec<OrderLine>,
    total: Money,
    #[serde(flatten)]
    state: OrderState,
    payment_token: String,
    #[serde(default)]
    refunded: Option<Money>,
    placed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: u64,
    customer_pk: String,
    placed_sort: String,
}

impl OrderItem {
    fn from_order(order: &Order) -> Self {
        Self {
            pk: format!("ORDER#{}", order.id),
            sk: "ORDER".to_owned(),
            kind: "order".to_owned(),
            order_id: order.id,
            customer_id: order.customer_id,
            lines: order.lines.clone(),
            total: order.total,
            state: order.state,
            payment_token: order.payment_token.expose().to_owned(),
            refunded: order.refunded,
            placed_at: order.placed_at,
            updated_at: order.updated_at,
            version: order.version,
            customer_pk: format!("CUSTOMER#{}", order.customer_id),
            placed_sort: placed_sort(order),
        }
    }

    fn into_order(self) -> anyhow::Result<Order> {
        Ok(Order {
            id: self.order_id,
            customer_id: self.customer_id,
            lines: self.lines,
            total: self.total,
            state: self.state,
            payment_token: PaymentToken::parse(&self.payment_token)
                .with_context(|| format!("stored payment token of {}", self.order_id))?,
            refunded: self.refunded,
            placed_at: self.placed_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

fn to_order(item: HashMap<String, AttributeValue>) -> anyhow::Result<Order> {
    serde_dynamo::from_item::<_, OrderItem>(item)
        .context("deserialising order")?
        .into_order()
}

type Item = HashMap<String, AttributeValue>;

/// The price of a snapshot item, `None` when the product is not for sale (archived). An item
/// that cannot be read is an error, not "not for sale": the customer would be told something
/// false, and nobody would look at the item.
fn active_price(item: &Item) -> anyhow::Result<Option<(Uuid, Money)>> {
    let pk = item.get(PK);
    match item.get("active") {
        Some(AttributeValue::Bool(true)) => {}
        Some(AttributeValue::Bool(false)) => return Ok(None),
        other => anyhow::bail!("price snapshot {pk:?}: unreadable active flag {other:?}"),
    }
    let (
        Some(AttributeValue::S(id)),
        Some(AttributeValue::N(minor)),
        Some(AttributeValue::S(currency)),
    ) = (
        item.get("product_id"),
        item.get("price_minor"),
        item.get("currency"),
    )
    else {
        anyhow::bail!("price snapshot {pk:?} is active but has no readable price");
    };
    let money = Money::new(
        minor.parse().context("stored price")?,
        Currency::parse(currency).context("stored currency")?,
    );
    Ok(Some((
        Uuid::parse_str(id).context("stored product id")?,
        money,
    )))
}

/// One BatchGetItem answer: the items read and the keys the table left unprocessed.
type BatchPage = (Vec<Item>, Option<KeysAndAttributes>);

/// Reads every key of `keys` with `fetch` (one BatchGetItem each), sending the keys it left
/// unprocessed again after a jittered, growing wait. DynamoDB leaves keys unprocessed when it
/// throttles the read: sent again at once they are throttled again, and dropped they would
/// read as items that do not exist. Keys still unprocessed when `backoff` is spent make the
/// whole read [`LookupError::Unavailable`]: the answer is unknown, not empty.
async fn get_all<F, Fut>(
    backoff: &Backoff,
    keys: KeysAndAttributes,
    fetch: F,
) -> Result<Vec<Item>, LookupError>
where
    F: Fn(KeysAndAttributes) -> Fut,
    Fut: Future<Output = Result<BatchPage, LookupError>>,
{
    // The read so far: the keys still to fetch, and the items read.
    let progress = &Mutex::new((keys, Vec::new()));
    let fetch = &fetch;
    // Nothing can panic while the lock is held, so even a poisoned lock holds consistent data.
    let lock = || progress.lock().unwrap_or_else(PoisonError::into_inner);
    backoff
        .run(move |_| async move {
            let pending = lock().0.clone();
            let (read, rest) = match fetch(pending).await {
                Ok(page) => page,
                Err(err) => return Retry::Done(Err(err)),
            };
            let mut progress = lock();
            progress.1.extend(read);
            match rest.filter(|rest| !rest.keys().is_empty()) {
                Some(rest) => {
                    progress.0 = rest;
                    Retry::Again(())
                }
                None => Retry::Done(Ok(std::mem::take(&mut progress.1))),
            }
        })
        .await
        .unwrap_or_else(|()| {
            Err(LookupError::Unavailable(
                "price lookup throttled: keys still unprocessed after backing off",
            ))
        })
}

impl DynamoDbOrderRepository {
    /// One BatchGetItem of the orders table. A throttled request (which the SDK already retried)
    /// is [`LookupError::Unavailable`] like a throttled key.
    async fn batch_get(&self, keys: KeysAndAttributes) -> Result<BatchPage, LookupError> {
        let output = match self
            .client
            .batch_get_item()
            .request_items(&self.table, keys)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err)
                if err.as_service_error().is_some_and(|e| {
                    e.is_provisioned_throughput_exceeded_exception()
                        || e.is_request_limit_exceeded()
                }) =>
            {
                return Err(LookupError::Unavailable("price lookup throttled"));
            }
            Err(err) => {
                return Err(anyhow::Error::new(err)
                    .context("BatchGetItem prices")
                    .into());
            }
        };
        let read = output
            .responses()
            .and_then(|r| r.get(&self.table))
            .cloned()
            .unwrap_or_default();
        let rest = output
            .unprocessed_keys()
            .and_then(|keys| keys.get(&self.table))
            .cloned();
        Ok((read, rest))
    }
}

fn order_put(
    table: &str,
    order: &Order,
    condition: &str,
    expected: Option<u64>,
) -> anyhow::Result<TransactWriteItem> {
    let item = serde_dynamo::to_item(OrderItem::from_order(order)).context("serialising order")?;
    let put =
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(expected.map(|v| {
                HashMap::from([(":expected".to_owned(), AttributeValue::N(v.to_string()))])
            }))
            .build()
            .context("building Put")?;
    Ok(TransactWriteItem::builder().put(put).build())
}

impl Orders for DynamoDbOrderRepository {
    async fn get(&self, order_id: Uuid) -> anyhow::Result<Option<Order>> {
        get_consistent(&self.client, &self.table, order_key(order_id), "order")
            .await?
            .map(to_order)
            .transpose()
    }

    async fn transition(
        &self,
        before: &Order,
        after: &Order,
        consumed: Option<&Consumed>,
        event: Outgoing<'_>,
    ) -> Result<Applied, TransitionError> {
        let mut unit = UnitOfWork::new(&self.table);
        let put = unit.push(order_put(
            &self.table,
            after,
            "version = :expected",
            Some(before.version),
        )?);
        if let Some(consumed) = consumed {
            unit.record_inbox(consumed)
                .map_err(|err| anyhow::anyhow!(err))?;
        }
        match event {
            Outgoing::Confirmed(event) => unit.publish(event),
            Outgoing::Rejected(event) => unit.publish(event),
            Outgoing::Cancelled(event) => unit.publish(event),
            Outgoing::Refunded(event) => unit.publish(event),
        }
        .map_err(|err| anyhow::anyhow!(err))?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(Applied::Done),
            Err(CommitError::AlreadyProcessed) => Ok(Applied::AlreadyProcessed),
            Err(CommitError::ConditionFailed { index }) if index == put => {
                Err(TransitionError::Stale)
            }
            Err(CommitError::Conflict) => Err(TransitionError::Stale),
            Err(err) => Err(anyhow::Error::new(err)
                .context("storing order transition")
                .into()),
        }
    }
}

impl Checkout for DynamoDbOrderRepository {
    async fn active_prices(
        &self,
        product_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Money>, LookupError> {
        let mut unique: Vec<Uuid> = product_ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut prices = HashMap::new();
        // BatchGetItem takes 100 keys; orders have at most 50 lines.
        for chunk in unique.chunks(100) {
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(|id| price_key(*id)).collect()))
                .consistent_read(true)
                .build()
                .context("building BatchGetItem keys")?;
            let items = get_all(&Backoff::CONTENTION, keys, |keys| self.batch_get(keys)).await?;
            for item in &items {
                if let Some((product_id, price)) = active_price(item)? {
                    prices.insert(product_id, price);
                }
            }
        }
        Ok(prices)
    }

    async fn stored_key(
        &self,
        customer_id: Uuid,
        key_text: &str,
    ) -> anyhow::Result<Option<StoredKey>> {
        let item = get_consistent(
            &self.client,
            &self.table,
            idempotency_key(customer_id, key_text),
            "idempotency key",
        )
        .await?;
        let Some(item) = item else { return Ok(None) };
        match (item.get("order_id"), item.get("fingerprint")) {
            (Some(AttributeValue::S(order_id)), Some(AttributeValue::S(fingerprint))) => {
                Ok(Some(StoredKey {
                    order_id: Uuid::parse_str(order_id).context("stored order id")?,
                    fingerprint: fingerprint.clone(),
                }))
            }
            _ => anyhow::bail!("malformed idempotency item for customer {customer_id}"),
        }
    }

    async fn create(
        &self,
        order: &Order,
        idempotency: &IdempotencyKey,
        event: &EventEnvelope<OrderPlaced>,
    ) -> Result<(), CreateOrderError> {
        let mut unit = UnitOfWork::new(&self.table);
        unit.push(order_put(
            &self.table,
            order,
            "attribute_not_exists(pk)",
            None,
        )?);
        let mut key_item = idempotency_key(order.customer_id, &idempotency.key);
        key_item.extend([
            (KIND.to_owned(), s("idempotency_key")),
            ("order_id".to_owned(), s(order.id.to_string())),
            ("fingerprint".to_owned(), s(&idempotency.fingerprint)),
            (
                EXPIRES_AT.to_owned(),
                AttributeValue::N((Utc::now() + KEY_TTL).timestamp().to_string()),
            ),
        ]);
        let key_index = unit.push(unit.put(key_item, Some("attribute_not_exists(pk)"))?);
        unit.publish(event).map_err(|err| anyhow::anyhow!(err))?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(()),
            Err(CommitError::ConditionFailed { index }) if index == key_index => {
                Err(CreateOrderError::KeyTaken)
            }
            // Another request with this key is writing (TransactionConflict): retryable.
            Err(CommitError::Conflict) => Err(CreateOrderError::Conflict),
            Err(err) => Err(anyhow::Error::new(err).context("storing new order").into()),
        }
    }
}

impl OrderHistory for DynamoDbOrderRepository {
    async fn list_for_customer(
        &self,
        customer_id: Uuid,
        limit: i32,
        start: Option<StartKey>,
    ) -> anyhow::Result<KeyPage<Order>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_CUSTOMER_INDEX)
            .key_condition_expression("customer_pk = :customer")
            .expression_attribute_values(":customer", s(format!("CUSTOMER#{customer_id}")))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .context("querying customer orders")?;
        let items = output
            .items()
            .iter()
            .cloned()
            .map(to_order)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(KeyPage {
            items,
            last_key: output.last_evaluated_key,
        })
    }
}

impl PriceSnapshots for DynamoDbOrderRepository {
    async fn apply_snapshot(
        &self,
        event: &Consumed,
        snapshot: PriceSnapshot,
    ) -> anyhow::Result<Applied> {
        let mut unit = UnitOfWork::new(&self.table);
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(price_key(snapshot.product_id)))
            .condition_expression("attribute_not_exists(pk) OR version < :version")
            .expression_attribute_values(
                ":version",
                AttributeValue::N(snapshot.version.to_string()),
            )
            .expression_attribute_values(":kind", s("price"))
            .expression_attribute_values(":product", s(snapshot.product_id.to_string()))
            .expression_attribute_values(":active", AttributeValue::Bool(snapshot.price.is_some()));
        update = match snapshot.price {
            Some(price) => update
                .update_expression("SET kind = :kind, product_id = :product, active = :active, version = :version, price_minor = :minor, currency = :currency")
                .expression_attribute_values(":minor", AttributeValue::N(price.amount_minor.to_string()))
                .expression_attribute_values(":currency", s(price.currency.to_string())),
            None => update.update_expression("SET kind = :kind, product_id = :product, active = :active, version = :version"),
        };
        let change = unit.push(
            TransactWriteItem::builder()
                .update(update.build().context("building Update")?)
                .build(),
        );
        unit.record_inbox(event)?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(Applied::Done),
            Err(CommitError::AlreadyProcessed) => Ok(Applied::AlreadyProcessed),
            // A newer version is stored: this event is stale (SNS/SQS reorder). Keep the newer.
            Err(CommitError::ConditionFailed { index }) if index == change => {
                self.acknowledge(event).await
            }
            Err(err) => Err(anyhow::Error::new(err).context("storing price snapshot")),
        }
    }
}

impl Inbox for DynamoDbOrderRepository {
    async fn acknowledge(&self, consumed: &Consumed) -> anyhow::Result<Applied> {
        shared::dynamo::acknowledge(&self.client, &self.table, consumed).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    const FAST: Backoff = Backoff {
        attempts: 4,
        base: Duration::from_micros(1),
        max: Duration::from_micros(4),
    };

    fn keys(ids: &[u128]) -> KeysAndAttributes {
        KeysAndAttributes::builder()
            .set_keys(Some(
                ids.iter()
                    .map(|id| price_key(Uuid::from_u128(*id)))
                    .collect(),
            ))
            .build()
            .unwrap()
    }

    /// A table that reads at most `per_call` keys per BatchGetItem and leaves the rest
    /// unprocessed, as DynamoDB does when it throttles; each key reads as an item of itself.
    async fn throttled(
        keys: KeysAndAttributes,
        per_call: usize,
        calls: &AtomicUsize,
    ) -> Result<BatchPage, LookupError> {
        calls.fetch_add(1, Ordering::SeqCst);
        let mut all = keys.keys().to_vec();
        let rest = all.split_off(per_call.min(all.len()));
        let rest = (!rest.is_empty()).then(|| {
            KeysAndAttributes::builder()
                .set_keys(Some(rest))
                .build()
                .unwrap()
        });
        Ok((all, rest))
    }

    fn snapshot(fields: &[(&str, AttributeValue)]) -> Item {
        fields
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect()
    }

    #[test]
    fn a_price_snapshot_is_a_price_when_active_and_none_when_archived() {
        let id = Uuid::from_u128(1);
        let active = snapshot(&[
            ("product_id", s(id.to_string())),
            ("active", AttributeValue::Bool(true)),
            ("price_minor", AttributeValue::N("1999".into())),
            ("currency", s("EUR")),
        ]);
        assert_eq!(
            active_price(&active).unwrap(),
            Some((id, Money::new(1999, Currency::parse("EUR").unwrap())))
        );
        let archived = snapshot(&[
            ("product_id", s(id.to_string())),
            ("active", AttributeValue::Bool(false)),
        ]);
        assert_eq!(active_price(&archived).unwrap(), None);
    }

    #[test]
    fn a_price_snapshot_that_cannot_be_read_is_an_error_never_not_for_sale() {
        let id = s(Uuid::from_u128(1).to_string());
        let active = AttributeValue::Bool(true);
        let unreadable = [
            snapshot(&[("product_id", id.clone()), ("active", active.clone())]),
            snapshot(&[
                ("product_id", id.clone()),
                ("active", active.clone()),
                ("price_minor", s("1999")),
                ("currency", s("EUR")),
            ]),
            snapshot(&[
                ("product_id", id.clone()),
                ("active", s("yes")),
                ("price_minor", AttributeValue::N("1999".into())),
                ("currency", s("EUR")),
            ]),
            snapshot(&[
                ("active", active),
                ("price_minor", AttributeValue::N("1999".into())),
                ("currency", s("EUR")),
            ]),
        ];
        for item in unreadable {
            assert!(active_price(&item).is_err(), "{item:?}");
        }
    }

    #[tokio::test]
    async fn unprocessed_keys_are_read_again_after_a_wait_until_none_is_left() {
        let calls = AtomicUsize::new(0);
        let items = get_all(&FAST, keys(&[1, 2, 3]), |k| throttled(k, 1, &calls))
            .await
            .unwrap();
        let mut read: Vec<_> = items.iter().map(|item| item[PK].clone()).collect();
        read.sort_by_key(|pk| format!("{pk:?}"));
        assert_eq!(
            read,
            [1, 2, 3].map(|id| price_key(Uuid::from_u128(id))[PK].clone())
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn keys_still_unprocessed_after_backing_off_make_the_read_unavailable_not_empty() {
        let calls = AtomicUsize::new(0);
        let result = get_all(&FAST, keys(&[1, 2]), |k| throttled(k, 0, &calls)).await;
        assert!(
            matches!(result, Err(LookupError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "every attempt of the policy"
        );
        // Partly read is still unknown: one key read, the other never.
        let calls = AtomicUsize::new(0);
        let partial = get_all(
            &Backoff {
                attempts: 1,
                ..FAST
            },
            keys(&[1, 2]),
            |k| throttled(k, 1, &calls),
        )
        .await;
        assert!(matches!(partial, Err(LookupError::Unavailable(_))));
    }
}

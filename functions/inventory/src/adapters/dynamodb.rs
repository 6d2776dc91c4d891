//! The inventory table on DynamoDB.
//!
//! Items:
//! - `STOCK#<product id>` / `STOCK`, kind `stock`: `available` and `reserved` units. Every
//!   change is conditional: a reservation on `available >= :quantity`, a release on
//!   `reserved >= :quantity`, an operator's change on the level it read. Stock never oversells.
//! - `RESERVATION#<order id>` / `RESERVATION`, kind `reservation`: the order's lines and
//!   whether they are `reserved`, `failed` or `released`. Created with `attribute_not_exists`,
//!   it makes every order reserve at most once.

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use shared::dynamo::{CommitError, PK, SK, UnitOfWork, get_consistent, n, s};
use shared::envelope::EventEnvelope;
use shared::events::{StockLine, StockReleased, StockReservationFailed, StockReserved};
use uuid::Uuid;

use crate::domain::{Reservation, ReservationStatus, StockChange, StockLevel};
use crate::ports::{
    Applied, ChangeStockError, Consumed, Inbox, Reservations, ReserveAttempt, StockAdjustments,
    StockLevels,
};

/// The inventory table.
#[derive(Clone, Debug)]
pub struct DynamoDbInventoryStore {
    client: Client,
    table: String,
}

impl DynamoDbInventoryStore {
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn stock_key(product_id: Uuid) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), s(format!("STOCK#{product_id}"))),
        (SK.to_owned(), s("STOCK")),
    ])
}

fn reservation_key(order_id: Uuid) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), s(format!("RESERVATION#{order_id}"))),
        (SK.to_owned(), s("RESERVATION")),
    ])
}

#[derive(Serialize, Deserialize)]
struct StockItem {
    product_id: Uuid,
    available: u32,
    reserved: u32,
}

#[derive(Serialize, Deserialize)]
struct ReservationItem {
    pk: String,
    sk: String,
    kind: String,
    order_id: Uuid,
    status: ReservationStatus,
    lines: Vec<StockLine>,
}

fn reservation_item(
    order_id: Uuid,
    status: ReservationStatus,
    lines: &[StockLine],
) -> anyhow::Result<HashMap<String, AttributeValue>> {
    serde_dynamo::to_item(ReservationItem {
        pk: format!("RESERVATION#{order_id}"),
        sk: "RESERVATION".to_owned(),
        kind: "reservation".to_owned(),
        order_id,
        status,
        lines: lines.to_vec(),
    })
    .context("serialising reservation")
}

fn update(
    table: &str,
    key: HashMap<String, AttributeValue>,
    expression: &str,
    condition: &str,
    values: HashMap<String, AttributeValue>,
) -> anyhow::Result<TransactWriteItem> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(expression)
        .condition_expression(condition)
        .set_expression_attribute_values(Some(values))
        .build()
        .context("building Update")?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn unexpected(err: CommitError, what: &str) -> anyhow::Error {
    anyhow::Error::new(err).context(what.to_owned())
}

impl StockLevels for DynamoDbInventoryStore {
    async fn stock(&self, product_id: Uuid) -> anyhow::Result<Option<StockLevel>> {
        let item =
            get_consistent(&self.client, &self.table, stock_key(product_id), "stock").await?;
        item.map(|item| {
            let stock: StockItem = serde_dynamo::from_item(item).context("deserialising stock")?;
            Ok(StockLevel {
                product_id: stock.product_id,
                available: stock.available,
                reserved: stock.reserved,
            })
        })
        .transpose()
    }
}

impl StockAdjustments for DynamoDbInventoryStore {
    async fn change_stock(
        &self,
        current: &StockLevel,
        change: StockChange,
    ) -> Result<StockLevel, ChangeStockError> {
        let available = change.apply(current)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(stock_key(current.product_id)))
            .update_expression("SET available = :new")
            .condition_expression("available = :available AND reserved = :reserved")
            .expression_attribute_values(":new", n(available))
            .expression_attribute_values(":available", n(current.available))
            .expression_attribute_values(":reserved", n(current.reserved))
            .send()
            .await;
        match result {
            Ok(_) => Ok(StockLevel {
                available,
                ..*current
            }),
            Err(SdkError::ServiceError(err))
                if matches!(
                    err.err(),
                    UpdateItemError::ConditionalCheckFailedException(_)
                ) =>
            {
                Err(ChangeStockError::Conflict)
            }
            Err(err) => Err(anyhow::Error::new(err).context("UpdateItem stock").into()),
        }
    }
}

impl Reservations for DynamoDbInventoryStore {
    async fn add_product(&self, event: &Consumed, product_id: Uuid) -> anyhow::Result<Applied> {
        let mut unit = UnitOfWork::new(&self.table);
        let mut item = stock_key(product_id);
        item.extend([
            ("kind".to_owned(), s("stock")),
            ("product_id".to_owned(), s(product_id.to_string())),
            ("available".to_owned(), n(0)),
            ("reserved".to_owned(), n(0)),
        ]);
        let put = unit.push(unit.put(item, Some("attribute_not_exists(pk)"))?);
        unit.record_inbox(event)?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(Applied::Done),
            Err(CommitError::AlreadyProcessed) => Ok(Applied::AlreadyProcessed),
            // The record exists (the operator was faster, or an older delivery): keep it.
            Err(CommitError::ConditionFailed { index }) if index == put => {
                self.acknowledge(event).await
            }
            Err(err) => Err(unexpected(err, "creating stock record")),
        }
    }

    async fn try_reserve(
        &self,
        event: &Consumed,
        lines: &[StockLine],
        reserved: &EventEnvelope<StockReserved>,
    ) -> anyhow::Result<ReserveAttempt> {
        let mut unit = UnitOfWork::new(&self.table);
        for line in lines {
            unit.push(update(
                &self.table,
                stock_key(line.product_id),
                "SET available = available - :q, reserved = reserved + :q",
                "attribute_exists(pk) AND available >= :q",
                HashMap::from([(":q".to_owned(), n(line.quantity))]),
            )?);
        }
        let record = unit.push(unit.put(
            reservation_item(reserved.data.order_id, ReservationStatus::Reserved, lines)?,
            Some("attribute_not_exists(pk)"),
        )?);
        unit.record_inbox(event)?.publish(reserved)?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(ReserveAttempt::Reserved),
            Err(CommitError::AlreadyProcessed) => Ok(ReserveAttempt::AlreadyProcessed),
            Err(CommitError::ConditionFailed { index }) if index < record => {
                Ok(ReserveAttempt::Short)
            }
            Err(CommitError::ConditionFailed { index }) if index == record => {
                match self.acknowledge(event).await? {
                    Applied::Done => Ok(ReserveAttempt::OrderClosed),
                    Applied::AlreadyProcessed => Ok(ReserveAttempt::AlreadyProcessed),
                }
            }
            Err(CommitError::Conflict) => Ok(ReserveAttempt::Conflict),
            Err(err) => Err(unexpected(err, "reserving stock")),
        }
    }

    async fn record_failure(
        &self,
        event: &Consumed,
        failed: &EventEnvelope<StockReservationFailed>,
    ) -> anyhow::Result<Applied> {
        let mut unit = UnitOfWork::new(&self.table);
        let record = unit.push(unit.put(
            reservation_item(failed.data.order_id, ReservationStatus::Failed, &[])?,
            Some("attribute_not_exists(pk)"),
        )?);
        unit.record_inbox(event)?.publish(failed)?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(Applied::Done),
            Err(CommitError::AlreadyProcessed) => Ok(Applied::AlreadyProcessed),
            // The order was closed meanwhile: nothing to report.
            Err(CommitError::ConditionFailed { index }) if index == record => {
                self.acknowledge(event).await
            }
            Err(err) => Err(unexpected(err, "recording failed reservation")),
        }
    }

    async fn reservation(&self, order_id: Uuid) -> anyhow::Result<Option<Reservation>> {
        let item = get_consistent(
            &self.client,
            &self.table,
            reservation_key(order_id),
            "reservation",
        )
        .await?;
        item.map(|item| {
            let record: ReservationItem =
                serde_dynamo::from_item(item).context("deserialising reservation")?;
            Ok(Reservation {
                order_id: record.order_id,
                status: record.status,
                lines: record.lines,
            })
        })
        .transpose()
    }

    async fn release(
        &self,
        event: &Consumed,
        reservation: &Reservation,
        released: &EventEnvelope<StockReleased>,
    ) -> anyhow::Result<Option<Applied>> {
        let mut unit = UnitOfWork::new(&self.table);
        for line in &reservation.lines {
            unit.push(update(
                &self.table,
                stock_key(line.product_id),
                "SET available = available + :q, reserved = reserved - :q",
                "reserved >= :q",
                HashMap::from([(":q".to_owned(), n(line.quantity))]),
            )?);
        }
        // `status` is a DynamoDB reserved word, hence the name placeholder.
        let mark = Update::builder()
            .table_name(&self.table)
            .set_key(Some(reservation_key(reservation.order_id)))
            .update_expression("SET #status = :released")
            .condition_expression("#status = :reserved")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":released", s("released"))
            .expression_attribute_values(":reserved", s("reserved"))
            .build()
            .context("building Update")?;
        let record = unit.push(TransactWriteItem::builder().update(mark).build());
        unit.record_inbox(event)?.publish(released)?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(Some(Applied::Done)),
            Err(CommitError::AlreadyProcessed) => Ok(Some(Applied::AlreadyProcessed)),
            Err(CommitError::ConditionFailed { index }) if index == record => Ok(None),
            // A line's `reserved >= quantity` failed: a concurrent release returned these units
            // already (the reservation is no longer reserved, so this one lost the race), or the
            // stock holds less than its reservation, which must never be.
            Err(CommitError::ConditionFailed { index }) if index < record => {
                match self.reservation(reservation.order_id).await? {
                    Some(now) if now.status != ReservationStatus::Reserved => Ok(None),
                    _ => Err(anyhow::anyhow!(
                        "stock holds less than the reservation of order {}",
                        reservation.order_id
                    )),
                }
            }
            Err(CommitError::Conflict) => Ok(None),
            Err(err) => Err(unexpected(err, "releasing reservation")),
        }
    }

    async fn close_unreserved(
        &self,
        event: &Consumed,
        order_id: Uuid,
    ) -> anyhow::Result<Option<Applied>> {
        let mut unit = UnitOfWork::new(&self.table);
        let record = unit.push(unit.put(
            reservation_item(order_id, ReservationStatus::Released, &[])?,
            Some("attribute_not_exists(pk)"),
        )?);
        unit.record_inbox(event)?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(Some(Applied::Done)),
            Err(CommitError::AlreadyProcessed) => Ok(Some(Applied::AlreadyProcessed)),
            Err(CommitError::ConditionFailed { index }) if index == record => Ok(None),
            Err(CommitError::Conflict) => Ok(None),
            Err(err) => Err(unexpected(err, "closing unreserved order")),
        }
    }
}

impl Inbox for DynamoDbInventoryStore {
    async fn acknowledge(&self, event: &Consumed) -> anyhow::Result<Applied> {
        shared::dynamo::acknowledge(&self.client, &self.table, event).await
    }
}

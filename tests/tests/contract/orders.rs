//! The orders table's ports on DynamoDB: price snapshots by version, one order per idempotency
//! key, transitions on the version read, a customer's orders through the `by-customer` index.

use emulator_tests::tables::with_template_table;
use orders::adapters::dynamodb::DynamoDbOrderRepository;

async fn with_store(body: impl AsyncFnOnce(&DynamoDbOrderRepository)) {
    with_template_table("OrdersTable", "contract-orders", async |client, table| {
        body(&DynamoDbOrderRepository::new(client, table)).await;
    })
    .await;
}

orders::contract_tests!(with_store);

//! The inventory ports on DynamoDB: no oversell under concurrent reservations, one reservation
//! per `OrderPlaced` however often it is delivered, releases, the operator's changes.

use emulator_tests::tables::with_template_table;
use inventory::adapters::dynamodb::DynamoDbInventoryStore;

async fn with_store(body: impl AsyncFnOnce(&DynamoDbInventoryStore)) {
    with_template_table(
        "InventoryTable",
        "contract-inventory",
        async |client, table| {
            body(&DynamoDbInventoryStore::new(client, table)).await;
        },
    )
    .await;
}

inventory::contract_tests!(with_store);

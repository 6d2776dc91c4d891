//! The notifications ports on DynamoDB: the recipient directory, one claim and one record per
//! event, failed sends retried, a user's list page by page.

use emulator_tests::tables::with_template_table;
use notifications::adapters::dynamodb::DynamoDbNotificationStore;

async fn with_store(body: impl AsyncFnOnce(&DynamoDbNotificationStore)) {
    with_template_table(
        "NotificationsTable",
        "contract-notifications",
        async |client, table| {
            body(&DynamoDbNotificationStore::new(client, table)).await;
        },
    )
    .await;
}

notifications::contract_tests!(with_store);

//! The users table's ports on DynamoDB: email uniqueness under concurrency, email changes,
//! optimistic concurrency, the failed-login counters.

use emulator_tests::tables::with_template_table;
use users::adapters::dynamodb::DynamoDbUserRepository;

async fn with_store(body: impl AsyncFnOnce(&DynamoDbUserRepository)) {
    with_template_table("UsersTable", "contract-users", async |client, table| {
        body(&DynamoDbUserRepository::new(client, table)).await;
    })
    .await;
}

users::contract_tests!(with_store);

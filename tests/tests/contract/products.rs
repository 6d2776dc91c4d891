//! The products ports on DynamoDB: SKU uniqueness, optimistic concurrency, and the sparse
//! indexes that list only active products, by name or by category, page by page.

use emulator_tests::tables::with_template_table;
use products::adapters::dynamodb::DynamoDbProductRepository;

async fn with_store(body: impl AsyncFnOnce(&DynamoDbProductRepository)) {
    with_template_table(
        "ProductsTable",
        "contract-products",
        async |client, table| {
            body(&DynamoDbProductRepository::new(client, table)).await;
        },
    )
    .await;
}

products::contract_tests!(with_store);

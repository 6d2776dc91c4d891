//! The products table adapter on the emulator: SKU uniqueness, optimistic concurrency, and the
//! sparse indexes that list only active products, by name or by category, page by page.

use emulator_tests::with_indexed_service_table;
use products::adapters::dynamodb::{BY_CATEGORY_INDEX, BY_NAME_INDEX, DynamoDbProductRepository};
use products::domain::{Category, Description, Price, ProductChanges, ProductName, Sku};
use products::service::{self, ChangeError, CreateError, NewProduct};
use shared::envelope::Trace;

const INDEXES: &[(&str, &str, &str)] = &[
    (BY_NAME_INDEX, "active_pk", "name_sort"),
    (BY_CATEGORY_INDEX, "category_pk", "name_sort"),
];

fn new_product(sku: &str, name: &str, category: &str) -> NewProduct {
    NewProduct {
        sku: Sku::parse(sku).unwrap(),
        name: ProductName::parse(name).unwrap(),
        description: Description::default(),
        category: Category::parse(category).unwrap(),
        price: Price::parse(1000, "EUR").unwrap(),
    }
}

fn trace() -> Trace {
    Trace::from_request("corr-products", "req-products")
}

#[tokio::test]
async fn a_sku_is_claimed_once_even_by_concurrent_creations() {
    with_indexed_service_table("products-sku", INDEXES, async |client, table| {
        let repo = DynamoDbProductRepository::new(client, &table);
        let attempts = (0..4).map(|i| {
            service::create_product(
                &repo,
                new_product("mug-1", &format!("Mug {i}"), "kitchen"),
                trace(),
            )
        });
        let outcomes = futures::future::join_all(attempts).await;
        assert_eq!(
            outcomes.iter().filter(|o| o.is_ok()).count(),
            1,
            "{outcomes:?}"
        );
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(o, Err(CreateError::SkuTaken)))
                .count(),
            3
        );
    })
    .await;
}

#[tokio::test]
async fn an_update_from_a_stale_version_is_refused_and_the_current_version_named() {
    with_indexed_service_table("products-etag", INDEXES, async |client, table| {
        let repo = DynamoDbProductRepository::new(client, &table);
        let mug = service::create_product(&repo, new_product("mug-1", "Mug", "kitchen"), trace())
            .await
            .unwrap();
        let cheaper = ProductChanges {
            price: Some(Price::parse(900, "EUR").unwrap()),
            ..ProductChanges::default()
        };
        let updated = service::update_product(&repo, mug.id, 1, cheaper.clone(), trace())
            .await
            .unwrap();
        assert_eq!(updated.version, 2);
        assert!(matches!(
            service::update_product(&repo, mug.id, 1, cheaper, trace()).await,
            Err(ChangeError::VersionMismatch { current: 2 })
        ));
        assert_eq!(service::get_product(&repo, mug.id).await.unwrap(), updated);
    })
    .await;
}

#[tokio::test]
async fn lists_show_only_active_products_by_name_and_page_through_the_index() {
    with_indexed_service_table("products-list", INDEXES, async |client, table| {
        let repo = DynamoDbProductRepository::new(client, &table);
        for (sku, name, category) in [
            ("c", "Cup", "kitchen"),
            ("a", "Apron", "kitchen"),
            ("p", "Pen", "office"),
            ("b", "Bowl", "kitchen"),
        ] {
            service::create_product(&repo, new_product(sku, name, category), trace())
                .await
                .unwrap();
        }
        let kitchen = Category::parse("kitchen").unwrap();
        let cup = service::list_products(&repo, Some(&kitchen), 10, None)
            .await
            .unwrap()
            .items
            .pop()
            .unwrap();
        service::archive_product(&repo, cup.id, trace())
            .await
            .unwrap();

        let first = service::list_products(&repo, Some(&kitchen), 1, None)
            .await
            .unwrap();
        let start = first.last_key.clone().expect("a second page");
        let second = service::list_products(&repo, Some(&kitchen), 5, Some(start))
            .await
            .unwrap();
        let names = |page: &shared::pagination::KeyPage<products::domain::Product>| {
            page.items
                .iter()
                .map(|p| p.name.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&first), ["Apron"]);
        assert_eq!(names(&second), ["Bowl"]);

        let all = service::list_products(&repo, None, 10, None).await.unwrap();
        assert_eq!(names(&all), ["Apron", "Bowl", "Pen"]);
    })
    .await;
}

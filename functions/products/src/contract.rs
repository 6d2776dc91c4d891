//! The contract of the products ports: what every adapter must do, stated once as generic
//! async functions over the ports. [`contract_tests!`](crate::contract_tests) turns them into one
//! test each; this crate runs them on the memory adapter (`cargo test`), the emulator suite on
//! the DynamoDB adapter and its sparse indexes, so the fake the handler tests use cannot drift
//! from the real table.
//!
//! Each function starts from an empty store and builds what it needs through the use cases over
//! the ports alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use shared::envelope::Trace;

use crate::domain::{Category, Description, Price, ProductChanges, ProductName, Sku};
use crate::ports::{Catalog, Products};
use crate::service::{self, ChangeError, CreateError, NewProduct};

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

/// [`Products::create`]: a SKU is claimed by one product, even when creations race.
pub async fn a_sku_is_claimed_once_even_by_concurrent_creations<S: Products>(repo: &S) {
    let attempts = (0..4).map(|i| {
        service::create_product(
            repo,
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
}

/// [`Products::update`]: a change applies only to the version it was based on.
pub async fn an_update_from_a_stale_version_is_refused_and_the_current_version_named<
    S: Products,
>(
    repo: &S,
) {
    let mug = service::create_product(repo, new_product("mug-1", "Mug", "kitchen"), trace())
        .await
        .unwrap();
    let cheaper = ProductChanges {
        price: Some(Price::parse(900, "EUR").unwrap()),
        ..ProductChanges::default()
    };
    let updated = service::update_product(repo, mug.id, 1, cheaper.clone(), trace())
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert!(matches!(
        service::update_product(repo, mug.id, 1, cheaper, trace()).await,
        Err(ChangeError::VersionMismatch { current: 2 })
    ));
    assert_eq!(service::get_product(repo, mug.id).await.unwrap(), updated);
}

/// [`Catalog`]: only active products, by name, in one category or all, page by page.
pub async fn lists_show_only_active_products_by_name_and_page_through_the_index<
    S: Products + Catalog,
>(
    repo: &S,
) {
    for (sku, name, category) in [
        ("c", "Cup", "kitchen"),
        ("a", "Apron", "kitchen"),
        ("p", "Pen", "office"),
        ("b", "Bowl", "kitchen"),
    ] {
        service::create_product(repo, new_product(sku, name, category), trace())
            .await
            .unwrap();
    }
    let kitchen = Category::parse("kitchen").unwrap();
    let cup = service::list_products(repo, Some(&kitchen), 10, None)
        .await
        .unwrap()
        .items
        .pop()
        .unwrap();
    service::archive_product(repo, cup.id, trace())
        .await
        .unwrap();

    let first = service::list_products(repo, Some(&kitchen), 1, None)
        .await
        .unwrap();
    let start = first.last_key.clone().expect("a second page");
    let second = service::list_products(repo, Some(&kitchen), 5, Some(start))
        .await
        .unwrap();
    let names = |page: &shared::pagination::KeyPage<crate::domain::Product>| {
        page.items
            .iter()
            .map(|p| p.name.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&first), ["Apron"]);
    assert_eq!(names(&second), ["Bowl"]);

    let all = service::list_products(repo, None, 10, None).await.unwrap();
    assert_eq!(names(&all), ["Apron", "Bowl", "Pen"]);
}

/// One test per contract of the products ports, each on a fresh store from `$with_store` (see
/// [`shared::contract_tests!`]).
#[macro_export]
macro_rules! contract_tests {
    ($with_store:path) => {
        ::shared::contract_tests!($crate::contract, $with_store; [
            a_sku_is_claimed_once_even_by_concurrent_creations,
            an_update_from_a_stale_version_is_refused_and_the_current_version_named,
            lists_show_only_active_products_by_name_and_page_through_the_index,
        ]);
    };
}

#[cfg(test)]
mod memory {
    crate::contract_tests!(
        shared::contract::with_default::<crate::adapters::memory::InMemoryProductRepository>
    );
}

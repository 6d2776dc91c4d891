//! Pure domain types of the catalog: parsed values and the product aggregate.

mod product;
mod values;

pub use product::{Product, ProductChanges, ProductId, ProductStatus};
pub use values::{Category, Description, Price, ProductName, Sku, ValueError};

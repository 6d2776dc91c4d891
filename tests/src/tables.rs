//! Tables shaped exactly as `infra/template.yaml` deploys them, for testing an adapter on the
//! emulator: the template's own `AWS::DynamoDB::Table` resource (key schema, attribute
//! definitions, global secondary indexes, stream, time to live) under a unique name, deleted
//! again when the test ends, also when it fails. A key or index added to the template reaches
//! the tests with no second definition to keep in step.
//!
//! Left out, because no adapter's behaviour depends on them: point-in-time recovery and
//! encryption at rest.

use std::sync::OnceLock;

use anyhow::{Context as _, bail};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use yaml_rust2::{Yaml, YamlLoader};

use crate::{delete_table, dynamodb, unique_name, with_cleanup};

/// The SAM template the stack is deployed from.
const TEMPLATE: &str = include_str!("../../infra/template.yaml");

/// The template, parsed once. Its CloudFormation tags (`!Sub`, `!GetAtt`) are read as the plain
/// values they tag; only the tables' literal properties are used.
fn template() -> &'static Yaml {
    static PARSED: OnceLock<Yaml> = OnceLock::new();
    PARSED.get_or_init(|| {
        YamlLoader::load_from_str(TEMPLATE)
            .ok()
            .and_then(|mut docs| docs.drain(..).next())
            .unwrap_or(Yaml::BadValue)
    })
}

/// The `Properties` of the template's table resource `logical_id` (`"OrdersTable"`).
fn table_properties(logical_id: &str) -> anyhow::Result<&'static Yaml> {
    let resource = &template()["Resources"][logical_id];
    if resource["Type"].as_str() != Some("AWS::DynamoDB::Table") {
        bail!("infra/template.yaml has no AWS::DynamoDB::Table named {logical_id}");
    }
    Ok(&resource["Properties"])
}

fn text<'a>(yaml: &'a Yaml, what: &str) -> anyhow::Result<&'a str> {
    yaml.as_str()
        .with_context(|| format!("{what} is not a string in infra/template.yaml"))
}

fn list<'a>(yaml: &'a Yaml, what: &str) -> anyhow::Result<&'a [Yaml]> {
    match yaml {
        Yaml::Array(items) => Ok(items),
        Yaml::BadValue => Ok(&[]),
        _ => bail!("{what} is not a list in infra/template.yaml"),
    }
}

fn key_schema(yaml: &Yaml) -> anyhow::Result<Vec<KeySchemaElement>> {
    list(yaml, "KeySchema")?
        .iter()
        .map(|key| {
            Ok(KeySchemaElement::builder()
                .attribute_name(text(&key["AttributeName"], "AttributeName")?)
                .key_type(KeyType::from(text(&key["KeyType"], "KeyType")?))
                .build()?)
        })
        .collect()
}

/// The `CreateTable` request for the template's `logical_id`, named `name`, and the template's
/// time-to-live attribute, if it has one.
fn create_request(
    client: &Client,
    logical_id: &str,
    name: &str,
) -> anyhow::Result<(
    aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder,
    Option<String>,
)> {
    let properties = table_properties(logical_id)?;
    if properties["BillingMode"].as_str() != Some("PAY_PER_REQUEST") {
        bail!("{logical_id}: only on-demand tables are supported here");
    }
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&properties["KeySchema"])?));
    for attribute in list(&properties["AttributeDefinitions"], "AttributeDefinitions")? {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(&attribute["AttributeName"], "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(text(
                    &attribute["AttributeType"],
                    "AttributeType",
                )?))
                .build()?,
        );
    }
    for index in list(
        &properties["GlobalSecondaryIndexes"],
        "GlobalSecondaryIndexes",
    )? {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(text(&index["IndexName"], "IndexName")?)
                .set_key_schema(Some(key_schema(&index["KeySchema"])?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(text(
                            &index["Projection"]["ProjectionType"],
                            "ProjectionType",
                        )?))
                        .build(),
                )
                .build()?,
        );
    }
    if let Some(view) = properties["StreamSpecification"]["StreamViewType"].as_str() {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()?,
        );
    }
    let ttl = &properties["TimeToLiveSpecification"];
    let ttl = (ttl["Enabled"].as_bool() == Some(true))
        .then(|| ttl["AttributeName"].as_str().map(str::to_owned))
        .flatten();
    Ok((request, ttl))
}

/// Creates a copy of the template's table `logical_id` (`"InventoryTable"`) named
/// `<prefix>-<random>`, and returns its name.
///
/// # Errors
/// When the template has no such table or the emulator refuses.
pub async fn create_template_table(
    client: &Client,
    logical_id: &str,
    prefix: &str,
) -> anyhow::Result<String> {
    let name = unique_name(prefix);
    let (request, ttl) = create_request(client, logical_id, &name)?;
    request
        .send()
        .await
        .with_context(|| format!("creating table {name} as {logical_id}"))?;
    if let Some(attribute) = ttl {
        let enabled = client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("enabling time to live on {name}"));
        if let Err(err) = enabled {
            delete_table(client, &name).await;
            return Err(err);
        }
    }
    Ok(name)
}

/// Runs `body` with a fresh copy of the template's table `logical_id` (see
/// [`create_template_table`]) and a client, and deletes the table afterwards, also when `body`
/// panics.
///
/// # Panics
/// When the table cannot be created.
pub async fn with_template_table<F>(logical_id: &str, prefix: &str, body: F)
where
    F: AsyncFnOnce(Client, String),
{
    let client = dynamodb().await;
    let table = create_template_table(&client, logical_id, prefix)
        .await
        .unwrap_or_else(|err| panic!("creating a copy of {logical_id}: {err:#}"));
    with_cleanup(
        body(client.clone(), table.clone()),
        delete_table(&client, &table),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_table_of_the_template_is_readable() {
        for table in [
            "UsersTable",
            "ProductsTable",
            "InventoryTable",
            "OrdersTable",
            "NotificationsTable",
        ] {
            let properties = table_properties(table).unwrap();
            let keys = key_schema(&properties["KeySchema"]).unwrap();
            assert_eq!(
                keys.iter()
                    .map(|k| (k.attribute_name(), k.key_type().clone()))
                    .collect::<Vec<_>>(),
                [("pk", KeyType::Hash), ("sk", KeyType::Range)],
                "{table}"
            );
        }
    }

    #[test]
    fn a_table_the_template_does_not_define_is_refused() {
        let err = table_properties("UsersQueue").unwrap_err();
        assert!(err.to_string().contains("UsersQueue"), "{err}");
    }
}

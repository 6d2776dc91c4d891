//! Support for tests that run against the local AWS emulator (`make up`): SDK clients that can
//! only reach a loopback endpoint, uniquely named tables, topics, queues and SES identities that
//! a [`scoped`] test deletes however it ends, and a table's outbox as a test reads it.
//!
//! Every helper refuses to run unless `AWS_ENDPOINT_URL` points at 127.0.0.1/localhost, so a
//! misconfigured environment can never touch a real AWS account.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use anyhow::Context as _;
use aws_config::SdkConfig;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use futures::FutureExt as _;
use shared::dynamo::{PK, SK};
use tokio::sync::OnceCell;

mod items;
mod scope;
pub mod tables;

pub use items::{outbox_envelopes, outbox_events, partition};
pub use scope::{Scope, scoped, subscribe};

/// The endpoint tests talk to, checked to be loopback.
///
/// # Panics
/// When `AWS_ENDPOINT_URL` is unset or not a loopback address: emulator tests never run against
/// anything else.
#[must_use]
pub fn endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    let host = endpoint
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default();
    assert!(
        matches!(host, "127.0.0.1" | "localhost" | "[::1]"),
        "emulator tests need AWS_ENDPOINT_URL pointing at the local emulator (got {endpoint:?}); \
         run them with `make test`, or `make up` then `make test-emulator`"
    );
    endpoint
}

/// The SDK configuration every emulator test uses: the shared loader, the same one the
/// functions use, after checking the endpoint is the local emulator.
pub async fn sdk_config() -> &'static SdkConfig {
    static CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();
    CONFIG
        .get_or_init(|| async {
            let expected = endpoint();
            let config = shared::config::aws_sdk_config(shared::config::CallBudget::OPERATOR).await;
            assert_eq!(
                config.endpoint_url(),
                Some(expected.as_str()),
                "the SDK must use AWS_ENDPOINT_URL"
            );
            config
        })
        .await
}

/// A DynamoDB client for the emulator.
pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk_config().await)
}

/// An SQS client for the emulator.
pub async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk_config().await)
}

/// A Lambda client for the emulator (the end-to-end suite's invoke transport).
pub async fn lambda() -> aws_sdk_lambda::Client {
    aws_sdk_lambda::Client::new(sdk_config().await)
}

/// An SNS client for the emulator.
pub async fn sns() -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(sdk_config().await)
}

/// An SES (v2) client for the emulator.
pub async fn ses() -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(sdk_config().await)
}

/// `prefix-<random>`: resource names that never collide between tests or runs.
#[must_use]
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Runs `body`, then `cleanup` whether `body` succeeded, failed or panicked; then resumes.
pub async fn with_cleanup<T, B, C>(body: B, cleanup: C) -> T
where
    B: Future<Output = T>,
    C: Future<Output = ()>,
{
    let outcome = AssertUnwindSafe(body).catch_unwind().await;
    cleanup.await;
    match outcome {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Creates a table shaped like every service table: `pk`/`sk` strings, on-demand, stream with
/// new images. Returns its name.
///
/// # Errors
/// When the emulator refuses.
pub async fn create_service_table(
    client: &aws_sdk_dynamodb::Client,
    prefix: &str,
) -> anyhow::Result<String> {
    create_service_table_with_indexes(client, prefix, &[]).await
}

/// A global secondary index: `(name, partition key attribute, sort key attribute)`, strings,
/// projecting everything, as the template declares them.
pub type IndexSpec<'a> = (&'a str, &'a str, &'a str);

/// [`create_service_table`] plus global secondary indexes.
///
/// # Errors
/// When the emulator refuses.
pub async fn create_service_table_with_indexes(
    client: &aws_sdk_dynamodb::Client,
    prefix: &str,
    indexes: &[IndexSpec<'_>],
) -> anyhow::Result<String> {
    let name = unique_name(prefix);
    let key = |attr: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(attr)
            .key_type(key_type)
            .build()
    };
    let attr = |attr: &str| {
        AttributeDefinition::builder()
            .attribute_name(attr)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let mut attributes = vec![PK, SK];
    let mut request = client.create_table();
    for (index, partition, sort) in indexes {
        for attribute in [partition, sort] {
            if !attributes.contains(attribute) {
                attributes.push(attribute);
            }
        }
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(*index)
                .key_schema(key(partition, KeyType::Hash)?)
                .key_schema(key(sort, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()?,
        );
    }
    for attribute in attributes {
        request = request.attribute_definitions(attr(attribute)?);
    }
    request
        .table_name(&name)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()?,
        )
        .send()
        .await
        .with_context(|| format!("creating table {name}"))?;
    Ok(name)
}

/// Runs `body` with a fresh service table (see [`create_service_table`]) and its client, and
/// deletes the table afterwards, also when `body` panics.
///
/// # Panics
/// When the table cannot be created.
pub async fn with_service_table<F>(prefix: &str, body: F)
where
    F: AsyncFnOnce(aws_sdk_dynamodb::Client, String),
{
    with_indexed_service_table(prefix, &[], body).await;
}

/// [`with_service_table`] with global secondary indexes.
///
/// # Panics
/// When the table cannot be created.
pub async fn with_indexed_service_table<F>(prefix: &str, indexes: &[IndexSpec<'_>], body: F)
where
    F: AsyncFnOnce(aws_sdk_dynamodb::Client, String),
{
    scoped(async |scope| {
        let table = scope.table(prefix, indexes).await;
        body(dynamodb().await, table).await;
    })
    .await;
}

/// Deletes a table, logging rather than failing (cleanup must not mask the test's outcome).
pub async fn delete_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    if let Err(err) = client.delete_table().table_name(name).send().await {
        eprintln!("cleanup: could not delete table {name}: {err:?}");
    }
}

/// A queue's URL and ARN.
#[derive(Clone, Debug)]
pub struct Queue {
    pub url: String,
    pub arn: String,
}

/// Creates a standard queue with `attributes`.
///
/// # Errors
/// When the emulator refuses.
pub async fn create_queue(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    attributes: &[(QueueAttributeName, String)],
) -> anyhow::Result<Queue> {
    let name = unique_name(prefix);
    let created = client
        .create_queue()
        .queue_name(&name)
        .set_attributes(Some(attributes.iter().cloned().collect()))
        .send()
        .await
        .with_context(|| format!("creating queue {name}"))?;
    let url = created.queue_url().context("queue without URL")?.to_owned();
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .context("reading queue ARN")?
        .attributes()
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .context("queue without ARN")?;
    Ok(Queue { url, arn })
}

/// Deletes a queue, logging rather than failing.
pub async fn delete_queue(client: &aws_sdk_sqs::Client, queue: &Queue) {
    if let Err(err) = client.delete_queue().queue_url(&queue.url).send().await {
        eprintln!("cleanup: could not delete queue {}: {err:?}", queue.url);
    }
}

/// Receives messages from `queue` until `expected` have arrived or `timeout` passes, and returns
/// them as the records of the `SqsEvent` Lambda would deliver.
///
/// # Errors
/// When the emulator refuses.
pub async fn receive_as_lambda_event(
    client: &aws_sdk_sqs::Client,
    queue: &Queue,
    expected: usize,
    timeout: Duration,
) -> anyhow::Result<SqsEvent> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut records = Vec::new();
    while records.len() < expected && tokio::time::Instant::now() < deadline {
        let received = client
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .context("receiving messages")?;
        for message in received.messages() {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id().map(str::to_owned);
            record.receipt_handle = message.receipt_handle().map(str::to_owned);
            record.body = message.body().map(str::to_owned);
            record.md5_of_body = message.md5_of_body().map(str::to_owned);
            record.attributes = message
                .attributes()
                .map(|attributes| {
                    attributes
                        .iter()
                        .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                        .collect::<HashMap<_, _>>()
                })
                .unwrap_or_default();
            record.event_source = Some("aws:sqs".to_owned());
            record.event_source_arn = Some(queue.arn.clone());
            records.push(record);
        }
    }
    let mut event = SqsEvent::default();
    event.records = records;
    Ok(event)
}

/// Runs the operator's `users-admin` command (the binary cargo built next to this test binary)
/// with `args` on the users table `table` of the emulator. Returns its stdout.
///
/// # Panics
/// When the binary is missing or the command fails.
pub fn users_admin(table: &str, args: &[&str]) -> String {
    // Tests run from `<target>/<profile>/deps/`; cargo puts the binaries in `<target>/<profile>/`.
    let binary = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("users-admin")))
        .filter(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "users-admin is not built next to the tests: cargo build --workspace --bins --tests"
            )
        });
    let output = std::process::Command::new(&binary)
        .args(args)
        .env("USERS_TABLE", table)
        .env("AWS_ENDPOINT_URL", endpoint())
        .output()
        .unwrap_or_else(|err| panic!("running {}: {err}", binary.display()));
    assert!(
        output.status.success(),
        "users-admin {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

//! The suite really talks to the emulator, and nothing else.

use emulator_tests::{dynamodb, endpoint, sdk_config};

#[tokio::test]
async fn the_shared_sdk_config_uses_the_loopback_emulator_and_it_answers() {
    let config = sdk_config().await;
    assert_eq!(config.endpoint_url(), Some(endpoint().as_str()));
    dynamodb()
        .await
        .list_tables()
        .limit(1)
        .send()
        .await
        .expect("the emulator answers ListTables");
}

#[tokio::test]
async fn a_client_pointed_at_a_closed_port_fails_so_no_test_can_pass_without_the_emulator() {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk_config().await)
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    assert!(client.list_tables().limit(1).send().await.is_err());
}

#[tokio::test]
async fn a_scoped_test_that_panics_still_deletes_the_table_queue_topic_and_identity_it_made() {
    use std::panic::AssertUnwindSafe;

    use emulator_tests::{scoped, ses, sns, sqs};
    use futures::FutureExt as _;

    let made = std::sync::Mutex::new(None);
    let outcome = AssertUnwindSafe(scoped(async |scope| {
        let table = scope.table("scope-panic", &[]).await;
        let queue = scope.queue("scope-panic", &[]).await;
        let topic = scope.topic("scope-panic").await;
        let sender = scope.verified_sender().await;
        *made.lock().unwrap() = Some((table, queue, topic, sender));
        panic!("the test failed");
    }))
    .catch_unwind()
    .await;
    assert!(outcome.is_err(), "the panic reaches the test");
    let (table, queue, topic, sender) = made.lock().unwrap().take().expect("all four made");

    let tables = dynamodb().await.list_tables().send().await.unwrap();
    assert!(
        !tables.table_names().contains(&table),
        "{table} left behind"
    );
    let queues = sqs().await.list_queues().send().await.unwrap();
    assert!(
        !queues.queue_urls().contains(&queue.url),
        "{} left behind",
        queue.url
    );
    let topics = sns().await.list_topics().send().await.unwrap();
    assert!(
        topics
            .topics()
            .iter()
            .all(|t| t.topic_arn() != Some(topic.as_str())),
        "{topic} left behind"
    );
    let domain = sender.split_once('@').unwrap().1;
    let identities = ses().await.list_email_identities().send().await.unwrap();
    assert!(
        identities
            .email_identities()
            .iter()
            .all(|i| i.identity_name() != Some(domain)),
        "{domain} left behind"
    );
}

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

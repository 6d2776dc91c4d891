//! The operator's command for the token signing keys (see `users::signing_keys`). Not a Lambda
//! function: the SAM template deploys only the binaries it names, and this is not one of them.

use std::process::ExitCode;

use shared::config;
use users::adapters::secrets_manager::SecretsManagerKeySetStore;
use users::signing_keys::{self, USAGE};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let command = match signing_keys::parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(problem) => {
            eprintln!("users-keys: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let sdk = config::aws_sdk_config(config::CallBudget::OPERATOR).await;
    let store =
        SecretsManagerKeySetStore::new(aws_sdk_secretsmanager::Client::new(&sdk), command.secret);
    match signing_keys::run(&store, command.action).await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("users-keys: {err:#}");
            ExitCode::FAILURE
        }
    }
}

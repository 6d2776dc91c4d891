//! The operator's command for admin rights (see `users::admin`). Not a Lambda function: the
//! SAM template deploys only the binaries it names, and this is not one of them.

use std::process::ExitCode;

use shared::config;
use users::adapters::dynamodb::DynamoDbUserRepository;
use users::admin::{self, USAGE};
use users::service::ChangeRoleError;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let command = match admin::parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(problem) => {
            eprintln!("users-admin: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let table = match config::required("USERS_TABLE") {
        Ok(table) => table,
        Err(err) => {
            eprintln!("users-admin: {err}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let sdk = config::aws_sdk_config(config::CallBudget::OPERATOR).await;
    let repo = DynamoDbUserRepository::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    match admin::run(&repo, &command).await {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(ChangeRoleError::NotFound) => {
            eprintln!(
                "users-admin: no user is registered with {}; they must register first",
                command.email.as_str()
            );
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("users-admin: {err:#}");
            ExitCode::FAILURE
        }
    }
}

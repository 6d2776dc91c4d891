//! `users-admin`: the operator's command that grants and revokes admin rights.
//!
//! It is not a Lambda function and has no HTTP route: it runs on an operator's machine with the
//! operator's AWS credentials (or against the local emulator), and changes roles through the
//! same use case and DynamoDB adapter as the service, so every change is one conditional write
//! of the user with its `UserRoleChanged` outbox item.
//!
//! ```text
//! USERS_TABLE=<table> users-admin grant --email ops@example.org
//! USERS_TABLE=<table> users-admin revoke --email ops@example.org
//! ```

use shared::auth::Role;
use shared::envelope::Trace;

use crate::domain::Email;
use crate::ports::Users;
use crate::service::{self, ChangeRoleError, RoleChange};

/// How to call the command.
pub const USAGE: &str = "usage: users-admin grant|revoke --email <address>
  grant   give the user registered with <address> the admin role
  revoke  make them a customer again
Reads USERS_TABLE (the users table's name) and the standard AWS configuration
(AWS_REGION, AWS_PROFILE or keys, AWS_ENDPOINT_URL for the local emulator).
The role applies to tokens issued afterwards; tokens already issued keep theirs until they expire.";

/// What the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The role the user ends up with.
    pub role: Role,
    pub email: Email,
}

/// Parses the arguments after the program name.
///
/// # Errors
/// What is wrong with them, for the operator.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut args = args.into_iter();
    let role = match args.next().as_deref() {
        Some("grant") => Role::Admin,
        Some("revoke") => Role::Customer,
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("missing command".to_owned()),
    };
    let mut email = None;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--email") {
            Some("") => args.next().ok_or("--email needs a value")?,
            Some(rest) if rest.starts_with('=') => rest[1..].to_owned(),
            _ => return Err(format!("unexpected argument {arg:?}")),
        };
        if email.is_some() {
            return Err("--email given twice".to_owned());
        }
        email = Some(value);
    }
    let email = email.ok_or("--email is required")?;
    let email = Email::parse(&email).map_err(|err| format!("--email {email:?}: {err}"))?;
    Ok(Command { role, email })
}

/// Runs `command` and says what happened, for the operator.
///
/// # Errors
/// See [`ChangeRoleError`].
pub async fn run<R: Users>(repo: &R, command: &Command) -> Result<String, ChangeRoleError> {
    // The outbox event names the command as its cause, so the change can be traced to it.
    let run_id = format!("users-admin-{}", uuid::Uuid::new_v4());
    let trace = Trace::from_request(&run_id, &run_id);
    let role = match command.role {
        Role::Admin => "admin",
        Role::Customer => "customer",
    };
    Ok(
        match service::change_role(repo, &command.email, command.role, trace).await? {
            RoleChange::Changed(user) => format!(
                "{} (user {}) is now {role}; it applies to tokens issued from now on",
                user.email.as_str(),
                user.id
            ),
            RoleChange::Unchanged(user) => format!(
                "{} (user {}) is already {role}; nothing changed",
                user.email.as_str(),
                user.id
            ),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Command, String> {
        parse_args(list.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn grant_and_revoke_name_the_role_the_user_ends_up_with() {
        let granted = args(&["grant", "--email", "Ops@Example.org"]).unwrap();
        assert_eq!(granted.role, Role::Admin);
        assert_eq!(granted.email.key(), "ops@example.org");
        let revoked = args(&["revoke", "--email=ops@example.org"]).unwrap();
        assert_eq!(revoked.role, Role::Customer);
    }

    #[test]
    fn anything_but_one_command_and_one_valid_email_is_refused() {
        for bad in [
            &[][..],
            &["promote", "--email", "a@b.org"],
            &["grant"],
            &["grant", "--email"],
            &["grant", "--email", "not an email"],
            &["grant", "--email", "a@b.org", "--email", "c@d.org"],
            &["grant", "--email", "a@b.org", "--role", "admin"],
        ] {
            assert!(args(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

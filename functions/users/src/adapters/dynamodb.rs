//! The users table on DynamoDB.
//!
//! Items (see docs/architecture.md for the table conventions):
//! - `USER#<id>` / `PROFILE`, kind `user`: the user, with its password hash and `version`;
//! - `EMAIL#<email key>` / `EMAIL`, kind `email_lock`: claims an email for one user id. Creating
//!   it with `attribute_not_exists(pk)` in the same transaction as the user is what makes emails
//!   unique, even under concurrent registrations;
//! - `LOGIN#<email key>` / `FAILURES#<window start>`, kind `login_failures`: the failed logins
//!   counted for an email in one window (`failures`, incremented atomically by `ADD`); it
//!   expires with its window (`expires_at`);
//! - outbox items, written by [`shared::dynamo::UnitOfWork`].

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::auth::Role;
use shared::dynamo::{CommitError, EXPIRES_AT, KIND, PK, SK, UnitOfWork, get_consistent};
use shared::envelope::EventEnvelope;
use shared::events::{Event, UserRegistered};
use uuid::Uuid;

use crate::domain::{Email, Name, PasswordHash, User, UserId};
use crate::ports::{CreateUserError, FailureWindow, LoginFailures, UpdateUserError, Users};

/// The users table.
#[derive(Clone, Debug)]
pub struct DynamoDbUserRepository {
    client: Client,
    table: String,
}

impl DynamoDbUserRepository {
    /// A repository on `table`.
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn user_pk(id: UserId) -> String {
    format!("USER#{id}")
}

fn email_pk(email_key: &str) -> String {
    format!("EMAIL#{email_key}")
}

fn login_failures_key(email_key: &str, window: FailureWindow) -> HashMap<String, AttributeValue> {
    key(
        format!("LOGIN#{email_key}"),
        &format!("FAILURES#{}", window.start.timestamp()),
    )
}

fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

/// The stored shape of a user.
#[derive(Serialize, Deserialize)]
struct UserItem {
    pk: String,
    sk: String,
    kind: String,
    user_id: Uuid,
    email: String,
    email_key: String,
    name: String,
    role: Role,
    password_hash: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: u64,
}

impl UserItem {
    fn from_user(user: &User) -> Self {
        Self {
            pk: user_pk(user.id),
            sk: "PROFILE".to_owned(),
            kind: "user".to_owned(),
            user_id: user.id.0,
            email: user.email.as_str().to_owned(),
            email_key: user.email.key(),
            name: user.name.as_str().to_owned(),
            role: user.role,
            password_hash: user.password_hash.as_phc().to_owned(),
            created_at: user.created_at,
            updated_at: user.updated_at,
            version: user.version,
        }
    }

    fn into_user(self) -> anyhow::Result<User> {
        Ok(User {
            id: UserId(self.user_id),
            email: Email::parse(&self.email)
                .map_err(|err| anyhow::anyhow!("stored email of {}: {err}", self.user_id))?,
            name: Name::parse(&self.name)
                .map_err(|err| anyhow::anyhow!("stored name of {}: {err}", self.user_id))?,
            role: self.role,
            password_hash: PasswordHash::from_phc(self.password_hash),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

fn email_lock_item(email_key: &str, id: UserId) -> HashMap<String, AttributeValue> {
    let mut item = key(email_pk(email_key), "EMAIL");
    item.insert(KIND.to_owned(), AttributeValue::S("email_lock".to_owned()));
    item.insert("user_id".to_owned(), AttributeValue::S(id.to_string()));
    item
}

fn user_item(user: &User) -> anyhow::Result<HashMap<String, AttributeValue>> {
    serde_dynamo::to_item(UserItem::from_user(user)).context("serialising user item")
}

impl DynamoDbUserRepository {
    async fn get_item(
        &self,
        key: HashMap<String, AttributeValue>,
    ) -> anyhow::Result<Option<HashMap<String, AttributeValue>>> {
        get_consistent(&self.client, &self.table, key, "user").await
    }

    fn conditional_put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> anyhow::Result<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values((!values.is_empty()).then(|| {
                values
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), value.clone()))
                    .collect()
            }))
            .build()
            .context("building Put")?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl Users for DynamoDbUserRepository {
    async fn create(
        &self,
        user: &User,
        event: &EventEnvelope<UserRegistered>,
    ) -> Result<(), CreateUserError> {
        let mut unit = UnitOfWork::new(&self.table);
        unit.push(self.conditional_put(user_item(user)?, "attribute_not_exists(pk)", &[])?);
        let lock = unit.push(self.conditional_put(
            email_lock_item(&user.email.key(), user.id),
            "attribute_not_exists(pk)",
            &[],
        )?);
        unit.publish(event).map_err(|err| anyhow::anyhow!(err))?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(()),
            Err(CommitError::ConditionFailed { index }) if index == lock => {
                Err(CreateUserError::EmailTaken)
            }
            Err(CommitError::Conflict) => Err(CreateUserError::Conflict),
            Err(err) => Err(anyhow::Error::new(err).context("storing new user").into()),
        }
    }

    async fn find_by_email(&self, email_key: &str) -> anyhow::Result<Option<User>> {
        let Some(lock) = self.get_item(key(email_pk(email_key), "EMAIL")).await? else {
            return Ok(None);
        };
        let Some(AttributeValue::S(user_id)) = lock.get("user_id") else {
            anyhow::bail!("email lock {email_key:?} has no user_id");
        };
        let id = UserId::parse(user_id)
            .with_context(|| format!("email lock {email_key:?} has a bad user_id"))?;
        self.get(id).await
    }

    async fn get(&self, id: UserId) -> anyhow::Result<Option<User>> {
        self.get_item(key(user_pk(id), "PROFILE"))
            .await?
            .map(|item| {
                serde_dynamo::from_item::<_, UserItem>(item)
                    .context("deserialising user item")?
                    .into_user()
            })
            .transpose()
    }

    async fn update<E: Event>(
        &self,
        previous: &User,
        updated: &User,
        event: &EventEnvelope<E>,
    ) -> Result<(), UpdateUserError> {
        let mut unit = UnitOfWork::new(&self.table);
        let user = unit.push(self.conditional_put(
            user_item(updated)?,
            "version = :expected",
            &[(":expected", AttributeValue::N(previous.version.to_string()))],
        )?);
        let mut new_lock = None;
        if previous.email.key() != updated.email.key() {
            new_lock = Some(unit.push(self.conditional_put(
                email_lock_item(&updated.email.key(), updated.id),
                "attribute_not_exists(pk)",
                &[],
            )?));
            let release = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(email_pk(&previous.email.key()), "EMAIL")))
                .condition_expression("user_id = :me")
                .expression_attribute_values(":me", AttributeValue::S(previous.id.to_string()))
                .build()
                .context("building Delete")?;
            unit.push(TransactWriteItem::builder().delete(release).build());
        }
        unit.publish(event).map_err(|err| anyhow::anyhow!(err))?;
        match unit.commit(&self.client).await {
            Ok(()) => Ok(()),
            Err(CommitError::ConditionFailed { index }) if Some(index) == new_lock => {
                Err(UpdateUserError::EmailTaken)
            }
            Err(CommitError::ConditionFailed { index }) if index == user => {
                Err(UpdateUserError::Stale)
            }
            Err(CommitError::Conflict) => Err(UpdateUserError::Stale),
            Err(err) => Err(anyhow::Error::new(err).context("updating user").into()),
        }
    }
}

impl LoginFailures for DynamoDbUserRepository {
    async fn failures(&self, email_key: &str, window: FailureWindow) -> anyhow::Result<u32> {
        let Some(item) = self.get_item(login_failures_key(email_key, window)).await? else {
            return Ok(0);
        };
        match item.get("failures") {
            Some(AttributeValue::N(count)) => count
                .parse()
                .with_context(|| format!("failed-login count {count:?}")),
            other => anyhow::bail!("failed-login item without a count: {other:?}"),
        }
    }

    async fn record_failure(&self, email_key: &str, window: FailureWindow) -> anyhow::Result<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(login_failures_key(email_key, window)))
            .update_expression("ADD failures :one SET #kind = :kind, #expires = :expires")
            .expression_attribute_names("#kind", KIND)
            .expression_attribute_names("#expires", EXPIRES_AT)
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .expression_attribute_values(":kind", AttributeValue::S("login_failures".to_owned()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(window.end.timestamp().to_string()),
            )
            .send()
            .await
            .context("UpdateItem failed-login count")?;
        Ok(())
    }

    async fn clear(&self, email_key: &str, window: FailureWindow) -> anyhow::Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(login_failures_key(email_key, window)))
            .send()
            .await
            .context("DeleteItem failed-login count")?;
        Ok(())
    }
}

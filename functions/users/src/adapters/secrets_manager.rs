//! The signing key set's secret in Secrets Manager, for the `users-keys` command.

use anyhow::Context as _;
use aws_sdk_secretsmanager::Client;

use crate::signing_keys::KeySetStore;

/// One Secrets Manager secret holding a key set.
#[derive(Debug, Clone)]
pub struct SecretsManagerKeySetStore {
    client: Client,
    secret: String,
}

impl SecretsManagerKeySetStore {
    #[must_use]
    pub fn new(client: Client, secret: impl Into<String>) -> Self {
        Self {
            client,
            secret: secret.into(),
        }
    }
}

impl KeySetStore for SecretsManagerKeySetStore {
    async fn load(&self) -> anyhow::Result<Option<String>> {
        match self
            .client
            .get_secret_value()
            .secret_id(&self.secret)
            .send()
            .await
        {
            Ok(output) => Ok(Some(output.secret_string.with_context(|| {
                format!("secret {} has no string value", self.secret)
            })?)),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|err| err.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(err) => Err(err).with_context(|| format!("GetSecretValue {}", self.secret)),
        }
    }

    async fn create(&self, json: &str) -> anyhow::Result<()> {
        self.client
            .create_secret()
            .name(&self.secret)
            .description("serverless-shop: users-api's token signing keys (users-keys)")
            .secret_string(json)
            .send()
            .await
            .with_context(|| format!("CreateSecret {}", self.secret))?;
        Ok(())
    }

    async fn save(&self, json: &str) -> anyhow::Result<()> {
        self.client
            .put_secret_value()
            .secret_id(&self.secret)
            .secret_string(json)
            .send()
            .await
            .with_context(|| format!("PutSecretValue {}", self.secret))?;
        Ok(())
    }
}

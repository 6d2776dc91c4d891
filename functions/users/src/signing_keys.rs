//! `users-keys`: the operator's command for the token signing keys.
//!
//! users-api signs tokens with the keys in one Secrets Manager secret (a
//! [`SigningKeySet`]); every other API verifies them with the public keys alone, passed to the
//! stack as the `JwtPublicKeys` parameter (a JWKS). This command creates that secret on a first
//! deploy, prints the JWKS the deploy passes on, and rotates keys so that two are valid at once:
//!
//! ```text
//! users-keys ensure   --secret <name>   create the key set unless it exists
//! users-keys jwks     --secret <name>   print the public keys (JwtPublicKeys)
//! users-keys rotate   --secret <name>   add a key, published but not signing yet; deploy
//! users-keys activate --secret <name>   sign with the newest key; deploy, wait one token life
//! users-keys retire   --secret <name>   drop every key but the signing one; deploy
//! ```
//!
//! It runs on an operator's machine (or in `make up` / `make deploy`), never as a function.

use std::future::Future;

use shared::auth::{KeyError, SigningKeySet, TOKEN_TTL};

/// How to call the command.
pub const USAGE: &str = "usage: users-keys ensure|jwks|rotate|activate|retire --secret <name>
  ensure    create the signing key set in the secret unless it exists
  jwks      print the public keys (a JWKS) every API verifies tokens with
  rotate    add a key: published with the next deploy, not signing yet
  activate  sign new tokens with the newest key (after a deploy published it)
  retire    drop every key but the signing one (a token's life after activate)
Reads the standard AWS configuration (AWS_REGION, AWS_PROFILE or keys, AWS_ENDPOINT_URL).";

/// What the operator asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Ensure,
    Jwks,
    Rotate,
    Activate,
    Retire,
}

/// An action on one secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub action: Action,
    /// The secret's name or ARN.
    pub secret: String,
}

/// Parses the arguments after the program name.
///
/// # Errors
/// What is wrong with them, for the operator.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut args = args.into_iter();
    let action = match args.next().as_deref() {
        Some("ensure") => Action::Ensure,
        Some("jwks") => Action::Jwks,
        Some("rotate") => Action::Rotate,
        Some("activate") => Action::Activate,
        Some("retire") => Action::Retire,
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("missing command".to_owned()),
    };
    let mut secret = None;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--secret") {
            Some("") => args.next().ok_or("--secret needs a value")?,
            Some(rest) if rest.starts_with('=') => rest[1..].to_owned(),
            _ => return Err(format!("unexpected argument {arg:?}")),
        };
        if secret.replace(value).is_some() {
            return Err("--secret given twice".to_owned());
        }
    }
    let secret = secret
        .filter(|secret| !secret.trim().is_empty())
        .ok_or("--secret is required")?;
    Ok(Command { action, secret })
}

/// Where the key set is kept: a Secrets Manager secret, or memory in tests.
pub trait KeySetStore: Send + Sync {
    /// The stored set's JSON, `None` when the secret does not exist.
    fn load(&self) -> impl Future<Output = anyhow::Result<Option<String>>> + Send;
    /// Creates the secret with `json`.
    fn create(&self, json: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Stores `json` as the secret's new value.
    fn save(&self, json: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
}

async fn load_set<S: KeySetStore>(store: &S) -> anyhow::Result<SigningKeySet> {
    let json = store.load().await?.ok_or_else(|| {
        anyhow::anyhow!("the secret does not exist yet; run `users-keys ensure` first")
    })?;
    Ok(SigningKeySet::from_json(&json)?)
}

/// Runs `action` on the key set in `store` and says what happened (for `jwks`: the JWKS).
///
/// # Errors
/// The store failed, the stored set is not usable, or the action does not apply.
pub async fn run<S: KeySetStore>(store: &S, action: Action) -> anyhow::Result<String> {
    Ok(match action {
        Action::Ensure => match store.load().await? {
            Some(json) => {
                let set = SigningKeySet::from_json(&json)?;
                format!("signing keys exist; {} signs", set.signing_kid)
            }
            None => {
                let set = SigningKeySet::generate()?;
                store.create(&set.to_json()).await?;
                format!("created signing keys; {} signs", set.signing_kid)
            }
        },
        Action::Jwks => serde_json::to_string(&load_set(store).await?.jwks()?)?,
        Action::Rotate => {
            let mut set = load_set(store).await?;
            let kid = set.add_key()?;
            store.save(&set.to_json()).await?;
            format!(
                "added {kid}; {} still signs. Deploy (so every API gets {kid}), then run \
                 `users-keys activate`",
                set.signing_kid
            )
        }
        Action::Activate => {
            let mut set = load_set(store).await?;
            let newest = set
                .keys
                .last()
                .map(|key| key.kid.clone())
                .ok_or_else(|| KeyError::Malformed("no keys".to_owned()))?;
            if newest == set.signing_kid {
                anyhow::bail!("{newest} signs already; run `users-keys rotate` first");
            }
            set.activate(&newest)?;
            store.save(&set.to_json()).await?;
            format!(
                "{newest} signs new tokens (users-api instances pick it up as they start; deploy \
                 to restart them). Tokens of the older keys stay valid: after {} hour(s), run \
                 `users-keys retire`",
                TOKEN_TTL.num_hours()
            )
        }
        Action::Retire => {
            let mut set = load_set(store).await?;
            let retired = set.retire_others();
            if retired.is_empty() {
                format!("only {} is left; nothing to retire", set.signing_kid)
            } else {
                store.save(&set.to_json()).await?;
                format!(
                    "retired {}; deploy so the APIs stop accepting them",
                    retired.join(", ")
                )
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::Utc;
    use shared::auth::{JwtKeys, Role};

    use super::*;

    #[derive(Default)]
    struct MemoryStore(Mutex<Option<String>>);

    impl KeySetStore for MemoryStore {
        async fn load(&self) -> anyhow::Result<Option<String>> {
            Ok(self.0.lock().unwrap().clone())
        }
        async fn create(&self, json: &str) -> anyhow::Result<()> {
            let mut stored = self.0.lock().unwrap();
            anyhow::ensure!(stored.is_none(), "exists");
            *stored = Some(json.to_owned());
            Ok(())
        }
        async fn save(&self, json: &str) -> anyhow::Result<()> {
            *self.0.lock().unwrap() = Some(json.to_owned());
            Ok(())
        }
    }

    fn set(store: &MemoryStore) -> SigningKeySet {
        SigningKeySet::from_json(store.0.lock().unwrap().as_deref().unwrap()).unwrap()
    }

    async fn published(store: &MemoryStore) -> JwtKeys {
        JwtKeys::from_jwks_json(&run(store, Action::Jwks).await.unwrap()).unwrap()
    }

    fn token(set: &SigningKeySet) -> String {
        set.issuer()
            .unwrap()
            .issue("u", Role::Customer, Utc::now())
            .unwrap()
            .access_token
    }

    #[test]
    fn every_action_takes_one_secret() {
        let command = parse_args(["rotate".into(), "--secret".into(), "s".into()]).unwrap();
        assert_eq!(command.action, Action::Rotate);
        assert_eq!(command.secret, "s");
        assert_eq!(
            parse_args(["jwks".into(), "--secret=a/b".into()])
                .unwrap()
                .secret,
            "a/b"
        );
        for bad in [
            vec![],
            vec!["make"],
            vec!["ensure"],
            vec!["ensure", "--secret"],
            vec!["ensure", "--secret", ""],
            vec!["ensure", "--secret", "a", "--secret", "b"],
            vec!["ensure", "--table", "a"],
        ] {
            let args = bad.iter().map(|arg| (*arg).to_owned());
            assert!(parse_args(args).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn ensure_creates_the_set_once_and_jwks_publishes_only_public_keys() {
        let store = MemoryStore::default();
        assert!(run(&store, Action::Jwks).await.is_err(), "nothing yet");
        run(&store, Action::Ensure).await.unwrap();
        let first = set(&store);
        run(&store, Action::Ensure).await.unwrap();
        assert_eq!(set(&store), first, "ensure never replaces keys");
        let jwks = run(&store, Action::Jwks).await.unwrap();
        assert!(!jwks.contains("pkcs8"), "{jwks}");
        assert!(published(&store).await.verify(&token(&first)).is_ok());
    }

    #[tokio::test]
    async fn a_rotation_keeps_old_and_new_tokens_valid_until_the_old_key_retires() {
        let store = MemoryStore::default();
        run(&store, Action::Ensure).await.unwrap();
        let old_token = token(&set(&store));
        assert!(
            run(&store, Action::Activate).await.is_err(),
            "nothing to activate"
        );

        run(&store, Action::Rotate).await.unwrap();
        // What the deploy after `rotate` gives every API: both keys.
        let both = published(&store).await;
        assert_eq!(token(&set(&store)).split('.').count(), 3);
        run(&store, Action::Activate).await.unwrap();
        let new_token = token(&set(&store));
        assert_ne!(
            jsonwebtoken_kid(&old_token),
            jsonwebtoken_kid(&new_token),
            "the new key signs"
        );
        assert!(both.verify(&old_token).is_ok() && both.verify(&new_token).is_ok());

        run(&store, Action::Retire).await.unwrap();
        let only_new = published(&store).await;
        assert!(only_new.verify(&new_token).is_ok());
        assert_eq!(only_new.verify(&old_token).unwrap_err().status, 401);
        assert!(
            run(&store, Action::Retire)
                .await
                .unwrap()
                .contains("nothing to retire")
        );
    }

    fn jsonwebtoken_kid(token: &str) -> String {
        use base64::Engine as _;
        let header = token.split('.').next().unwrap();
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&json).unwrap()["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

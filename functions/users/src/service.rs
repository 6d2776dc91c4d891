//! The users use cases. Each takes the ports it needs and returns its own error type.

use chrono::{DateTime, Utc};
use shared::auth::{IssuedToken, JwtKeys};
use shared::envelope::{EventEnvelope, Trace};
use shared::events::{UserProfileUpdated, UserRegistered};

use crate::domain::{AdminEmails, Email, Name, Password, User, UserId};
use crate::ports::{CreateUserError, PasswordHasher, UpdateUserError, UserRepository};

/// How often a profile update re-reads and retries when it lost a race.
const UPDATE_ATTEMPTS: usize = 3;

/// A registration, already parsed.
#[derive(Debug)]
pub struct Register {
    pub email: Email,
    pub password: Password,
    pub name: Name,
}

/// Why registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a token was not issued.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password: deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a profile could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The token's user does not exist (any more).
    #[error("user not found")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a profile could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateProfileError {
    #[error("user not found")]
    NotFound,
    #[error("email already registered")]
    EmailTaken,
    /// Still losing to concurrent updates after retrying.
    #[error("user changed concurrently")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A profile change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfilePatch {
    pub name: Option<Name>,
    pub email: Option<Email>,
}

async fn off_executor<T, F>(work: F) -> anyhow::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| anyhow::anyhow!("password hashing task failed: {err}"))
}

/// Registers a user: hashes the password, assigns the role, stores the user with its
/// `UserRegistered` event.
///
/// # Errors
/// [`RegisterError::EmailTaken`] when the email (case-insensitively) is already registered.
pub async fn register<R: UserRepository, H: PasswordHasher>(
    repo: &R,
    hasher: &H,
    admins: &AdminEmails,
    command: Register,
    trace: Trace,
) -> Result<User, RegisterError> {
    let Register {
        email,
        password,
        name,
    } = command;
    let hash = {
        let hasher = hasher.clone();
        off_executor(move || hasher.hash(&password)).await??
    };
    let now = Utc::now();
    let user = User {
        id: UserId::new(),
        role: admins.role_for(&email),
        email,
        name,
        password_hash: hash,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let event = EventEnvelope::new(
        UserRegistered {
            user_id: user.id.0,
            email: user.email.as_str().to_owned(),
            name: user.name.as_str().to_owned(),
        },
        trace,
    );
    repo.create(&user, &event).await.map_err(|err| match err {
        CreateUserError::EmailTaken => RegisterError::EmailTaken,
        CreateUserError::Unexpected(err) => RegisterError::Unexpected(err),
    })?;
    tracing::info!(user_id = %user.id, role = ?user.role, "user registered");
    Ok(user)
}

/// Issues a token for valid credentials. Whether the email is unknown, malformed, or the
/// password wrong, the caller learns only [`LoginError::InvalidCredentials`], after one password
/// verification's worth of work.
///
/// # Errors
/// [`LoginError::InvalidCredentials`].
pub async fn login<R: UserRepository, H: PasswordHasher>(
    repo: &R,
    hasher: &H,
    keys: &JwtKeys,
    email: &str,
    password: String,
    now: DateTime<Utc>,
) -> Result<IssuedToken, LoginError> {
    let user = match Email::parse(email) {
        Ok(email) => repo.find_by_email(&email.key()).await?,
        Err(_) => None,
    };
    let password = Password::offered(password);
    let hash = user.as_ref().map(|user| user.password_hash.clone());
    let verified = {
        let hasher = hasher.clone();
        off_executor(move || match (&password, &hash) {
            (Some(password), Some(hash)) => hasher.verify(password, hash),
            (Some(password), None) => {
                hasher.verify_dummy(password.expose());
                false
            }
            // Too long to be anyone's password: still do the same work before saying no.
            (None, _) => {
                hasher.verify_dummy(b"");
                false
            }
        })
        .await?
    };
    match user {
        Some(user) if verified => {
            let token = keys
                .issue(&user.id.to_string(), user.role, now)
                .map_err(|err| LoginError::Unexpected(err.into()))?;
            tracing::info!(user_id = %user.id, "token issued");
            Ok(token)
        }
        _ => {
            tracing::info!("login refused");
            Err(LoginError::InvalidCredentials)
        }
    }
}

/// The user's profile.
///
/// # Errors
/// [`ProfileError::NotFound`].
pub async fn get_profile<R: UserRepository>(repo: &R, id: UserId) -> Result<User, ProfileError> {
    repo.get(id).await?.ok_or(ProfileError::NotFound)
}

/// Applies `patch` to the user's profile; publishes `UserProfileUpdated` when something changed.
/// Re-reads and retries when a concurrent update wins the race.
///
/// # Errors
/// See [`UpdateProfileError`].
pub async fn update_profile<R: UserRepository>(
    repo: &R,
    id: UserId,
    patch: ProfilePatch,
    trace: Trace,
) -> Result<User, UpdateProfileError> {
    for _ in 0..UPDATE_ATTEMPTS {
        let current = repo.get(id).await?.ok_or(UpdateProfileError::NotFound)?;
        let mut updated = current.clone();
        if let Some(name) = &patch.name {
            updated.name = name.clone();
        }
        if let Some(email) = &patch.email {
            updated.email = email.clone();
        }
        if updated == current {
            return Ok(current);
        }
        updated.version = current.version + 1;
        updated.updated_at = Utc::now();
        let event = EventEnvelope::new(
            UserProfileUpdated {
                user_id: updated.id.0,
                email: updated.email.as_str().to_owned(),
                name: updated.name.as_str().to_owned(),
            },
            trace.clone(),
        );
        match repo.update(&current, &updated, &event).await {
            Ok(()) => {
                tracing::info!(user_id = %id, "profile updated");
                return Ok(updated);
            }
            Err(UpdateUserError::Stale) => continue,
            Err(UpdateUserError::EmailTaken) => return Err(UpdateProfileError::EmailTaken),
            Err(UpdateUserError::Unexpected(err)) => return Err(err.into()),
        }
    }
    Err(UpdateProfileError::Conflict)
}

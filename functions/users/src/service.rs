//! The users use cases. Each takes the ports it needs and returns its own error type.

use chrono::{DateTime, Duration, Utc};
use shared::auth::{IssuedToken, Role, TokenIssuer};
use shared::envelope::{EventEnvelope, Trace};
use shared::events::{UserProfileUpdated, UserRegistered, UserRole, UserRoleChanged};
use shared::retry::{Backoff, Retry};

use crate::domain::{Email, Name, Password, User, UserId};
use crate::ports::{
    CreateUserError, FailureWindow, LoginFailures, PasswordHasher, UpdateUserError, Users,
};

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
    /// Every attempt lost a race on the same items: nothing was written, the same request may
    /// succeed in a moment.
    #[error("registration kept conflicting with concurrent writes")]
    Contended,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// How many failed logins one email may have in a window before every login for it is refused
/// until the window ends. Failures are counted per email whether or not an account has it, so
/// the limit says nothing about which emails are registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginLimit {
    pub max_failures: u32,
    pub window: Duration,
}

impl Default for LoginLimit {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::minutes(15),
        }
    }
}

impl LoginLimit {
    /// The window `now` falls in. Windows are fixed and aligned on multiples of their length
    /// since the epoch, so each is one counter, incremented atomically by one write, with no
    /// read-modify-write race; the price is that up to twice the limit can fit around the
    /// boundary of two windows.
    #[must_use]
    pub fn window_at(&self, now: DateTime<Utc>) -> FailureWindow {
        let length = self.window.num_seconds().max(1);
        let start = now.timestamp().div_euclid(length) * length;
        let at = |seconds| DateTime::from_timestamp(seconds, 0).unwrap_or(now);
        FailureWindow {
            start: at(start),
            end: at(start + length),
        }
    }
}

/// Why a token was not issued.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email or wrong password: deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed logins for this email in the current window: try again after
    /// `retry_after`. Known and unknown emails get it alike.
    #[error("too many failed logins")]
    Throttled { retry_after: Duration },
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

/// Registers a user: hashes the password, stores the user with its `UserRegistered` event.
/// Registration only ever creates customers: emails are not verified, so no address may imply
/// a role; admin rights come from an operator through [`change_role`].
///
/// # Errors
/// [`RegisterError::EmailTaken`] when the email (case-insensitively) is already registered,
/// also when a concurrent registration of it won the race.
pub async fn register<R: Users, H: PasswordHasher>(
    repo: &R,
    hasher: &H,
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
        role: Role::Customer,
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
    // A transaction that raced another on the same items (two registrations of one email)
    // wrote nothing; the retry meets the winner's email claim and says so, or succeeds.
    let (user_ref, event_ref) = (&user, &event);
    Backoff::CONTENTION
        .run(|_| async move {
            match repo.create(user_ref, event_ref).await {
                Ok(()) => Retry::Done(Ok(())),
                Err(CreateUserError::Conflict) => Retry::Again(()),
                Err(CreateUserError::EmailTaken) => Retry::Done(Err(RegisterError::EmailTaken)),
                Err(CreateUserError::Unexpected(err)) => Retry::Done(Err(err.into())),
            }
        })
        .await
        .unwrap_or(Err(RegisterError::Contended))?;
    tracing::info!(user_id = %user.id, role = ?user.role, "user registered");
    Ok(user)
}

/// Issues a token for valid credentials. Whether the email is unknown, malformed, or the
/// password wrong, the caller learns only [`LoginError::InvalidCredentials`], after one password
/// verification's worth of work. Each refusal counts a failure for the email; once `limit` is
/// reached, every attempt in the window is refused with [`LoginError::Throttled`], after the same
/// work and with the same answer for every email. A successful login clears the count.
///
/// # Errors
/// [`LoginError::InvalidCredentials`], [`LoginError::Throttled`].
pub async fn login<R: Users + LoginFailures, H: PasswordHasher>(
    repo: &R,
    hasher: &H,
    issuer: &TokenIssuer,
    limit: &LoginLimit,
    email: &str,
    password: String,
    now: DateTime<Utc>,
) -> Result<IssuedToken, LoginError> {
    // A malformed email is nobody's account: there is nothing to guess, so nothing to count.
    let key = Email::parse(email).ok().map(|email| email.key());
    let window = limit.window_at(now);
    let failures = match &key {
        Some(key) => repo.failures(key, window).await?,
        None => 0,
    };
    let password = Password::offered(password);
    if failures >= limit.max_failures {
        let hasher = hasher.clone();
        off_executor(move || {
            hasher.verify_dummy(password.as_ref().map_or(&[][..], Password::expose));
        })
        .await?;
        tracing::info!("login throttled");
        return Err(LoginError::Throttled {
            retry_after: window.end - now,
        });
    }
    let user = match &key {
        Some(key) => repo.find_by_email(key).await?,
        None => None,
    };
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
    match (user, key) {
        (Some(user), Some(key)) if verified => {
            if failures > 0 {
                repo.clear(&key, window).await?;
            }
            let token = issuer
                .issue(&user.id.to_string(), user.role, now)
                .map_err(|err| LoginError::Unexpected(err.into()))?;
            tracing::info!(user_id = %user.id, "token issued");
            Ok(token)
        }
        (_, key) => {
            if let Some(key) = key {
                repo.record_failure(&key, window).await?;
            }
            tracing::info!("login refused");
            Err(LoginError::InvalidCredentials)
        }
    }
}

/// The user's profile.
///
/// # Errors
/// [`ProfileError::NotFound`].
pub async fn get_profile<R: Users>(repo: &R, id: UserId) -> Result<User, ProfileError> {
    repo.get(id).await?.ok_or(ProfileError::NotFound)
}

/// Applies `patch` to the user's profile; publishes `UserProfileUpdated` when something changed.
/// Re-reads and retries when a concurrent update wins the race.
///
/// # Errors
/// See [`UpdateProfileError`].
pub async fn update_profile<R: Users>(
    repo: &R,
    id: UserId,
    patch: ProfilePatch,
    trace: Trace,
) -> Result<User, UpdateProfileError> {
    let patch = &patch;
    let trace = &trace;
    Backoff::CONTENTION
        .run(|_| async move {
            let current = match repo.get(id).await {
                Ok(Some(current)) => current,
                Ok(None) => return Retry::Done(Err(UpdateProfileError::NotFound)),
                Err(err) => return Retry::Done(Err(err.into())),
            };
            let mut updated = current.clone();
            if let Some(name) = &patch.name {
                updated.name = name.clone();
            }
            if let Some(email) = &patch.email {
                updated.email = email.clone();
            }
            if updated == current {
                return Retry::Done(Ok(current));
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
                    Retry::Done(Ok(updated))
                }
                Err(UpdateUserError::Stale) => Retry::Again(UpdateProfileError::Conflict),
                Err(UpdateUserError::EmailTaken) => {
                    Retry::Done(Err(UpdateProfileError::EmailTaken))
                }
                Err(UpdateUserError::Unexpected(err)) => Retry::Done(Err(err.into())),
            }
        })
        .await
        .unwrap_or_else(Err)
}

/// Why a role could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeRoleError {
    /// No account holds this email.
    #[error("no user with this email")]
    NotFound,
    /// Still losing to concurrent changes of the user after retrying.
    #[error("user changed concurrently")]
    Conflict,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What [`change_role`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChange {
    /// The user now has the role; `UserRoleChanged` was recorded with it.
    Changed(User),
    /// The user already had the role: nothing written, no event.
    Unchanged(User),
}

fn event_role(role: Role) -> UserRole {
    match role {
        Role::Customer => UserRole::Customer,
        Role::Admin => UserRole::Admin,
    }
}

/// Gives the user registered with `email` the role `role` (an operator's grant or revoke),
/// with `UserRoleChanged` in the same unit of work. Tokens carry the role they were issued
/// with, so the change applies to every token issued from now on. Re-reads and retries when a
/// concurrent change of the user wins the race.
///
/// # Errors
/// See [`ChangeRoleError`].
pub async fn change_role<R: Users>(
    repo: &R,
    email: &Email,
    role: Role,
    trace: Trace,
) -> Result<RoleChange, ChangeRoleError> {
    let trace = &trace;
    Backoff::CONTENTION
        .run(|_| async move {
            let current = match repo.find_by_email(&email.key()).await {
                Ok(Some(current)) => current,
                Ok(None) => return Retry::Done(Err(ChangeRoleError::NotFound)),
                Err(err) => return Retry::Done(Err(err.into())),
            };
            if current.role == role {
                return Retry::Done(Ok(RoleChange::Unchanged(current)));
            }
            let updated = User {
                role,
                version: current.version + 1,
                updated_at: Utc::now(),
                ..current.clone()
            };
            let event = EventEnvelope::new(
                UserRoleChanged {
                    user_id: updated.id.0,
                    role: event_role(role),
                    previous_role: event_role(current.role),
                },
                trace.clone(),
            );
            match repo.update(&current, &updated, &event).await {
                Ok(()) => {
                    tracing::info!(user_id = %updated.id, ?role, "role changed");
                    Retry::Done(Ok(RoleChange::Changed(updated)))
                }
                Err(UpdateUserError::Stale) => Retry::Again(ChangeRoleError::Conflict),
                // The email does not change, so its claim is never contended.
                Err(UpdateUserError::EmailTaken) => Retry::Done(Err(ChangeRoleError::Unexpected(
                    anyhow::anyhow!("a role change moved an email claim"),
                ))),
                Err(UpdateUserError::Unexpected(err)) => Retry::Done(Err(err.into())),
            }
        })
        .await
        .unwrap_or_else(Err)
}

//! lambda_http glue for users-api: routes, request bodies -> commands, results -> responses,
//! and the one mapping from errors to problem responses.

use chrono::{DateTime, Utc};
use lambda_http::http::header::{CACHE_CONTROL, HeaderValue, LOCATION, RETRY_AFTER};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::{Identity, IssuedToken, Role, SigningKeys};
use shared::envelope::Trace;
use shared::http::{
    IntoProblem, Problem, Validation, json_response, parse_json, respond, unexpected,
};
use shared::openapi::{Access, ApiDoc};
use shared::router::{Route, Router};

use crate::domain::{Email, Name, Password, User, UserId};
use crate::ports::{LoginFailures, PasswordHasher, Users};
use crate::service::{
    self, LoginError, LoginLimit, ProfileError, ProfilePatch, Register, RegisterError,
    UpdateProfileError,
};

/// Everything users-api needs, built once per cold start.
#[derive(Debug)]
pub struct UsersApi<R, H> {
    pub repo: R,
    pub hasher: H,
    /// Signs tokens, verifies them, and publishes the public keys.
    pub keys: SigningKeys,
    /// Failed logins allowed per email and window (`LOGIN_MAX_FAILURES`,
    /// `LOGIN_FAILURE_WINDOW_SECONDS`).
    pub login_limit: LoginLimit,
}

/// What `Email::parse` accepts, for the document: a dot-atom local part and a domain of
/// letters, digits and inner hyphens with an alphabetic top-level label.
const EMAIL_PATTERN: &str = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,}$";

/// What `Name::parse` accepts, for the document: no control characters, not blank.
const NAME_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

/// `POST /users`: a new customer account.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Registration")]
struct RegisterBody {
    /// Trimmed, its domain lowercased; unique case-insensitively.
    #[schemars(length(max = 254), regex(pattern = EMAIL_PATTERN))]
    email: String,
    /// 10 to 128 bytes (characters count for the minimum), not blank.
    #[schemars(length(min = 10, max = 128))]
    password: String,
    /// The name shown on orders and emails, 1 to 100 characters.
    #[schemars(length(min = 1, max = 100), regex(pattern = NAME_PATTERN))]
    name: String,
}

/// `POST /auth/token`: the credentials to exchange for a token.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Credentials")]
struct TokenBody {
    email: String,
    password: String,
}

/// `PATCH /users/me`: the fields to change; absent ones keep their value.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ProfilePatch")]
struct PatchBody {
    #[schemars(length(min = 1, max = 100), regex(pattern = NAME_PATTERN))]
    name: Option<String>,
    #[schemars(length(max = 254), regex(pattern = EMAIL_PATTERN))]
    email: Option<String>,
}

/// A user as the API shows it: never the password hash.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[schemars(rename = "User")]
pub struct UserView {
    #[schemars(with = "uuid::Uuid")]
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            name: user.name.as_str().to_owned(),
            role: user.role,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// Every way a request can fail, mapped to a response in [`ApiError::into_problem`] only.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Update(#[from] UpdateProfileError),
}

impl IntoProblem for ApiError {
    fn into_problem(self, request_id: &str) -> Problem {
        match self {
            Self::Problem(problem) => problem,
            Self::Register(RegisterError::EmailTaken)
            | Self::Update(UpdateProfileError::EmailTaken) => {
                Problem::conflict("an account with this email already exists")
            }
            Self::Login(LoginError::InvalidCredentials) => {
                Problem::unauthorized("email or password is incorrect")
            }
            // The response also needs `Retry-After`: `token` answers this one itself.
            Self::Login(LoginError::Throttled { .. }) => throttled_problem(),
            Self::Profile(ProfileError::NotFound) | Self::Update(UpdateProfileError::NotFound) => {
                Problem::not_found("this user does not exist")
            }
            Self::Register(RegisterError::Contended) => {
                tracing::warn!("registration kept conflicting; answered 503");
                Problem::service_unavailable(
                    "the service is busy; retry the same request after the Retry-After delay",
                    std::time::Duration::from_secs(1),
                )
            }
            Self::Update(UpdateProfileError::Conflict) => {
                Problem::conflict("the profile is being changed concurrently; try again")
            }
            Self::Register(RegisterError::Unexpected(err))
            | Self::Login(LoginError::Unexpected(err))
            | Self::Profile(ProfileError::Unexpected(err))
            | Self::Update(UpdateProfileError::Unexpected(err)) => unexpected(&err, request_id),
        }
    }
}

/// What users-api does for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiRoute {
    Register,
    Token,
    Jwks,
    Me,
    PatchMe,
}

/// users-api's routes: the template's `RouteKey`s for this function.
pub static ROUTES: Router<ApiRoute> = Router(&[
    Route::new(Method::POST, "/users", ApiRoute::Register),
    Route::new(Method::POST, "/auth/token", ApiRoute::Token),
    Route::new(Method::GET, "/.well-known/jwks.json", ApiRoute::Jwks),
    Route::new(Method::GET, "/users/me", ApiRoute::Me),
    Route::new(Method::PATCH, "/users/me", ApiRoute::PatchMe),
]);

/// The one body of a throttled login, whichever email it was for.
fn throttled_problem() -> Problem {
    Problem::too_many_requests("too many failed logins for this account; try again later")
}

impl<R: Users + LoginFailures, H: PasswordHasher> UsersApi<R, H> {
    /// Handles one API Gateway request. Never fails: every error is a problem response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        respond(request, |request, trace| async move {
            self.route(&request, trace).await
        })
        .await
    }

    async fn route(&self, request: &Request, trace: Trace) -> Result<Response<Body>, ApiError> {
        let (route, _) = ROUTES.route(request)?;
        match route {
            ApiRoute::Register => self.register(request, trace).await,
            ApiRoute::Token => self.token(request).await,
            ApiRoute::Jwks => Ok(self.jwks()),
            ApiRoute::Me => self.me(request).await,
            ApiRoute::PatchMe => self.patch_me(request, trace).await,
        }
    }

    async fn register(&self, request: &Request, trace: Trace) -> Result<Response<Body>, ApiError> {
        let body: RegisterBody = parse_json(request)?;
        let mut validation = Validation::default();
        let email = validation.check("email", Email::parse(&body.email));
        let password = validation.check("password", Password::new(body.password));
        let name = validation.check("name", Name::parse(&body.name));
        validation.finish()?;
        let (Some(email), Some(password), Some(name)) = (email, password, name) else {
            return Err(Problem::bad_request("invalid registration").into());
        };
        let user = service::register(
            &self.repo,
            &self.hasher,
            Register {
                email,
                password,
                name,
            },
            trace,
        )
        .await?;
        let mut response = json_response(StatusCode::CREATED, &UserView::from(&user));
        response
            .headers_mut()
            .insert(LOCATION, HeaderValue::from_static("/users/me"));
        Ok(response)
    }

    async fn token(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let body: TokenBody = parse_json(request)?;
        let now = Utc::now();
        let token = match service::login(
            &self.repo,
            &self.hasher,
            self.keys.issuer(),
            &self.login_limit,
            &body.email,
            body.password,
            now,
        )
        .await
        {
            Err(LoginError::Throttled { retry_after }) => {
                let mut response = throttled_problem().into_response();
                // Whole seconds, rounded up, so a client that waits that long gets in.
                let seconds = (retry_after.num_milliseconds() + 999)
                    .div_euclid(1000)
                    .max(1);
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(seconds));
                return Ok(response);
            }
            other => other?,
        };
        let mut response = json_response(StatusCode::OK, &token);
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }

    /// The public keys tokens are verified with (RFC 7517), for any verifier to fetch.
    fn jwks(&self) -> Response<Body> {
        let mut response = json_response(StatusCode::OK, self.keys.jwks());
        // Keys change only with a rotation, which keeps the old key valid for a token's life.
        response.headers_mut().insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        response
    }

    fn caller(&self, request: &Request) -> Result<UserId, ApiError> {
        let identity: Identity = self.keys.verifier().authenticate(request)?;
        // A token this service signed always has a UUID subject; anything else is not ours.
        UserId::parse(&identity.user_id)
            .ok_or_else(|| Problem::unauthorized("the bearer token is invalid or expired").into())
    }

    async fn me(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let id = self.caller(request)?;
        let user = service::get_profile(&self.repo, id).await?;
        Ok(json_response(StatusCode::OK, &UserView::from(&user)))
    }

    async fn patch_me(&self, request: &Request, trace: Trace) -> Result<Response<Body>, ApiError> {
        let id = self.caller(request)?;
        let body: PatchBody = parse_json(request)?;
        let mut validation = Validation::default();
        let patch = ProfilePatch {
            name: body
                .name
                .and_then(|name| validation.check("name", Name::parse(&name))),
            email: body
                .email
                .and_then(|email| validation.check("email", Email::parse(&email))),
        };
        validation.finish()?;
        let user = service::update_profile(&self.repo, id, patch, trace).await?;
        Ok(json_response(StatusCode::OK, &UserView::from(&user)))
    }
}

fn user_example() -> serde_json::Value {
    json!({
        "id": "0b6f8a52-6d1e-4a8c-9f51-2f4b1c3d5e6f",
        "email": "ada@example.org",
        "name": "Ada Lovelace",
        "role": "customer",
        "created_at": "2026-11-26T10:15:00Z",
        "updated_at": "2026-11-26T10:15:00Z"
    })
}

/// The JSON Schema of a JSON Web Key Set of Ed25519 public keys (RFC 7517, RFC 8037), as
/// [`SigningKeys::jwks`] serialises it.
fn jwks_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "required": ["keys"],
        "properties": {"keys": {"type": "array", "items": {
            "type": "object",
            "required": ["kty", "crv", "x", "kid"],
            "properties": {
                "kty": {"const": "OKP"},
                "crv": {"const": "Ed25519"},
                "x": {"type": "string", "description": "The public key, base64url without padding."},
                "kid": {"type": "string", "description": "The key id tokens name in their header."},
                "use": {"const": "sig"},
                "alg": {"const": "EdDSA"}
            }
        }}}
    })
}

/// Describes users-api's routes (the ones [`UsersApi::handle`] routes) in the OpenAPI document.
pub fn describe_api(doc: &mut ApiDoc) {
    let registration = json!({"email": "ada@example.org", "password": "correct horse battery", "name": "Ada Lovelace"});
    doc.operation(
        "POST",
        "/users",
        "registerUser",
        "Register a customer account",
    )
    .tag("users")
    .description(
        "Always creates a `customer`; the admin role is granted only by an operator \
             (`users-admin`). Records `UserRegistered`. API Gateway limits this route to 10 \
             requests/s (bursts of 20): 429 from the gateway beyond that.",
    )
    .access(Access::Anyone)
    .json_body::<RegisterBody>(registration)
    .response::<UserView>(201, "The new account.", user_example())
    .response_header(201, "Location", Some("Location"), json!({}))
    .problem(
        409,
        "An account with this email (in any case) already exists.",
    )
    .problem(
        503,
        "Registration kept losing races; send the same request again after Retry-After.",
    )
    .add();
    doc.operation("POST", "/auth/token", "issueToken", "Log in: exchange email and password for a bearer token")
        .tag("users")
        .description(
            "The token is valid for one hour and carries the role the user has now. After \
             `LOGIN_MAX_FAILURES` refused logins for one email within a window, every login for \
             it is refused with 429 until the window ends, even with the right password.",
        )
        .access(Access::Anyone)
        .json_body::<TokenBody>(json!({"email": "ada@example.org", "password": "correct horse battery"}))
        .response::<IssuedToken>(
            200,
            "A bearer token.",
            json!({"access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6ImstMjAyNjExMjYtMGFiMWMyZDMifQ.e30.c2ln", "token_type": "Bearer", "expires_in": 3600}),
        )
        .response_header(200, "Cache-Control", None, json!({"schema": {"const": "no-store"}}))
        .problem(401, "The email or the password is wrong (one answer for both).")
        .problem(429, "Too many failed logins for this email: wait Retry-After seconds.")
        .add();
    doc.operation(
        "GET",
        "/.well-known/jwks.json",
        "getJwks",
        "The public keys tokens are verified with",
    )
    .tag("users")
    .description("A JSON Web Key Set (RFC 7517) of Ed25519 keys, each with its `kid`.")
    .access(Access::Anyone)
    .raw_response(200, "The key set.", "application/json", jwks_schema())
    .response_header(
        200,
        "Cache-Control",
        None,
        json!({"schema": {"const": "public, max-age=300"}}),
    )
    .add();
    doc.operation("GET", "/users/me", "getMe", "The caller's own account")
        .tag("users")
        .access(Access::User)
        .response::<UserView>(200, "The account.", user_example())
        .problem(404, "The account no longer exists.")
        .add();
    doc.operation(
        "PATCH",
        "/users/me",
        "updateMe",
        "Change the caller's name or email",
    )
    .tag("users")
    .description("Records `UserProfileUpdated` when something changed.")
    .access(Access::User)
    .json_body::<PatchBody>(json!({"name": "Ada King"}))
    .response::<UserView>(200, "The account as it is now.", user_example())
    .problem(404, "The account no longer exists.")
    .problem(
        409,
        "Another account has this email, or the profile is being changed concurrently.",
    )
    .add();
}

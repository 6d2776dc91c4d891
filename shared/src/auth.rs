//! Bearer JWTs: issued by users-api, verified by every API function.
//!
//! HS256 with a secret of at least 32 bytes (`JWT_SECRET`, from Secrets Manager in AWS). Only
//! HS256 is accepted (no algorithm confusion), `exp` is required, and the issuer is checked.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::Request;
use lambda_http::http::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};

use crate::http::Problem;

/// The issuer every token carries and every verifier checks.
pub const ISSUER: &str = "serverless-shop/users";
/// Shortest accepted signing secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// How long an issued token is valid.
pub const TOKEN_TTL: Duration = Duration::hours(1);

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Buys things; sees only their own orders and notifications.
    Customer,
    /// Also manages the catalog and stock.
    Admin,
}

/// The claims of a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's role.
    pub role: Role,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Always [`ISSUER`].
    pub iss: String,
}

/// The authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user id (`sub`).
    pub user_id: String,
    /// The user's role.
    pub role: Role,
}

impl Identity {
    /// Allows admins only.
    ///
    /// # Errors
    /// A 403 problem for anyone else.
    pub fn require_admin(&self) -> Result<(), Problem> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Customer => Err(Problem::forbidden("this action needs the admin role")),
        }
    }
}

/// A freshly issued token, as the token endpoint returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// Why the signing keys could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The secret is too short to be safe.
    #[error("JWT secret must be at least {MIN_SECRET_BYTES} bytes")]
    SecretTooShort,
    /// Signing failed (should not happen with HS256).
    #[error("could not sign token")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// Signing and verification keys with the validation rules. Build once per cold start.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(<redacted>)")
    }
}

impl JwtKeys {
    /// Keys from a shared secret.
    ///
    /// # Errors
    /// [`KeyError::SecretTooShort`].
    pub fn from_secret(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::SecretTooShort);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 30;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        })
    }

    /// Issues a token for `user_id` with `role`, valid for [`TOKEN_TTL`] from `now`.
    ///
    /// # Errors
    /// [`KeyError::Signing`].
    pub fn issue(
        &self,
        user_id: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, KeyError> {
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            iat: now.timestamp(),
            exp: (now + TOKEN_TTL).timestamp(),
            iss: ISSUER.to_owned(),
        };
        let access_token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
                .map_err(KeyError::Signing)?;
        Ok(IssuedToken {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: TOKEN_TTL.num_seconds(),
        })
    }

    /// Verifies a token and returns who it identifies.
    ///
    /// # Errors
    /// A 401 problem for a token that is malformed, forged, expired or from another issuer.
    pub fn verify(&self, token: &str) -> Result<Identity, Problem> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|err| {
                tracing::info!(reason = %err, "bearer token rejected");
                Problem::unauthorized("the bearer token is invalid or expired")
            })?;
        Ok(Identity {
            user_id: data.claims.sub,
            role: data.claims.role,
        })
    }

    /// Authenticates a request by its `Authorization: Bearer <JWT>` header.
    ///
    /// # Errors
    /// A 401 problem when the header is missing, not a bearer token, or the token is invalid.
    pub fn authenticate(&self, request: &Request) -> Result<Identity, Problem> {
        let header = request
            .headers()
            .get(AUTHORIZATION)
            .ok_or_else(|| Problem::unauthorized("an Authorization: Bearer token is required"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                Problem::unauthorized("the Authorization header must be 'Bearer <token>'")
            })?;
        self.verify(token)
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::Body;
    use lambda_http::http;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(SECRET).unwrap()
    }

    fn request_with(authorization: Option<&str>) -> Request {
        let mut builder = http::Request::builder().uri("/orders");
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn an_issued_token_verifies_to_its_subject_and_role() {
        let token = keys().issue("user-1", Role::Admin, Utc::now()).unwrap();
        assert_eq!(token.token_type, "Bearer");
        assert_eq!(token.expires_in, 3600);
        let identity = keys().verify(&token.access_token).unwrap();
        assert_eq!(
            identity,
            Identity {
                user_id: "user-1".into(),
                role: Role::Admin
            }
        );
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(matches!(
            JwtKeys::from_secret(b"short"),
            Err(KeyError::SecretTooShort)
        ));
    }

    #[test]
    fn an_expired_token_is_a_401() {
        let token = keys()
            .issue("user-1", Role::Customer, Utc::now() - Duration::hours(2))
            .unwrap();
        assert_eq!(keys().verify(&token.access_token).unwrap_err().status, 401);
    }

    #[test]
    fn a_token_signed_with_another_secret_is_a_401() {
        let other = JwtKeys::from_secret(b"another-secret-another-secret-xx").unwrap();
        let token = other.issue("user-1", Role::Admin, Utc::now()).unwrap();
        assert_eq!(keys().verify(&token.access_token).unwrap_err().status, 401);
    }

    #[test]
    fn an_unsigned_alg_none_token_is_a_401() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let exp = (Utc::now() + Duration::hours(1)).timestamp();
        let claims = b64.encode(format!(
            r#"{{"sub":"u","role":"admin","iat":0,"exp":{exp},"iss":"{ISSUER}"}}"#
        ));
        assert_eq!(
            keys()
                .verify(&format!("{header}.{claims}."))
                .unwrap_err()
                .status,
            401
        );
    }

    #[test]
    fn a_request_without_a_bearer_token_is_a_401() {
        for header in [
            None,
            Some("Basic dXNlcjpwYXNz"),
            Some("Bearer "),
            Some("Bearer not.a.jwt"),
        ] {
            let problem = keys().authenticate(&request_with(header)).unwrap_err();
            assert_eq!(problem.status, 401, "{header:?}");
        }
    }

    #[test]
    fn a_request_with_a_valid_token_is_authenticated_and_the_scheme_is_case_insensitive() {
        let token = keys()
            .issue("user-9", Role::Customer, Utc::now())
            .unwrap()
            .access_token;
        let identity = keys()
            .authenticate(&request_with(Some(&format!("bearer {token}"))))
            .unwrap();
        assert_eq!(identity.user_id, "user-9");
        assert_eq!(identity.require_admin().unwrap_err().status, 403);
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        assert_eq!(format!("{:?}", keys()), "JwtKeys(<redacted>)");
    }
}

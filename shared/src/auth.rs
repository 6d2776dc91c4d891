//! Bearer JWTs, signed asymmetrically: only users-api can mint them, every API verifies them.
//!
//! Tokens are EdDSA (Ed25519) JWTs with a `kid` header naming the key that signed them. The
//! private keys live in one Secrets Manager secret, the [`SigningKeySet`], which only users-api
//! may read (at cold start, never through an environment variable). Every other API function
//! gets only the public keys, as a JWKS ([`JwtKeys::from_jwks_json`], `JWT_PUBLIC_KEYS`): it can
//! verify a token but never mint one, so a compromised products-api cannot make itself an admin
//! token. users-api also publishes the JWKS at `GET /.well-known/jwks.json`.
//!
//! Only EdDSA is accepted (no `alg: none`, no algorithm confusion with an HMAC key), the `kid`
//! must name a known key, `exp`, `sub` and `iss` are required, and the issuer is checked.
//!
//! Rotation keeps two keys valid at once (docs/architecture.md, "Auth"): [`add_key`] publishes a
//! new key without signing with it; once every verifier has it, [`activate`] makes it sign;
//! after the last token of the old key expired, [`retire_others`] drops the old key.
//!
//! [`add_key`]: SigningKeySet::add_key
//! [`activate`]: SigningKeySet::activate
//! [`retire_others`]: SigningKeySet::retire_others

use std::collections::{HashMap, HashSet};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::Request;
use lambda_http::http::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};

use crate::http::Problem;

/// The issuer every token carries and every verifier checks.
pub const ISSUER: &str = "serverless-shop/users";
/// How long an issued token is valid.
pub const TOKEN_TTL: Duration = Duration::hours(1);
/// The environment variable with the public keys (a JWKS) of every verifying function.
pub const PUBLIC_KEYS_VARIABLE: &str = "JWT_PUBLIC_KEYS";
/// The environment variable naming the signing key set's secret (users-api only).
pub const SIGNING_SECRET_VARIABLE: &str = "JWT_SIGNING_SECRET_ID";

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct IssuedToken {
    /// The JWT.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
}

/// Why keys could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key set or JWKS is not what this module writes.
    #[error("malformed key material: {0}")]
    Malformed(String),
    /// The operation names a key the set does not have.
    #[error("no key {0} in the signing key set")]
    UnknownKid(String),
    /// The system random generator failed.
    #[error("could not generate an Ed25519 key")]
    Generation,
    /// Signing failed.
    #[error("could not sign token")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// One Ed25519 signing key: its id and its private key (PKCS#8, base64).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKey {
    /// The key id tokens name in their `kid` header.
    pub kid: String,
    pkcs8: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, <redacted>)", self.kid)
    }
}

impl SigningKey {
    fn generate() -> Result<Self, KeyError> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
            .map_err(|_| KeyError::Generation)?;
        Ok(Self {
            kid: new_kid(),
            pkcs8: STANDARD.encode(pkcs8.as_ref()),
        })
    }

    fn der(&self) -> Result<Vec<u8>, KeyError> {
        STANDARD
            .decode(&self.pkcs8)
            .map_err(|_| KeyError::Malformed(format!("key {} is not base64", self.kid)))
    }

    fn key_pair(&self) -> Result<Ed25519KeyPair, KeyError> {
        Ed25519KeyPair::from_pkcs8(&self.der()?)
            .map_err(|err| KeyError::Malformed(format!("key {}: {err}", self.kid)))
    }

    fn public_jwk(&self) -> Result<Jwk, KeyError> {
        let public = self.key_pair()?.public_key().as_ref().to_vec();
        Ok(Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                key_id: Some(self.kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(public),
            }),
        })
    }
}

/// A key id that sorts by creation day and does not repeat: `k-YYYYMMDD-<8 hex>`.
fn new_kid() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("k-{}-{}", Utc::now().format("%Y%m%d"), &random[..8])
}

/// The signing key set, as users-api's secret stores it (JSON): every key tokens may still be
/// signed with, and which one signs new tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeySet {
    /// The key new tokens are signed with.
    pub signing_kid: String,
    /// Every key whose tokens are valid, the signing one included.
    pub keys: Vec<SigningKey>,
}

impl SigningKeySet {
    /// A new set with one fresh key, signing.
    ///
    /// # Errors
    /// [`KeyError::Generation`].
    pub fn generate() -> Result<Self, KeyError> {
        let key = SigningKey::generate()?;
        Ok(Self {
            signing_kid: key.kid.clone(),
            keys: vec![key],
        })
    }

    /// Parses and checks a stored set: every key readable, ids unique, the signing key present.
    ///
    /// # Errors
    /// [`KeyError::Malformed`] or [`KeyError::UnknownKid`].
    pub fn from_json(json: &str) -> Result<Self, KeyError> {
        let set: Self = serde_json::from_str(json)
            .map_err(|err| KeyError::Malformed(format!("signing key set: {err}")))?;
        let mut seen = HashSet::new();
        for key in &set.keys {
            key.key_pair()?;
            if !seen.insert(key.kid.as_str()) {
                return Err(KeyError::Malformed(format!("key id {} twice", key.kid)));
            }
        }
        set.signing_key()?;
        Ok(set)
    }

    /// The set as the secret stores it.
    #[must_use]
    pub fn to_json(&self) -> String {
        // A struct of strings always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn signing_key(&self) -> Result<&SigningKey, KeyError> {
        self.keys
            .iter()
            .find(|key| key.kid == self.signing_kid)
            .ok_or_else(|| KeyError::UnknownKid(self.signing_kid.clone()))
    }

    /// Rotation, step 1: adds a fresh key that verifiers will accept but nothing signs with yet.
    /// Deploy so every verifier has it, then [`activate`](Self::activate) it.
    ///
    /// # Errors
    /// [`KeyError::Generation`].
    pub fn add_key(&mut self) -> Result<String, KeyError> {
        let key = SigningKey::generate()?;
        let kid = key.kid.clone();
        self.keys.push(key);
        Ok(kid)
    }

    /// Rotation, step 2: new tokens are signed with `kid`; tokens of the other keys stay valid.
    ///
    /// # Errors
    /// [`KeyError::UnknownKid`].
    pub fn activate(&mut self, kid: &str) -> Result<(), KeyError> {
        if !self.keys.iter().any(|key| key.kid == kid) {
            return Err(KeyError::UnknownKid(kid.to_owned()));
        }
        kid.clone_into(&mut self.signing_kid);
        Ok(())
    }

    /// Rotation, step 3: drops every key but the signing one, returning the dropped ids. Do it
    /// only when the last token they signed has expired ([`TOKEN_TTL`] after activation).
    pub fn retire_others(&mut self) -> Vec<String> {
        let signing = self.signing_kid.clone();
        let (keep, retired): (Vec<_>, Vec<_>) =
            self.keys.drain(..).partition(|key| key.kid == signing);
        self.keys = keep;
        retired.into_iter().map(|key| key.kid).collect()
    }

    /// The public keys of the whole set, as a JWKS.
    ///
    /// # Errors
    /// [`KeyError::Malformed`] for an unreadable key.
    pub fn jwks(&self) -> Result<JwkSet, KeyError> {
        Ok(JwkSet {
            keys: self
                .keys
                .iter()
                .map(SigningKey::public_jwk)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The issuer that signs with the signing key.
    ///
    /// # Errors
    /// [`KeyError`] for a set that is not usable.
    pub fn issuer(&self) -> Result<TokenIssuer, KeyError> {
        let key = self.signing_key()?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        Ok(TokenIssuer {
            encoding: EncodingKey::from_ed_der(&key.der()?),
            header,
        })
    }

    /// A verifier that accepts tokens of every key in the set.
    ///
    /// # Errors
    /// [`KeyError`] for a set that is not usable.
    pub fn verifier(&self) -> Result<JwtKeys, KeyError> {
        JwtKeys::from_jwks(&self.jwks()?)
    }
}

/// Everything users-api does with its key set: sign, verify, publish. Build once per cold start.
#[derive(Clone, Debug)]
pub struct SigningKeys {
    issuer: TokenIssuer,
    verifier: JwtKeys,
    jwks: JwkSet,
}

impl SigningKeys {
    /// The issuer, verifier and JWKS of `set`.
    ///
    /// # Errors
    /// [`KeyError`] for a set that is not usable.
    pub fn new(set: &SigningKeySet) -> Result<Self, KeyError> {
        Ok(Self {
            issuer: set.issuer()?,
            verifier: set.verifier()?,
            jwks: set.jwks()?,
        })
    }

    /// The keys in the Secrets Manager secret named by [`SIGNING_SECRET_VARIABLE`], read once
    /// at cold start.
    ///
    /// # Errors
    /// The secret cannot be read or does not hold a usable [`SigningKeySet`].
    #[cfg(feature = "secrets")]
    pub async fn from_secrets_manager(config: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let json = crate::config::secret_string(config, SIGNING_SECRET_VARIABLE).await?;
        Ok(Self::new(&SigningKeySet::from_json(&json)?)?)
    }

    /// Signs new tokens with the set's signing key.
    #[must_use]
    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    /// Verifies tokens of every key in the set.
    #[must_use]
    pub fn verifier(&self) -> &JwtKeys {
        &self.verifier
    }

    /// The public keys, as `GET /.well-known/jwks.json` publishes them.
    #[must_use]
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }
}

/// Signs tokens (users-api only). Build once per cold start.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    header: Header,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenIssuer({:?}, <redacted>)", self.header.kid)
    }
}

impl TokenIssuer {
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
        let access_token = jsonwebtoken::encode(&self.header, &claims, &self.encoding)
            .map_err(KeyError::Signing)?;
        Ok(IssuedToken {
            access_token,
            token_type: "Bearer".to_owned(),
            expires_in: TOKEN_TTL.num_seconds(),
        })
    }
}

/// Verifies tokens with public keys only. Build once per cold start.
#[derive(Clone)]
pub struct JwtKeys {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&String> = self.keys.keys().collect();
        kids.sort();
        write!(f, "JwtKeys({kids:?})")
    }
}

impl JwtKeys {
    /// A verifier for the Ed25519 keys of `jwks`, each with its `kid`.
    ///
    /// # Errors
    /// [`KeyError::Malformed`] for an empty set or any key that is not an Ed25519 signing key
    /// with an id (an HMAC or RSA key here would be a configuration mistake, refused at start).
    pub fn from_jwks(jwks: &JwkSet) -> Result<Self, KeyError> {
        if jwks.keys.is_empty() {
            return Err(KeyError::Malformed("the JWKS has no keys".to_owned()));
        }
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .ok_or_else(|| KeyError::Malformed("a JWKS key has no kid".to_owned()))?;
            let AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                curve: EllipticCurve::Ed25519,
                x,
                ..
            }) = &jwk.algorithm
            else {
                return Err(KeyError::Malformed(format!("key {kid} is not Ed25519")));
            };
            let decoding = DecodingKey::from_ed_components(x)
                .map_err(|err| KeyError::Malformed(format!("key {kid}: {err}")))?;
            keys.insert(kid, decoding);
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 30;
        Ok(Self { keys, validation })
    }

    /// A verifier for a JWKS document.
    ///
    /// # Errors
    /// [`KeyError::Malformed`].
    pub fn from_jwks_json(json: &str) -> Result<Self, KeyError> {
        let jwks: JwkSet = serde_json::from_str(json)
            .map_err(|err| KeyError::Malformed(format!("JWKS: {err}")))?;
        Self::from_jwks(&jwks)
    }

    /// The verifier of an API function: the public keys in [`PUBLIC_KEYS_VARIABLE`].
    ///
    /// # Errors
    /// The variable is unset or not a usable JWKS.
    pub fn from_env() -> anyhow::Result<Self> {
        let json = crate::config::required(PUBLIC_KEYS_VARIABLE)?;
        Ok(Self::from_jwks_json(&json)?)
    }

    /// Verifies a token and returns who it identifies.
    ///
    /// # Errors
    /// A 401 problem for a token that is malformed, forged, expired, from another issuer, not
    /// EdDSA, or signed by a key this verifier does not know.
    pub fn verify(&self, token: &str) -> Result<Identity, Problem> {
        let rejected = |reason: &dyn std::fmt::Display| {
            tracing::info!(%reason, "bearer token rejected");
            Problem::unauthorized("the bearer token is invalid or expired")
        };
        let header = jsonwebtoken::decode_header(token).map_err(|err| rejected(&err))?;
        let kid = header.kid.ok_or_else(|| rejected(&"no kid"))?;
        let key = self
            .keys
            .get(&kid)
            .ok_or_else(|| rejected(&format!("unknown kid {kid}")))?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map_err(|err| rejected(&err))?;
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

/// Fixed keys for tests: the same on every call, so a suite's issuer and verifier match.
#[cfg(any(test, feature = "test-support"))]
pub mod testing {
    use super::{
        Ed25519KeyPair, JwtKeys, STANDARD, SigningKey, SigningKeySet, SigningKeys, TokenIssuer,
    };
    use base64::Engine as _;

    /// A key set with one key derived from `seed`, id `test-<seed>`.
    ///
    /// # Panics
    /// Never for a seed byte (every 32-byte seed is an Ed25519 key).
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn key_set_from_seed(seed: u8) -> SigningKeySet {
        let pair = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).expect("any 32 bytes");
        let pkcs8 = pair.to_pkcs8().expect("a key pair serialises");
        let kid = format!("test-{seed}");
        SigningKeySet {
            signing_kid: kid.clone(),
            keys: vec![SigningKey {
                kid,
                pkcs8: STANDARD.encode(pkcs8.as_ref()),
            }],
        }
    }

    /// The tests' signing key set.
    #[must_use]
    pub fn key_set() -> SigningKeySet {
        key_set_from_seed(7)
    }

    /// Signs with [`key_set`].
    ///
    /// # Panics
    /// Never: the test key is valid.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn issuer() -> TokenIssuer {
        key_set().issuer().expect("the test key signs")
    }

    /// users-api's keys: [`issuer`], [`verifier`] and their JWKS.
    ///
    /// # Panics
    /// Never: the test key is valid.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn signing_keys() -> SigningKeys {
        SigningKeys::new(&key_set()).expect("the test key is usable")
    }

    /// Verifies [`issuer`]'s tokens with the public key only.
    ///
    /// # Panics
    /// Never: the test key is valid.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn verifier() -> JwtKeys {
        key_set().verifier().expect("the test key verifies")
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::Body;
    use lambda_http::http;

    use super::testing::{issuer, key_set, key_set_from_seed, verifier};
    use super::*;

    fn request_with(authorization: Option<&str>) -> Request {
        let mut builder = http::Request::builder().uri("/orders");
        if let Some(value) = authorization {
            builder = builder.header(AUTHORIZATION, value);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn an_issued_token_verifies_to_its_subject_and_role_and_names_its_key() {
        let token = issuer().issue("user-1", Role::Admin, Utc::now()).unwrap();
        assert_eq!(token.token_type, "Bearer");
        assert_eq!(token.expires_in, 3600);
        let header = jsonwebtoken::decode_header(&token.access_token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some("test-7"));
        let identity = verifier().verify(&token.access_token).unwrap();
        assert_eq!(
            identity,
            Identity {
                user_id: "user-1".into(),
                role: Role::Admin
            }
        );
    }

    #[test]
    fn a_verifier_built_from_the_published_jwks_alone_verifies() {
        let jwks = serde_json::to_string(&key_set().jwks().unwrap()).unwrap();
        assert!(!jwks.contains(&key_set().keys[0].pkcs8), "no private key");
        let json: serde_json::Value = serde_json::from_str(&jwks).unwrap();
        assert_eq!(json["keys"][0]["kty"], "OKP");
        assert_eq!(json["keys"][0]["crv"], "Ed25519");
        assert_eq!(json["keys"][0]["alg"], "EdDSA");
        assert_eq!(json["keys"][0]["use"], "sig");
        assert_eq!(json["keys"][0]["kid"], "test-7");
        let token = issuer().issue("u", Role::Customer, Utc::now()).unwrap();
        assert!(
            JwtKeys::from_jwks_json(&jwks)
                .unwrap()
                .verify(&token.access_token)
                .is_ok()
        );
    }

    #[test]
    fn a_generated_set_round_trips_through_its_stored_form_and_signs() {
        let set = SigningKeySet::generate().unwrap();
        assert!(set.signing_kid.starts_with("k-"));
        let stored = SigningKeySet::from_json(&set.to_json()).unwrap();
        assert_eq!(stored, set);
        let token = stored
            .issuer()
            .unwrap()
            .issue("u", Role::Customer, Utc::now());
        assert!(
            set.verifier()
                .unwrap()
                .verify(&token.unwrap().access_token)
                .is_ok()
        );
        assert!(
            !format!("{set:?}").contains(&set.keys[0].pkcs8),
            "Debug hides keys"
        );
    }

    #[test]
    fn rotation_keeps_two_keys_valid_then_only_the_new_one() {
        let mut set = SigningKeySet::generate().unwrap();
        let old_token = set
            .issuer()
            .unwrap()
            .issue("u", Role::Customer, Utc::now())
            .unwrap();
        // Step 1: the new key is published, the old one still signs.
        let new_kid = set.add_key().unwrap();
        let published = set.verifier().unwrap();
        let still_old = set
            .issuer()
            .unwrap()
            .issue("u", Role::Customer, Utc::now())
            .unwrap();
        assert_ne!(
            jwt_kid(&still_old.access_token),
            new_kid,
            "add_key does not sign yet"
        );
        // Step 2: the new key signs; verifiers that got it in step 1 accept both.
        set.activate(&new_kid).unwrap();
        let new_token = set
            .issuer()
            .unwrap()
            .issue("u", Role::Customer, Utc::now())
            .unwrap();
        assert_eq!(jwt_kid(&new_token.access_token), new_kid);
        for token in [&old_token, &new_token] {
            assert!(published.verify(&token.access_token).is_ok());
        }
        // Step 3: the old key is retired; its tokens are refused.
        assert_eq!(set.retire_others().len(), 1);
        let retired = set.verifier().unwrap();
        assert!(retired.verify(&new_token.access_token).is_ok());
        assert_eq!(
            retired.verify(&old_token.access_token).unwrap_err().status,
            401
        );
        assert!(matches!(
            set.activate("k-gone"),
            Err(KeyError::UnknownKid(_))
        ));
    }

    fn jwt_kid(token: &str) -> String {
        jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
    }

    #[test]
    fn a_stored_set_that_is_not_usable_is_refused() {
        let mut no_signing_key = key_set();
        no_signing_key.signing_kid = "k-missing".into();
        let mut twice = key_set();
        twice.keys.push(twice.keys[0].clone());
        for bad in [
            "{}".to_owned(),
            r#"{"signing_kid":"a","keys":[{"kid":"a","pkcs8":"not base64!"}]}"#.to_owned(),
            r#"{"signing_kid":"a","keys":[{"kid":"a","pkcs8":"AAAA"}]}"#.to_owned(),
            no_signing_key.to_json(),
            twice.to_json(),
        ] {
            assert!(SigningKeySet::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_jwks_with_anything_but_ed25519_keys_with_ids_is_refused() {
        for bad in [
            r#"{"keys":[]}"#,
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}"#,
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
            "not json",
        ] {
            assert!(JwtKeys::from_jwks_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_expired_token_is_a_401() {
        let token = issuer()
            .issue("user-1", Role::Customer, Utc::now() - Duration::hours(2))
            .unwrap();
        assert_eq!(
            verifier().verify(&token.access_token).unwrap_err().status,
            401
        );
    }

    #[test]
    fn a_token_signed_with_another_key_or_an_unknown_kid_is_a_401() {
        let other = key_set_from_seed(9).issuer().unwrap();
        let token = other.issue("user-1", Role::Admin, Utc::now()).unwrap();
        assert_eq!(
            verifier().verify(&token.access_token).unwrap_err().status,
            401
        );
        // The same foreign key claiming our kid: the signature does not verify.
        let mut impostor = key_set_from_seed(9);
        impostor.keys[0].kid = "test-7".into();
        impostor.signing_kid = "test-7".into();
        let token = impostor
            .issuer()
            .unwrap()
            .issue("user-1", Role::Admin, Utc::now())
            .unwrap();
        assert_eq!(
            verifier().verify(&token.access_token).unwrap_err().status,
            401
        );
    }

    #[test]
    fn an_hs256_token_keyed_with_the_public_key_is_a_401() {
        // Algorithm confusion: an attacker signs with HMAC using the published public key.
        let jwks = key_set().jwks().unwrap();
        let AlgorithmParameters::OctetKeyPair(params) = &jwks.keys[0].algorithm else {
            unreachable!()
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("test-7".into());
        let claims = Claims {
            sub: "u".into(),
            role: Role::Admin,
            iat: Utc::now().timestamp(),
            exp: (Utc::now() + TOKEN_TTL).timestamp(),
            iss: ISSUER.into(),
        };
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(params.x.as_bytes()),
        )
        .unwrap();
        assert_eq!(verifier().verify(&token).unwrap_err().status, 401);
    }

    #[test]
    fn an_unsigned_alg_none_token_is_a_401() {
        let b64 = URL_SAFE_NO_PAD;
        let header = b64.encode(r#"{"alg":"none","typ":"JWT","kid":"test-7"}"#);
        let exp = (Utc::now() + Duration::hours(1)).timestamp();
        let claims = b64.encode(format!(
            r#"{{"sub":"u","role":"admin","iat":0,"exp":{exp},"iss":"{ISSUER}"}}"#
        ));
        assert_eq!(
            verifier()
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
            let problem = verifier().authenticate(&request_with(header)).unwrap_err();
            assert_eq!(problem.status, 401, "{header:?}");
        }
    }

    #[test]
    fn a_request_with_a_valid_token_is_authenticated_and_the_scheme_is_case_insensitive() {
        let token = issuer()
            .issue("user-9", Role::Customer, Utc::now())
            .unwrap()
            .access_token;
        let identity = verifier()
            .authenticate(&request_with(Some(&format!("bearer {token}"))))
            .unwrap();
        assert_eq!(identity.user_id, "user-9");
        assert_eq!(identity.require_admin().unwrap_err().status, 403);
    }
}

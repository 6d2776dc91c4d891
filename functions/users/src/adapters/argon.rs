//! Argon2id password hashing.
//!
//! Parameters: m = 19 MiB, t = 2, p = 1, the first of OWASP's recommended Argon2id settings.
//! The memory fits a 128 MB function beside the runtime's ~20 MB; the time it costs there is
//! measured by `cargo bench -p users` and recorded in docs/performance.md.

use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};

use crate::domain::{Password, PasswordHash};
use crate::ports::PasswordHasher;

/// Memory cost in KiB.
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Iterations.
pub const ITERATIONS: u32 = 2;
/// Lanes.
pub const PARALLELISM: u32 = 1;

/// A hash made with the production parameters of a random password nobody knows; verifying
/// against it costs what verifying a real hash costs. A test checks it stays in step with the
/// parameters above.
const PRODUCTION_DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$w1lnaTflrjrPD40p3jwaNA$lhK0T5sfHRw1z856bQn+gLKS9DdEvGJi8ef8flN4ysI";

/// Argon2id with fixed parameters.
#[derive(Clone, Debug)]
pub struct Argon2Hasher {
    params: Params,
    dummy: String,
}

impl Argon2Hasher {
    /// The production parameters.
    ///
    /// # Errors
    /// Never with these constants; kept fallible so a bad edit fails at cold start, not per request.
    pub fn production() -> anyhow::Result<Self> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .map_err(|err| anyhow::anyhow!("argon2 params: {err}"))?;
        Ok(Self {
            params,
            dummy: PRODUCTION_DUMMY.to_owned(),
        })
    }

    /// Cheap parameters for tests (the algorithm is the same; only the cost differs).
    ///
    /// # Errors
    /// Never in practice.
    pub fn cheap_for_tests() -> anyhow::Result<Self> {
        let params =
            Params::new(64, 1, 1, None).map_err(|err| anyhow::anyhow!("argon2 params: {err}"))?;
        let dummy = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password(b"a dummy password nobody has")
            .map_err(|err| anyhow::anyhow!("argon2 hashing failed: {err}"))?
            .to_string();
        Ok(Self { params, dummy })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash> {
        let phc = self
            .argon2()
            .hash_password(password.expose())
            .map_err(|err| anyhow::anyhow!("argon2 hashing failed: {err}"))?;
        Ok(PasswordHash::from_phc(phc.to_string()))
    }

    fn verify(&self, password: &Password, hash: &PasswordHash) -> bool {
        match Phc::new(hash.as_phc()) {
            // The stored hash carries its own parameters: old hashes keep verifying after a change.
            Ok(phc) => self
                .argon2()
                .verify_password(password.expose(), &phc)
                .is_ok(),
            Err(err) => {
                tracing::error!(error = %err, "stored password hash is not a PHC string");
                false
            }
        }
    }

    fn verify_dummy(&self, password: &[u8]) {
        if let Ok(phc) = Phc::new(&self.dummy) {
            let _ = self.argon2().verify_password(password, &phc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hasher = Argon2Hasher::cheap_for_tests().unwrap();
        let password = Password::new("correct horse battery".into()).unwrap();
        let hash = hasher.hash(&password).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(hasher.verify(&password, &hash));
        assert!(!hasher.verify(&Password::new("wrong horse battery".into()).unwrap(), &hash));
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_their_salt() {
        let hasher = Argon2Hasher::cheap_for_tests().unwrap();
        let password = Password::new("correct horse battery".into()).unwrap();
        assert_ne!(
            hasher.hash(&password).unwrap(),
            hasher.hash(&password).unwrap()
        );
    }

    #[test]
    fn a_corrupt_stored_hash_verifies_nothing() {
        let hasher = Argon2Hasher::cheap_for_tests().unwrap();
        let password = Password::new("correct horse battery".into()).unwrap();
        assert!(!hasher.verify(&password, &PasswordHash::from_phc("not a hash".into())));
    }

    #[test]
    fn the_production_dummy_hash_uses_the_production_parameters() {
        let phc = Phc::new(PRODUCTION_DUMMY).unwrap();
        let params = Params::try_from(&phc).unwrap();
        assert_eq!(phc.algorithm.as_str(), "argon2id");
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (MEMORY_KIB, ITERATIONS, PARALLELISM)
        );
    }
}

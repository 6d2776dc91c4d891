//! Argon2id password hashing.
//!
//! Parameters: m = 19 MiB, t = 2, p = 1, the first of OWASP's recommended Argon2id settings.
//! The memory fits a 128 MB function beside the runtime's own; what it costs there is measured
//! by `cargo bench -p users` and `make bench`, recorded in docs/performance.md.
//!
//! The 19 MiB of working memory is allocated once per process and reused by every hash and
//! verification. Letting the library allocate it per call (its `hash_password`/`verify_password`)
//! grew the function's peak RSS with every login (docs/performance.md) as the allocator kept the
//! freed, over-aligned 19 MiB blocks instead of reusing them: a 128 MB function would have been
//! killed after a handful of logins.

use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash as Phc, Salt};
use argon2::password_hash::try_generate_salt;
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

/// Argon2id with fixed parameters and one reusable working memory.
#[derive(Clone, Debug)]
pub struct Argon2Hasher {
    params: Params,
    dummy: String,
    /// Argon2's working memory: one block per KiB of `m`, grown on first use (or for a stored
    /// hash with a larger `m`) and never freed. One Lambda invocation runs at a time, so the
    /// lock is never contended; it only makes the sharing sound.
    memory: Arc<Mutex<Vec<Block>>>,
}

impl Argon2Hasher {
    /// The production parameters.
    ///
    /// # Errors
    /// Never with these constants; kept fallible so a bad edit fails at cold start, not per request.
    pub fn production() -> anyhow::Result<Self> {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .map_err(|err| anyhow::anyhow!("argon2 params: {err}"))?;
        Ok(Self::with_params(params, PRODUCTION_DUMMY.to_owned()))
    }

    /// Cheap parameters for tests (the algorithm is the same; only the cost differs).
    ///
    /// # Errors
    /// Never in practice.
    pub fn cheap_for_tests() -> anyhow::Result<Self> {
        let params =
            Params::new(64, 1, 1, None).map_err(|err| anyhow::anyhow!("argon2 params: {err}"))?;
        let mut hasher = Self::with_params(params, String::new());
        hasher.dummy = hasher.hash_bytes(b"a dummy password nobody has")?;
        Ok(hasher)
    }

    fn with_params(params: Params, dummy: String) -> Self {
        Self {
            params,
            dummy,
            memory: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Argon2 of `password` with `salt`, into `out`, in the shared working memory.
    fn compute(
        &self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let blocks = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        // A panic inside Argon2 cannot leave the memory in a state that matters: every call
        // overwrites the blocks it uses before reading them.
        let mut memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    }

    fn hash_bytes(&self, password: &[u8]) -> anyhow::Result<String> {
        let salt = try_generate_salt().map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.compute(
            Algorithm::Argon2id,
            Version::V0x13,
            self.params.clone(),
            password,
            &salt,
            &mut out,
        )
        .map_err(|err| anyhow::anyhow!("argon2 hashing failed: {err}"))?;
        let phc = Phc {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params)
                .map_err(|err| anyhow::anyhow!("argon2 params: {err}"))?,
            salt: Some(Salt::new(&salt).map_err(|err| anyhow::anyhow!("salt: {err}"))?),
            hash: Some(Output::new(&out).map_err(|err| anyhow::anyhow!("output: {err}"))?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` hashes to the stored PHC string, with the parameters stored in it.
    fn verify_phc(&self, password: &[u8], stored: &str) -> anyhow::Result<bool> {
        let phc = Phc::new(stored).map_err(|err| anyhow::anyhow!("not a PHC string: {err}"))?;
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            anyhow::bail!("the PHC string has no salt or no hash");
        };
        let algorithm = Algorithm::try_from(phc.algorithm.as_str())
            .map_err(|err| anyhow::anyhow!("algorithm: {err}"))?;
        let version = phc
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(|err| anyhow::anyhow!("version: {err}"))?
            .unwrap_or_default();
        let params = Params::try_from(&phc).map_err(|err| anyhow::anyhow!("params: {err}"))?;
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = out
            .get_mut(..expected.len())
            .ok_or_else(|| anyhow::anyhow!("stored hash too long"))?;
        self.compute(algorithm, version, params, password, salt.as_ref(), out)
            .map_err(|err| anyhow::anyhow!("argon2 failed: {err}"))?;
        let computed = Output::new(out).map_err(|err| anyhow::anyhow!("output: {err}"))?;
        // `Output`'s equality is constant-time.
        Ok(&computed == expected)
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &Password) -> anyhow::Result<PasswordHash> {
        self.hash_bytes(password.expose())
            .map(PasswordHash::from_phc)
    }

    fn verify(&self, password: &Password, hash: &PasswordHash) -> bool {
        // The stored hash carries its own parameters: old hashes keep verifying after a change.
        self.verify_phc(password.expose(), hash.as_phc())
            .unwrap_or_else(|err| {
                tracing::error!(error = %err, "stored password hash cannot be verified");
                false
            })
    }

    fn verify_dummy(&self, password: &[u8]) {
        let _ = self.verify_phc(password, &self.dummy);
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

    #[test]
    fn a_hash_made_by_the_library_itself_verifies() {
        use argon2::PasswordHasher as _;
        let hasher = Argon2Hasher::cheap_for_tests().unwrap();
        let library = Argon2::new(Algorithm::Argon2id, Version::V0x13, hasher.params.clone())
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        let password = Password::new("correct horse battery".into()).unwrap();
        assert!(hasher.verify(&password, &PasswordHash::from_phc(library.clone())));
        let wrong = Password::new("wrong horse battery".into()).unwrap();
        assert!(!hasher.verify(&wrong, &PasswordHash::from_phc(library)));
    }

    #[test]
    fn the_library_verifies_a_hash_made_here() {
        use argon2::PasswordVerifier as _;
        let hasher = Argon2Hasher::cheap_for_tests().unwrap();
        let hash = hasher
            .hash(&Password::new("correct horse battery".into()).unwrap())
            .unwrap();
        let phc = Phc::new(hash.as_phc()).unwrap();
        let library = Argon2::new(Algorithm::Argon2id, Version::V0x13, hasher.params.clone());
        assert!(
            library
                .verify_password(b"correct horse battery", &phc)
                .is_ok()
        );
    }

    #[test]
    fn a_hash_with_other_parameters_still_verifies_and_the_memory_grows_for_it() {
        use argon2::PasswordHasher as _;
        let hasher = Argon2Hasher::cheap_for_tests().unwrap();
        let bigger = Params::new(256, 2, 1, None).unwrap();
        let old = Argon2::new(Algorithm::Argon2id, Version::V0x13, bigger)
            .hash_password(b"correct horse battery")
            .unwrap()
            .to_string();
        let password = Password::new("correct horse battery".into()).unwrap();
        assert!(hasher.verify(&password, &PasswordHash::from_phc(old)));
        assert_eq!(hasher.memory.lock().unwrap().len(), 256);
        // And the smaller production-shaped hashes keep working in the grown memory.
        let hash = hasher.hash(&password).unwrap();
        assert!(hasher.verify(&password, &hash));
    }
}

//! Password hashing: argon2id on the blocking thread pool, behind a semaphore of
//! `auth.hash_concurrency` permits, so a burst of logins queues for permits instead of
//! occupying every runtime worker while other requests keep being served.
//!
//! **Memory.** argon2id needs `argon2_memory_kib` (19 MiB by default) of working memory per
//! hash. Allocated per hash, glibc keeps such blocks in per-thread arenas after they are
//! freed, and the blocking pool's threads each get an arena: 64 logins grew a backend from
//! 10 MB to 480 MB resident. So each permit's hashing memory is allocated once and reused
//! ([`BlockPool`]): the hashing memory stays at `hash_concurrency` blocks however many
//! logins arrive.

use std::sync::{Arc, Mutex};

use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, Version,
    password_hash::{Output, ParamsString, Salt, SaltString},
};
use prometheus::{IntGauge, Registry};
use tokio::sync::{OnceCell, Semaphore};

use super::ServiceError;
use crate::{config::AuthConfig, entity::user::Password};

/// argon2id on the blocking pool with bounded concurrency and reused memory.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    params: Params,
    memory: BlockPool,
    /// Callers waiting for a permit.
    waiting: IntGauge,
    /// A hash of a random password, verified against when the email is unknown so the answer
    /// takes as long as for a wrong password.
    decoy: Arc<OnceCell<String>>,
}

impl PasswordHasher {
    #[allow(clippy::expect_used)] // Constant metric definition.
    pub fn new(cfg: &AuthConfig) -> Result<Self, String> {
        let params = Params::new(cfg.argon2_memory_kib, cfg.argon2_iterations, 1, None)
            .map_err(|e| format!("argon2 parameters: {e}"))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(cfg.hash_concurrency)),
            params,
            memory: BlockPool::default(),
            waiting: IntGauge::new(
                "lyceum_password_hash_waiting",
                "Requests waiting for a password hashing slot.",
            )
            .expect("valid gauge"),
            decoy: Arc::new(OnceCell::new()),
        })
    }

    pub fn register_metrics(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.waiting.clone()))
    }

    /// Runs `work` on the blocking pool once a permit is free, with that permit's memory.
    async fn on_blocking_pool<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        self.waiting.inc();
        let permit = self.permits.clone().acquire_owned().await;
        self.waiting.dec();
        let permit = permit.map_err(|_| ServiceError::Internal("hasher closed".into()))?;
        let memory = self.memory.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut blocks = memory.take();
            let result = work(&mut blocks);
            memory.give_back(blocks);
            result
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("password hashing task: {e}")))
    }

    /// A PHC string `$argon2id$…` with the configured parameters and a random salt.
    pub async fn hash(&self, password: &Password) -> Result<String, ServiceError> {
        let plain = password.expose().to_owned();
        let params = self.params.clone();
        self.on_blocking_pool(move |blocks| {
            let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
                .map_err(|e| ServiceError::Internal(format!("argon2 salt: {e}")))?;
            hash_phc(blocks, plain.as_bytes(), &salt, params)
                .map_err(|e| ServiceError::Internal(format!("argon2: {e}")))
        })
        .await?
    }

    /// Whether `plain` matches the stored hash (parameters are read from the hash itself).
    pub async fn verify(&self, plain: &str, hash: &str) -> Result<bool, ServiceError> {
        let plain = plain.to_owned();
        let hash = hash.to_owned();
        self.on_blocking_pool(move |blocks| {
            PasswordHash::new(&hash).is_ok_and(|parsed| matches(blocks, plain.as_bytes(), &parsed))
        })
        .await
    }

    pub(super) async fn decoy_hash(&self) -> Result<String, ServiceError> {
        self.decoy
            .get_or_try_init(|| async {
                let random = format!("decoy-{:032x}", rand::random::<u128>());
                let password =
                    Password::parse(&random).map_err(|e| ServiceError::Internal(e.message))?;
                self.hash(&password).await
            })
            .await
            .cloned()
    }
}

/// argon2 working memory, one buffer per permit in use, kept between hashes.
#[derive(Debug, Clone, Default)]
struct BlockPool(Arc<Mutex<Vec<Vec<Block>>>>);

impl BlockPool {
    fn take(&self) -> Vec<Block> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    fn give_back(&self, blocks: Vec<Block>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(blocks);
    }
}

/// The argon2 output of `plain` with `salt`, `len` bytes long, computed in `blocks` (grown to
/// what the parameters need, never shrunk: the buffer is reused).
fn compute(
    blocks: &mut Vec<Block>,
    (algorithm, version, params): (Algorithm, Version, Params),
    plain: &[u8],
    salt: Salt<'_>,
    len: usize,
) -> argon2::password_hash::Result<Output> {
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let argon2 = Argon2::new(algorithm, version, params);
    Output::init_with(len, |out| {
        Ok(argon2.hash_password_into_with_memory(plain, salt_bytes, out, &mut blocks[..needed])?)
    })
}

/// `PasswordHasher::hash_password` of the argon2 crate, in the given memory.
fn hash_phc(
    blocks: &mut Vec<Block>,
    plain: &[u8],
    salt: &SaltString,
    params: Params,
) -> argon2::password_hash::Result<String> {
    let how = (Algorithm::Argon2id, Version::V0x13, params.clone());
    let output = compute(
        blocks,
        how,
        plain,
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string())
}

/// `PasswordVerifier::verify_password` of the argon2 crate, in the given memory: recomputes
/// the hash with the stored algorithm, version, parameters and salt, and compares in
/// constant time (`Output`'s equality).
fn matches(blocks: &mut Vec<Block>, plain: &[u8], stored: &PasswordHash) -> bool {
    let mut computed = || -> argon2::password_hash::Result<bool> {
        let algorithm = Algorithm::try_from(stored.algorithm)?;
        let version = stored
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = Params::try_from(stored)?;
        let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
            return Ok(false);
        };
        let output = compute(
            blocks,
            (algorithm, version, params),
            plain,
            salt,
            expected.len(),
        )?;
        Ok(output == expected)
    };
    computed().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    fn params() -> Params {
        Params::new(1024, 1, 1, None).unwrap_or_default()
    }

    #[test]
    fn hashes_match_the_argon2_crate_both_ways() {
        let mut blocks = Vec::new();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap_or_else(|_| unreachable!());
        let ours = hash_phc(&mut blocks, b"secret password", &salt, params()).unwrap_or_default();
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"secret password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(ours.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{ours}");
        assert_eq!(ours, theirs);
        let parsed = PasswordHash::new(&theirs).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches(&mut blocks, b"secret password", &parsed));
        assert!(!matches(&mut blocks, b"secret passwore", &parsed));
        assert!(
            Argon2::default()
                .verify_password(
                    b"secret password",
                    &PasswordHash::new(&ours).unwrap_or_else(|e| panic!("{e}"))
                )
                .is_ok()
        );
    }

    #[test]
    fn other_parameters_in_a_stored_hash_are_honoured_with_the_same_buffer() {
        let mut blocks = Vec::new();
        let bigger = Params::new(2048, 2, 1, None).unwrap_or_default();
        let salt = SaltString::encode_b64(b"fedcba9876543210").unwrap_or_else(|_| unreachable!());
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, bigger)
            .hash_password(b"pw-one", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        let small = hash_phc(&mut blocks, b"pw-two", &salt, params()).unwrap_or_default();
        let parsed = PasswordHash::new(&stored).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches(&mut blocks, b"pw-one", &parsed));
        assert_eq!(blocks.len(), 2048, "grown to the larger need, kept");
        let parsed_small = PasswordHash::new(&small).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches(&mut blocks, b"pw-two", &parsed_small),
            "a larger buffer serves a smaller hash"
        );
        assert!(!matches(&mut blocks, b"pw-two", &parsed));
    }

    #[test]
    fn garbage_hashes_do_not_match() {
        let mut blocks = Vec::new();
        for bad in [
            "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$",
            "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            if let Ok(parsed) = PasswordHash::new(bad) {
                assert!(!matches(&mut blocks, b"x", &parsed), "{bad}");
            }
        }
    }
}

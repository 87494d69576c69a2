//! Serving many practices: a [`PracticeDirectory`] holds each practice group's key and hands out
//! a [`Client`] for any of them, all sharing one connection pool and one set of settings.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hero_health::practices::PracticeDirectory;
//!
//! // Keys from HERO_API_KEY_<practice group id>; HERO_ENV or HERO_BASE_URL picks the server.
//! let practices = PracticeDirectory::from_env()?;
//! let riverside = practices.client("123").await?;
//! let hillview = practices.client("456").await?;
//! let slots = riverside.list_slots().send().await?;
//! # let _ = (slots, hillview);
//! # Ok(()) }
//! ```
//!
//! **Rotation.** A practice that rotates its key in Hero makes the old one fail at once. Put
//! the new key where the [`KeySource`] reads it (or call [`PracticeDirectory::set_key`]): every
//! client of that practice, including copies already handed out, sends it from the next
//! request on. A request refused with 401 is sent once more, with no other change, when a
//! different key is available by then (a rotation during the request, or a newer key in the
//! source, which the directory asks once after a 401 unless
//! [`with_refresh_on_unauthorized(false)`](PracticeDirectoryBuilder::with_refresh_on_unauthorized)).
//! That is the only time a POST is sent twice: a 401 means Hero did nothing with the request
//! (it checks the key first; inferred from how its API answers, as Hero does not say). Otherwise
//! the call ends in [`Error::Unauthorized`], which names the
//! practice group and says what to do, and is never retried.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use reqwest::header::HeaderValue;

use crate::client::group_header;
use crate::elements::{ElementsToken, ElementsTokens};
use crate::keys::{Adopted, EnvKeys, KeyCell, KeySource, KeySourceError};
use crate::{Client, ClientBuilder, ConfigError, Environment, Error};

/// Why the directory could not give a client or a token for a practice group. No message
/// contains a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PracticeError {
    /// The practice group id is not a numeric string.
    #[error("the practice group id is not usable ({0}); use the x-practice-group-id the practice or Hero gave you")]
    InvalidPracticeGroupId(crate::id::InvalidId),
    /// The key source holds no key for the practice group.
    #[error("no API key for practice group {practice_group_id}: put the key the practice issued in {location}")]
    #[non_exhaustive]
    NoKey {
        /// The practice group.
        practice_group_id: String,
        /// Where the source looked ([`KeySource::location`]).
        location: String,
    },
    /// The key source could not be read.
    #[error("the key source failed for practice group {practice_group_id}: {source}")]
    #[non_exhaustive]
    KeySource {
        /// The practice group.
        practice_group_id: String,
        /// The source's error.
        #[source]
        source: KeySourceError,
    },
    /// The key the source gave cannot be used (blank, white space around it, not header-safe).
    #[error("the API key of practice group {practice_group_id} is unusable: {source}")]
    #[non_exhaustive]
    InvalidKey {
        /// The practice group.
        practice_group_id: String,
        /// What is wrong with it (never the key).
        #[source]
        source: ConfigError,
    },
    /// A call the directory made for the practice failed (an Elements token).
    #[error(transparent)]
    Api(Box<Error>),
}

impl From<Error> for PracticeError {
    fn from(error: Error) -> Self {
        PracticeError::Api(Box::new(error))
    }
}

/// Every practice group's key, one connection pool, one set of settings. Cheap to clone (the
/// clones share everything); [`client`](Self::client) hands out a [`Client`] per practice group.
///
/// `Debug` shows the practice groups it knows, never a key.
#[derive(Clone)]
pub struct PracticeDirectory {
    shared: Arc<Shared>,
}

struct Shared {
    /// The settings and pool every practice's client copies; its own key is never sent.
    template: Client,
    source: Arc<dyn KeySource>,
    refresh_on_unauthorized: bool,
    /// The key of each practice group loaded so far, shared by all its clients.
    keys: RwLock<HashMap<String, Arc<KeyCell>>>,
    /// Practice groups served with another group's key (a Hero network): member → key holder.
    networks: HashMap<String, String>,
    /// One first read of the source per practice group at a time.
    loading: tokio::sync::Mutex<()>,
    elements: RwLock<HashMap<String, Arc<ElementsTokens>>>,
}

impl fmt::Debug for PracticeDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PracticeDirectory")
            .field("practice_groups", &self.practice_groups())
            .field("networks", &self.shared.networks)
            .field("source", &self.shared.source)
            .field("refresh_on_unauthorized", &self.shared.refresh_on_unauthorized)
            .finish_non_exhaustive()
    }
}

/// Configures a [`PracticeDirectory`]: the key source and the settings all practices share.
pub struct PracticeDirectoryBuilder {
    client: ClientBuilder,
    source: Option<Arc<dyn KeySource>>,
    refresh_on_unauthorized: bool,
    networks: HashMap<String, String>,
}

impl fmt::Debug for PracticeDirectoryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PracticeDirectoryBuilder")
            .field("client", &self.client)
            .field("source", &self.source)
            .field("refresh_on_unauthorized", &self.refresh_on_unauthorized)
            .field("networks", &self.networks)
            .finish()
    }
}

impl Default for PracticeDirectoryBuilder {
    fn default() -> Self {
        PracticeDirectoryBuilder { client: ClientBuilder::default(), source: None, refresh_on_unauthorized: true, networks: HashMap::new() }
    }
}

/// Never sent: the template client's key, replaced in every practice's client.
const TEMPLATE_KEY: &str = "hero-health-directory-template";
const TEMPLATE_GROUP: &str = "0";

impl PracticeDirectoryBuilder {
    /// Where keys come from (default [`EnvKeys`]: `HERO_API_KEY_<practice group id>`).
    pub fn with_key_source(mut self, source: impl KeySource + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Whether a 401 makes the directory ask the key source once for a newer key and, when it
    /// gets a different one, send the request once more with it (default `true`).
    pub fn with_refresh_on_unauthorized(mut self, refresh: bool) -> Self {
        self.refresh_on_unauthorized = refresh;
        self
    }

    /// `member` is served with the key of `key_holder`, in one Hero network (a PCN hub, a
    /// federation): its clients send `key_holder`'s key and `x-practice-group-id: member`.
    pub fn with_network_member(mut self, member: impl Into<String>, key_holder: impl Into<String>) -> Self {
        self.networks.insert(member.into(), key_holder.into());
        self
    }

    /// The server (default [`Environment::Production`]).
    pub fn with_environment(mut self, environment: Environment) -> Self {
        self.client = self.client.with_environment(environment);
        self
    }

    /// As [`ClientBuilder::with_timeout`], for every practice.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.client = self.client.with_timeout(timeout);
        self
    }

    /// As [`ClientBuilder::with_connect_timeout`], for every practice.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.client = self.client.with_connect_timeout(timeout);
        self
    }

    /// As [`ClientBuilder::with_http_client`]: one pool for every practice.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.client = self.client.with_http_client(client);
        self
    }

    /// As [`ClientBuilder::with_retry_policy`], for every practice.
    pub fn with_retry_policy(mut self, policy: crate::RetryPolicy) -> Self {
        self.client = self.client.with_retry_policy(policy);
        self
    }

    /// As [`ClientBuilder::with_max_response_bytes`], for every practice.
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.client = self.client.with_max_response_bytes(limit);
        self
    }

    /// As [`ClientBuilder::with_middleware`], for every practice.
    pub fn with_middleware(mut self, middleware: impl crate::options::Middleware + 'static) -> Self {
        self.client = self.client.with_middleware(middleware);
        self
    }

    /// As [`ClientBuilder::with_clock`], for every practice.
    pub fn with_clock(mut self, clock: impl crate::clock::Clock + 'static) -> Self {
        self.client = self.client.with_clock(clock);
        self
    }

    /// Checks the settings and builds the directory. No key is read yet: each practice's is
    /// read when it is first used ([`PracticeDirectory::client`], or
    /// [`PracticeDirectory::load`] at start-up to find a missing key early).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an unusable base URL, timeouts with a custom HTTP client, or a
    /// network practice group id that is not digits.
    pub fn build(self) -> Result<PracticeDirectory, ConfigError> {
        for (member, holder) in &self.networks {
            for id in [member, holder] {
                crate::Id::new(id.as_str()).map_err(ConfigError::InvalidPracticeGroupId)?;
            }
        }
        let template = self.client.with_api_key(TEMPLATE_KEY).with_practice_group_id(TEMPLATE_GROUP).build()?;
        let shared = Shared {
            template,
            source: self.source.unwrap_or_else(|| Arc::new(EnvKeys::new())),
            refresh_on_unauthorized: self.refresh_on_unauthorized,
            keys: RwLock::new(HashMap::new()),
            networks: self.networks,
            loading: tokio::sync::Mutex::new(()),
            elements: RwLock::new(HashMap::new()),
        };
        Ok(PracticeDirectory { shared: Arc::new(shared) })
    }
}

impl PracticeDirectory {
    /// Starts configuring a directory.
    pub fn builder() -> PracticeDirectoryBuilder {
        PracticeDirectoryBuilder::default()
    }

    /// A directory whose keys are `HERO_API_KEY_<practice group id>` ([`EnvKeys`]), on the
    /// server `HERO_ENV` (`production`, the default, `staging`, `mock`) or `HERO_BASE_URL` names.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for an unknown `HERO_ENV`, both variables set, or an unusable URL.
    pub fn from_env() -> Result<PracticeDirectory, ConfigError> {
        PracticeDirectory::builder().with_environment(crate::client::environment_from_env()?).build()
    }

    /// A client acting for `practice_group_id` with its key. The first call for a practice
    /// group reads its key from the source; later calls only copy a client (no new connection
    /// pool: every practice shares the directory's).
    ///
    /// # Errors
    ///
    /// [`PracticeError`] for an id that is not digits, a key the source does not hold or could
    /// not read, or an unusable key.
    pub async fn client(&self, practice_group_id: &str) -> Result<Client, PracticeError> {
        let group = group_header(practice_group_id).map_err(PracticeError::InvalidPracticeGroupId)?;
        let key = self.key_cell(self.key_holder(practice_group_id)).await?;
        let mut client = self.shared.template.clone();
        client.inner.api_key = key;
        client.inner.practice_group_id = group;
        Ok(client)
    }

    /// Reads the keys of `practice_group_ids` now, so that a missing or unusable key shows at
    /// start-up rather than at the first call for that practice.
    ///
    /// # Errors
    ///
    /// The first [`PracticeError`] met.
    pub async fn load<I, S>(&self, practice_group_ids: I) -> Result<(), PracticeError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for id in practice_group_ids {
            self.client(id.as_ref()).await?;
        }
        Ok(())
    }

    /// Replaces the key of `practice_group_id` (of its key holder, for a network member; and so
    /// of all the holder's members): the next request of
    /// every client of it sends `key`, and a request refused meanwhile for the old key is sent
    /// once more with it. Use it when a practice sends you its rotated key.
    ///
    /// # Errors
    ///
    /// [`PracticeError::InvalidPracticeGroupId`] or [`PracticeError::InvalidKey`]; the old key
    /// stays in use.
    pub fn set_key(&self, practice_group_id: &str, key: impl Into<String>) -> Result<(), PracticeError> {
        group_header(practice_group_id).map_err(PracticeError::InvalidPracticeGroupId)?;
        let practice_group_id = self.key_holder(practice_group_id);
        let header = crate::keys::ApiKey::new(key).header().map_err(|source| invalid_key(practice_group_id, source))?;
        let mut keys = self.shared.keys.write().unwrap_or_else(PoisonError::into_inner);
        match keys.get(practice_group_id) {
            Some(cell) => {
                if cell.replace(header) {
                    self.forget_tokens(practice_group_id);
                }
            }
            None => {
                keys.insert(practice_group_id.to_owned(), self.new_cell(header, practice_group_id));
            }
        }
        Ok(())
    }

    /// Reads the key of `practice_group_id` (its key holder's, for a network member) from the
    /// source again and uses it from the next request on; whether it changed. For a rotation
    /// you were told about, or on a schedule. A key that [`set_key`](Self::set_key) replaced is
    /// never taken back from a source that still holds it (an environment variable that cannot
    /// change): the newer key stays, and this answers `false`.
    ///
    /// # Errors
    ///
    /// [`PracticeError`] when the source fails, holds no key, or holds an unusable one; the
    /// old key stays in use.
    pub async fn refresh(&self, practice_group_id: &str) -> Result<bool, PracticeError> {
        group_header(practice_group_id).map_err(PracticeError::InvalidPracticeGroupId)?;
        let practice_group_id = self.key_holder(practice_group_id);
        let header = self.read_key(practice_group_id).await?;
        let existing = self.shared.keys.read().unwrap_or_else(PoisonError::into_inner).get(practice_group_id).cloned();
        match existing {
            Some(cell) => match cell.adopt(header) {
                Adopted::Changed => {
                    self.forget_tokens(practice_group_id);
                    Ok(true)
                }
                Adopted::Same => Ok(false),
                Adopted::Retired => {
                    tracing::warn!(practice_group_id, "the key source still holds a key that set_key replaced; the newer key stays in use");
                    Ok(false)
                }
            },
            None => {
                let mut keys = self.shared.keys.write().unwrap_or_else(PoisonError::into_inner);
                keys.entry(practice_group_id.to_owned()).or_insert_with(|| self.new_cell(header, practice_group_id));
                Ok(true)
            }
        }
    }

    /// Forgets a practice group's key (a practice that left): its next use reads the source
    /// again. Clients already handed out keep the last key. Whether it was loaded.
    pub fn forget(&self, practice_group_id: &str) -> bool {
        let practice_group_id = self.key_holder(practice_group_id);
        self.forget_tokens(practice_group_id);
        self.shared.keys.write().unwrap_or_else(PoisonError::into_inner).remove(practice_group_id).is_some()
    }

    /// The practice groups whose keys are loaded, sorted.
    pub fn practice_groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.shared.keys.read().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
        groups.sort();
        groups
    }

    /// An Elements access token for `practice_group_id`, reused until shortly before it expires
    /// ([`ElementsTokens`]), one cache per practice group: a token is never handed to another
    /// practice. A key change drops the practice's cached token.
    ///
    /// # Errors
    ///
    /// [`PracticeError`] as [`client`](Self::client), or [`PracticeError::Api`] when fetching
    /// a token fails.
    pub async fn elements_token(&self, practice_group_id: &str) -> Result<ElementsToken, PracticeError> {
        let cached = self.shared.elements.read().unwrap_or_else(PoisonError::into_inner).get(practice_group_id).cloned();
        let tokens = match cached {
            Some(tokens) => tokens,
            None => {
                let tokens = Arc::new(ElementsTokens::new(self.client(practice_group_id).await?));
                let mut all = self.shared.elements.write().unwrap_or_else(PoisonError::into_inner);
                all.entry(practice_group_id.to_owned()).or_insert(tokens).clone()
            }
        };
        Ok(tokens.get().await?)
    }

    /// Whose key `practice_group_id` is served with: its own, or its network's key holder's.
    fn key_holder<'a>(&'a self, practice_group_id: &'a str) -> &'a str {
        self.shared.networks.get(practice_group_id).map_or(practice_group_id, String::as_str)
    }

    fn forget_tokens(&self, key_holder: &str) {
        let mut all = self.shared.elements.write().unwrap_or_else(PoisonError::into_inner);
        all.remove(key_holder);
        // Members served with this key lose theirs too.
        for (member, holder) in &self.shared.networks {
            if holder == key_holder {
                all.remove(member);
            }
        }
    }

    /// The key cell of `holder`, read from the source the first time.
    async fn key_cell(&self, holder: &str) -> Result<Arc<KeyCell>, PracticeError> {
        if let Some(cell) = self.shared.keys.read().unwrap_or_else(PoisonError::into_inner).get(holder) {
            return Ok(cell.clone());
        }
        // One first read at a time, so that many first calls of a practice read its key once.
        let _loading = self.shared.loading.lock().await;
        if let Some(cell) = self.shared.keys.read().unwrap_or_else(PoisonError::into_inner).get(holder) {
            return Ok(cell.clone());
        }
        crate::Id::new(holder).map_err(PracticeError::InvalidPracticeGroupId)?;
        let header = self.read_key(holder).await?;
        let mut keys = self.shared.keys.write().unwrap_or_else(PoisonError::into_inner);
        Ok(keys.entry(holder.to_owned()).or_insert_with(|| self.new_cell(header, holder)).clone())
    }

    async fn read_key(&self, practice_group_id: &str) -> Result<HeaderValue, PracticeError> {
        let source = &self.shared.source;
        let key = source
            .api_key(practice_group_id)
            .await
            .map_err(|source| PracticeError::KeySource { practice_group_id: practice_group_id.to_owned(), source })?
            .ok_or_else(|| PracticeError::NoKey {
                practice_group_id: practice_group_id.to_owned(),
                location: source.location(practice_group_id),
            })?;
        key.header().map_err(|source| invalid_key(practice_group_id, source))
    }

    fn new_cell(&self, key: HeaderValue, practice_group_id: &str) -> Arc<KeyCell> {
        let source = self.shared.refresh_on_unauthorized.then(|| self.shared.source.clone());
        KeyCell::owned(key, practice_group_id, source)
    }
}

fn invalid_key(practice_group_id: &str, source: ConfigError) -> PracticeError {
    PracticeError::InvalidKey { practice_group_id: practice_group_id.to_owned(), source }
}

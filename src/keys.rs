//! Where API keys come from, and the key a client sends.
//!
//! Hero keys are issued **per practice** ("Settings → My Practice → API Key"), shown once, and a
//! rotation has no overlap: "A new key will be generated immediately. The old key stops working
//! straight away"
//! (<https://product.herohealth.net/docs/onboarding/api-keys-partner-integrations>). A partner
//! serving many practices therefore holds many keys, and any of them can change under a running
//! service. A [`KeySource`] answers "what is the current key of practice group `123`?"; a
//! [`PracticeDirectory`](crate::practices::PracticeDirectory) asks it when a practice is first
//! used and again when Hero refuses a key.
//!
//! Provided sources: [`EnvKeys`] (`HERO_API_KEY_<group>`), [`FileKeys`] (a file per practice
//! group, as a mounted secret volume lays them out), [`MemoryKeys`] (set at run time), and
//! [`from_fn`] (a closure over your secret manager).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::ConfigError;

/// An API key as a key source hands it over. Its `Debug` never shows it.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Wraps a key (checked when a client uses it: no blank key, no white space around it).
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(SecretString::from(key.into()))
    }

    /// The header value it is sent as, marked sensitive.
    pub(crate) fn header(&self) -> Result<HeaderValue, ConfigError> {
        api_key_header(self.0.expose_secret())
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        ApiKey::new(key)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// A key source failed (it could not be read, as opposed to holding no key). The message
/// must not contain the key; the sources of this crate never put one in.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct KeySourceError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl KeySourceError {
    /// An error with a message that says what failed (never the key).
    pub fn new(message: impl Into<String>) -> Self {
        KeySourceError { message: message.into(), source: None }
    }

    /// An error caused by `source` (your secret manager's error, an io error), kept as
    /// `source()`.
    pub fn with_source(message: impl Into<String>, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        KeySourceError { message: message.into(), source: Some(Box::new(source)) }
    }
}

/// Where the API key of each practice group is kept. Implement it over your secret manager, or
/// use [`from_fn`].
///
/// The directory calls [`api_key`](KeySource::api_key) when a practice group is first used, on
/// [`PracticeDirectory::refresh`](crate::practices::PracticeDirectory::refresh), and (unless
/// turned off) once after Hero refuses a key with 401. Concurrent 401s of one practice share one
/// read.
#[async_trait::async_trait]
pub trait KeySource: Send + Sync + fmt::Debug {
    /// The current key of `practice_group_id` (digits, already checked), or `None` when the
    /// source holds none for it.
    ///
    /// # Errors
    ///
    /// [`KeySourceError`] when the source could not be read (not for a missing key).
    async fn api_key(&self, practice_group_id: &str) -> Result<Option<ApiKey>, KeySourceError>;

    /// Where this source would look for the key of `practice_group_id`, for the error that
    /// reports it missing ("the environment variable HERO_API_KEY_123"). Never the key.
    fn location(&self, practice_group_id: &str) -> String {
        format!("the key source, under practice group {practice_group_id}")
    }
}

#[async_trait::async_trait]
impl<S: KeySource + ?Sized> KeySource for Arc<S> {
    async fn api_key(&self, practice_group_id: &str) -> Result<Option<ApiKey>, KeySourceError> {
        (**self).api_key(practice_group_id).await
    }

    fn location(&self, practice_group_id: &str) -> String {
        (**self).location(practice_group_id)
    }
}

/// The prefix [`EnvKeys::new`] reads: `HERO_API_KEY_123` holds practice group 123's key.
pub const DEFAULT_ENV_PREFIX: &str = "HERO_API_KEY_";

/// Keys from environment variables, `<prefix><practice group id>` (default
/// `HERO_API_KEY_123`). Read at each ask, so a variable set later is seen.
#[derive(Debug, Clone)]
pub struct EnvKeys {
    prefix: String,
}

impl EnvKeys {
    /// Reads `HERO_API_KEY_<practice group id>`.
    pub fn new() -> Self {
        EnvKeys { prefix: DEFAULT_ENV_PREFIX.to_owned() }
    }

    /// Reads `<prefix><practice group id>` instead (`MYAPP_HERO_KEY_` → `MYAPP_HERO_KEY_123`).
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        EnvKeys { prefix: prefix.into() }
    }

    fn variable(&self, practice_group_id: &str) -> String {
        format!("{}{practice_group_id}", self.prefix)
    }
}

impl Default for EnvKeys {
    fn default() -> Self {
        EnvKeys::new()
    }
}

#[async_trait::async_trait]
impl KeySource for EnvKeys {
    async fn api_key(&self, practice_group_id: &str) -> Result<Option<ApiKey>, KeySourceError> {
        let name = self.variable(practice_group_id);
        match std::env::var(&name) {
            Ok(key) => Ok(Some(ApiKey::new(key))),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(KeySourceError::new(format!("{name} is not valid UTF-8"))),
        }
    }

    fn location(&self, practice_group_id: &str) -> String {
        format!("the environment variable {}", self.variable(practice_group_id))
    }
}

/// Keys from files, one per practice group: `<directory>/<practice group id>`, holding the key
/// and at most a final line break. This is how a mounted secret volume (Kubernetes, Docker
/// secrets) lays keys out; replacing a file is a rotation, seen at the next read.
#[derive(Debug, Clone)]
pub struct FileKeys {
    directory: PathBuf,
}

impl FileKeys {
    /// Reads `<directory>/<practice group id>`.
    pub fn directory(directory: impl Into<PathBuf>) -> Self {
        FileKeys { directory: directory.into() }
    }
}

#[async_trait::async_trait]
impl KeySource for FileKeys {
    async fn api_key(&self, practice_group_id: &str) -> Result<Option<ApiKey>, KeySourceError> {
        // The id is digits only (checked by the directory), so it names a file in `directory`.
        let path = self.directory.join(practice_group_id);
        match tokio::fs::read_to_string(&path).await {
            // One final line break is what editors and `echo` leave; anything else is kept and
            // then refused as a key with white space.
            Ok(text) => Ok(Some(ApiKey::new(text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(KeySourceError::with_source(format!("the key file for practice group {practice_group_id} could not be read"), e)),
        }
    }

    fn location(&self, practice_group_id: &str) -> String {
        format!("the file {}", self.directory.join(practice_group_id).display())
    }
}

/// Keys held in memory and set at run time: from your admin endpoint when a practice sends its
/// new key, or in tests. Clones share the keys.
#[derive(Clone, Default)]
pub struct MemoryKeys {
    keys: Arc<RwLock<HashMap<String, ApiKey>>>,
}

impl fmt::Debug for MemoryKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.keys.read().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("MemoryKeys").field("practice_groups", &count).finish()
    }
}

impl MemoryKeys {
    /// No keys yet.
    pub fn new() -> Self {
        MemoryKeys::default()
    }

    /// With `key` for `practice_group_id`.
    pub fn with_key(self, practice_group_id: impl Into<String>, key: impl Into<String>) -> Self {
        self.set(practice_group_id, key);
        self
    }

    /// Sets (or replaces) the key of `practice_group_id`.
    pub fn set(&self, practice_group_id: impl Into<String>, key: impl Into<String>) {
        self.keys.write().unwrap_or_else(PoisonError::into_inner).insert(practice_group_id.into(), ApiKey::new(key));
    }

    /// Forgets the key of `practice_group_id`; whether there was one.
    pub fn remove(&self, practice_group_id: &str) -> bool {
        self.keys.write().unwrap_or_else(PoisonError::into_inner).remove(practice_group_id).is_some()
    }
}

#[async_trait::async_trait]
impl KeySource for MemoryKeys {
    async fn api_key(&self, practice_group_id: &str) -> Result<Option<ApiKey>, KeySourceError> {
        Ok(self.keys.read().unwrap_or_else(PoisonError::into_inner).get(practice_group_id).cloned())
    }
}

/// A key source from an async closure: `from_fn(|group| async move { my_vault.get(&group).await })`.
///
/// ```
/// use hero_health::keys::{ApiKey, KeySourceError, from_fn};
///
/// let source = from_fn(|practice_group_id: String| async move {
///     // Ask your secret manager here.
///     Ok::<_, KeySourceError>(Some(ApiKey::new(format!("key-of-{practice_group_id}"))))
/// });
/// # let _ = source;
/// ```
pub fn from_fn<F, Fut>(read: F) -> FnKeys<F>
where
    F: Fn(String) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Option<ApiKey>, KeySourceError>> + Send,
{
    FnKeys { read }
}

/// The key source [`from_fn`] makes.
pub struct FnKeys<F> {
    read: F,
}

impl<F> fmt::Debug for FnKeys<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnKeys")
    }
}

#[async_trait::async_trait]
impl<F, Fut> KeySource for FnKeys<F>
where
    F: Fn(String) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Option<ApiKey>, KeySourceError>> + Send,
{
    async fn api_key(&self, practice_group_id: &str) -> Result<Option<ApiKey>, KeySourceError> {
        (self.read)(practice_group_id.to_owned()).await
    }
}

/// The key header value, checked: not blank, no white space around it, header-safe.
pub(crate) fn api_key_header(key: &str) -> Result<HeaderValue, ConfigError> {
    if key.trim().is_empty() {
        return Err(ConfigError::EmptyApiKey);
    }
    if key.trim() != key {
        return Err(ConfigError::InvalidApiKey { problem: "has leading or trailing whitespace (a newline from a file?)" });
    }
    let mut value = HeaderValue::from_str(key)
        .map_err(|_| ConfigError::InvalidApiKey { problem: "contains characters an HTTP header cannot carry" })?;
    // Marked sensitive so HTTP/2 never indexes it and header Debug output hides it.
    value.set_sensitive(true);
    Ok(value)
}

/// The key a client sends, which a rotation replaces for the next request without rebuilding
/// the client. Shared by every copy of a practice's client.
pub(crate) struct KeyCell {
    state: RwLock<Keys>,
    /// The practice group whose key this is (a directory's cells): what a 401 names, since a
    /// network member's request carries its key holder's key.
    owner: Option<String>,
    refresh: Option<Refresh>,
}

/// The key in use, and the keys it replaced, which a source read never brings back.
struct Keys {
    current: HeaderValue,
    retired: std::collections::VecDeque<HeaderValue>,
}

/// How many replaced keys a cell remembers, so that a source still holding one (an environment
/// variable that cannot change, a vault not yet updated) cannot put it back.
const REMEMBERED_RETIRED_KEYS: usize = 8;

/// How a cell asks its source for a newer key after a 401.
struct Refresh {
    source: Arc<dyn KeySource>,
    /// One read of the source at a time; `reads` counts them, so that a 401 waiting for the
    /// lock takes the result of a read that began after it, instead of reading again.
    reading: tokio::sync::Mutex<()>,
    reads: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for KeyCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCell")
            .field("key", &"[redacted]")
            .field("owner", &self.owner)
            .field("refreshes", &self.refresh.is_some())
            .finish()
    }
}

/// What [`KeyCell::adopt`] did with a key read from a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adopted {
    /// It is now in use.
    Changed,
    /// It was already in use.
    Same,
    /// It is a key this cell replaced: not taken back.
    Retired,
}

impl KeyCell {
    /// A fixed key (a plain client's): replaced only by [`KeyCell::replace`].
    pub(crate) fn fixed(key: HeaderValue) -> Arc<Self> {
        Arc::new(KeyCell::new(key, None, None))
    }

    /// The key of practice group `owner`, held by a directory; `source`, when given, is asked
    /// again after a 401.
    pub(crate) fn owned(key: HeaderValue, owner: &str, source: Option<Arc<dyn KeySource>>) -> Arc<Self> {
        let refresh =
            source.map(|source| Refresh { source, reading: tokio::sync::Mutex::new(()), reads: std::sync::atomic::AtomicU64::new(0) });
        Arc::new(KeyCell::new(key, Some(owner.to_owned()), refresh))
    }

    fn new(key: HeaderValue, owner: Option<String>, refresh: Option<Refresh>) -> Self {
        KeyCell { state: RwLock::new(Keys { current: key, retired: std::collections::VecDeque::new() }), owner, refresh }
    }

    fn state(&self) -> std::sync::RwLockWriteGuard<'_, Keys> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key the next request carries.
    pub(crate) fn current(&self) -> HeaderValue {
        self.state.read().unwrap_or_else(PoisonError::into_inner).current.clone()
    }

    /// The practice group whose key this is, for a directory's cell.
    pub(crate) fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// Makes `key` the one the next request carries, as the user asked (`set_key`), even a key
    /// replaced before; whether it differs from the last.
    pub(crate) fn replace(&self, key: HeaderValue) -> bool {
        let mut state = self.state();
        state.retired.retain(|old| *old != key);
        Self::swap(&mut state, key)
    }

    /// Takes a key read from the source, unless it is one this cell replaced (the source is
    /// behind a key set by hand).
    pub(crate) fn adopt(&self, key: HeaderValue) -> Adopted {
        let mut state = self.state();
        if state.retired.contains(&key) {
            Adopted::Retired
        } else if Self::swap(&mut state, key) {
            Adopted::Changed
        } else {
            Adopted::Same
        }
    }

    fn swap(state: &mut Keys, key: HeaderValue) -> bool {
        if state.current == key {
            return false;
        }
        let old = std::mem::replace(&mut state.current, key);
        state.retired.push_back(old);
        if state.retired.len() > REMEMBERED_RETIRED_KEYS {
            state.retired.pop_front();
        }
        true
    }

    /// After Hero refused `sent` with 401: the key to send the request once more with, if there
    /// is a different one. That is the cell's key when it changed meanwhile (a rotation while
    /// the request was in flight), else, for a refreshing cell, a newer key from its source.
    pub(crate) async fn after_unauthorized(&self, sent: &HeaderValue) -> Option<HeaderValue> {
        use std::sync::atomic::Ordering;
        let newer = |current: HeaderValue| (current != *sent).then_some(current);
        if let Some(key) = newer(self.current()) {
            return Some(key);
        }
        let refresh = self.refresh.as_ref()?;
        let reads_before = refresh.reads.load(Ordering::SeqCst);
        let _reading = refresh.reading.lock().await;
        // A read that began after this 401 has answered for it too: its key, or nothing.
        if refresh.reads.load(Ordering::SeqCst) != reads_before {
            return newer(self.current());
        }
        refresh.reads.fetch_add(1, Ordering::SeqCst);
        let group = self.owner.as_deref().unwrap_or_default();
        let key = match refresh.source.api_key(group).await {
            Ok(Some(key)) => key.header(),
            Ok(None) => {
                tracing::warn!(practice_group_id = %group, "Hero refused the key, and the key source has none for this practice group");
                return None;
            }
            Err(error) => {
                tracing::warn!(practice_group_id = %group, %error, "Hero refused the key, and the key source could not be read");
                return None;
            }
        };
        let key = match key {
            Ok(key) => key,
            Err(error) => {
                tracing::warn!(practice_group_id = %group, %error, "Hero refused the key, and the key source's key is unusable");
                return None;
            }
        };
        // Only over the refused key, in one step: a key set meanwhile (`set_key`) is newer than
        // what the source said during the read, and stays.
        let mut state = self.state();
        if state.current != *sent {
            return Some(state.current.clone());
        }
        if state.retired.contains(&key) || !Self::swap(&mut state, key.clone()) {
            return None;
        }
        tracing::info!(practice_group_id = %group, "Hero refused the key; the key source had a newer one, now in use");
        Some(key)
    }
}

//! Setting up a [`Client`]: credentials, environment, timeouts, and the per-request practice-group
//! override for cross-organisation calls.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

pub use crate::context::RequestContext;
use crate::{Client, ConfigError, Environment};

/// The `User-Agent` every request carries.
pub const USER_AGENT: &str = concat!("hero-health/", env!("CARGO_PKG_VERSION"));

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Configures a [`Client`]. Start from [`Client::builder`].
///
/// ```
/// # fn main() -> Result<(), hero_health::ConfigError> {
/// use std::time::Duration;
/// use hero_health::{Client, Environment};
///
/// let client = Client::builder()
///     .with_api_key("key-from-hero-support")
///     .with_practice_group_id("123")
///     .with_environment(Environment::Staging)
///     .with_timeout(Duration::from_secs(20))
///     .build()?;
/// assert_eq!(client.practice_group_id(), "123");
/// # Ok(()) }
/// ```
///
/// The builder is the only way to make a [`Client`]: progenitor's constructors, which would
/// pair any URL with a client's credentials and skip these checks, are not public.
///
/// ```compile_fail
/// # let client = hero_health::Client::builder().with_api_key("k").with_practice_group_id("1").build().unwrap();
/// use hero_health::ClientInfo;
/// let elsewhere = hero_health::Client::new_with_client("http://elsewhere.example", reqwest::Client::new(), client.inner().clone());
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    practice_group_id: Option<String>,
    environment: Environment,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    http_client: Option<reqwest::Client>,
    retry: Option<crate::RetryPolicy>,
    max_response_bytes: Option<usize>,
    clock: Option<crate::clock::SharedClock>,
    middleware: Vec<std::sync::Arc<dyn crate::options::Middleware>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("practice_group_id", &self.practice_group_id)
            .field("environment", &self.environment)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("http_client", &self.http_client.as_ref().map(|_| "custom"))
            .field("retry", &self.retry)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("clock", &self.clock)
            .field("middleware", &self.middleware.len())
            .finish()
    }
}

impl ClientBuilder {
    /// The API key Hero support issued (sent as `x-api-key`). Keep it server-side: it is
    /// never printed by this crate, in `Debug`, errors or logs.
    pub fn with_api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(api_key.into()));
        self
    }

    /// The practice group acted for (sent as `x-practice-group-id`), a numeric string.
    pub fn with_practice_group_id(mut self, id: impl Into<String>) -> Self {
        self.practice_group_id = Some(id.into());
        self
    }

    /// The server (default: [`Environment::Production`]).
    pub fn with_environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self
    }

    /// How long to wait for a connection (default 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long a whole request may take, from connecting to the end of the body (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Uses your own `reqwest::Client` (proxies, custom TLS roots, shared pools). Its own
    /// settings then apply: combining it with [`with_timeout`](Self::with_timeout) or
    /// [`with_connect_timeout`](Self::with_connect_timeout) is an error, because they could
    /// not take effect. The auth headers are still added to every request.
    ///
    /// **Build it so that it follows no redirect**: start from [`http_client_builder`], or set
    /// `.redirect(reqwest::redirect::Policy::none())`. reqwest's default policy follows
    /// redirects to other hosts and strips only `Authorization` and `Cookie`, so `x-api-key`,
    /// `x-practice-group-id` and a POST's body would go along. A client that follows one anyway
    /// has sent them by the time its answer arrives: hero-health then refuses that answer
    /// ([`crate::Error::Redirected`]), but cannot take the request back.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// How failed requests are retried (default [`RetryPolicy::default`](crate::RetryPolicy):
    /// 2 retries of idempotent requests; [`RetryPolicy::none`](crate::RetryPolicy::none) to
    /// disable).
    pub fn with_retry_policy(mut self, policy: crate::RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The largest answer body accepted, in bytes (default 16 MiB, far above any page Hero
    /// sends). A larger one is refused while reading, as [`crate::Error::ResponseTooLarge`],
    /// so a broken or hostile server cannot make the client buffer without end.
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = Some(limit);
        self
    }

    /// The clock the client's time-dependent decisions read (default
    /// [`SystemClock`](crate::clock::SystemClock)): hold expiry, the confirm skew margin, the
    /// cancellation window, Elements token refresh and `Retry-After` dates. Give it a
    /// [`TestClock`](crate::clock::TestClock) to control time in your tests; the mock's own
    /// clients (`MockHero::client`) already share the mock's.
    pub fn with_clock(mut self, clock: impl crate::clock::Clock + 'static) -> Self {
        self.clock = Some(std::sync::Arc::new(clock));
        self
    }

    /// Adds your layer around every request ([`crate::options::Middleware`]): it may add
    /// headers before each attempt and sees each attempt's outcome, never the request's
    /// headers. Layers run in the order they were added.
    pub fn with_middleware(mut self, middleware: impl crate::options::Middleware + 'static) -> Self {
        self.middleware.push(std::sync::Arc::new(middleware));
        self
    }

    /// Validates everything and builds the client.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] names what is missing or unusable: the key, the practice group id, the
    /// base URL, or timeouts combined with a custom HTTP client.
    pub fn build(self) -> Result<Client, ConfigError> {
        let api_key = self.api_key.ok_or(ConfigError::MissingApiKey)?;
        let context = RequestContext {
            api_key: crate::keys::KeyCell::fixed(crate::keys::api_key_header(api_key.expose_secret())?),
            practice_group_id: practice_group_header(self.practice_group_id.as_deref().ok_or(ConfigError::MissingPracticeGroupId)?)?,
            retry: self.retry.unwrap_or_default(),
            request_timeout: None,
            max_response_bytes: self.max_response_bytes.unwrap_or(crate::answer::DEFAULT_MAX_RESPONSE_BYTES),
            clock: self.clock.unwrap_or_else(crate::clock::system),
            extra_headers: std::sync::Arc::default(),
            idempotent: std::sync::Arc::default(),
            middleware: self.middleware.into(),
        };
        let base_url = self.environment.base_url()?;
        let http = match self.http_client {
            Some(_) if self.timeout.is_some() || self.connect_timeout.is_some() => return Err(ConfigError::TimeoutWithCustomHttpClient),
            Some(client) => client,
            None => http_client_builder()
                .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
                .timeout(self.timeout.unwrap_or(DEFAULT_TIMEOUT))
                .build()
                .map_err(ConfigError::HttpClient)?,
        };
        Ok(Client::new_with_client(&base_url, http, context))
    }
}

/// The `reqwest::ClientBuilder` hero-health builds its own client from: no redirects followed,
/// the crate's `User-Agent`, 10 s to connect and 30 s per request. Add your proxies or TLS roots
/// and pass the result to [`ClientBuilder::with_http_client`].
///
/// Redirects are refused because the auth headers are not `Authorization`: reqwest would carry
/// them to whatever host a redirect names. Hero's API does not redirect; a 3xx answer is
/// [`crate::Error::Redirected`], which usually means the base URL is wrong.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let http = hero_health::client::http_client_builder().https_only(true).build()?;
/// let client = hero_health::Client::builder()
///     .with_api_key("key-from-hero-support")
///     .with_practice_group_id("123")
///     .with_http_client(http)
///     .build()?;
/// # Ok(()) }
/// ```
pub fn http_client_builder() -> reqwest::ClientBuilder {
    // `rustls-ring` alone: reqwest's rustls has no provider of its own, so ring becomes the
    // process default (a no-op when the application installed one already).
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls")))]
    {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
        .timeout(DEFAULT_TIMEOUT)
}

pub(crate) fn practice_group_header(id: &str) -> Result<HeaderValue, ConfigError> {
    group_header(id).map_err(ConfigError::InvalidPracticeGroupId)
}

/// A variable of the environment, `None` when unset.
fn env_var(name: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode { name }),
    }
}

/// The server `HERO_ENV` or `HERO_BASE_URL` names (not both), production when neither is set.
pub(crate) fn environment_from_env() -> Result<Environment, ConfigError> {
    match (env_var("HERO_ENV")?, env_var("HERO_BASE_URL")?) {
        (Some(_), Some(_)) => Err(ConfigError::ConflictingEnvironment),
        (Some(name), None) => name.parse(),
        (None, Some(url)) => Environment::custom(&url),
        (None, None) => Ok(Environment::Production),
    }
}

/// The `x-practice-group-id` value: digits only.
pub(crate) fn group_header(id: &str) -> Result<HeaderValue, crate::InvalidId> {
    let id = crate::Id::new(id)?;
    // Id::new admitted ASCII digits only, which every header value accepts.
    Ok(HeaderValue::from_str(id.as_str()).expect("ASCII digits are a valid header value"))
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment:
    /// - `HERO_API_KEY` (required), `HERO_PRACTICE_GROUP_ID` (required);
    /// - `HERO_ENV` = `production` (default), `staging` or `mock`, or `HERO_BASE_URL` for any
    ///   other server (not both).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the variable that is missing or unusable.
    pub fn from_env() -> Result<Client, ConfigError> {
        let mut builder = Client::builder();
        builder.api_key = env_var("HERO_API_KEY")?.map(SecretString::from);
        builder.practice_group_id = env_var("HERO_PRACTICE_GROUP_ID")?;
        builder.environment = environment_from_env()?;
        builder.build()
    }

    /// The same client acting for another practice group (cross-organisation calls, e.g. a PCN
    /// practice booking into a hub site). Hero serves the call only when both practice groups
    /// are in one Hero-configured network. The copy shares this client's connection pool.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a practice group id that is not digits.
    pub fn for_practice_group(&self, practice_group_id: &str) -> Result<Client, ConfigError> {
        let mut client = self.clone();
        client.inner.practice_group_id = practice_group_header(practice_group_id)?;
        Ok(client)
    }

    /// A copy whose requests each time out after `timeout` (instead of the client's
    /// [`ClientBuilder::with_timeout`]), for one slow or urgent call. It shares the connection
    /// pool; each retry gets the full timeout, and [`crate::RetryPolicy::with_deadline`] bounds
    /// them all.
    pub fn with_request_timeout(&self, timeout: Duration) -> Client {
        let mut client = self.clone();
        client.inner.request_timeout = Some(timeout);
        client
    }

    /// A copy that accepts answers up to `limit` bytes (instead of the client's
    /// [`ClientBuilder::with_max_response_bytes`]), sharing the connection pool.
    pub fn with_max_response_bytes(&self, limit: usize) -> Client {
        let mut client = self.clone();
        client.inner.max_response_bytes = limit;
        client
    }

    /// A copy with another retry policy, sharing the connection pool.
    pub fn with_retry_policy(&self, policy: crate::RetryPolicy) -> Client {
        let mut client = self.clone();
        client.inner.retry = policy;
        client
    }

    /// A copy that reads `clock` instead of the client's (see [`ClientBuilder::with_clock`]),
    /// sharing the connection pool.
    pub fn with_clock(&self, clock: impl crate::clock::Clock + 'static) -> Client {
        let mut client = self.clone();
        client.inner.clock = std::sync::Arc::new(clock);
        client
    }

    /// A copy whose calls take `options` ([`crate::options::RequestOptions`]): its timeout,
    /// retry policy, headers and idempotent opt-in replace or add to the client's. It shares
    /// the connection pool.
    pub fn with_options(&self, options: &crate::options::RequestOptions) -> Client {
        let mut client = self.clone();
        let context = &mut client.inner;
        if let Some(timeout) = options.timeout {
            context.request_timeout = Some(timeout);
        }
        if let Some(policy) = &options.retry {
            context.retry = policy.clone();
        }
        if !options.headers.is_empty() {
            let mut headers = (*context.extra_headers).clone();
            headers.extend(options.headers.clone());
            context.extra_headers = std::sync::Arc::new(headers);
        }
        if !options.idempotent.is_empty() {
            let mut all: Vec<&'static str> = context.idempotent.to_vec();
            all.extend(options.idempotent.iter().copied());
            context.idempotent = all.into();
        }
        client
    }

    /// A copy that also runs `middleware` around each request (after the client's own).
    pub fn with_middleware(&self, middleware: impl crate::options::Middleware + 'static) -> Client {
        let mut client = self.clone();
        let mut all: Vec<_> = client.inner.middleware.iter().cloned().collect();
        all.push(std::sync::Arc::new(middleware));
        client.inner.middleware = all.into();
        client
    }

    /// The clock this client reads: `client.clock().now()` is what "now" is for its decisions.
    pub fn clock(&self) -> &dyn crate::clock::Clock {
        &*self.inner.clock
    }

    /// The practice group this client acts for.
    pub fn practice_group_id(&self) -> &str {
        self.inner.practice_group_id.to_str().unwrap_or_default()
    }
}

//! [`ConfigError`]: what is wrong with a client's configuration, and how to fix it.

/// A client could not be configured. Messages never contain the API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No API key was given.
    #[error("no API key: call ClientBuilder::with_api_key or set HERO_API_KEY (keys come from Hero support)")]
    MissingApiKey,
    /// The API key is empty or blank.
    #[error("the API key is empty: pass the key Hero support issued for this environment")]
    EmptyApiKey,
    /// The API key cannot be sent as an HTTP header value.
    #[error("the API key {problem}; check the value (it is not shown here)")]
    #[non_exhaustive]
    InvalidApiKey {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// No practice group id was given.
    #[error("no practice group id: call ClientBuilder::with_practice_group_id or set HERO_PRACTICE_GROUP_ID")]
    MissingPracticeGroupId,
    /// The practice group id is not a numeric string. The value is not repeated: a mixed-up
    /// argument could be the API key.
    #[error("the practice group id is not usable ({0}); use the x-practice-group-id Hero gave you")]
    InvalidPracticeGroupId(crate::id::InvalidId),
    /// `HERO_ENV` holds an unknown name.
    #[error("unknown environment {value}: use production, staging or mock (or set HERO_BASE_URL instead)")]
    #[non_exhaustive]
    UnknownEnvironment {
        /// The value given when it is a short word (`prod`); otherwise its length only, since
        /// a key pasted into the variable would be printed.
        value: String,
    },
    /// Both `HERO_ENV` and `HERO_BASE_URL` are set.
    #[error("both HERO_ENV and HERO_BASE_URL are set: keep one, so it is clear which server gets the key")]
    ConflictingEnvironment,
    /// The custom base URL cannot be used.
    #[error("the base URL cannot be used: {reason}")]
    #[non_exhaustive]
    InvalidBaseUrl {
        /// Why.
        reason: String,
    },
    /// An environment variable is not valid Unicode.
    #[error("{name} is not valid UTF-8")]
    #[non_exhaustive]
    NotUnicode {
        /// The variable's name.
        name: &'static str,
    },
    /// Timeouts were set together with a custom `reqwest::Client`, which has its own.
    #[error("timeouts cannot be applied to a custom HTTP client: set them on your reqwest::Client instead")]
    TimeoutWithCustomHttpClient,
    /// The HTTP client could not be built (for example, the TLS backend failed to initialise).
    #[error("the HTTP client could not be built: {0}")]
    HttpClient(#[source] reqwest::Error),
}

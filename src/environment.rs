//! Which Hero server a [`Client`](crate::Client) talks to.

use std::fmt;
use std::str::FromStr;

use reqwest::Url;

use crate::ConfigError;

/// A Hero Health API server.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Environment {
    /// `https://api.herohealth.net`: live practices.
    #[default]
    Production,
    /// `https://api.staging.htech.app`: development and testing, with test data only.
    Staging,
    /// The mock server of Hero's developer portal. It answers with generated examples
    /// (placeholder values), which this crate decodes, and checks nothing.
    HeroMock,
    /// Any other server: a proxy, or a local mock in tests. Plain `http` is accepted for loopback
    /// hosts only, so an API key never crosses a network unencrypted.
    Custom(Url),
}

const PRODUCTION: &str = "https://api.herohealth.net";
const STAGING: &str = "https://api.staging.htech.app";
const HERO_MOCK: &str = "https://developer.herohealth.net/_mock/apis/public-api/openapi";

impl Environment {
    /// A custom server, from a URL such as `http://127.0.0.1:8080`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a URL that does not parse, carries credentials, or is plain `http` to a
    /// host that is not loopback.
    pub fn custom(url: &str) -> Result<Self, ConfigError> {
        let parsed = Url::parse(url).map_err(|e| ConfigError::InvalidBaseUrl { reason: e.to_string() })?;
        let env = Self::Custom(parsed);
        env.base_url()?;
        Ok(env)
    }

    /// The base URL requests go to, without a trailing slash (operation paths start with `/v1/…`).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when a custom URL is not usable (see [`Environment::custom`]).
    pub fn base_url(&self) -> Result<String, ConfigError> {
        let url = match self {
            Self::Production => return Ok(PRODUCTION.into()),
            Self::Staging => return Ok(STAGING.into()),
            Self::HeroMock => return Ok(HERO_MOCK.into()),
            Self::Custom(url) => url,
        };
        let invalid = |reason: &str| Err(ConfigError::InvalidBaseUrl { reason: reason.into() });
        if !url.username().is_empty() || url.password().is_some() {
            return invalid("it carries credentials (user:password@); remove them, the client sends its own headers");
        }
        if url.query().is_some() || url.fragment().is_some() {
            return invalid("it has a query or fragment; give only scheme, host, port and path prefix");
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(url) => {}
            "http" => return invalid("plain http is allowed for loopback hosts only (the API key would travel unencrypted); use https"),
            _ => return invalid("the scheme must be https (or http for a loopback host)"),
        }
        if url.host().is_none() {
            return invalid("it has no host");
        }
        Ok(url.as_str().trim_end_matches('/').to_string())
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl FromStr for Environment {
    type Err = ConfigError;

    /// `production`, `staging` or `mock` (as in `HERO_ENV`), case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "production" | "prod" => Ok(Self::Production),
            "staging" => Ok(Self::Staging),
            "mock" | "hero-mock" | "heromock" => Ok(Self::HeroMock),
            _ => Err(ConfigError::UnknownEnvironment { value: shown_name(s) }),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Production => f.write_str("production"),
            Self::Staging => f.write_str("staging"),
            Self::HeroMock => f.write_str("Hero docs mock"),
            Self::Custom(url) => write!(f, "custom ({}://{})", url.scheme(), url.host_str().unwrap_or("?")),
        }
    }
}

/// What an error may repeat of an unknown environment name: a short word (a typo such as
/// `prod`) as given; anything else (an API key pasted into `HERO_ENV`) by its length only.
fn shown_name(name: &str) -> String {
    if name.len() <= 16 && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_') {
        name.to_owned()
    } else {
        format!("[{} characters, not shown]", name.chars().count())
    }
}

//! `Client::from_env` against the real process environment. One test in its own binary (process),
//! because environment variables are process-wide.

use hero_health::{Client, ClientInfo, ConfigError};

fn set(vars: &[(&str, Option<&str>)]) {
    for (name, value) in vars {
        // SAFETY: this binary runs this single test, on one thread; nothing reads the environment concurrently.
        unsafe {
            match value {
                Some(v) => std::env::set_var(name, v),
                None => std::env::remove_var(name),
            }
        }
    }
}

#[test]
fn from_env_reads_key_group_and_environment() {
    set(&[("HERO_API_KEY", None), ("HERO_PRACTICE_GROUP_ID", None), ("HERO_ENV", None), ("HERO_BASE_URL", None)]);
    assert!(matches!(Client::from_env(), Err(ConfigError::MissingApiKey)));

    set(&[("HERO_API_KEY", Some("env-secret-key"))]);
    assert!(matches!(Client::from_env(), Err(ConfigError::MissingPracticeGroupId)));

    set(&[("HERO_PRACTICE_GROUP_ID", Some("77"))]);
    let client = Client::from_env().unwrap();
    assert_eq!(client.baseurl(), "https://api.herohealth.net", "production when nothing says otherwise");
    assert_eq!(client.practice_group_id(), "77");
    assert!(!format!("{client:?}").contains("env-secret-key"));

    set(&[("HERO_ENV", Some("staging"))]);
    assert_eq!(Client::from_env().unwrap().baseurl(), "https://api.staging.htech.app");
    set(&[("HERO_ENV", Some("mock"))]);
    assert_eq!(Client::from_env().unwrap().baseurl(), "https://developer.herohealth.net/_mock/apis/public-api/openapi");
    set(&[("HERO_ENV", Some("qa"))]);
    assert!(matches!(Client::from_env(), Err(ConfigError::UnknownEnvironment { .. })));

    set(&[("HERO_BASE_URL", Some("http://127.0.0.1:4010/"))]);
    assert!(matches!(Client::from_env(), Err(ConfigError::ConflictingEnvironment)));
    set(&[("HERO_ENV", None)]);
    assert_eq!(Client::from_env().unwrap().baseurl(), "http://127.0.0.1:4010");
    set(&[("HERO_BASE_URL", Some("http://hero.internal"))]);
    assert!(matches!(Client::from_env(), Err(ConfigError::InvalidBaseUrl { .. })));

    set(&[("HERO_BASE_URL", None), ("HERO_PRACTICE_GROUP_ID", Some("group-77"))]);
    assert!(matches!(Client::from_env(), Err(ConfigError::InvalidPracticeGroupId(_))));
}

//! Client configuration: every bad input is a typed error that says what to fix, the API key never
//! appears in any output, and the practice-group override shares the connection pool.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hero_health::{Client, ClientBuilder, ConfigError, Environment};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "hh_live_SECRETKEY_0123456789";

fn builder() -> ClientBuilder {
    Client::builder().with_api_key(KEY).with_practice_group_id("123")
}

/// Every way to format a value a user might log: none may contain the key.
fn assert_no_key(what: &str, text: String) {
    assert!(!text.contains(KEY) && !text.contains("SECRETKEY"), "{what} leaks the API key: {text}");
}

#[test]
fn a_complete_configuration_builds() {
    let client = builder().with_environment(Environment::Staging).build().unwrap();
    assert_eq!(client.practice_group_id(), "123");
    assert_eq!(hero_health::ClientInfo::baseurl(&client), "https://api.staging.htech.app");
    assert_eq!(hero_health::ClientInfo::baseurl(&builder().build().unwrap()), "https://api.herohealth.net", "production by default");
    let mock = builder().with_environment(Environment::HeroMock).build().unwrap();
    assert_eq!(hero_health::ClientInfo::baseurl(&mock), "https://developer.herohealth.net/_mock/apis/public-api/openapi");
}

#[test]
fn bad_configuration_is_a_typed_error_that_says_what_to_fix() {
    let err = |b: ClientBuilder| b.build().unwrap_err();

    let e = err(Client::builder().with_practice_group_id("123"));
    assert!(matches!(e, ConfigError::MissingApiKey), "{e:?}");
    assert!(e.to_string().contains("HERO_API_KEY"));

    for blank in ["", "   "] {
        let e = err(Client::builder().with_api_key(blank).with_practice_group_id("123"));
        assert!(matches!(e, ConfigError::EmptyApiKey), "{e:?}");
    }
    let e = err(Client::builder().with_api_key(format!("{KEY}\n")).with_practice_group_id("123"));
    assert!(matches!(e, ConfigError::InvalidApiKey { .. }), "{e:?}");
    assert!(e.to_string().contains("newline"), "{e}");
    let e = err(Client::builder().with_api_key("abc\u{7f}def").with_practice_group_id("123"));
    assert!(matches!(e, ConfigError::InvalidApiKey { .. }), "{e:?}");

    let e = err(Client::builder().with_api_key(KEY));
    assert!(matches!(e, ConfigError::MissingPracticeGroupId), "{e:?}");
    assert!(e.to_string().contains("HERO_PRACTICE_GROUP_ID"));

    for group in ["", "12a", "pg-123", " 123"] {
        let e = err(Client::builder().with_api_key(KEY).with_practice_group_id(group));
        assert!(matches!(e, ConfigError::InvalidPracticeGroupId(_)), "{group:?}: {e:?}");
        assert!(e.to_string().contains("digits only"), "{e}");
    }
    // Arguments swapped by mistake: the error must not print the key it was given as the group.
    let e = err(Client::builder().with_api_key("123").with_practice_group_id(KEY));
    assert_no_key("InvalidPracticeGroupId", format!("{e} {e:?}"));

    let e = err(builder().with_timeout(Duration::from_secs(5)).with_http_client(reqwest::Client::new()));
    assert!(matches!(e, ConfigError::TimeoutWithCustomHttpClient), "{e:?}");
}

#[test]
fn base_urls_are_checked() {
    for (url, expect) in [
        ("not a url", "relative URL"),
        ("ftp://example.com", "scheme"),
        ("http://api.example.com", "loopback"),
        ("https://user:pw@api.example.com", "credentials"),
        ("https://api.example.com/?debug=1", "query"),
    ] {
        let e = Environment::custom(url).unwrap_err();
        assert!(matches!(e, ConfigError::InvalidBaseUrl { .. }), "{url}: {e:?}");
        assert!(e.to_string().contains(expect), "{url}: {e}");
        assert!(!e.to_string().contains("pw@"), "credentials are not echoed");
    }
    // A Custom(Url) built by hand is checked when the client is built.
    let e = builder().with_environment(Environment::Custom("http://10.0.0.8".parse().unwrap())).build().unwrap_err();
    assert!(matches!(e, ConfigError::InvalidBaseUrl { .. }), "{e:?}");

    for (url, base) in [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:1234", "http://[::1]:1234"),
        ("https://proxy.example.com/hero/", "https://proxy.example.com/hero"),
    ] {
        let client = builder().with_environment(Environment::custom(url).unwrap()).build().unwrap();
        assert_eq!(hero_health::ClientInfo::baseurl(&client), base);
    }
}

#[test]
fn environment_names_parse() {
    assert_eq!("production".parse::<Environment>().unwrap(), Environment::Production);
    assert_eq!("Staging".parse::<Environment>().unwrap(), Environment::Staging);
    assert_eq!("mock".parse::<Environment>().unwrap(), Environment::HeroMock);
    let e = "live".parse::<Environment>().unwrap_err();
    assert!(matches!(e, ConfigError::UnknownEnvironment { .. }), "{e:?}");
    assert!(e.to_string().contains("production, staging or mock"));
}

#[test]
fn the_api_key_never_appears_in_debug_or_errors() {
    let b = builder().with_environment(Environment::Staging);
    assert_no_key("ClientBuilder {:?}", format!("{b:?} {b:#?}"));
    let client = b.build().unwrap();
    assert_no_key("Client {:?}", format!("{client:?} {client:#?}"));
    assert!(format!("{client:?}").contains("[redacted]"));
    let other = client.for_practice_group("456").unwrap();
    assert_no_key("override {:?}", format!("{other:?}"));

    let errors = [
        Client::builder().with_practice_group_id("1").build().unwrap_err(),
        Client::builder().with_api_key(format!(" {KEY}")).with_practice_group_id("1").build().unwrap_err(),
        Client::builder().with_api_key(format!("{KEY}\u{0}")).with_practice_group_id("1").build().unwrap_err(),
        Client::builder().with_api_key(KEY).build().unwrap_err(),
        Client::builder().with_api_key(KEY).with_practice_group_id(KEY).build().unwrap_err(),
        builder().with_environment(Environment::Custom("http://example.com".parse().unwrap())).build().unwrap_err(),
        builder().with_connect_timeout(Duration::from_secs(1)).with_http_client(reqwest::Client::new()).build().unwrap_err(),
        client.for_practice_group(KEY).unwrap_err(),
    ];
    for e in errors {
        assert_no_key("ConfigError", format!("{e} {e:?} {e:#?}"));
    }
}

#[tokio::test]
async fn request_errors_do_not_carry_the_key() {
    // Nothing listens on this port: a transport error, the commonest error users log.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = builder().with_environment(Environment::custom(&format!("http://127.0.0.1:{port}")).unwrap()).build().unwrap();
    let e = client.get_appointment().id("1").send().await.unwrap_err();
    assert_no_key("transport error", format!("{e} {e:?} {e:#}"));
    let e = client.get_appointment().id("x").send().await.unwrap_err();
    assert_no_key("invalid request error", format!("{e} {e:?}"));
}

/// A minimal HTTP/1.1 keep-alive server that counts TCP connections and records the practice
/// group header of each request: wiremock hides connections, and pool sharing is about them.
async fn counting_server() -> (String, Arc<Mutex<(usize, Vec<String>)>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new((0usize, Vec::new())));
    let state = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            state.lock().unwrap().0 += 1;
            let state = state.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                        buffer.drain(..end + 4);
                        let group = head.lines().find_map(|l| l.strip_prefix("x-practice-group-id: ")).unwrap_or("").to_owned();
                        state.lock().unwrap().1.push(group);
                        let body = r#"{"token": "t", "expiration_time": "2026-01-01T00:00:00Z"}"#;
                        let reply =
                            format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                        if socket.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (base, seen)
}

#[tokio::test]
async fn practice_group_override_shares_the_connection_pool() {
    let (base, seen) = counting_server().await;
    let client = builder().with_environment(Environment::custom(&base).unwrap()).build().unwrap();
    let hub = client.for_practice_group("456").unwrap();
    assert_eq!(hub.practice_group_id(), "456");
    assert_eq!(client.practice_group_id(), "123", "the original client is unchanged");

    client.get_heidi_token().send().await.unwrap();
    hub.get_heidi_token().send().await.unwrap();
    client.get_heidi_token().send().await.unwrap();

    let (connections, groups) = seen.lock().unwrap().clone();
    assert_eq!(groups, ["123", "456", "123"]);
    assert_eq!(connections, 1, "all three requests reused one pooled connection");

    let e = client.for_practice_group("hub").unwrap_err();
    assert!(matches!(e, ConfigError::InvalidPracticeGroupId(_)), "{e:?}");
}

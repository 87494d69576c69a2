//! Typed Rust client for the [Hero Health Public API](https://developer.herohealth.net): the REST
//! API through which healthtech partners work with NHS GP practices (EMIS Web, TPP SystmOne) —
//! appointment booking, patient messaging, PDS patient lookup and registration, webhooks,
//! booking, form and video links, and Elements access tokens.
//!
//! Every operation of the API is a method on [`Client`] that returns a request builder:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hero_health::{Client, Environment};
//!
//! let client = Client::builder()
//!     .with_api_key(std::env::var("HERO_API_KEY")?)
//!     .with_practice_group_id("123")
//!     .with_environment(Environment::Staging)
//!     .build()?;
//! let appointment = client.get_appointment().id("4567").send().await?;
//! println!("starts at {:?}", appointment.start_time);
//! # Ok(()) }
//! ```
//!
//! - [`types`]: request and response types, generated from the OpenAPI document.
//! - [`builder`]: the request builders behind each operation.
//! - [`Client::from_env`] reads `HERO_API_KEY`, `HERO_PRACTICE_GROUP_ID` and `HERO_ENV` or
//!   `HERO_BASE_URL`; [`Client::for_practice_group`] makes cross-organisation calls.
//!
//! The OpenAPI document in `openapi/` is a reconstruction of Hero's published reference: every
//! guess in it is marked `x-hero-inferred`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]
#![warn(clippy::missing_errors_doc)]

#[cfg(not(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls")))]
compile_error!(
    "hero-health needs a TLS backend to reach Hero over https: enable the `rustls` feature (the default), `rustls-ring` or `native-tls`"
);

mod answer;
pub mod booking;
pub mod client;
pub mod clock;
mod config_error;
mod context;
pub mod elements;
mod environment;
mod error;
mod generated;
mod hooks;
mod id;
#[cfg(feature = "schemars")]
mod json_schema;
pub mod keys;
pub mod lenient;
pub mod messages;
#[cfg(feature = "mock")]
pub mod mock;
mod nhs_number;
mod operations;
pub mod options;
pub mod pagination;
pub mod patients;
pub mod practices;
mod redact;
mod retry;
mod retry_after;
#[cfg(feature = "metrics")]
pub mod telemetry;
mod time;
pub mod webhooks;

pub use client::ClientBuilder;
pub use config_error::ConfigError;
pub use environment::Environment;
pub use error::{Error, ErrorContext, TransportError};
/// progenitor's error type. Generated calls return [`Error`] instead; this converts into it
/// (`Error::from`) for code that builds requests with progenitor's own helpers.
pub use generated::Error as GeneratedError;
#[cfg(feature = "schemars")]
#[doc(hidden)]
pub use generated::component_schemas;
pub use generated::{ByteStream, Client, ClientInfo, ResponseValue, builder, types};
pub use id::{Id, InvalidId};
pub use lenient::{Lenient, LenientOption};
pub use nhs_number::{InvalidNhsNumber, NhsNumber};
pub use reqwest::Url;
pub use retry::RetryPolicy;

/// The README's code blocks, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

//! `cargo xtask`: keeps `openapi/hero-public-api.yaml` current and reviewable.
//!
//! - `update-spec` fetches Hero's published bundle (or a file), normalises it for progenitor
//!   ([`normalise`]), runs build.rs's own preflight and generator on it, prints a drift report
//!   ([`drift`], [`report`]) and only then replaces the committed document, atomically.
//! - `check` (CI) verifies the committed document is normalised, generates, and matches the
//!   surface and code snapshots.
//! - `surface` prints the surface listing.
//! - `bench-report` prints the benchmark ratios against their targets ([`bench_report`]).
//!
//! The generation logic is build.rs's own (`codegen/`, compiled in here too), so the xtask
//! accepts exactly what the crate's build accepts.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench_report;
pub mod bundle_loop;
#[path = "../../codegen/mod.rs"]
pub mod codegen;
pub mod commands;
pub mod drift;
pub mod effective;
pub mod error;
pub mod fixtures;
pub mod normalise;
pub mod overlay;
pub mod pins;
pub mod report;
pub mod source;

pub use error::XtaskError;

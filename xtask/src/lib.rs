//! `cargo xtask`: keeps `openapi/hero-public-api.yaml` current and reviewable.
//!
//! - `update-spec` fetches Hero's published bundle (or a file), builds the effective document
//!   from it and `openapi/overlay.yaml` ([`effective`]: [`normalise`], [`pins`], [`overlay`]),
//!   runs build.rs's own preflight and generator on it, prints a drift report ([`drift`],
//!   [`report`]) and only then writes `openapi/upstream.yaml` (verbatim) and the effective
//!   document, atomically.
//! - `apply` rebuilds the effective document after an overlay edit.
//! - `check` (CI) verifies the committed document is upstream + overlay, normalised, generates,
//!   and matches the surface and code snapshots.
//! - `bundle-loop` (CI) swaps in bundles spelled the way published ones are ([`fixtures`]) on
//!   copies of the repository and builds and runs them ([`bundle_loop`]).
//! - `probe` compares a credentialed run's answers with the document, as shapes ([`probe`]).
//! - `surface` prints the surface listing.
//! - `bench-report` prints the benchmark ratios against their targets ([`bench_report`]).
//!
//! The generation logic is build.rs's own (the `hero-health-codegen` crate, re-exported here as
//! [`codegen`]), so the xtask accepts exactly what the crate's build accepts.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench_report;
pub mod bundle_loop;
pub mod commands;
pub mod decisions;
pub mod drift;
pub mod effective;
pub mod error;
pub mod fixtures;
pub mod normalise;
pub mod overlay;
pub mod pins;
pub mod probe;
pub mod report;
pub mod routes;
pub mod source;

pub use error::XtaskError;
/// The generator build.rs runs ([`hero_health_codegen`]).
pub use hero_health_codegen as codegen;
/// The generated code formatted for people (the codegen snapshot); build.rs does not format it.
pub use hero_health_codegen::pretty;

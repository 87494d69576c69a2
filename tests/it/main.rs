//! The integration tests as one binary: each module is what was one test file, so the crate is
//! linked once instead of fifteen times (CI time). Three stay binaries of their own:
//! `tests/from_env.rs` changes the process environment, `tests/tracing_output.rs` installs a
//! subscriber (tracing's interest cache is process-wide), and `tests/generated_surface.rs` owns
//! the snapshot names `cargo xtask check` reads.

mod support;

mod booking;
mod configuration;
mod conformance;
mod elements;
mod errors;
mod hostile;
mod journal;
mod journal_crash;
mod lifecycle;
mod mock_server;
mod module_graph;
mod no_leaks;
mod options;
mod pagination;
mod patients;
mod practices;
mod published_answers;
mod receiver;
mod retries;
mod seed_operations;
mod stale_slots;
mod time;
mod tolerant_decoding;
mod type_fidelity;
mod validation;
mod webhooks;

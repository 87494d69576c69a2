//! What can stop an xtask command. Each message says what happened and what to do next; the
//! command leaves `openapi/` untouched whenever it returns one of these.

use crate::normalise::NormaliseError;
use crate::source::SourceError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum XtaskError {
    /// The document could not be fetched or read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The text is over the size or nesting limit, so it is not parsed at all.
    #[error("{source_name} is refused before parsing: {reason}; nothing was written")]
    OverLimit {
        /// The URL or file.
        source_name: String,
        /// Which limit.
        reason: crate::codegen::limits::LimitError,
    },
    /// The text is not YAML (or JSON).
    #[error(
        "{source_name} is not valid YAML or JSON ({reason}); if it was downloaded it may be cut off or not the bundle: try again, or check the URL"
    )]
    Yaml {
        /// The URL or file.
        source_name: String,
        /// The parser's message, with line and column.
        reason: String,
    },
    /// It is YAML, but not an OpenAPI 3.0/3.1 document.
    #[error("{source_name}: {reason}; pass Hero's OpenAPI bundle to --from")]
    NotOpenApi {
        /// The URL or file.
        source_name: String,
        /// What is missing.
        reason: NormaliseError,
    },
    /// It parses, but describes no operation at all.
    #[error("{source_name} describes no operation (an empty or cut-off document?); nothing was written, try again or check the source")]
    NoOperations {
        /// The URL or file.
        source_name: String,
    },
    /// Normalised, it still fails the preflight or generation.
    #[error("{source_name}, even normalised, cannot be generated from; nothing was written.\n{reason}")]
    Rejected {
        /// The URL or file.
        source_name: String,
        /// The preflight's or progenitor's message (names the operation).
        reason: String,
    },
    /// The overlay (or `openapi/accepted.yaml`) is malformed.
    #[error("{0}; nothing was written")]
    Overlay(#[from] crate::overlay::OverlayError),
    /// The bundle differs from what the overlay expects in ways nobody has decided yet.
    #[error(
        "{} difference(s) between the document and openapi/overlay.yaml need a decision; nothing was written:\n{}\nDecide each with `cargo xtask update-spec --from <bundle> --accept '<resolution>'` (repeatable), or edit openapi/overlay.yaml",
        .0.len(),
        .0.iter().map(|d| format!("  - {d}")).collect::<Vec<_>>().join("\n")
    )]
    Undecided(Vec<String>),
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {reason}")]
    Io {
        /// `read`, `write`…
        action: &'static str,
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// `check` found problems (printed above the error).
    #[error("cargo xtask check found {0} problem(s), shown above")]
    CheckFailed(usize),
    /// The probe could not run (credentials refused, no server): what happened and what to do.
    #[error("probe: {0}")]
    Probe(String),
}

impl XtaskError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, error: impl std::fmt::Display) -> Self {
        XtaskError::Io { action, path: path.display().to_string(), reason: error.to_string() }
    }
}

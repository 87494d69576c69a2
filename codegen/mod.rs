//! Turns the OpenAPI document into the Rust client: parse, preflight, progenitor, prettyplease,
//! and the one-page surface listing.
//!
//! Shared by `build.rs` (included with `#[path]`) and the xtask, so both accept and reject exactly
//! the same documents. It depends only on the crate's build-dependencies.

pub mod examples;
pub mod operations;
pub mod pages;
pub mod preflight;
pub mod surface;
pub mod tolerant;

use std::fmt;
use std::path::Path;

/// Where the crate keeps its OpenAPI description, relative to the package root.
pub const SPEC_PATH: &str = "openapi/hero-public-api.yaml";

/// The generated client code and its surface listing.
pub struct Generated {
    /// Formatted Rust source of the generated client (`OUT_DIR/codegen.rs`).
    pub code: String,
    /// One sorted line per operation (`OUT_DIR/surface.txt`), see [`surface`].
    pub surface: String,
    /// A schema-valid answer per operation for the mock server (`OUT_DIR/mock_examples.json`).
    pub mock_examples: String,
    /// The operation table (`OUT_DIR/operations.rs`), see [`operations`].
    pub operations: String,
    /// `Page` impls for the list envelopes (`OUT_DIR/pages.rs`), see [`pages`].
    pub pages: String,
}

/// Why the document could not be turned into a client.
#[derive(Debug)]
pub enum GenerateError {
    /// The document could not be read.
    Read {
        /// The document's path.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The document is not YAML/JSON, or not an OpenAPI 3.0 document.
    Parse(String),
    /// The document parses but holds constructs progenitor would reject or panic on.
    Preflight(Vec<preflight::Problem>),
    /// progenitor returned an error (or panicked on something the preflight did not catch).
    Progenitor(String),
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => write!(f, "cannot read {path}: {source}"),
            Self::Parse(msg) => write!(f, "not a usable OpenAPI 3.0 document: {msg}"),
            Self::Preflight(problems) => {
                writeln!(f, "the OpenAPI document has {} problem(s) the generator cannot handle:", problems.len())?;
                for p in problems {
                    writeln!(f, "  - {p}")?;
                }
                write!(f, "fix them in the document (or run `cargo xtask update-spec`, which normalises them)")
            }
            Self::Progenitor(msg) => write!(f, "progenitor could not generate the client: {msg}"),
        }
    }
}

impl std::error::Error for GenerateError {}

/// Reads, checks and generates in one go.
pub fn generate_file(path: &Path) -> Result<Generated, GenerateError> {
    let text = std::fs::read_to_string(path).map_err(|source| GenerateError::Read {
        path: path.display().to_string(),
        source,
    })?;
    generate(&parse(&text)?)
}

/// Parses YAML or JSON text into an OpenAPI 3.0 document, after the checks that must run on the
/// raw document (3.1 constructs make `openapiv3` fail with a position that names nothing useful).
pub fn parse(text: &str) -> Result<openapiv3::OpenAPI, GenerateError> {
    let raw: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| GenerateError::Parse(e.to_string()))?;
    let problems = preflight::check_raw(&raw);
    if !problems.is_empty() {
        return Err(GenerateError::Preflight(problems));
    }
    yaml_serde::from_value(raw).map_err(|e| GenerateError::Parse(e.to_string()))
}

/// The generator settings of this crate. Builder style (`client.op().field(..).send()`), every
/// operation on one `Client`, and a hand-written request context plus hooks (`src/hooks.rs`)
/// that add the auth headers per request, so a practice-group override can share a pool.
pub fn settings() -> progenitor::GenerationSettings {
    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(quote::quote!(crate::client::RequestContext))
        .with_hooks(progenitor::HooksMode::Expected)
        // Ids are checked on what we send but not on what we receive (Hero's docs mock answers
        // `"id": "string"`): a hand-written type replaces the generated pattern newtype.
        .with_replacement("Id", "crate::id::Id", [progenitor::TypeImpl::FromStr, progenitor::TypeImpl::Display].into_iter())
        .with_derive("PartialEq");
    settings
}

/// Preflight, generate and format. Never panics: a progenitor panic the preflight did not
/// foresee becomes an error too.
pub fn generate(spec: &openapiv3::OpenAPI) -> Result<Generated, GenerateError> {
    let problems = preflight::check(spec);
    if !problems.is_empty() {
        return Err(GenerateError::Preflight(problems));
    }
    let settings = settings();
    let tokens = std::panic::catch_unwind(|| progenitor::Generator::new(&settings).generate_tokens(spec))
        .map_err(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            GenerateError::Progenitor(format!("panicked ({msg}); the preflight should have caught this, please report it"))
        })?
        .map_err(|e| GenerateError::Progenitor(e.to_string()))?;
    let mut file: syn::File = syn::parse2(tokens).map_err(|e| GenerateError::Progenitor(format!("generated code does not parse: {e}")))?;
    tolerant::open_enums(&mut file).map_err(GenerateError::Progenitor)?;
    let surface = surface::listing(&file).map_err(GenerateError::Progenitor)?;
    let code = format!(
        "// Generated by build.rs from {SPEC_PATH} with progenitor. Do not edit: change the document.\n{}",
        prettyplease::unparse(&file)
    );
    let operations = operations::table(spec, &surface);
    Ok(Generated { code, surface, mock_examples: examples::listing(spec), operations, pages: pages::impls(spec) })
}

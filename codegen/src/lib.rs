//! The generator of [`hero-health`](https://crates.io/crates/hero-health): turns the Hero Health
//! OpenAPI document into the Rust client. Parse, preflight (each construct progenitor panics on or
//! rejects without saying where is reported with the operation and the fix), progenitor, the
//! passes below, and the one-page surface listing.
//!
//! `hero-health`'s build script depends on this crate, as progenitor's users depend on
//! `progenitor-impl`; so does the repository's xtask (`cargo xtask update-spec` and `check`), so
//! both accept and reject exactly the same documents. It is published only because a published
//! build script cannot depend on a path: it is not a general-purpose generator, and its API follows
//! `hero-health`'s needs (its version moves with `hero-health`'s).
//!
//! The code is written compact. The `pretty` feature adds [`pretty`] (prettyplease), which
//! formats it for people: the codegen snapshot. Build scripts leave the feature off, so users'
//! builds neither compile prettyplease nor format a file nobody opens.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod clashes;
pub mod constructors;
pub mod decoders;
pub mod docs;
pub mod document;
pub mod examples;
pub mod lenient;
pub mod limits;
pub mod operations;
pub mod pages;
pub mod preflight;
#[cfg(feature = "pretty")]
pub mod pretty;
pub mod public_errors;
pub mod requests;
pub mod schemas;
pub mod secrets;
pub mod surface;
pub mod syntax;
pub mod tolerant;

use std::fmt;
use std::path::Path;

/// Where the crate keeps its OpenAPI description, relative to the package root.
pub const SPEC_PATH: &str = "openapi/hero-public-api.yaml";

/// The generated client code and its surface listing.
pub struct Generated {
    /// Rust source of the generated client (`OUT_DIR/codegen.rs`): a `//` header line, then the
    /// tokens unformatted. [`pretty`] (feature `pretty`) formats it for people (the codegen snapshot).
    pub code: String,
    /// One sorted line per operation (`OUT_DIR/surface.txt`), see [`surface`].
    pub surface: String,
    /// A schema-valid answer per operation for the mock server (`OUT_DIR/mock_examples.json`).
    pub mock_examples: String,
    /// What each operation accepts, as JSON Schema, for the mock server to validate requests
    /// (`OUT_DIR/mock_requests.json`), see [`requests`].
    pub mock_requests: String,
    /// The operation table (`OUT_DIR/operations.rs`), see [`operations`].
    pub operations: String,
    /// `Page` impls for the list envelopes (`OUT_DIR/pages.rs`), see [`pages`].
    pub pages: String,
    /// A decoder per operation for the mock's `decode_answer` (`OUT_DIR/decoders.rs`), see
    /// [`decoders`].
    pub decoders: String,
}

/// Why the document could not be turned into a client.
#[derive(Debug)]
#[non_exhaustive]
pub enum GenerateError {
    /// The document could not be read.
    #[non_exhaustive]
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
                write!(
                    f,
                    "fix them in the document (`cargo xtask update-spec --from <file>` normalises what can be fixed automatically; these cannot)"
                )
            }
            Self::Progenitor(msg) => write!(f, "progenitor could not generate the client: {msg}"),
        }
    }
}

impl std::error::Error for GenerateError {}

/// Reads, checks and generates in one go.
pub fn generate_file(path: &Path) -> Result<Generated, GenerateError> {
    let text = std::fs::read_to_string(path).map_err(|source| GenerateError::Read { path: path.display().to_string(), source })?;
    generate(&parse(&text)?)
}

/// Parses YAML or JSON text into an OpenAPI 3.0 document, after the checks that must run on the
/// raw document (3.1 constructs make `openapiv3` fail with a position that names nothing useful).
pub fn parse(text: &str) -> Result<openapiv3::OpenAPI, GenerateError> {
    limits::check(text).map_err(|e| GenerateError::Parse(e.to_string()))?;
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
        .with_inner_type(quote::quote!(crate::context::RequestContext))
        .with_hooks(progenitor::HooksMode::Expected)
        // Ids are checked on what we send but not on what we receive (Hero's docs mock answers
        // `"id": "string"`): a hand-written type replaces the generated pattern newtype.
        .with_replacement("Id", "crate::id::Id", [progenitor::TypeImpl::FromStr, progenitor::TypeImpl::Display].into_iter())
        .with_derive("PartialEq");
    settings
}

/// progenitor's code, parsed, or its error or panic message.
fn progenitor_file(settings: &progenitor::GenerationSettings, spec: &openapiv3::OpenAPI) -> Result<syn::File, String> {
    let tokens = quietly(|| progenitor::Generator::new(settings).generate_tokens(spec))?.map_err(|e| e.to_string())?;
    syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))
}

/// Where progenitor fails, so a failure the preflight did not foresee still names where to
/// look: the component schemas (they fail without any operation), or the first operation it
/// fails on when given alone with every component.
fn culprit(settings: &progenitor::GenerationSettings, spec: &openapiv3::OpenAPI) -> String {
    let mut bare = spec.clone();
    bare.paths.paths.clear();
    if progenitor_file(settings, &bare).is_err() {
        return "the component schemas (it fails without any operation)".into();
    }
    first_failing_operation(settings, spec).map_or_else(|| "the document".to_owned(), |id| format!("operation `{id}`"))
}

fn first_failing_operation(settings: &progenitor::GenerationSettings, spec: &openapiv3::OpenAPI) -> Option<String> {
    spec.operations().find_map(|(path, method, operation)| {
        let mut alone = spec.clone();
        let mut item = openapiv3::PathItem { parameters: spec.paths.paths.get(path)?.as_item()?.parameters.clone(), ..Default::default() };
        let slot = match method {
            "get" => &mut item.get,
            "put" => &mut item.put,
            "post" => &mut item.post,
            "delete" => &mut item.delete,
            "options" => &mut item.options,
            "head" => &mut item.head,
            "patch" => &mut item.patch,
            _ => &mut item.trace,
        };
        *slot = Some(operation.clone());
        alone.paths.paths = [(path.to_owned(), openapiv3::ReferenceOr::Item(item))].into_iter().collect();
        progenitor_file(settings, &alone)
            .err()
            .map(|_| operation.operation_id.clone().unwrap_or_else(|| format!("{} {path}", method.to_uppercase())))
    })
}

/// Runs `f`, turning a panic into its message without the panic hook's "thread panicked"
/// line and backtrace note (they would read as a crash of the tool, not a refused document).
fn quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(f);
    std::panic::set_hook(hook);
    result.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "unknown panic".into())
    })
}

/// Preflight, generate and format. Never panics: a progenitor panic the preflight did not
/// foresee becomes an error too.
pub fn generate(spec: &openapiv3::OpenAPI) -> Result<Generated, GenerateError> {
    let problems = preflight::check(spec);
    if !problems.is_empty() {
        return Err(GenerateError::Preflight(problems));
    }
    let settings = settings();
    let mut file = progenitor_file(&settings, spec).map_err(|msg| {
        let place = culprit(&settings, spec);
        GenerateError::Progenitor(format!(
            "it cannot generate {place} ({msg}); change that operation or the schemas it uses (the preflight does not know this construct yet: please report its shape to hero-health)"
        ))
    })?;
    tolerant::open_enums(&mut file).map_err(GenerateError::Progenitor)?;
    tolerant::lenient_newtypes(&mut file);
    let twice = clashes::duplicates(&file);
    if !twice.is_empty() {
        return Err(GenerateError::Progenitor(format!(
            "the generated code would define {} twice (a schema or operation name meets one progenitor made up, e.g. `<OperationId>Response`); rename the schema or operation it comes from",
            twice.join(", ")
        )));
    }
    // The rows name progenitor's error body types, so they are taken before `send` is rewrapped;
    // the other passes use the rows, and the text is rendered last.
    let rows = surface::rows(&file, spec).map_err(GenerateError::Progenitor)?;
    docs::complete(&mut file, spec, &rows);
    // Before `schemas`, whose attributes name the field types this pass changes.
    lenient::apply(&mut file, spec, &rows).map_err(GenerateError::Progenitor)?;
    schemas::add(&mut file, spec);
    secrets::redact(&mut file);
    public_errors::rewrite(&mut file, &rows).map_err(GenerateError::Progenitor)?;
    constructors::hide(&mut file);
    let code = format!(
        "// Generated by build.rs from {SPEC_PATH} with progenitor. Do not edit: change the document.\n{}",
        syntax::item_lines(file)
    );
    let operations = operations::table(spec, &rows);
    let pages = pages::impls(spec, &rows);
    let decoders = decoders::table(spec, &rows);
    Ok(Generated {
        code,
        surface: surface::render(&rows),
        mock_examples: examples::listing(spec),
        mock_requests: requests::listing(spec),
        operations,
        pages,
        decoders,
    })
}

//! Turns a published OpenAPI document (3.0 or 3.1, written for Redocly) into one build.rs accepts:
//! OpenAPI 3.0.3 that progenitor can generate from without panicking.
//!
//! The rules are small and deterministic: the same input gives byte-identical output, mapping
//! order is kept, and every change is reported as a [`Change`] naming the rule and the place. A
//! document that is already normalised comes back unchanged with no changes, which is what
//! `cargo xtask check` relies on.
//!
//! (`openapi31to30` on crates.io, 0.0.1, covers part of the 3.1 down-conversion, but reports no
//! changes, knows nothing of progenitor's limits and has one unmaintained release: hence this pass.)

mod conventions;
mod document;
mod forms;
mod operations;
mod schema;

use std::fmt;

use yaml_serde::Value;

/// The first lines of every normalised document: the file is produced, not hand-formatted.
pub const HEADER: &str = "# Hero Health Public API, normalised for progenitor by `cargo xtask update-spec`.\n\
# Hand edits are fine as long as `cargo xtask check` passes (it re-normalises and compares).\n";

/// A normalisation rule. [`Rule::name`] is what warnings print and the README lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// `openapi: 3.1.x` becomes `3.0.3`.
    OpenapiVersion,
    /// `type: [T, 'null']` becomes `type: T` + `nullable: true`; several types become `anyOf`.
    TypeArray,
    /// `type: 'null'` becomes `nullable: true`.
    NullType,
    /// A `{type: 'null'}` member of `anyOf`/`oneOf` becomes `nullable: true`.
    NullableUnion,
    /// `const: v` becomes `enum: [v]`.
    Const,
    /// Schema `examples: [a, …]` becomes `example: a`.
    Examples,
    /// Numeric `exclusiveMinimum`/`exclusiveMaximum` become `minimum`/`maximum` + `true`.
    ExclusiveBound,
    /// A `true`/`false` schema becomes `{}` / `{not: {}}`.
    BooleanSchema,
    /// A 3.1-only keyword 3.0 cannot say is dropped.
    Unsupported31,
    /// A schema's `title` is dropped: the generator would name the type after it.
    SchemaTitle,
    /// A `$ref` path item (3.1 `components/pathItems`) is inlined.
    PathItemRef,
    /// A `$ref` to `components/parameters`, `responses` or `requestBodies` is written out in place.
    ComponentRef,
    /// Path-item parameters are merged into each operation (the operation's own win).
    PathParameters,
    /// An inline schema structurally equal to a component becomes a `$ref` to it.
    SameSchema,
    /// Top-level `webhooks` moves to `x-webhooks` (kept for readers, ignored by the generator).
    Webhooks,
    /// A missing or duplicate `operationId` is made up or made unique.
    OperationId,
    /// `application/problem+json`, `application/json; charset=…` and the like become `application/json`.
    JsonMediaType,
    /// A request body offering several media types keeps one (JSON first).
    RequestMediaType,
    /// A response offering several media types keeps one (JSON first).
    ResponseMediaType,
    /// A JSON response without a schema loses its (undescribed) body.
    SchemalessJson,
    /// A `default` response is dropped.
    DefaultResponse,
    /// Success responses are brought to one body shape.
    SuccessShape,
    /// Error responses are brought to one body shape.
    ErrorShape,
    /// `additionalProperties: false` is dropped from schemas a response uses.
    ClosedResponse,
    /// An inline numeric-id string (`pattern: ^\d+$`) becomes a `$ref` to the `Id` component.
    IdPattern,
    /// Convention: a plain string id the document types `Id` elsewhere (or the booking guide
    /// calls numeric) becomes `Id`.
    HeroId,
    /// Convention: `page_index` / `page_size` parameters are integers (`u64`) everywhere.
    PageIntegers,
    /// Convention: counts, durations, hours and number-typed ids are integers (`u64`).
    WholeNumbers,
    /// Convention: a string field gets the `date`/`date-time` format its name has elsewhere.
    DateFormat,
}

impl Rule {
    /// Every rule, in the order the README documents them.
    pub const ALL: [Rule; 29] = [
        Rule::OpenapiVersion,
        Rule::TypeArray,
        Rule::NullType,
        Rule::NullableUnion,
        Rule::Const,
        Rule::Examples,
        Rule::ExclusiveBound,
        Rule::BooleanSchema,
        Rule::Unsupported31,
        Rule::SchemaTitle,
        Rule::PathItemRef,
        Rule::ComponentRef,
        Rule::PathParameters,
        Rule::SameSchema,
        Rule::Webhooks,
        Rule::OperationId,
        Rule::JsonMediaType,
        Rule::RequestMediaType,
        Rule::ResponseMediaType,
        Rule::SchemalessJson,
        Rule::DefaultResponse,
        Rule::SuccessShape,
        Rule::ErrorShape,
        Rule::ClosedResponse,
        Rule::IdPattern,
        Rule::HeroId,
        Rule::PageIntegers,
        Rule::WholeNumbers,
        Rule::DateFormat,
    ];

    /// The short name warnings print (`warning: [type-array] …`).
    pub fn name(self) -> &'static str {
        match self {
            Rule::OpenapiVersion => "openapi-version",
            Rule::TypeArray => "type-array",
            Rule::NullType => "null-type",
            Rule::NullableUnion => "nullable-union",
            Rule::Const => "const",
            Rule::Examples => "examples",
            Rule::ExclusiveBound => "exclusive-bound",
            Rule::BooleanSchema => "boolean-schema",
            Rule::Unsupported31 => "unsupported-3.1",
            Rule::SchemaTitle => "schema-title",
            Rule::PathItemRef => "path-item-ref",
            Rule::ComponentRef => "component-ref",
            Rule::PathParameters => "path-parameters",
            Rule::SameSchema => "same-schema",
            Rule::Webhooks => "webhooks",
            Rule::OperationId => "operation-id",
            Rule::JsonMediaType => "json-media-type",
            Rule::RequestMediaType => "request-media-type",
            Rule::ResponseMediaType => "response-media-type",
            Rule::SchemalessJson => "schemaless-json",
            Rule::DefaultResponse => "default-response",
            Rule::SuccessShape => "success-shape",
            Rule::ErrorShape => "error-shape",
            Rule::ClosedResponse => "closed-response",
            Rule::IdPattern => "id-pattern",
            Rule::HeroId => "hero-id",
            Rule::PageIntegers => "page-integers",
            Rule::WholeNumbers => "whole-numbers",
            Rule::DateFormat => "date-format",
        }
    }
}

/// One change the normaliser made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The rule that made it.
    pub rule: Rule,
    /// The `operationId` (or `METHOD /path`), or a JSON pointer such as `#/components/schemas/X`.
    pub location: String,
    /// What changed, in a few words.
    pub detail: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.rule.name(), self.location, self.detail)
    }
}

/// Why a document cannot be normalised at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    /// The text parsed, but not into a mapping.
    #[error("it is not an OpenAPI document (the top level is not a mapping)")]
    NotAMapping,
    /// No `openapi` field.
    #[error("it is not an OpenAPI document (no `openapi: 3.x` version field){}", .swagger.then_some("; it is Swagger 2.0, which this tool does not convert").unwrap_or_default())]
    NoVersion {
        /// It has `swagger: "2.0"` instead.
        swagger: bool,
    },
    /// A version other than 3.0.x / 3.1.x.
    #[error("OpenAPI version {0} is not supported (only 3.0.x and 3.1.x are)")]
    UnsupportedVersion(String),
}

/// The normalised document and what was changed to get there.
#[derive(Debug, Clone)]
pub struct Normalised {
    /// The document, ready for [`render`].
    pub document: Value,
    /// Every change, in document order.
    pub changes: Vec<Change>,
}

/// Normalises `document` (see the module docs). Errors only when it is not OpenAPI 3.0/3.1.
pub fn normalise(mut document: Value) -> Result<Normalised, NormaliseError> {
    let mut changes = Changes::default();
    document::check_version(&document)?;
    document::normalise(&mut document, &mut changes);
    forms::normalise(&mut document, &mut changes);
    operations::normalise(&mut document, &mut changes);
    conventions::apply(&mut document, &mut changes);
    if changes.0.iter().any(|c| matches!(c.rule, Rule::IdPattern | Rule::HeroId)) {
        schema::ensure_id_component(&mut document, &mut changes);
    }
    Ok(Normalised { document, changes: changes.0 })
}

/// The document as the committed YAML text: [`HEADER`], then the mapping in its own order.
pub fn render(document: &Value) -> String {
    let body = yaml_serde::to_string(document).unwrap_or_else(|e| {
        // Serialising a Value that came from parsing cannot fail; keep it a message, not a panic.
        format!("# cannot render the document: {e}\n")
    });
    format!("{HEADER}{body}")
}

/// Collects changes; a small wrapper so the passes read `changes.add(rule, at, detail)`.
#[derive(Debug, Default)]
pub(crate) struct Changes(Vec<Change>);

impl Changes {
    pub(crate) fn add(&mut self, rule: Rule, location: impl Into<String>, detail: impl Into<String>) {
        self.0.push(Change { rule, location: location.into(), detail: detail.into() });
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// `key` with JSON-pointer escaping (`~` and `/`), for locations: the generator's own.
pub use crate::codegen::document::pointer_segment;
/// The HTTP methods a path item can hold an operation under.
pub(crate) use document::METHODS;

/// A `$ref` to the component schema `name`; a nullable use is `allOf: [$ref]` + `nullable`,
/// since OpenAPI 3.0 ignores a `$ref`'s siblings (and progenitor then gives `Option<T>`).
pub(crate) fn schema_ref(name: &str, nullable: bool) -> Value {
    let mut reference = yaml_serde::Mapping::new();
    reference.insert("$ref".into(), format!("#/components/schemas/{name}").into());
    if !nullable {
        return Value::Mapping(reference);
    }
    let mut wrapper = yaml_serde::Mapping::new();
    wrapper.insert("allOf".into(), Value::Sequence(vec![Value::Mapping(reference)]));
    wrapper.insert("nullable".into(), true.into());
    Value::Mapping(wrapper)
}

/// Short text of a small YAML value for a warning (`[string, 'null']`).
pub(crate) fn brief(value: &Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "?".into());
    if text.chars().count() > 60 { format!("{}…", text.chars().take(57).collect::<String>()) } else { text }
}

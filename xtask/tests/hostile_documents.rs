//! `update-spec` against documents that would break the crate or the tool: each is refused
//! with the schema or operation named, `openapi/` untouched, no panic and no backtrace; or, where
//! the crate can cope (an enum value `unknown`, an operationId `self`), accepted.
//!
//! Each case is a small valid document plus one hostile change. Those accepted are compiled
//! as part of the crate by the real-bundle loop; here, that they generate.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use xtask::codegen;

/// The document a throwaway repository starts with, and must still hold after a refusal.
const COMMITTED: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /v1/x:\n    get:\n      operationId: getX\n      responses:\n        '200': {description: ok}\n";

fn base() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {"/v1/things/{id}": {"get": {
            "operationId": "getThing",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}
        }}},
        "components": {"schemas": {"Thing": {"type": "object", "properties": {"id": {"type": "string"}}}}}
    })
}

fn hostile(change: impl FnOnce(&mut Value)) -> String {
    let mut doc = base();
    change(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap()
}

struct Run {
    output: Output,
    spec_after: String,
    openapi_dir: Vec<String>,
    mode_after: u32,
}

/// Runs `update-spec --from <file holding text>` on a throwaway repository.
fn update_spec(text: &[u8], committed_mode: Option<u32>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join(codegen::SPEC_PATH);
    std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(&spec, COMMITTED).unwrap();
    set_mode(&spec, committed_mode.unwrap_or(0o644));
    let from = dir.path().join("bundle.json");
    std::fs::write(&from, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .env_remove("HERO_XTASK_ROOT")
        .env("RUST_BACKTRACE", "1")
        .arg("--root")
        .arg(dir.path())
        .args(["update-spec", "--from"])
        .arg(&from)
        .output()
        .unwrap();
    let mut openapi_dir: Vec<String> =
        std::fs::read_dir(spec.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    openapi_dir.sort();
    Run { output, spec_after: std::fs::read_to_string(&spec).unwrap(), openapi_dir, mode_after: mode(&spec) }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Refused: exit 1, the message names `expected`, no panic or backtrace, nothing written.
fn refused(text: &[u8], expected: &str) -> String {
    let run = update_spec(text, None);
    let err = String::from_utf8_lossy(&run.output.stderr).into_owned();
    assert_eq!(run.output.status.code(), Some(1), "{expected}: {err}");
    assert!(err.contains(expected), "expected `{expected}` in: {err}");
    for crash in ["panicked", "RUST_BACKTRACE", "stack backtrace", "overflow"] {
        assert!(!err.contains(crash), "{expected}: `{crash}` printed: {err}");
    }
    assert_eq!(run.spec_after, COMMITTED, "{expected}: openapi/ must be untouched");
    assert_eq!(run.openapi_dir, ["hero-public-api.yaml"], "{expected}: no temporary file left");
    err
}

#[test]
fn a_schema_that_is_its_own_ref_is_refused_by_name() {
    let doc = hostile(|d| d["components"]["schemas"]["Thing"] = json!({"$ref": "#/components/schemas/Thing"}));
    refused(doc.as_bytes(), "#/components/schemas/Thing: the schema contains itself (Thing -> Thing)");
}

#[test]
fn an_all_of_cycle_is_refused_instead_of_overflowing_the_stack() {
    let doc = hostile(|d| {
        d["components"]["schemas"]["Thing"] = json!({"allOf": [{"$ref": "#/components/schemas/Other"}]});
        d["components"]["schemas"]["Other"] = json!({"allOf": [{"$ref": "#/components/schemas/Thing"}, {"type": "object"}]});
    });
    refused(doc.as_bytes(), "#/components/schemas/Other: the schema contains itself (Other -> Thing -> Other)");
}

#[test]
fn operation_ids_that_meet_after_case_conversion_are_refused_by_name() {
    let doc = hostile(|d| {
        let mut other = d["paths"]["/v1/things/{id}"]["get"].clone();
        other["operationId"] = json!("get_thing");
        d["paths"]["/v1/other/{id}"] = json!({"get": other});
    });
    refused(doc.as_bytes(), "getThing: operationId `getThing` and `get_thing` become the same Rust method");
}

#[test]
fn schema_names_that_meet_after_case_conversion_are_refused_by_name() {
    let doc = hostile(|d| {
        d["components"]["schemas"]["Foo_bar"] = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        d["components"]["schemas"]["FooBar"] = json!({"type": "object", "properties": {"b": {"type": "integer"}}});
    });
    refused(doc.as_bytes(), "schemas `FooBar` and `Foo_bar` become the same Rust type");
}

#[test]
fn dot_segments_in_a_path_template_are_refused() {
    for path in ["/v1/../admin/{id}", "/v1/./things/{id}", "/v1//things/{id}"] {
        let doc = hostile(|d| {
            let item = d["paths"]["/v1/things/{id}"].take();
            d["paths"] = json!({ path: item });
        });
        refused(doc.as_bytes(), &format!("GET {path}: the path template has an empty, `.` or `..` segment"));
    }
}

#[test]
fn a_construct_progenitor_panics_on_is_refused_quietly_with_the_operation_named() {
    // progenitor 0.15 reaches `unreachable!()` on an object-typed query parameter.
    let doc = hostile(|d| {
        d["paths"]["/v1/things/{id}"]["get"]["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "q", "in": "query", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}))
    });
    refused(doc.as_bytes(), "cannot generate operation `getThing`");
    // A broken component is blamed on the components, not on whichever operation came first.
    let doc = hostile(|d| d["components"]["schemas"]["Thing"]["properties"]["x"] = json!({"$ref": "#/components/schemas/Nope"}));
    refused(doc.as_bytes(), "cannot generate the component schemas");
}

#[test]
fn deep_nesting_is_refused_before_parsing_in_linear_time() {
    // 40,000 levels took the YAML scanner 7 s (quadratic); refused at level 101 now.
    let doc = format!("{{\"openapi\": \"3.0.3\", \"x\": {}{}}}", "[".repeat(40_000), "]".repeat(40_000));
    refused(doc.as_bytes(), "nests more than 100 levels deep (at line 1)");
}

#[test]
fn an_oversized_document_is_refused_without_being_read_whole() {
    let doc = format!("{}\n# {}\n", hostile(|_| {}), "x".repeat(codegen::limits::MAX_DOCUMENT_BYTES));
    refused(doc.as_bytes(), "is larger than 4 MiB");
}

/// Enum values `unknown`/`Unknown` meet the catch-all variant the crate adds: it steps aside.
#[test]
fn an_enum_value_named_unknown_is_accepted_and_the_catch_all_steps_aside() {
    for values in [json!(["active", "unknown"]), json!(["Active", "Unknown", "UnknownValue"])] {
        let doc = hostile(|d| d["components"]["schemas"]["Thing"]["properties"]["status"] = json!({"type": "string", "enum": values}));
        let generated = codegen::generate(&codegen::parse(&doc).unwrap()).unwrap();
        let catch_all = if values.as_array().unwrap().len() == 2 { "UnknownValue(" } else { "UnknownValue2(" };
        assert!(xtask::pretty::code(&generated.code).unwrap().contains(catch_all), "{values}: no {catch_all} variant");
        let run = update_spec(doc.as_bytes(), None);
        assert!(run.output.status.success(), "{}", String::from_utf8_lossy(&run.output.stderr));
    }
}

/// Rust keywords as operationIds: progenitor escapes them (`type_`, `self_`).
#[test]
fn keyword_operation_ids_are_accepted() {
    for id in ["self", "Self", "type", "crate"] {
        let doc = hostile(|d| d["paths"]["/v1/things/{id}"]["get"]["operationId"] = json!(id));
        let generated = codegen::generate(&codegen::parse(&doc).unwrap());
        assert!(generated.is_ok(), "{id}: {}", generated.err().map(|e| e.to_string()).unwrap_or_default());
    }
}

/// The temporary file is 0600; the written document keeps the committed file's mode.
#[cfg(unix)]
#[test]
fn the_written_document_keeps_its_mode() {
    for committed in [0o644, 0o664, 0o600] {
        let run = update_spec(hostile(|_| {}).as_bytes(), Some(committed));
        assert!(run.output.status.success(), "{}", String::from_utf8_lossy(&run.output.stderr));
        assert_ne!(run.spec_after, COMMITTED);
        assert_eq!(run.mode_after, committed, "{committed:o}");
    }
}

//! The generation preflight: each construct progenitor 0.15 panics on or rejects without saying
//! where is reported with the operation and the fix, and a clean document generates code with a
//! surface listing. (That the crate's own document generates what its build script wrote is
//! `hero-health`'s `tests/generated_surface.rs`.)

use hero_health_codegen as codegen;

use codegen::GenerateError;
use serde_json::{Value, json};

/// A small valid document with one operation, `getThing`, that a test then breaks.
fn document(operation: Value) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {"/things/{id}": {"get": operation}},
        "components": {"schemas": {
            "Thing": {"type": "object", "properties": {"id": {"type": "string"}}},
            "Other": {"type": "object", "properties": {"name": {"type": "string"}}},
            "Error": {"type": "object", "properties": {"message": {"type": "string"}}},
            "Problem": {"type": "object", "properties": {"title": {"type": "string"}}}
        }}
    })
}

fn json_body(schema: &str) -> Value {
    json!({"description": "x", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn op(responses: Value) -> Value {
    json!({"operationId": "getThing", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": responses})
}

fn run(doc: &Value) -> Result<codegen::Generated, GenerateError> {
    let text = yaml_serde::to_string(doc).unwrap();
    codegen::generate(&codegen::parse(&text)?)
}

/// The preflight's problems, one `location: reason` string each.
fn problems(doc: Value) -> Vec<String> {
    match run(&doc) {
        Err(GenerateError::Preflight(problems)) => problems.iter().map(ToString::to_string).collect(),
        Err(other) => panic!("expected preflight problems, got: {other}"),
        Ok(_) => panic!("expected preflight problems, but the document generated"),
    }
}

fn assert_one(doc: Value, location: &str, needle: &str) {
    let found = problems(doc);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with(&format!("{location}: ")) && found[0].contains(needle),
        "{:?} should name {location} and say {needle:?}",
        found[0]
    );
}

#[test]
fn a_clean_document_generates_code_and_surface() {
    let generated = run(&document(op(json!({"200": json_body("Thing"), "404": json_body("Error")})))).unwrap();
    assert!(generated.code.contains("pub struct Thing"));
    assert_eq!(generated.surface, "GET /things/{id} -> get_thing -> hero_health::types::Thing ! hero_health::types::Error\n");
}

#[test]
fn openapi_3_1_is_refused_with_its_version() {
    let mut doc = document(op(json!({"200": json_body("Thing")})));
    doc["openapi"] = json!("3.1.0");
    assert_one(doc, "/openapi", "3.0.x only");
}

#[test]
fn type_arrays_null_types_and_const_are_located() {
    let mut doc = document(op(json!({"200": json_body("Thing")})));
    doc["components"]["schemas"]["Thing"]["properties"]["id"] = json!({"type": ["string", "null"]});
    doc["components"]["schemas"]["Other"]["properties"]["name"] = json!({"anyOf": [{"type": "string"}, {"type": "null"}]});
    doc["components"]["schemas"]["Error"]["properties"]["message"] = json!({"const": "x"});
    // A property *named* `type` or `const` is fine, and so is any example payload.
    doc["components"]["schemas"]["Problem"]["properties"]["type"] = json!({"type": "string", "example": {"type": ["a"]}});
    doc["components"]["schemas"]["Problem"]["properties"]["const"] = json!({"type": "string"});
    let found = problems(doc);
    assert_eq!(
        found,
        [
            "/components/schemas/Error/properties/message/const: `const` is OpenAPI 3.1; use a one-value `enum`",
            "/components/schemas/Other/properties/name/anyOf/1/type: `type: 'null'` is OpenAPI 3.1; use `nullable: true` on the schema",
            "/components/schemas/Thing/properties/id/type: a list of types is OpenAPI 3.1; use one type plus `nullable: true`",
        ]
    );
}

#[test]
fn different_success_bodies_are_named() {
    assert_one(
        document(op(json!({"200": json_body("Thing"), "201": json_body("Other")}))),
        "getThing",
        "success responses have 2 different body shapes",
    );
    assert_one(
        document(op(json!({"200": json_body("Thing"), "204": {"description": "none"}}))),
        "getThing",
        "200 json Thing, 204 (none body)",
    );
}

#[test]
fn different_error_bodies_are_named() {
    assert_one(
        document(op(json!({"200": json_body("Thing"), "400": json_body("Error"), "404": json_body("Problem")}))),
        "getThing",
        "error responses have 2",
    );
    // A body-less 401 next to JSON errors trips the same assertion in progenitor.
    assert_one(
        document(op(json!({"200": json_body("Thing"), "401": {"description": "no body"}, "404": json_body("Error")}))),
        "getThing",
        "401 (none body)",
    );
    let problem_json =
        json!({"description": "x", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    assert_one(document(op(json!({"200": json_body("Thing"), "400": problem_json, "404": json_body("Error")}))), "getThing", "(raw body)");
}

#[test]
fn a_default_response_counts_on_both_sides() {
    assert_one(
        document(op(json!({"200": json_body("Thing"), "default": json_body("Error")}))),
        "getThing",
        "`default` response counts as both",
    );
}

#[test]
fn a_json_response_without_schema_is_named() {
    assert_one(
        document(op(json!({"200": {"description": "x", "content": {"application/json": {}}}}))),
        "getThing",
        "response 200: application/json without a schema",
    );
}

#[test]
fn request_bodies_need_one_supported_media_type() {
    let with_body = |content: Value| {
        let mut o = op(json!({"200": json_body("Thing")}));
        o["requestBody"] = json!({"required": true, "content": content});
        document(o)
    };
    let schema = json!({"schema": {"$ref": "#/components/schemas/Thing"}});
    assert_one(with_body(json!({"application/json": schema, "application/xml": schema})), "getThing", "offers 2 media types");
    assert_one(with_body(json!({"multipart/form-data": schema})), "getThing", "multipart/form-data is not supported");
}

#[test]
fn unsupported_parameter_styles_are_named() {
    let mut o = op(json!({"200": json_body("Thing")}));
    o["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "filter", "in": "query", "style": "deepObject", "schema": {"type": "object"}}));
    o["parameters"].as_array_mut().unwrap().push(json!({"name": "session", "in": "cookie", "schema": {"type": "string"}}));
    let found = problems(document(o));
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].contains("`filter` uses style DeepObject"), "{found:?}");
    assert!(found[1].contains("cookie parameter `session`"), "{found:?}");
}

#[test]
fn operation_ids_must_exist_and_be_unique() {
    let mut doc = document(op(json!({"200": json_body("Thing")})));
    doc["paths"]["/things/{id}"]["delete"] = op(json!({"204": {"description": "gone"}}));
    doc["paths"]["/others"] = json!({"get": {"responses": {"200": json_body("Other")}}});
    let found = problems(doc);
    assert!(
        found.iter().any(|p| p.starts_with("getThing: operationId used twice (GET /things/{id} and DELETE /things/{id})")),
        "{found:#?}"
    );
    assert!(found.iter().any(|p| p.starts_with("GET /others: no operationId")), "{found:#?}");
}

#[test]
fn unreadable_text_is_a_parse_error_not_a_panic() {
    for text in ["<html><body>Not Found</body></html>", "openapi: [unclosed", ""] {
        assert!(matches!(codegen::parse(text), Err(GenerateError::Parse(_) | GenerateError::Preflight(_))), "{text:?}");
    }
}

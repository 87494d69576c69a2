//! What every operation accepts, as JSON Schema, for the mock server to validate requests the
//! way Hero does (`OUT_DIR/mock_requests.json`).
//!
//! The document is OpenAPI 3.0: its schemas are close to JSON Schema but not the same. Here
//! they become JSON Schema 2020-12, which the mock's validator (the `jsonschema` crate) reads:
//! `nullable` becomes a `null` type, the 3.0 boolean `exclusiveMinimum` a number,
//! `#/components/schemas/X` a `#/$defs/X`, and what validation ignores (examples, extensions,
//! descriptions) is left out. Nothing is added: the mock refuses exactly what the document
//! refuses (a field Hero does not know is refused because the overlay closes the request
//! schemas with `additionalProperties: false`), so an OpenAPI tester and the mock agree.
//!
//! Parameters come with the kind of value their schema wants (`integer`, `boolean`, `array`…),
//! so that the mock can read a query string's text as that kind before validating. Each
//! operation also carries a request it accepts (`example`: its required query parameters and a
//! body synthesised like the mock's answers), for tests that call every operation.

use openapiv3::OpenAPI;
use serde_json::{Map, Value, json};

/// Keywords of a 3.0 schema that do not constrain a value.
const IGNORED: &[&str] = &[
    "example",
    "examples",
    "description",
    "title",
    "discriminator",
    "xml",
    "externalDocs",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
];

/// `{"$defs": {...}, "operations": [{operation, method, path, parameters, body}]}` as JSON text.
pub fn listing(spec: &OpenAPI) -> String {
    let document = serde_json::to_value(spec).unwrap_or(Value::Null);
    let schemas = document.pointer("/components/schemas").and_then(Value::as_object).cloned().unwrap_or_default();
    let defs: Map<String, Value> = schemas.iter().map(|(name, schema)| (name.clone(), convert(schema))).collect();
    let mut operations = Vec::new();
    for (path, method, op) in spec.operations() {
        let raw = document.pointer(&format!("/paths/{}/{method}", crate::document::pointer_segment(path))).cloned().unwrap_or(Value::Null);
        let path_level = document.pointer(&format!("/paths/{}/parameters", crate::document::pointer_segment(path))).cloned();
        let mut parameters: Vec<Value> = Vec::new();
        // The operation's own parameters win over the path item's of the same name and place.
        for parameter in raw
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .chain(path_level.as_ref().and_then(Value::as_array).into_iter().flatten())
        {
            let Some(parameter) = follow(&document, parameter, "parameters") else { continue };
            let (name, place) = (parameter.get("name").cloned().unwrap_or_default(), parameter.get("in").cloned().unwrap_or_default());
            if place == "header" || place == "cookie" || parameters.iter().any(|p| p["name"] == name && p["in"] == place) {
                continue;
            }
            let schema = parameter.get("schema").cloned().unwrap_or(json!({}));
            parameters.push(json!({
                "name": name,
                "in": place,
                "required": parameter.get("required").and_then(Value::as_bool).unwrap_or(false),
                "kind": kind(&document, &schema),
                "item_kind": schema_at(&document, &schema).and_then(|s| s.get("items")).map(|items| kind(&document, items)),
                "schema": convert(&schema),
            }));
        }
        let body = raw.get("requestBody").and_then(|body| follow(&document, body, "requestBodies")).and_then(|body| {
            let schema = body.pointer("/content/application~1json/schema")?;
            Some(json!({"required": body.get("required").and_then(Value::as_bool).unwrap_or(false), "schema": convert(schema)}))
        });
        operations.push(json!({
            "operation": op.operation_id.clone().unwrap_or_default(),
            "method": method.to_uppercase(),
            "path": path,
            "parameters": parameters,
            "body": body,
            "example": accepted(spec, op),
        }));
    }
    serde_json::to_string(&json!({"$defs": defs, "operations": operations})).unwrap_or_else(|_| "{}".into())
}

/// `{"query": {required parameter: value}, "body": value or null}`: a request `op` accepts.
fn accepted(spec: &OpenAPI, op: &openapiv3::Operation) -> Value {
    use crate::document::resolve;
    let mut query = Map::new();
    for parameter in &op.parameters {
        let Some(openapiv3::Parameter::Query { parameter_data, .. }) = resolve(spec, parameter, "parameters", |c| &c.parameters) else {
            continue;
        };
        if let (true, openapiv3::ParameterSchemaOrContent::Schema(schema)) = (parameter_data.required, &parameter_data.format) {
            query.insert(parameter_data.name.clone(), crate::examples::example(spec, schema, 0));
        }
    }
    let body = op
        .request_body
        .as_ref()
        .and_then(|body| resolve(spec, body, "requestBodies", |c| &c.request_bodies))
        .and_then(|body| body.content.get("application/json")?.schema.as_ref())
        .map_or(Value::Null, |schema| crate::examples::example(spec, schema, 0));
    json!({"query": query, "body": body})
}

/// A parameter or request body, or what its `$ref` to `components/<section>` names.
fn follow<'a>(document: &'a Value, item: &'a Value, section: &str) -> Option<&'a Value> {
    match item.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.strip_prefix(&format!("#/components/{section}/"))?;
            document.pointer(&format!("/components/{section}/{}", crate::document::pointer_segment(name)))
        }
        None => Some(item),
    }
}

/// A schema with `$ref`s and single-member `allOf`s followed (a few levels: a cycle ends it).
fn schema_at<'a>(document: &'a Value, schema: &'a Value) -> Option<&'a Value> {
    let mut current = schema;
    for _ in 0..8 {
        if let Some(name) = current.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) {
            current = document.pointer(&format!("/components/schemas/{}", crate::document::pointer_segment(name)))?;
        } else if let Some([only]) = current.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            current = only;
        } else {
            return Some(current);
        }
    }
    None
}

/// The JSON kind a parameter's text is read as: `integer`, `number`, `boolean`, `array`,
/// `string` (the default, also for a schema without a type).
fn kind(document: &Value, schema: &Value) -> &'static str {
    match schema_at(document, schema).and_then(|s| s.get("type")).and_then(Value::as_str) {
        Some("integer") => "integer",
        Some("number") => "number",
        Some("boolean") => "boolean",
        Some("array") => "array",
        _ => "string",
    }
}

/// An OpenAPI 3.0 schema as JSON Schema 2020-12.
pub fn convert(schema: &Value) -> Value {
    let Value::Object(map) = schema else { return schema.clone() };
    let mut out = Map::new();
    for (key, value) in map {
        if IGNORED.contains(&key.as_str()) || key.starts_with("x-") {
            continue;
        }
        let converted = match key.as_str() {
            "$ref" => match value.as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
                Some(name) => Value::String(format!("#/$defs/{}", crate::document::pointer_segment(name))),
                None => value.clone(),
            },
            "properties" | "patternProperties" => {
                Value::Object(value.as_object().into_iter().flatten().map(|(name, property)| (name.clone(), convert(property))).collect())
            }
            "items" | "not" | "additionalProperties" => convert(value),
            "allOf" | "oneOf" | "anyOf" => Value::Array(value.as_array().into_iter().flatten().map(convert).collect()),
            "exclusiveMinimum" | "exclusiveMaximum" if value.is_boolean() => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    // 3.0's `exclusiveMinimum: true` qualifies `minimum`; 2020-12's is the bound itself.
    for (flag, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if map.get(flag) == Some(&Value::Bool(true))
            && let Some(limit) = out.remove(bound)
        {
            out.insert(flag.to_owned(), limit);
        }
    }
    if map.get("nullable") == Some(&Value::Bool(true)) {
        return nullable(out);
    }
    Value::Object(out)
}

/// A schema that also accepts `null`.
fn nullable(mut schema: Map<String, Value>) -> Value {
    if let Some(Value::Array(options)) = schema.get_mut("enum") {
        options.push(Value::Null);
    }
    match schema.get("type").cloned() {
        Some(Value::String(ty)) => {
            schema.insert("type".into(), json!([ty, "null"]));
            Value::Object(schema)
        }
        _ => json!({"anyOf": [Value::Object(schema), {"type": "null"}]}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_3_0_schemas_become_json_schema() {
        let nullable_ref = json!({"allOf": [{"$ref": "#/components/schemas/Id"}], "nullable": true, "x-hero-inferred": "why"});
        assert_eq!(convert(&nullable_ref), json!({"anyOf": [{"allOf": [{"$ref": "#/$defs/Id"}]}, {"type": "null"}]}));
        let object =
            json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "exclusiveMinimum": true, "example": 3}}});
        assert_eq!(convert(&object), json!({"type": "object", "properties": {"n": {"type": "integer", "exclusiveMinimum": 0}}}));
        let map = json!({"type": "object", "additionalProperties": {"type": "string"}, "nullable": true});
        assert_eq!(convert(&map), json!({"type": ["object", "null"], "additionalProperties": {"type": "string"}}));
        let choice = json!({"type": "string", "enum": ["a"], "nullable": true});
        assert_eq!(convert(&choice), json!({"type": ["string", "null"], "enum": ["a", null]}));
        let closed = json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false});
        assert_eq!(convert(&closed), closed, "the document's own closing is kept, nothing is added");
    }
}

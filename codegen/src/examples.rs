//! A schema-valid example answer for every operation, for the mock server's operations that it
//! does not model with state (`OUT_DIR/mock_examples.json`).
//!
//! Synthesised from the schemas rather than copied from the document's `example`s, which in a
//! reconstructed document are not guaranteed to match their schemas: every property is filled,
//! the first enum value is used, formats and patterns get a conforming value, bounds are kept.

use openapiv3::{OpenAPI, ReferenceOr, Schema, SchemaKind, StatusCode, StringFormat, Type, VariantOrUnknownOrEmpty};
use serde_json::{Map, Value, json};

use crate::document::{resolve, unbox};

/// How deep nested objects are filled; deeper (or recursive) ones are left empty.
const MAX_DEPTH: usize = 8;

/// `[{method, path, operation, status, body}]` for every operation, as JSON text.
pub fn listing(spec: &OpenAPI) -> String {
    let mut all = Vec::new();
    for (path, method, op) in spec.operations() {
        let success = op.responses.responses.iter().find_map(|(code, response)| match code {
            StatusCode::Code(c) if (200..300).contains(c) => Some((*c, response)),
            _ => None,
        });
        let (status, body) = match success {
            Some((status, response)) => {
                let body = resolve(spec, response, "responses", |c| &c.responses)
                    .and_then(|r| r.content.get("application/json"))
                    .and_then(|media| media.schema.as_ref())
                    .map(|schema| example(spec, schema, 0));
                (status, body)
            }
            None => (200, None),
        };
        all.push(json!({
            "method": method.to_uppercase(),
            "path": path,
            "operation": op.operation_id.clone().unwrap_or_default(),
            "status": status,
            "body": body,
        }));
    }
    serde_json::to_string_pretty(&all).unwrap_or_else(|_| "[]".into())
}

/// A value `schema` accepts (every property filled, the first enum value, conforming formats).
pub(crate) fn example(spec: &OpenAPI, schema: &ReferenceOr<Schema>, depth: usize) -> Value {
    let Some(schema) = resolve(spec, schema, "schemas", |c| &c.schemas) else { return Value::Null };
    if depth > MAX_DEPTH {
        return if schema.schema_data.nullable { Value::Null } else { json!({}) };
    }
    match &schema.schema_kind {
        SchemaKind::Type(Type::Object(object)) => {
            let mut map = Map::new();
            for (name, property) in &object.properties {
                map.insert(name.clone(), example(spec, &unbox(property), depth + 1));
            }
            Value::Object(map)
        }
        SchemaKind::Type(Type::Array(array)) => {
            let item = array.items.as_ref().map_or(json!({}), |items| example(spec, &unbox(items), depth + 1));
            Value::Array(vec![item; array.min_items.unwrap_or(1).max(1)])
        }
        SchemaKind::Type(Type::String(string)) => match string.enumeration.iter().flatten().next() {
            Some(first) => json!(first),
            None => json!(string_value(&string.format, string.pattern.as_deref(), string.min_length)),
        },
        SchemaKind::Type(Type::Integer(integer)) => match integer.enumeration.iter().flatten().next() {
            Some(first) => json!(first),
            None => json!(integer.minimum.map_or(1, |m| if integer.exclusive_minimum { m + 1 } else { m })),
        },
        SchemaKind::Type(Type::Number(number)) => match number.enumeration.iter().flatten().next() {
            Some(first) => json!(first),
            None => json!(number.minimum.map_or(1.0, |m| if number.exclusive_minimum { m + 1.0 } else { m })),
        },
        SchemaKind::Type(Type::Boolean(_)) => json!(false),
        SchemaKind::AllOf { all_of } => {
            let mut merged = Map::new();
            for member in all_of {
                match example(spec, member, depth + 1) {
                    Value::Object(fields) => merged.extend(fields),
                    other if all_of.len() == 1 => return other,
                    _ => {}
                }
            }
            Value::Object(merged)
        }
        SchemaKind::OneOf { one_of: members } | SchemaKind::AnyOf { any_of: members } => {
            members.first().map_or(json!({}), |first| example(spec, first, depth + 1))
        }
        // `type` beside `allOf` (or other mixes) parses as Any: follow the combinators first.
        SchemaKind::Any(any) => match (any.all_of.first().or(any.one_of.first()).or(any.any_of.first()), any.enumeration.first()) {
            (_, Some(first)) => first.clone(),
            (Some(member), None) => example(spec, member, depth + 1),
            (None, None) if !any.properties.is_empty() => {
                Value::Object(any.properties.iter().map(|(name, p)| (name.clone(), example(spec, &unbox(p), depth + 1))).collect())
            }
            (None, None) => match any.typ.as_deref() {
                Some("string") => json!("string"),
                Some("integer") => json!(1),
                Some("number") => json!(1.0),
                Some("boolean") => json!(false),
                Some("array") => json!([]),
                _ => json!({}),
            },
        },
        SchemaKind::Not { .. } => json!({}),
    }
}

fn string_value(format: &VariantOrUnknownOrEmpty<StringFormat>, pattern: Option<&str>, min_length: Option<usize>) -> String {
    let value = match format {
        VariantOrUnknownOrEmpty::Item(StringFormat::DateTime) => "2026-01-05T09:00:00Z".to_owned(),
        VariantOrUnknownOrEmpty::Item(StringFormat::Date) => "2026-01-05".to_owned(),
        VariantOrUnknownOrEmpty::Unknown(f) if f == "email" => "patient@example.com".to_owned(),
        VariantOrUnknownOrEmpty::Unknown(f) if f == "uri" || f == "url" => "https://example.com/".to_owned(),
        VariantOrUnknownOrEmpty::Unknown(f) if f == "uuid" => "00000000-0000-4000-8000-000000000000".to_owned(),
        _ if pattern == Some(r"^\d+$") => "1".to_owned(),
        _ => "string".to_owned(),
    };
    match min_length {
        Some(n) if value.len() < n => format!("{value}{}", "x".repeat(n - value.len())),
        _ => value,
    }
}

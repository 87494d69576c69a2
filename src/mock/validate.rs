//! Every request is checked against the document before it is answered, as Hero checks it: the
//! body present where the operation requires one and valid against its schema (a field the
//! schema does not have is refused, not dropped), path and query parameters of the right type,
//! pattern, enum and format, required ones present, no query parameter the operation lacks. Every problem goes into one 400 with Hero's
//! validation body (`{error, statusCode, message: [{code, expected, path}]}`).
//!
//! One validator for every operation: the JSON Schema build.rs derives from the document the
//! crate is generated from (`OUT_DIR/mock_requests.json`, see `hero_health_codegen::requests`),
//! checked by the `jsonschema` crate. The stateful handlers keep their own business rules on top
//! (a slot that is gone, a cancelled appointment).
//!
//! The `expected` text is written here from the kind of problem, never from the value sent: a
//! 400 must not echo patient data back into a log.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::{Map, Value, json};

use super::state::Answer;

#[derive(Debug, serde::Deserialize)]
struct Listing {
    #[serde(rename = "$defs")]
    defs: Map<String, Value>,
    operations: Vec<Operation>,
}

#[derive(Debug, serde::Deserialize)]
struct Operation {
    operation: String,
    path: String,
    parameters: Vec<Parameter>,
    body: Option<Body>,
}

#[derive(Debug, serde::Deserialize)]
struct Parameter {
    name: String,
    #[serde(rename = "in")]
    place: String,
    required: bool,
    kind: String,
    item_kind: Option<String>,
    schema: Value,
}

#[derive(Debug, serde::Deserialize)]
struct Body {
    required: bool,
    schema: Value,
}

/// An operation's validators, compiled on its first request.
struct Compiled {
    parameters: Option<jsonschema::Validator>,
    body: Option<jsonschema::Validator>,
}

fn listing() -> &'static Listing {
    static LISTING: OnceLock<Listing> = OnceLock::new();
    LISTING.get_or_init(|| {
        serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/mock_requests.json")))
            .unwrap_or(Listing { defs: Map::new(), operations: Vec::new() })
    })
}

fn compiled(index: usize) -> &'static Compiled {
    static COMPILED: OnceLock<Vec<OnceLock<Compiled>>> = OnceLock::new();
    let all = COMPILED.get_or_init(|| listing().operations.iter().map(|_| OnceLock::new()).collect());
    all[index].get_or_init(|| compile(&listing().operations[index]))
}

fn compile(operation: &Operation) -> Compiled {
    let mut places = Map::new();
    for place in ["path", "query"] {
        let of_place: Vec<&Parameter> = operation.parameters.iter().filter(|p| p.place == place).collect();
        if of_place.is_empty() {
            continue;
        }
        let properties: Map<String, Value> = of_place.iter().map(|p| (p.name.clone(), p.schema.clone())).collect();
        let required: Vec<&str> = of_place.iter().filter(|p| p.required).map(|p| p.name.as_str()).collect();
        places.insert(place.to_owned(), json!({"type": "object", "properties": properties, "required": required}));
    }
    let parameters = (!places.is_empty()).then(|| json!({"type": "object", "properties": places}));
    Compiled { parameters: parameters.as_ref().and_then(validator), body: operation.body.as_ref().and_then(|body| validator(&body.schema)) }
}

/// A validator for `schema` with the component schemas it reaches. A schema the crate cannot
/// compile validates nothing (the document itself is linted and generated in CI).
fn validator(schema: &Value) -> Option<jsonschema::Validator> {
    let mut root = match schema {
        Value::Object(map) => map.clone(),
        _ => return None,
    };
    root.insert("$defs".into(), Value::Object(reachable(schema)));
    jsonschema::options().with_draft(jsonschema::Draft::Draft202012).should_validate_formats(true).build(&Value::Object(root)).ok()
}

/// The `$defs` entries `schema` refers to, transitively.
fn reachable(schema: &Value) -> Map<String, Value> {
    let defs = &listing().defs;
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut pending = vec![schema];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
                    let name = name.replace("~1", "/").replace("~0", "~");
                    if let Some(def) = defs.get(&name)
                        && seen.insert(name)
                    {
                        pending.push(def);
                    }
                }
                pending.extend(map.values());
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    seen.into_iter().filter_map(|name| Some((name.clone(), defs.get(&name)?.clone()))).collect()
}

/// What the request carried, as the mock read it.
pub(super) struct Request<'a> {
    /// The operationId the request matched.
    pub operation: &'a str,
    /// The request path as sent (percent-encoded).
    pub path: &'a str,
    /// Every query pair, repeated keys kept.
    pub query: &'a [(String, String)],
    /// The body bytes (empty: none).
    pub body: &'a [u8],
}

/// `None` when the request is valid; otherwise Hero's 400 with every problem found.
pub(super) fn check(request: &Request<'_>) -> Option<Answer> {
    let index = listing().operations.iter().position(|o| o.operation == request.operation)?;
    let operation = &listing().operations[index];
    let compiled = compiled(index);
    let mut issues: Vec<Value> = Vec::new();
    // A query parameter the operation does not have is refused like a body field it does not
    // have: the typed client never sends one, so it is a mistake in hand-written code.
    for (name, _) in request.query {
        if !operation.parameters.iter().any(|p| p.place == "query" && p.name == *name)
            && !issues.iter().any(|i| i["path"][0] == name.as_str())
        {
            issues.push(json!({"code": "unrecognized_keys", "expected": "only the documented query parameters", "path": [name]}));
        }
    }
    if let Some(validator) = &compiled.parameters {
        let instance = parameters(operation, request);
        for error in validator.iter_errors(&instance) {
            // `/query/page_size` → `["page_size"]`: Hero's path names the parameter.
            let mut path: Vec<Value> = segments(error.instance_path()).into_iter().skip(1).collect();
            issues.push(issue(error.kind(), &mut path));
        }
    }
    if let Some(body) = &operation.body {
        let text = std::str::from_utf8(request.body).unwrap_or_default().trim();
        if text.is_empty() {
            if body.required {
                issues.push(json!({"code": "invalid_type", "expected": "a JSON request body", "path": []}));
            }
        } else {
            match serde_json::from_str::<Value>(text) {
                Err(_) => issues.push(json!({"code": "invalid_type", "expected": "a JSON request body", "path": []})),
                Ok(instance) => {
                    if let Some(validator) = &compiled.body {
                        for error in validator.iter_errors(&instance) {
                            let mut path = segments(error.instance_path());
                            issues.push(issue(error.kind(), &mut path));
                        }
                    }
                }
            }
        }
    }
    (!issues.is_empty()).then(|| (400, Some(json!({"error": true, "statusCode": 400, "message": issues}))))
}

/// `{"path": {...}, "query": {...}}`, each value read as the kind its schema wants (text that
/// is not that kind stays text, and fails the type check).
fn parameters(operation: &Operation, request: &Request<'_>) -> Value {
    let mut places: Map<String, Value> = Map::new();
    let template: Vec<&str> = operation.path.split('/').collect();
    let sent: Vec<&str> = request.path.trim_end_matches('/').split('/').collect();
    for parameter in &operation.parameters {
        let value = match parameter.place.as_str() {
            "path" => {
                let placeholder = format!("{{{}}}", parameter.name);
                let Some(position) = template.iter().position(|segment| *segment == placeholder) else { continue };
                let Some(raw) = sent.get(position) else { continue };
                let text = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
                read(&text, &parameter.kind)
            }
            "query" => {
                let values: Vec<&str> = request.query.iter().filter(|(k, _)| *k == parameter.name).map(|(_, v)| v.as_str()).collect();
                if values.is_empty() {
                    continue;
                }
                if parameter.kind == "array" {
                    let item = parameter.item_kind.as_deref().unwrap_or("string");
                    Value::Array(values.iter().flat_map(|v| v.split(',')).map(|v| read(v, item)).collect())
                } else {
                    read(values[values.len() - 1], &parameter.kind)
                }
            }
            _ => continue,
        };
        let place = places.entry(parameter.place.clone()).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = place {
            map.insert(parameter.name.clone(), value);
        }
    }
    for place in ["path", "query"] {
        places.entry(place).or_insert_with(|| Value::Object(Map::new()));
    }
    Value::Object(places)
}

/// Query text as a JSON value of `kind`, or the text itself when it is not one.
fn read(text: &str, kind: &str) -> Value {
    let parsed = match kind {
        // JSON's reading of a number (a huge one as a float): the schema's bounds, not the
        // width of a Rust integer, decide what is too big.
        "integer" if !is_integer_text(text) => None,
        "integer" | "number" => serde_json::from_str::<serde_json::Number>(text).ok().map(Value::Number),
        "boolean" => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

/// `-12`, `42`: what a query string's integer looks like (not `4.2e16`, not ` 7`).
fn is_integer_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn segments(location: &jsonschema::paths::Location) -> Vec<Value> {
    location
        .segments()
        .map(|segment| match segment {
            jsonschema::paths::LocationSegment::Property(name) => Value::String(name.into_owned()),
            jsonschema::paths::LocationSegment::Index(i) => Value::from(i),
        })
        .collect()
}

/// One entry of Hero's `message`, in zod's words (Hero validates with zod).
fn issue(kind: &ValidationErrorKind, path: &mut Vec<Value>) -> Value {
    let (code, expected) = match kind {
        ValidationErrorKind::Required { property } => {
            path.push(property.clone());
            ("invalid_type", "a value (the field is required)".to_owned())
        }
        ValidationErrorKind::Type { kind } => ("invalid_type", type_name(kind)),
        ValidationErrorKind::AdditionalProperties { unexpected } | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            // One issue per object: Hero names the first key it did not recognise.
            if let Some(first) = unexpected.first() {
                path.push(Value::String(first.clone()));
            }
            ("unrecognized_keys", "only the documented fields".to_owned())
        }
        ValidationErrorKind::Enum { options } => ("invalid_enum_value", format!("one of {options}")),
        ValidationErrorKind::Constant { expected_value } => ("invalid_literal", format!("{expected_value}")),
        ValidationErrorKind::Pattern { pattern } => ("invalid_string", format!("text matching {pattern}")),
        ValidationErrorKind::Format { format } => match format.as_str() {
            "date" | "date-time" => ("invalid_date", format!("a {format} (RFC 3339)")),
            other => ("invalid_string", format!("a valid {other}")),
        },
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::ExclusiveMinimum { limit } => {
            ("too_small", format!("at least {limit}"))
        }
        ValidationErrorKind::Maximum { limit } | ValidationErrorKind::ExclusiveMaximum { limit } => ("too_big", format!("at most {limit}")),
        ValidationErrorKind::MinLength { limit } => ("too_small", format!("at least {limit} characters")),
        ValidationErrorKind::MaxLength { limit } => ("too_big", format!("at most {limit} characters")),
        ValidationErrorKind::MinItems { limit } => ("too_small", format!("at least {limit} items")),
        ValidationErrorKind::MaxItems { limit } => ("too_big", format!("at most {limit} items")),
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::OneOfMultipleValid { .. } => {
            ("invalid_union", "one of the documented shapes".to_owned())
        }
        _ => ("custom", "a value the document allows".to_owned()),
    };
    json!({"code": code, "expected": expected, "path": path})
}

fn type_name(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(ty) => ty.to_string(),
        TypeKind::Multiple(types) => types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" or "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_of(operation: &str, path: &str, query: &[(&str, &str)], body: &str) -> Option<Value> {
        let query: Vec<(String, String)> = query.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        check(&Request { operation, path, query: &query, body: body.as_bytes() }).map(|(status, body)| {
            assert_eq!(status, 400);
            body.expect("Hero's validation body")["message"].clone()
        })
    }

    #[test]
    fn every_operation_of_the_document_has_validators_that_compile() {
        for (index, operation) in listing().operations.iter().enumerate() {
            let compiled = compiled(index);
            assert_eq!(compiled.body.is_some(), operation.body.is_some(), "{}", operation.operation);
            assert_eq!(compiled.parameters.is_some(), !operation.parameters.is_empty(), "{}", operation.operation);
        }
        assert!(listing().operations.len() > 60);
    }

    #[test]
    fn query_text_is_read_as_its_kind_before_it_is_checked() {
        let good = [("has_availability", "true"), ("location_ids", "1"), ("location_ids", "2")];
        assert_eq!(check_of("listAppointmentTypes", "/v1/appointment_types", &good, ""), None);
        let bad = [("has_availability", "null"), ("location_ids", "x")];
        let issues = check_of("listAppointmentTypes", "/v1/appointment_types", &bad, "").unwrap();
        let codes: Vec<(&str, &Value)> = issues.as_array().unwrap().iter().map(|i| (i["code"].as_str().unwrap(), &i["path"])).collect();
        assert!(codes.contains(&("invalid_type", &json!(["has_availability"]))), "{issues}");
        assert!(codes.contains(&("invalid_string", &json!(["location_ids", 0]))), "{issues}");
        assert_eq!(check_of("listAdmins", "/v1/admins", &[("page_size", "25")], ""), None);
        let size = check_of("listAdmins", "/v1/admins", &[("page_size", "null")], "").unwrap();
        assert_eq!((size[0]["code"].as_str(), &size[0]["path"]), (Some("invalid_type"), &json!(["page_size"])), "{size}");
        let dates = check_of("listSlots", "/v1/slots", &[("start_date", "2026-02-30")], "").unwrap();
        assert_eq!(dates[0]["code"], "invalid_date", "{dates}");
    }

    #[test]
    fn a_path_id_is_checked_after_percent_decoding() {
        assert_eq!(check_of("getPractitioner", "/v1/practitioners/12", &[], ""), None);
        let issues = check_of("getPractitioner", "/v1/practitioners/%F0%B9%B2%93", &[], "").unwrap();
        assert_eq!(issues[0]["code"], "invalid_string", "{issues}");
        assert_eq!(issues[0]["path"], json!(["id"]), "{issues}");
        // The value sent is never quoted back.
        assert!(!issues.to_string().contains('\u{79c93}'), "{issues}");
    }

    #[test]
    fn a_required_body_must_be_there_and_be_json() {
        let missing = check_of("createWebhook", "/v1/webhooks", &[], "").unwrap();
        assert_eq!((missing[0]["code"].as_str(), &missing[0]["path"]), (Some("invalid_type"), &json!([])));
        assert!(check_of("createWebhook", "/v1/webhooks", &[], "{not json").is_some());
    }
}

//! Rejects, before generation, what progenitor 0.15 would reject with an unhelpful message or
//! panic on with none (measured in `shared/research/progenitor-spike.md` §3). Every problem names
//! the operation (or the document location) and what to change.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use openapiv3::{OpenAPI, Parameter, PathStyle, QueryStyle, ReferenceOr, Response, StatusCode};

/// One thing the generator cannot handle, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `operationId` (or `METHOD /path` when it has none), or a JSON pointer into the document.
    pub location: String,
    /// What is wrong and what to do instead.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

fn problem(location: impl Into<String>, reason: impl Into<String>) -> Problem {
    Problem { location: location.into(), reason: reason.into() }
}

/// Request media types progenitor 0.15 can send (`method.rs: BodyContentType`).
const REQUEST_MEDIA_TYPES: &[&str] =
    &["application/json", "application/x-www-form-urlencoded", "application/octet-stream", "text/plain", "text/x-markdown"];

/// Checks on the raw YAML/JSON value: the OpenAPI version and the 3.1 schema keywords that make
/// `openapiv3` fail to parse (or typify panic) without saying where.
pub fn check_raw(doc: &yaml_serde::Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    match doc.get("openapi").and_then(|v| v.as_str()) {
        Some(v) if v.starts_with("3.0.") => {}
        Some(v) => problems.push(problem("/openapi", format!("version {v} is not supported: progenitor reads OpenAPI 3.0.x only"))),
        None => problems.push(problem("/openapi", "missing `openapi: 3.0.x` version field (is this an OpenAPI document?)")),
    }
    walk_raw(doc, &mut String::new(), false, &mut problems);
    problems
}

fn walk_raw(value: &yaml_serde::Value, pointer: &mut String, keys_are_names: bool, problems: &mut Vec<Problem>) {
    match value {
        yaml_serde::Value::Mapping(map) => {
            for (key, child) in map {
                let Some(key) = key.as_str() else { continue };
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                if !keys_are_names {
                    match (key, child) {
                        ("type", yaml_serde::Value::Sequence(_)) => problems.push(problem(
                            pointer.clone(),
                            "a list of types is OpenAPI 3.1; use one type plus `nullable: true`",
                        )),
                        ("type", yaml_serde::Value::String(t)) if t == "null" => {
                            problems.push(problem(pointer.clone(), "`type: 'null'` is OpenAPI 3.1; use `nullable: true` on the schema"))
                        }
                        ("const", _) => problems.push(problem(pointer.clone(), "`const` is OpenAPI 3.1; use a one-value `enum`")),
                        _ => {}
                    }
                }
                // Example payloads are data, not schema: skip them. Under `properties` (and other
                // name maps) the keys are user names, so `type`/`const` there are not keywords.
                if !matches!(key, "example" | "examples" | "x-examples") || keys_are_names {
                    let names = !keys_are_names
                        && matches!(key, "properties" | "schemas" | "paths" | "responses" | "parameters" | "requestBodies" | "securitySchemes" | "headers" | "content");
                    walk_raw(child, pointer, names, problems);
                }
                pointer.truncate(len);
            }
        }
        yaml_serde::Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                walk_raw(child, pointer, false, problems);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// Checks on the parsed document, operation by operation.
pub fn check(spec: &OpenAPI) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !spec.openapi.starts_with("3.0.") {
        problems.push(problem("/openapi", format!("version {} is not supported: progenitor reads OpenAPI 3.0.x only", spec.openapi)));
    }
    for (path, item) in &spec.paths.paths {
        if let ReferenceOr::Reference { reference } = item {
            problems.push(problem(path.clone(), format!("path item is a $ref ({reference}); inline it")));
        }
    }
    let mut seen: HashMap<&str, String> = HashMap::new();
    for (path, method, op) in spec.operations() {
        let here = format!("{} {path}", method.to_uppercase());
        let name = match op.operation_id.as_deref() {
            Some(id) => {
                if let Some(first) = seen.insert(id, here.clone()) {
                    problems.push(problem(id, format!("operationId used twice ({first} and {here}); make it unique")));
                }
                id.to_string()
            }
            None => {
                problems.push(problem(here.clone(), "no operationId; add one (it names the generated method)"));
                here.clone()
            }
        };
        check_responses(spec, &name, &op.responses, &mut problems);
        if let Some(body) = &op.request_body {
            match resolve(spec, body, "requestBodies", |c| &c.request_bodies) {
                Some(body) if body.content.len() > 1 => problems.push(problem(&name, format!(
                    "request body offers {} media types ({}); keep one (progenitor panics), preferably application/json",
                    body.content.len(),
                    body.content.keys().cloned().collect::<Vec<_>>().join(", ")
                ))),
                Some(body) => {
                    for media in body.content.keys() {
                        if !REQUEST_MEDIA_TYPES.contains(&media.as_str()) {
                            problems.push(problem(&name, format!("request media type {media} is not supported by progenitor; use application/json")));
                        }
                    }
                }
                None => problems.push(problem(&name, "request body $ref does not resolve")),
            }
        }
        let path_params = spec.paths.paths.get(path).and_then(ReferenceOr::as_item).map(|i| &i.parameters[..]).unwrap_or(&[]);
        for param in path_params.iter().chain(&op.parameters) {
            match resolve(spec, param, "parameters", |c| &c.parameters) {
                Some(Parameter::Cookie { parameter_data, .. }) => {
                    problems.push(problem(&name, format!("cookie parameter `{}` is not supported by progenitor; drop it", parameter_data.name)))
                }
                Some(Parameter::Query { parameter_data, style, .. }) if !matches!(style, QueryStyle::Form) => problems.push(problem(
                    &name,
                    format!("query parameter `{}` uses style {style:?}; progenitor supports only `form`", parameter_data.name),
                )),
                Some(Parameter::Path { parameter_data, style }) if !matches!(style, PathStyle::Simple) => problems.push(problem(
                    &name,
                    format!("path parameter `{}` uses style {style:?}; progenitor supports only `simple`", parameter_data.name),
                )),
                Some(_) => {}
                None => problems.push(problem(&name, "parameter $ref does not resolve")),
            }
        }
    }
    problems
}

/// progenitor gives each operation one success type and one error type and asserts it
/// (`method.rs: assert!(response_types.len() <= 1)`), counting `default` on both sides.
fn check_responses(spec: &OpenAPI, name: &str, responses: &openapiv3::Responses, problems: &mut Vec<Problem>) {
    let mut success = BTreeSet::new();
    let mut error = BTreeSet::new();
    let mut classify = |label: String, response: &ReferenceOr<Response>, is_success: bool, is_error: bool| {
        let Some(response) = resolve(spec, response, "responses", |c| &c.responses) else {
            problems.push(problem(name, format!("response {label} is a $ref that does not resolve")));
            return;
        };
        let body = match body_shape(response) {
            Ok(body) => body,
            Err(reason) => {
                problems.push(problem(name, format!("response {label}: {reason}")));
                return;
            }
        };
        if is_success {
            success.insert((body.clone(), label.clone()));
        }
        if is_error {
            error.insert((body, label));
        }
    };
    for (code, response) in &responses.responses {
        let (label, class) = match code {
            StatusCode::Code(c) => (c.to_string(), c / 100),
            StatusCode::Range(r) => (format!("{r}XX"), *r),
        };
        classify(label, response, class == 2, class == 4 || class == 5);
    }
    if let Some(default) = &responses.default {
        classify("default".into(), default, true, true);
    }
    for (side, set) in [("success", &success), ("error", &error)] {
        let shapes: BTreeSet<&String> = set.iter().map(|(shape, _)| shape).collect();
        if shapes.len() > 1 {
            let detail = set.iter().map(|(shape, label)| format!("{label} {}", short(shape))).collect::<Vec<_>>().join(", ");
            problems.push(problem(name, format!(
                "{side} responses have {} different body shapes ({detail}); progenitor allows one: merge them into one schema or drop the extra ones{}",
                shapes.len(),
                if set.iter().any(|(_, l)| l == "default") { " (a `default` response counts as both success and error)" } else { "" }
            )));
        }
    }
}

/// `none`, `raw`, or `json:<schema>`: the body shape progenitor derives a type from.
fn body_shape(response: &Response) -> Result<String, String> {
    match response.content.len() {
        0 => Ok("none".into()),
        1 => {
            let (media, content) = response.content.first().expect("one entry");
            if media == "application/json" || media.starts_with("application/json;") {
                match &content.schema {
                    Some(schema) => Ok(format!("json:{}", serde_json::to_string(schema).unwrap_or_default())),
                    None => Err(format!("{media} without a schema (progenitor panics); add a schema")),
                }
            } else {
                Ok("raw".into())
            }
        }
        n => Err(format!("{n} media types; keep one, preferably application/json")),
    }
}

fn short(shape: &str) -> String {
    if let Some(schema) = shape.strip_prefix("json:") {
        match serde_json::from_str::<serde_json::Value>(schema).ok().as_ref().and_then(|v| v.get("$ref")).and_then(|r| r.as_str()) {
            Some(reference) => format!("json {}", reference.rsplit('/').next().unwrap_or(reference)),
            None => "json (inline schema)".into(),
        }
    } else {
        format!("({shape} body)")
    }
}

/// `item` itself, or what its `$ref` names in `components/<section>` (`None` when it does not resolve).
pub fn resolve<'a, T>(
    spec: &'a OpenAPI,
    item: &'a ReferenceOr<T>,
    section: &str,
    get: impl Fn(&'a openapiv3::Components) -> &'a indexmap::IndexMap<String, ReferenceOr<T>>,
) -> Option<&'a T> {
    match item {
        ReferenceOr::Item(item) => Some(item),
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix(&format!("#/components/{section}/"))?;
            get(spec.components.as_ref()?).get(name)?.as_item()
        }
    }
}

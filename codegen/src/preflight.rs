//! Rejects, before generation, what progenitor 0.15 would reject with an unhelpful message or
//! panic on with none (each case was measured against progenitor 0.15; `tests/preflight.rs`
//! has a test per case). Every problem names the operation (or the document location) and what
//! to change.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::document::{REQUEST_MEDIA_TYPES, resolve};
use openapiv3::{OpenAPI, Parameter, PathStyle, QueryStyle, ReferenceOr, Response, SchemaKind, StatusCode};

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
                pointer.push_str(&crate::document::pointer_segment(key));
                if !keys_are_names {
                    match (key, child) {
                        ("type", yaml_serde::Value::Sequence(_)) => {
                            problems.push(problem(pointer.clone(), "a list of types is OpenAPI 3.1; use one type plus `nullable: true`"))
                        }
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
                        && matches!(
                            key,
                            "properties"
                                | "schemas"
                                | "paths"
                                | "responses"
                                | "parameters"
                                | "requestBodies"
                                | "securitySchemes"
                                | "headers"
                                | "content"
                        );
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
    check_schema_names(spec, &mut problems);
    check_schema_cycles(spec, &mut problems);
    let mut seen: HashMap<&str, String> = HashMap::new();
    let mut rust_names: HashMap<String, &str> = HashMap::new();
    for (path, method, op) in spec.operations() {
        let here = format!("{} {path}", method.to_uppercase());
        check_path_template(path, &here, &mut problems);
        let name = match op.operation_id.as_deref() {
            Some(id) => {
                if let Some(first) = seen.insert(id, here.clone()) {
                    problems.push(problem(id, format!("operationId used twice ({first} and {here}); make it unique")));
                } else if let Some(other) = rust_names.insert(rust_name_key(id), id) {
                    problems.push(problem(id, format!(
                        "operationId `{id}` and `{other}` become the same Rust method and builder (they differ only in case or separators); rename one"
                    )));
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
                Some(body) if body.content.len() > 1 => problems.push(problem(
                    &name,
                    format!(
                        "request body offers {} media types ({}); keep one (progenitor panics), preferably application/json",
                        body.content.len(),
                        body.content.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )),
                Some(body) => {
                    for media in body.content.keys() {
                        if !REQUEST_MEDIA_TYPES.contains(&media.as_str()) {
                            problems.push(problem(
                                &name,
                                format!("request media type {media} is not supported by progenitor; use application/json"),
                            ));
                        }
                    }
                }
                None => problems.push(problem(&name, "request body $ref does not resolve")),
            }
        }
        let path_params = spec.paths.paths.get(path).and_then(ReferenceOr::as_item).map(|i| &i.parameters[..]).unwrap_or(&[]);
        for param in path_params.iter().chain(&op.parameters) {
            match resolve(spec, param, "parameters", |c| &c.parameters) {
                Some(Parameter::Cookie { parameter_data, .. }) => problems
                    .push(problem(&name, format!("cookie parameter `{}` is not supported by progenitor; drop it", parameter_data.name))),
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

/// The key under which names collide once converted to Rust (`getThing`, `get_thing` and
/// `GetThing` all become `get_thing`/`GetThing`): lowercase letters and digits only.
fn rust_name_key(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Component schemas whose names differ only in case or separators become one Rust type twice.
fn check_schema_names(spec: &OpenAPI, problems: &mut Vec<Problem>) {
    let Some(components) = &spec.components else { return };
    let mut seen: HashMap<String, &str> = HashMap::new();
    for name in components.schemas.keys() {
        if let Some(other) = seen.insert(rust_name_key(name), name) {
            problems.push(problem(
                format!("#/components/schemas/{name}"),
                format!("schemas `{other}` and `{name}` become the same Rust type (they differ only in case or separators); rename one"),
            ));
        }
    }
}

/// A path template whose segment is empty, `.` or `..` names another path once a URL is parsed.
fn check_path_template(path: &str, here: &str, problems: &mut Vec<Problem>) {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    if !path.starts_with('/')
        || segments.iter().enumerate().any(|(i, s)| matches!(*s, "." | "..") || (s.is_empty() && i + 1 < segments.len()))
    {
        problems.push(problem(
            here,
            "the path template has an empty, `.` or `..` segment, which URL parsing would resolve to another path; fix the path",
        ));
    }
}

/// Schemas that contain themselves through `$ref`, `allOf`, `anyOf`, `oneOf` or `not`, with no
/// property or array in between: progenitor overflows its stack merging them, or emits a type
/// of infinite size (code that does not compile).
fn check_schema_cycles(spec: &OpenAPI, problems: &mut Vec<Problem>) {
    let Some(components) = &spec.components else { return };
    let names: Vec<&String> = components.schemas.keys().collect();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let edges: Vec<Vec<usize>> = components
        .schemas
        .values()
        .map(|schema| {
            let mut out = Vec::new();
            direct_refs(schema, &mut out);
            out.iter().filter_map(|name| index.get(name.as_str()).copied()).collect()
        })
        .collect();
    // Iterative depth-first search (a hostile document may chain thousands of schemas):
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; names.len()];
    let mut reported = BTreeSet::new();
    for start in 0..names.len() {
        if state[start] != 0 {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&target) = edges[node].get(*next) {
                *next += 1;
                match state[target] {
                    0 => {
                        state[target] = 1;
                        path.push((target, 0));
                    }
                    1 => {
                        let from = path.iter().position(|(n, _)| *n == target).unwrap_or(0);
                        let cycle: Vec<&str> =
                            path[from..].iter().map(|(n, _)| names[*n].as_str()).chain([names[target].as_str()]).collect();
                        if reported.insert(target) {
                            problems.push(problem(
                                format!("#/components/schemas/{}", names[target]),
                                format!(
                                    "the schema contains itself ({}) through $ref/allOf/anyOf/oneOf with no property or array in between; a type cannot contain itself, break the cycle",
                                    cycle.join(" -> ")
                                ),
                            ));
                        }
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                path.pop();
            }
        }
    }
}

/// Component names `schema` is made of directly: itself a `$ref`, or one of its composition
/// members (inline members are looked into; properties and items are not).
fn direct_refs(schema: &ReferenceOr<openapiv3::Schema>, out: &mut Vec<String>) {
    let mut pending = vec![schema];
    while let Some(schema) = pending.pop() {
        match schema {
            ReferenceOr::Reference { reference } => {
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    out.push(name.to_owned());
                }
            }
            ReferenceOr::Item(item) => match &item.schema_kind {
                SchemaKind::AllOf { all_of: members } | SchemaKind::AnyOf { any_of: members } | SchemaKind::OneOf { one_of: members } => {
                    pending.extend(members.iter());
                }
                SchemaKind::Not { not } => pending.push(not),
                _ => {}
            },
        }
    }
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

//! Makes every operation progenitor-safe: unique `operationId`s, one request media type, one
//! success body shape, one error body shape, no `default` response, and response schemas that
//! tolerate unknown fields. Progenitor 0.15 asserts one type per side and panics otherwise.

use std::collections::{BTreeSet, HashSet};

use yaml_serde::{Mapping, Value};

use super::document::METHODS;
use super::{Changes, Rule, pointer_segment};

/// Request media types in the order we prefer to keep them: the ones progenitor can send.
use crate::codegen::document::REQUEST_MEDIA_TYPES as REQUEST_PREFERENCE;

pub(super) fn normalise(document: &mut Value, changes: &mut Changes) {
    let Value::Mapping(doc) = document else { return };
    operation_ids(doc, changes);
    if let Some(Value::Mapping(components)) = doc.get_mut("components") {
        for (section, request) in [("requestBodies", true), ("responses", false)] {
            if let Some(Value::Mapping(entries)) = components.get_mut(section) {
                for (name, entry) in entries.iter_mut() {
                    let at = format!("#/components/{section}/{}", pointer_segment(name.as_str().unwrap_or_default()));
                    media_types(entry, request, &at, changes);
                }
            }
        }
    }
    // Before comparing shapes: `additionalProperties: false` alone must not make two shapes differ.
    closed_responses(doc, changes);
    let components = doc.get("components").cloned().unwrap_or(Value::Null);
    let mut new_schemas: Vec<(String, Value)> = Vec::new();
    let mut taken: HashSet<String> = components
        .get("schemas")
        .and_then(Value::as_mapping)
        .map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    for_each_operation(doc, |name, op| {
        if let Some(body) = op.get_mut("requestBody") {
            media_types(body, true, name, changes);
        }
        let Some(Value::Mapping(responses)) = op.get_mut("responses") else { return };
        for (_, response) in responses.iter_mut() {
            media_types(response, false, name, changes);
        }
        if responses.shift_remove("default").is_some() {
            changes.add(
                Rule::DefaultResponse,
                name,
                "dropped the `default` response (progenitor counts it as both success and error); unlisted statuses come back as unexpected responses",
            );
        }
        for side in [Side::Success, Side::Error] {
            one_shape(responses, side, name, &components, &mut taken, &mut new_schemas, changes);
        }
    });
    if !new_schemas.is_empty() {
        let components = doc.entry("components".into()).or_insert_with(|| Value::Mapping(Mapping::new()));
        if let Value::Mapping(components) = components {
            let schemas = components.entry("schemas".into()).or_insert_with(|| Value::Mapping(Mapping::new()));
            if let Value::Mapping(schemas) = schemas {
                for (name, schema) in new_schemas {
                    schemas.insert(name.into(), schema);
                }
            }
        }
    }
}

/// Calls `f(operation name, operation)` for every operation under `paths`, in document order.
fn for_each_operation(doc: &mut Mapping, mut f: impl FnMut(&str, &mut Mapping)) {
    for_each_route(doc, |method, path, op| {
        let name = op.get("operationId").and_then(Value::as_str).map_or_else(|| format!("{} {path}", method.to_uppercase()), str::to_owned);
        f(&name, op);
    });
}

/// Calls `f(method, path, operation)` for every operation under `paths`, in document order.
fn for_each_route(doc: &mut Mapping, mut f: impl FnMut(&str, &str, &mut Mapping)) {
    let Some(Value::Mapping(paths)) = doc.get_mut("paths") else { return };
    for (path, item) in paths.iter_mut() {
        let path = path.as_str().unwrap_or_default().to_owned();
        let Value::Mapping(item) = item else { continue };
        for method in METHODS {
            if let Some(Value::Mapping(op)) = item.get_mut(*method) {
                f(method, &path, op);
            }
        }
    }
}

/// Missing ids are made from method and path (`getV1AppointmentsByIdBook`); a repeated id gets
/// `_2`, `_3`… in document order. The id names the generated method, so it must be unique.
fn operation_ids(doc: &mut Mapping, changes: &mut Changes) {
    let mut all: HashSet<String> = HashSet::new();
    for_each_operation(doc, |_, op| {
        if let Some(id) = op.get("operationId").and_then(Value::as_str) {
            all.insert(id.to_owned());
        }
    });
    let mut seen: HashSet<String> = HashSet::new();
    for_each_route(doc, |method, path, op| {
        let (id, why) = match op.get("operationId").and_then(Value::as_str) {
            Some(id) if seen.insert(id.to_owned()) => return,
            Some(id) => (unique(id, "_", &mut all), format!("`{id}` is used twice")),
            None => (unique(&derived_id(method, path), "", &mut all), "it had none".to_string()),
        };
        seen.insert(id.clone());
        changes.add(Rule::OperationId, format!("{} {path}", method.to_uppercase()), format!("operationId → `{id}` ({why})"));
        op.insert("operationId".into(), id.into());
    });
}

fn derived_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let (prefix, words) = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => ("By", param),
            None => ("", segment),
        };
        id.push_str(prefix);
        id.push_str(&pascal(words));
    }
    id
}

/// `list_slots-v2` → `ListSlotsV2`.
fn pascal(words: &str) -> String {
    words
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

fn unique(base: &str, separator: &str, taken: &mut HashSet<String>) -> String {
    let mut candidate = base.to_owned();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{base}{separator}{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

fn is_json(media: &str) -> bool {
    let base = media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    base == "application/json" || (base.starts_with("application/") && base.ends_with("+json"))
}

/// The media-type rules of a request body or a response (`content` map), in place.
fn media_types(owner: &mut Value, request: bool, at: &str, changes: &mut Changes) {
    let Some(Value::Mapping(content)) = owner.get_mut("content") else { return };
    let what = if request { "request body" } else { "response" };
    // JSON spelled differently (problem+json, charset) is JSON to the generator's decoder.
    // springdoc writes `*/*` for a JSON answer it did not declare a type for: with a schema
    // that is not raw bytes, it is JSON.
    let wildcard = |(key, entry): (&Value, &Value)| {
        matches!(key.as_str(), Some("*/*" | "application/*"))
            && entry.get("schema").is_some_and(|s| s.get("format").and_then(Value::as_str) != Some("binary"))
    };
    if !content.contains_key("application/json")
        && let Some(key) = content
            .keys()
            .find(|k| k.as_str().is_some_and(is_json))
            .or_else(|| content.iter().find(|entry| wildcard(*entry)).map(|(k, _)| k))
            .cloned()
    {
        let renamed: Mapping =
            std::mem::take(content).into_iter().map(|(k, v)| if k == key { ("application/json".into(), v) } else { (k, v) }).collect();
        *content = renamed;
        changes.add(Rule::JsonMediaType, at, format!("{what} media type {} → application/json", key.as_str().unwrap_or_default()));
    }
    if content.len() > 1 {
        let keys: Vec<String> = content.keys().filter_map(|k| k.as_str().map(str::to_owned)).collect();
        let keep = if request {
            REQUEST_PREFERENCE.iter().find(|m| keys.iter().any(|k| k == *m)).map(|m| m.to_string())
        } else {
            keys.iter().find(|k| *k == "application/json").cloned()
        }
        .unwrap_or_else(|| keys[0].clone());
        content.retain(|k, _| k.as_str() == Some(&keep));
        let dropped: Vec<&str> = keys.iter().filter(|k| **k != keep).map(String::as_str).collect();
        let rule = if request { Rule::RequestMediaType } else { Rule::ResponseMediaType };
        changes.add(rule, at, format!("{what} keeps {keep}, dropped {}", dropped.join(", ")));
    }
    if !request
        && let Some(Value::Mapping(json)) = content.get_mut("application/json")
        && !json.contains_key("schema")
    {
        json.insert("schema".into(), Value::Mapping(Mapping::new()));
        changes.add(Rule::SchemalessJson, at, "JSON response without a schema gets `schema: {}` (any JSON value)");
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Success,
    Error,
}

impl Side {
    fn includes(self, status: &str) -> bool {
        match self {
            Side::Success => status.starts_with('2'),
            Side::Error => status.starts_with('4') || status.starts_with('5'),
        }
    }
    fn rule(self) -> Rule {
        match self {
            Side::Success => Rule::SuccessShape,
            Side::Error => Rule::ErrorShape,
        }
    }
    fn word(self) -> &'static str {
        match self {
            Side::Success => "success",
            Side::Error => "error",
        }
    }
    fn suffix(self) -> &'static str {
        match self {
            Side::Success => "Response",
            Side::Error => "Error",
        }
    }
}

/// The body a response has, as the generator sees it.
#[derive(Clone, PartialEq)]
enum Body {
    None,
    Raw,
    /// The schema as written, and as compared (one `$ref` level resolved).
    Json {
        written: Value,
        resolved: Value,
    },
}

fn status_text(key: &Value) -> String {
    match key {
        Value::Number(n) => n.to_string(),
        other => other.as_str().unwrap_or_default().to_owned(),
    }
}

/// A response with a `$ref` to `components/responses` replaced by what it points at.
fn resolved_response(response: &Value, components: &Value) -> Value {
    response
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/responses/"))
        .and_then(|name| components.get("responses")?.get(name))
        .cloned()
        .unwrap_or_else(|| response.clone())
}

fn body(response: &Value, components: &Value) -> Body {
    let response = resolved_response(response, components);
    let Some(Value::Mapping(content)) = response.get("content") else { return Body::None };
    match content.get("application/json") {
        Some(json) => {
            let written = json.get("schema").cloned().unwrap_or(Value::Mapping(Mapping::new()));
            let resolved = written
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .and_then(|name| components.get("schemas")?.get(name))
                .cloned()
                .unwrap_or_else(|| written.clone());
            Body::Json { written, resolved }
        }
        None if content.is_empty() => Body::None,
        None => Body::Raw,
    }
}

/// Brings the responses of one side to one body shape:
/// - JSON bodies win over body-less and non-JSON ones, which are dropped (such a reply then
///   comes back as an unexpected response, status and body intact);
/// - identical JSON shapes written differently (a `$ref` and an inline copy) share one schema;
/// - different JSON shapes are merged into a new `oneOf` component (`<OperationId>Response` or
///   `<OperationId>Error`), which the generator turns into an untagged enum.
fn one_shape(
    responses: &mut Mapping,
    side: Side,
    name: &str,
    components: &Value,
    taken: &mut HashSet<String>,
    new_schemas: &mut Vec<(String, Value)>,
    changes: &mut Changes,
) {
    let entries: Vec<(Value, String, Body)> = responses
        .iter()
        .map(|(k, v)| (k.clone(), status_text(k), body(v, components)))
        .filter(|(_, status, _)| side.includes(status))
        .collect();
    let any_json = entries.iter().any(|(_, _, b)| matches!(b, Body::Json { .. }));
    let any_raw = entries.iter().any(|(_, _, b)| *b == Body::Raw);
    for (key, status, b) in &entries {
        let drop = match b {
            Body::Json { .. } => false,
            Body::Raw => any_json,
            Body::None => any_json || any_raw,
        };
        if drop {
            responses.shift_remove(key);
            let kind = if *b == Body::None { "no body" } else { "a non-JSON body" };
            changes.add(
                side.rule(),
                name,
                format!("dropped {status} ({kind}) beside a {} one: progenitor allows one {} body shape; a {status} reply comes back as an unexpected response", if any_json { "JSON" } else { "non-JSON" }, side.word()),
            );
        }
    }
    // Distinct shapes, in status order, each with the schema as first written.
    let mut shapes: Vec<Shape> = Vec::new();
    for (_, status, b) in &entries {
        if let Body::Json { written, resolved } = b {
            match shapes.iter_mut().find(|shape| shape.resolved == *resolved) {
                Some(shape) => shape.statuses.push(status.clone()),
                None => shapes.push(Shape { resolved: resolved.clone(), written: written.clone(), statuses: vec![status.clone()] }),
            }
        }
    }
    // By status (a 400 before a 401): the merged name and the order an untagged enum tries its
    // variants in do not depend on where an overlay inserted a status.
    shapes.sort_by_key(|shape| shape.statuses.iter().map(|s| s.parse::<u16>().unwrap_or(u16::MAX)).min());
    let target = match shapes.len() {
        0 => return,
        1 => shapes[0].written.clone(),
        _ => {
            let members: Vec<Value> = shapes.iter().map(|shape| shape.written.clone()).collect();
            // Error shapes that are all components share one merged component, named after them
            // (`ValidationErrorOrErrorMessage`), across every operation that has the same ones:
            // one type for the whole API's errors rather than one per operation. (Success types
            // keep the operation's name: users hold them, and one rarely repeats.)
            let names: Option<Vec<String>> = if side == Side::Success {
                None
            } else {
                shapes
                    .iter()
                    .map(|shape| {
                        shape.written.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")).map(pascal)
                    })
                    .collect()
            };
            let reused = names.as_ref().and_then(|names| {
                let base = names.join("Or");
                new_schemas
                    .iter()
                    .find(|(name, schema)| name.starts_with(&base) && schema.get("oneOf") == Some(&Value::Sequence(members.clone())))
                    .map(|(name, _)| name.clone())
            });
            let component = match (reused, &names) {
                (Some(component), _) => component,
                (None, Some(names)) => {
                    let component = unique(&names.join("Or"), "", taken);
                    new_schemas.push((component.clone(), merged(side, &names.join(", "), &members)));
                    component
                }
                (None, None) => {
                    let component = unique(&format!("{}{}", pascal(name), side.suffix()), "", taken);
                    new_schemas.push((component.clone(), merged(side, &format!("of `{name}`"), &members)));
                    component
                }
            };
            let detail = shapes
                .iter()
                .map(|shape| format!("{} {}", shape.statuses.join("/"), schema_label(&shape.written)))
                .collect::<Vec<_>>()
                .join(", ");
            changes.add(
                side.rule(),
                name,
                format!("merged {} {} body shapes ({detail}) into oneOf component {component}", shapes.len(), side.word()),
            );
            let mut reference = Mapping::new();
            reference.insert("$ref".into(), format!("#/components/schemas/{component}").into());
            Value::Mapping(reference)
        }
    };
    for (key, status, b) in &entries {
        let Body::Json { written, .. } = b else { continue };
        if *written == target {
            continue;
        }
        if shapes.len() == 1 {
            changes.add(
                side.rule(),
                name,
                format!("{status} now uses the same schema as {} (the shapes are identical)", shapes[0].statuses[0]),
            );
        }
        if let Some(response) = responses.get_mut(key) {
            // A shared `components/responses` entry is left alone: this operation gets a copy.
            let mut copy = resolved_response(response, components);
            if let Some(json) = copy.get_mut("content").and_then(|c| c.get_mut("application/json")).and_then(Value::as_mapping_mut) {
                json.insert("schema".into(), target.clone());
            }
            *response = copy;
        }
    }
}

/// A `oneOf` component of `members`, saying where it came from (`of` names the bodies).
fn merged(side: Side, of: &str, members: &[Value]) -> Value {
    let mut merged = Mapping::new();
    let word = side.word();
    merged.insert(
        "description".into(),
        format!("One of the {word} bodies {of}, merged by `cargo xtask update-spec` (progenitor allows one {word} type per operation).")
            .into(),
    );
    merged.insert("oneOf".into(), Value::Sequence(members.to_vec()));
    Value::Mapping(merged)
}

/// One body shape of an operation's side (success or error), and the statuses that use it.
struct Shape {
    /// With `$ref`s followed: what decides whether two bodies are the same shape.
    resolved: Value,
    /// As the first status wrote it (a `$ref` stays a `$ref`).
    written: Value,
    /// The statuses with this shape, in document order.
    statuses: Vec<String>,
}

fn schema_label(schema: &Value) -> String {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r.rsplit('/').next().unwrap_or(r).to_owned(),
        None => "(inline)".to_owned(),
    }
}

/// `additionalProperties: false` on a response schema makes the generator emit
/// `deny_unknown_fields`: the day Hero adds a field, decoding fails. It is dropped from every
/// schema a response reaches (inline or through `$ref`, transitively).
fn closed_responses(doc: &mut Mapping, changes: &mut Changes) {
    let mut pending: Vec<String> = Vec::new();
    for_each_operation(doc, |name, op| {
        let Some(Value::Mapping(responses)) = op.get_mut("responses") else { return };
        for (status, response) in responses.iter_mut() {
            let at = format!("{name} response {}", status_text(status));
            open_content(response, &at, &mut pending, changes);
        }
    });
    let Some(Value::Mapping(components)) = doc.get_mut("components") else { return };
    if let Some(Value::Mapping(responses)) = components.get_mut("responses") {
        for (name, response) in responses.iter_mut() {
            let at = format!("#/components/responses/{}", pointer_segment(name.as_str().unwrap_or_default()));
            open_content(response, &at, &mut pending, changes);
        }
    }
    let Some(Value::Mapping(schemas)) = components.get_mut("schemas") else { return };
    let mut done: BTreeSet<String> = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = schemas.get_mut(name.as_str()) {
            open(schema, &format!("#/components/schemas/{}", pointer_segment(&name)), &mut pending, changes);
        }
    }
}

fn open_content(response: &mut Value, at: &str, pending: &mut Vec<String>, changes: &mut Changes) {
    let Some(Value::Mapping(content)) = response.get_mut("content") else { return };
    for (_, media) in content.iter_mut() {
        if let Some(schema) = media.get_mut("schema") {
            open(schema, at, pending, changes);
        }
    }
}

fn open(schema: &mut Value, at: &str, pending: &mut Vec<String>, changes: &mut Changes) {
    let Value::Mapping(map) = schema else { return };
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        if let Some(name) = reference.strip_prefix("#/components/schemas/") {
            pending.push(name.to_owned());
        }
        return;
    }
    if map.get("additionalProperties") == Some(&Value::Bool(false)) {
        map.shift_remove("additionalProperties");
        changes.add(Rule::ClosedResponse, at, "dropped `additionalProperties: false` (responses must tolerate new fields)");
    }
    if let Some(Value::Mapping(properties)) = map.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            open(property, &format!("{at}/properties/{}", pointer_segment(name.as_str().unwrap_or_default())), pending, changes);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            open(child, &format!("{at}/{key}"), pending, changes);
        }
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Sequence(members)) = map.get_mut(combinator) {
            for (i, member) in members.iter_mut().enumerate() {
                open(member, &format!("{at}/{combinator}/{i}"), pending, changes);
            }
        }
    }
}

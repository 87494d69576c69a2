//! Bundles spelled the way published ones come, made from `openapi/upstream.yaml`, for the
//! real-bundle loop (`cargo xtask bundle-loop`).
//!
//! Each transformation is something real generators do to the same API:
//!
//! - [`redocly_31`]: an OpenAPI 3.1 bundle as Redocly writes one. Schemas used once are inline
//!   (progenitor would name them after the operation). `nullable` becomes type arrays and
//!   `anyOf` with `null`. Errors are `application/problem+json`. Ids carry `pattern: ^\d+$`
//!   inline. Schemas have `examples` lists. One NHS-number field has a pattern of its own.
//!   It also publishes what the overlay infers for List Slots (its paging parameters and its
//!   answer, inline), so the report has inferences that upstream now covers.
//! - [`nestjs`]: what `@nestjs/swagger` emits. `XController_verb` operationIds, every schema a
//!   `…Dto` component, OpenAPI 3.0.0.
//!
//! - [`shared_components`]: how Stoplight Studio and hand-written bundles share what repeats:
//!   a path's `{id}` declared once on the path item, paging parameters in
//!   `components/parameters`, repeated error answers in `components/responses`, repeated
//!   bodies in `components/requestBodies`.
//! - [`duplicated_inline`]: what bundlers write when one file refers to a schema another file
//!   also uses: the component stays, and a copy of it is written inline at the operation.
//! - [`fastapi`]: what FastAPI (pydantic) emits: OpenAPI 3.1, `get_thing_v1_things__id__get`
//!   operationIds, `anyOf: [T, {type: 'null'}]` for optional fields and a `title` on every
//!   scalar property.
//! - [`springdoc`]: what springdoc-openapi (Spring Boot) emits: OpenAPI 3.0.1, answers as
//!   `*/*`, `format: int64` on integers, and Java method names as operationIds
//!   (`findAll`, `findAll_1`, …).
//! - [`moved`]: the bundle differing from our reconstruction in several places at once: the
//!   admin path's parameter renamed (`{admin_id}`), Book Appointment published at `PATCH`, List
//!   Coupons gone, an operation we never saw added, and path-level parameters. It needs one
//!   accepted resolution (`drop-removed=GET /v1/invoicing/coupons`).
//!
//! All keep the rest of what upstream lacks lacking: Book Appointment (but in [`moved`]),
//! Delete a Webhook (and, in the NestJS one, the free-form slot list answer) stay the
//! overlay's to supply.

use std::collections::BTreeMap;

use yaml_serde::{Mapping, Value};

const SCHEMAS: &str = "#/components/schemas/";

/// A bundle style: how it is made from upstream, and what a maintainer decides on it.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Its name in the loop's output.
    pub name: &'static str,
    /// Makes the bundle from upstream.
    pub make: fn(&Value) -> Value,
    /// The `--accept` resolutions it needs.
    pub accept: &'static [&'static str],
    /// The methods those resolutions drop.
    pub dropped: &'static [&'static str],
}

/// Every style the bundle loop swaps in.
pub const STYLES: [Style; 7] = [
    Style { name: "redocly-3.1", make: redocly_31, accept: &[], dropped: &[] },
    Style { name: "nestjs", make: nestjs, accept: &[], dropped: &[] },
    Style { name: "shared-components", make: shared_components, accept: &[], dropped: &[] },
    Style { name: "duplicated-inline", make: duplicated_inline, accept: &[], dropped: &[] },
    Style { name: "fastapi", make: fastapi, accept: &[], dropped: &[] },
    Style { name: "springdoc", make: springdoc, accept: &[], dropped: &[] },
    Style { name: "moved", make: moved, accept: &["drop-removed=GET /v1/invoicing/coupons"], dropped: &["list_coupons"] },
];
const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// The Redocly-style 3.1 bundle.
pub fn redocly_31(upstream: &Value) -> Value {
    let mut doc = upstream.clone();
    set(&mut doc, "openapi", "3.1.0".into());
    if let Some(nhs) = schemas_mut(&mut doc)
        .and_then(|s| s.get_mut("PatientRegistration"))
        .and_then(|s| s.get_mut("properties"))
        .and_then(|p| p.get_mut("nhs_number"))
    {
        set(nhs, "pattern", "^\\d{10}$".into());
    }
    publish_the_slot_list(&mut doc);
    inline_single_use(&mut doc);
    walk_schemas_mut(&mut doc, &mut |schema| {
        to_type_arrays(schema);
        inline_id_pattern(schema);
        example_to_examples(schema);
    });
    if let Some(schemas) = schemas_mut(&mut doc) {
        schemas.shift_remove("Id");
    }
    for_each_operation(&mut doc, |_, _, op| {
        if let Some(Value::Mapping(responses)) = op.get_mut("responses") {
            for (status, response) in responses.iter_mut() {
                let status = status.as_str().map(str::to_owned).or_else(|| status.as_u64().map(|n| n.to_string())).unwrap_or_default();
                if status.starts_with('4') || status.starts_with('5') {
                    rename_key(response.get_mut("content"), "application/json", "application/problem+json");
                }
            }
        }
    });
    doc
}

/// The NestJS-style 3.0 bundle.
pub fn nestjs(upstream: &Value) -> Value {
    let mut doc = upstream.clone();
    set(&mut doc, "openapi", "3.0.0".into());
    let names: Vec<String> =
        schemas_mut(&mut doc).map(|s| s.keys().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default();
    if let Some(schemas) = schemas_mut(&mut doc) {
        let renamed: Mapping =
            std::mem::take(schemas).into_iter().map(|(k, v)| (Value::from(format!("{}Dto", k.as_str().unwrap_or_default())), v)).collect();
        *schemas = renamed;
    }
    rewrite_refs(&mut doc, &|reference| {
        reference.strip_prefix(SCHEMAS).filter(|n| names.iter().any(|m| m == n)).map(|n| format!("{SCHEMAS}{n}Dto"))
    });
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for_each_operation(&mut doc, |path, method, op| {
        let tag = op.get("tags").and_then(|t| t.get(0)).and_then(Value::as_str).unwrap_or("App");
        let controller: String = tag.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(capitalise).collect();
        let last = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or_default();
        let verb = match (method, last.starts_with('{'), path.matches('{').count()) {
            ("get", true, _) => "findOne".to_owned(),
            ("get", false, 0) => "findAll".to_owned(),
            ("post", false, 0) => "create".to_owned(),
            ("put" | "patch", true, _) => "update".to_owned(),
            ("delete", _, _) => "remove".to_owned(),
            (_, _, _) => last.split(['-', '_']).enumerate().map(|(i, w)| if i == 0 { w.to_owned() } else { capitalise(w) }).collect(),
        };
        let mut id = format!("{controller}Controller_{verb}");
        let n = used.entry(id.clone()).or_default();
        *n += 1;
        if *n > 1 {
            id = format!("{id}{n}");
        }
        set(op, "operationId", id.into());
    });
    doc
}

/// The Stoplight / hand-written style: what repeats is shared through components.
pub fn shared_components(upstream: &Value) -> Value {
    let mut doc = upstream.clone();
    path_level_ids(&mut doc);
    let mut parameters: Vec<(String, Value)> = Vec::new();
    let mut responses: Vec<(String, Value)> = Vec::new();
    let mut bodies: Vec<(String, Value)> = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for_each_operation(&mut doc, |_, _, op| {
        for response in op.get("responses").and_then(Value::as_mapping).into_iter().flat_map(|r| r.values()) {
            *counts.entry(text(response)).or_default() += 1;
        }
        if let Some(body) = op.get("requestBody") {
            *counts.entry(text(body)).or_default() += 1;
        }
    });
    for_each_operation(&mut doc, |_, _, op| {
        if let Some(Value::Sequence(params)) = op.get_mut("parameters") {
            for param in params.iter_mut() {
                let name = param.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let base = match name.as_str() {
                    "page_index" => "PageIndex",
                    "page_size" => "PageSize",
                    _ => continue,
                };
                let component = shared_name(&mut parameters, param, base);
                *param = reference("parameters", &component);
            }
        }
        if let Some(Value::Mapping(answers)) = op.get_mut("responses") {
            for (status, response) in answers.iter_mut() {
                let status = status.as_str().map(str::to_owned).or_else(|| status.as_u64().map(|n| n.to_string())).unwrap_or_default();
                if status.starts_with('2') || counts.get(&text(response)).copied().unwrap_or(0) < 2 {
                    continue;
                }
                let name = shared_name(&mut responses, response, &format!("Error{status}"));
                *response = reference("responses", &name);
            }
        }
        if let Some(body) = op.get_mut("requestBody")
            && counts.get(&text(body)).copied().unwrap_or(0) >= 2
        {
            let name = shared_name(&mut bodies, body, "Body");
            *body = reference("requestBodies", &name);
        }
    });
    if let Some(Value::Mapping(components)) = doc.get_mut("components") {
        components.insert("parameters".into(), Value::Mapping(parameters.into_iter().map(|(k, v)| (k.into(), v)).collect()));
        components.insert("responses".into(), Value::Mapping(responses.into_iter().map(|(k, v)| (k.into(), v)).collect()));
        components.insert("requestBodies".into(), Value::Mapping(bodies.into_iter().map(|(k, v)| (k.into(), v)).collect()));
    }
    doc
}

/// The bundler style: components also written out inline where an operation answers them.
pub fn duplicated_inline(upstream: &Value) -> Value {
    let mut doc = upstream.clone();
    let schemas = schemas_mut(&mut doc).cloned().unwrap_or_default();
    for_each_operation(&mut doc, |_, _, op| {
        let Some(Value::Mapping(answers)) = op.get_mut("responses") else { return };
        for response in answers.values_mut() {
            let Some(schema) = response.get_mut("content").and_then(|c| c.get_mut("application/json")).and_then(|m| m.get_mut("schema"))
            else {
                continue;
            };
            let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(SCHEMAS)).map(str::to_owned) else {
                continue;
            };
            if let Some(definition) = schemas.get(name.as_str())
                && definition.get("properties").and_then(Value::as_mapping).is_some_and(|p| p.len() >= 3)
            {
                *schema = definition.clone();
            }
        }
    });
    doc
}

/// The FastAPI style: 3.1, long snake-case operationIds, `anyOf` with `null`, scalar titles.
pub fn fastapi(upstream: &Value) -> Value {
    let mut doc = upstream.clone();
    set(&mut doc, "openapi", "3.1.0".into());
    for_each_operation(&mut doc, |path, method, op| {
        let summary = op.get("summary").and_then(Value::as_str).unwrap_or("call").to_owned();
        let words = |t: &str| {
            t.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_ascii_lowercase).collect::<Vec<_>>()
        };
        let path_words: String = path
            .split('/')
            .map(
                |segment| {
                    if segment.starts_with('{') { format!("_{}_", segment.trim_matches(['{', '}'])) } else { segment.replace('-', "_") }
                },
            )
            .collect::<Vec<_>>()
            .join("_");
        set(op, "operationId", format!("{}{}_{method}", words(&summary).join("_"), path_words).into());
    });
    walk_schemas_mut(&mut doc, &mut |schema| {
        let Value::Mapping(map) = schema else { return };
        if let Some(Value::Mapping(properties)) = map.get_mut("properties") {
            for (name, property) in properties.iter_mut() {
                let scalar = property.get("type").and_then(Value::as_str).is_some_and(|t| t != "object" && t != "array");
                if scalar && let (Value::Mapping(property), Some(name)) = (property, name.as_str()) {
                    let title: Vec<String> = name.split('_').map(capitalise).collect();
                    property.entry("title".into()).or_insert_with(|| title.join(" ").into());
                }
            }
        }
        if map.get("nullable").and_then(Value::as_bool) == Some(true) {
            map.shift_remove("nullable");
            let mut null = Mapping::new();
            null.insert("type".into(), "null".into());
            let member = match map.shift_remove("allOf") {
                Some(Value::Sequence(mut members)) if members.len() == 1 => members.remove(0),
                Some(other) => {
                    let mut m = Mapping::new();
                    m.insert("allOf".into(), other);
                    Value::Mapping(m)
                }
                None => Value::Mapping(std::mem::take(map)),
            };
            map.insert("anyOf".into(), Value::Sequence(vec![member, Value::Mapping(null)]));
        }
    });
    doc
}

/// The springdoc style: `*/*` answers, `int64` integers, Java method names.
pub fn springdoc(upstream: &Value) -> Value {
    let mut doc = upstream.clone();
    set(&mut doc, "openapi", "3.0.1".into());
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for_each_operation(&mut doc, |path, method, op| {
        let by_id = path.ends_with('}');
        let verb = match method {
            "get" if by_id => "findById",
            "get" => "findAll",
            "post" => "create",
            "delete" => "delete",
            _ => "update",
        };
        let n = used.entry(verb.to_owned()).or_default();
        set(op, "operationId", if *n == 0 { verb.to_owned() } else { format!("{verb}_{n}") }.into());
        *n += 1;
        if let Some(Value::Mapping(answers)) = op.get_mut("responses") {
            for (status, response) in answers.iter_mut() {
                if status.as_str().is_some_and(|s| s.starts_with('2')) {
                    rename_key(response.get_mut("content"), "application/json", "*/*");
                }
            }
        }
    });
    walk_schemas_mut(&mut doc, &mut |schema| {
        if let Value::Mapping(map) = schema
            && map.get("type").and_then(Value::as_str) == Some("integer")
            && !map.contains_key("format")
        {
            map.insert("format".into(), "int64".into());
        }
    });
    doc
}

/// A bundle that differs from ours in several places at once (see the module docs).
pub fn moved(upstream: &Value) -> Value {
    let mut doc = duplicated_inline(upstream);
    path_level_ids(&mut doc);
    let Some(Value::Mapping(paths)) = doc.get_mut("paths") else { return doc };
    // The admin path's parameter is called `admin_id` (the operation itself is unchanged).
    if let Some(mut item) = paths.shift_remove("/v1/admins/{id}") {
        rewrite_param_names(&mut item, "id", "admin_id");
        paths.insert("/v1/admins/{admin_id}".into(), item);
    }
    // List Coupons is gone.
    if let Some(Value::Mapping(item)) = paths.get_mut("/v1/invoicing/coupons") {
        item.shift_remove("get");
    }
    // Book Appointment is published, at PATCH, with the least a bundle says.
    let published: Value = yaml_serde::from_str(
        "patch:
  operationId: AppointmentsController_book
  summary: Book an Appointment
  parameters:
  - {name: id, in: path, required: true, schema: {type: string, pattern: '^\\d+$'}}
  responses:
    '200':
      description: The booked appointment
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Appointment'}
",
    )
    .unwrap_or(Value::Null);
    paths.insert("/v1/appointments/{id}/book".into(), published);
    // An operation we never saw.
    let added: Value = yaml_serde::from_str(
        "get:
  operationId: listAppointmentHistory
  summary: List an Appointment's history
  parameters:
  - {name: id, in: path, required: true, schema: {type: string}}
  responses:
    '200':
      description: Its changes
      content:
        application/json:
          schema: {type: object, properties: {data: {type: array, items: {type: object, properties: {at: {type: string, format: date-time}, change: {type: string}}}}, count: {type: integer}}}
",
    )
    .unwrap_or(Value::Null);
    paths.insert("/v1/appointments/{id}/history".into(), added);
    doc
}

/// Every path item whose operations all declare the same path parameters gets them once, on
/// the path item.
fn path_level_ids(doc: &mut Value) {
    let Some(Value::Mapping(paths)) = doc.get_mut("paths") else { return };
    for item in paths.values_mut() {
        let Value::Mapping(item) = item else { continue };
        let path_params = |op: &Value| -> Vec<Value> {
            op.get("parameters")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
                .cloned()
                .collect()
        };
        let lists: Vec<Vec<Value>> = METHODS.iter().filter_map(|m| item.get(*m)).map(path_params).collect();
        let Some(first) = lists.first().filter(|l| !l.is_empty()).cloned() else { continue };
        if lists.iter().any(|l| *l != first) {
            continue;
        }
        for method in METHODS {
            if let Some(Value::Sequence(params)) = item.get_mut(method).and_then(|op| op.get_mut("parameters")) {
                params.retain(|p| !first.contains(p));
            }
        }
        // Written first, as tools write the path item's own fields before its operations.
        let operations = std::mem::take(item);
        item.insert("parameters".into(), Value::Sequence(first));
        item.extend(operations);
    }
}

fn rewrite_param_names(item: &mut Value, from: &str, to: &str) {
    let Value::Mapping(item) = item else { return };
    let mut lists: Vec<&mut Value> = Vec::new();
    for (key, value) in item.iter_mut() {
        match key.as_str() {
            Some("parameters") => lists.push(value),
            Some(method) if METHODS.contains(&method) => lists.extend(value.get_mut("parameters")),
            _ => {}
        }
    }
    for list in lists {
        for param in list.as_sequence_mut().into_iter().flatten() {
            if param.get("name").and_then(Value::as_str) == Some(from) && param.get("in").and_then(Value::as_str) == Some("path") {
                set(param, "name", to.into());
            }
        }
    }
}

fn reference(section: &str, name: &str) -> Value {
    let mut map = Mapping::new();
    map.insert("$ref".into(), format!("#/components/{section}/{name}").into());
    Value::Mapping(map)
}

/// The name of `value` among `shared`, added under a new `base…` name if it is not there yet.
fn shared_name(shared: &mut Vec<(String, Value)>, value: &Value, base: &str) -> String {
    if let Some((name, _)) = shared.iter().find(|(_, v)| v == value) {
        return name.clone();
    }
    let taken = shared.iter().filter(|(n, _)| n.starts_with(base)).count();
    let name = if taken == 0 { base.to_owned() } else { format!("{base}{}", taken + 1) };
    shared.push((name.clone(), value.clone()));
    name
}

fn text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// List Slots as Hero may one day publish it: paged, answering `{data: [Slot], count}` inline.
fn publish_the_slot_list(doc: &mut Value) {
    let Some(op) = doc.get_mut("paths").and_then(|p| p.get_mut("/v1/slots")).and_then(|i| i.get_mut("get")) else { return };
    let published: Value = yaml_serde::from_str(
        "parameters:
- {name: page_index, in: query, required: false, schema: {type: integer, minimum: 0}, description: Zero-based page number.}
- {name: page_size, in: query, required: false, schema: {type: integer, minimum: 1}, description: Items per page.}
answer:
  type: object
  required: [data, count]
  properties:
    data: {type: array, items: {$ref: '#/components/schemas/Slot'}}
    count: {type: integer, description: Total number of slots matching the filters.}
",
    )
    .unwrap_or(Value::Null);
    if let (Some(Value::Sequence(params)), Some(Value::Sequence(extra))) = (op.get_mut("parameters"), published.get("parameters")) {
        params.extend(extra.iter().cloned());
    }
    let schema = op
        .get_mut("responses")
        .and_then(|r| r.get_mut("200"))
        .and_then(|r| r.get_mut("content"))
        .and_then(|c| c.get_mut("application/json"));
    if let (Some(media), Some(answer)) = (schema, published.get("answer")) {
        set(media, "schema", answer.clone());
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn set(map: &mut Value, key: &str, value: Value) {
    if let Value::Mapping(map) = map {
        map.insert(key.into(), value);
    }
}

fn rename_key(map: Option<&mut Value>, from: &str, to: &str) {
    if let Some(Value::Mapping(map)) = map
        && let Some(value) = map.shift_remove(from)
    {
        map.insert(to.into(), value);
    }
}

fn schemas_mut(doc: &mut Value) -> Option<&mut Mapping> {
    doc.get_mut("components")?.get_mut("schemas")?.as_mapping_mut()
}

fn for_each_operation(doc: &mut Value, mut f: impl FnMut(&str, &str, &mut Value)) {
    let Some(Value::Mapping(paths)) = doc.get_mut("paths") else { return };
    for (path, item) in paths.iter_mut() {
        let path = path.as_str().unwrap_or_default().to_owned();
        for method in METHODS {
            if let Some(op) = item.get_mut(method) {
                f(&path, method, op);
            }
        }
    }
}

fn rewrite_refs(value: &mut Value, new: &dyn Fn(&str) -> Option<String>) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map.iter_mut() {
                match (key.as_str(), child.as_str().and_then(new)) {
                    (Some("$ref"), Some(replacement)) => *child = replacement.into(),
                    _ => rewrite_refs(child, new),
                }
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(|item| rewrite_refs(item, new)),
        _ => {}
    }
}

/// Every schema position reachable in the document (components, parameters, bodies,
/// properties, items, compositions), each visited once.
fn walk_schemas_mut(doc: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    fn schema(value: &mut Value, f: &mut dyn FnMut(&mut Value)) {
        if let Value::Mapping(map) = value {
            if let Some(Value::Mapping(props)) = map.get_mut("properties") {
                props.values_mut().for_each(|p| schema(p, f));
            }
            for key in ["items", "additionalProperties", "not"] {
                if let Some(child @ Value::Mapping(_)) = map.get_mut(key) {
                    schema(child, f);
                }
            }
            for key in ["allOf", "anyOf", "oneOf"] {
                if let Some(Value::Sequence(members)) = map.get_mut(key) {
                    members.iter_mut().for_each(|m| schema(m, f));
                }
            }
        }
        f(value);
    }
    fn content(holder: &mut Value, f: &mut dyn FnMut(&mut Value)) {
        if let Some(Value::Mapping(content)) = holder.get_mut("content") {
            for media in content.values_mut() {
                if let Some(s) = media.get_mut("schema") {
                    schema(s, f);
                }
            }
        }
    }
    if let Some(schemas) = schemas_mut(doc) {
        schemas.values_mut().for_each(|s| schema(s, f));
    }
    for_each_operation(doc, |_, _, op| {
        if let Some(Value::Sequence(params)) = op.get_mut("parameters") {
            for param in params {
                if let Some(s) = param.get_mut("schema") {
                    schema(s, f);
                }
            }
        }
        if let Some(body) = op.get_mut("requestBody") {
            content(body, f);
        }
        if let Some(Value::Mapping(responses)) = op.get_mut("responses") {
            responses.values_mut().for_each(|r| content(r, f));
        }
    });
}

/// `nullable: true` → a type array with `null`, or `anyOf: [X, {type: 'null'}]`.
fn to_type_arrays(schema: &mut Value) {
    let Value::Mapping(map) = schema else { return };
    if map.get("nullable").and_then(Value::as_bool) != Some(true) {
        return;
    }
    map.shift_remove("nullable");
    match map.get("type").cloned() {
        Some(Value::String(t)) => {
            map.insert("type".into(), Value::Sequence(vec![t.into(), "null".into()]));
        }
        _ => {
            if let Some(Value::Sequence(mut members)) = map.shift_remove("allOf") {
                let mut null = Mapping::new();
                null.insert("type".into(), "null".into());
                members.push(Value::Mapping(null));
                map.insert("anyOf".into(), Value::Sequence(members));
            }
        }
    }
}

/// `$ref: Id` → the inline pattern string a bundle repeats on every id.
fn inline_id_pattern(schema: &mut Value) {
    let Value::Mapping(map) = schema else { return };
    if map.get("$ref").and_then(Value::as_str) == Some("#/components/schemas/Id") {
        map.shift_remove("$ref");
        map.insert("type".into(), "string".into());
        map.insert("pattern".into(), "^\\d+$".into());
    }
}

fn example_to_examples(schema: &mut Value) {
    if let Value::Mapping(map) = schema
        && let Some(example) = map.shift_remove("example")
    {
        map.insert("examples".into(), Value::Sequence(vec![example]));
    }
}

/// Components referenced exactly once, from an operation's body or answer, are written inline.
fn inline_single_use(doc: &mut Value) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    count_refs(doc, &mut counts);
    let Some(schemas) = schemas_mut(doc).cloned() else { return };
    let mut inlined = Vec::new();
    for_each_operation(doc, |_, _, op| {
        let Value::Mapping(op) = op else { return };
        let mut holders: Vec<&mut Value> = Vec::new();
        for (key, value) in op.iter_mut() {
            match (key.as_str(), value) {
                (Some("requestBody"), body) => holders.push(body),
                (Some("responses"), Value::Mapping(responses)) => holders.extend(responses.values_mut()),
                _ => {}
            }
        }
        for holder in holders {
            let Some(Value::Mapping(content)) = holder.get_mut("content") else { continue };
            for media in content.values_mut() {
                let Some(schema) = media.get_mut("schema") else { continue };
                let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(SCHEMAS)).map(str::to_owned) else {
                    continue;
                };
                if counts.get(&name) == Some(&1)
                    && let Some(definition) = schemas.get(name.as_str())
                {
                    *schema = definition.clone();
                    inlined.push(name);
                }
            }
        }
    });
    if let Some(schemas) = schemas_mut(doc) {
        for name in inlined {
            schemas.shift_remove(name.as_str());
        }
    }
}

fn count_refs(value: &Value, counts: &mut BTreeMap<String, usize>) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                if key.as_str() == Some("$ref")
                    && let Some(name) = child.as_str().and_then(|r| r.strip_prefix(SCHEMAS))
                {
                    *counts.entry(name.to_owned()).or_default() += 1;
                } else {
                    count_refs(child, counts);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| count_refs(item, counts)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream() -> Value {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(std::path::Path::new("."));
        yaml_serde::from_str(&std::fs::read_to_string(root.join(crate::effective::UPSTREAM_PATH)).unwrap()).unwrap()
    }

    #[test]
    fn the_redocly_bundle_is_31_with_inline_schemas_type_arrays_problem_json_and_id_patterns() {
        let text = yaml_serde::to_string(&redocly_31(&upstream())).unwrap();
        assert!(text.starts_with("openapi: 3.1.0"));
        for construct in ["- 'null'", "application/problem+json", "pattern: ^\\d+$", "pattern: ^\\d{10}$", "examples:"] {
            assert!(text.contains(construct), "{construct}");
        }
        assert!(!text.contains("nullable:"));
        assert!(!text.contains("#/components/schemas/Id'"));
        assert!(!text.contains("    AppointmentReservation:"), "used once: written inline");
        assert!(text.contains("Total number of slots matching the filters"), "the slot list is published");
    }

    #[test]
    fn the_nestjs_bundle_has_controller_operation_ids_and_dto_schemas() {
        let doc = nestjs(&upstream());
        let text = yaml_serde::to_string(&doc).unwrap();
        for construct in [
            "operationId: BookingController_findOne",
            "operationId: BookingController_cancel",
            "#/components/schemas/AppointmentDto",
            "    ValidationErrorDto:",
        ] {
            assert!(text.contains(construct), "{construct}");
        }
        assert!(!text.contains("operationId: getAppointment"));
        assert!(!text.contains("'#/components/schemas/Appointment'"));
    }

    #[test]
    fn the_other_styles_write_what_their_tools_write() {
        let shared = yaml_serde::to_string(&shared_components(&upstream())).unwrap();
        for construct in
            ["$ref: '#/components/parameters/PageSize'", "$ref: '#/components/responses/Error400'", "  /v1/admins/{id}:\n    parameters:"]
        {
            assert!(shared.contains(construct), "shared components: {construct}");
        }
        let duplicated = duplicated_inline(&upstream());
        let answer = &duplicated["paths"]["/v1/appointments/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(
            answer.get("properties").is_some() && duplicated["components"]["schemas"].get("Appointment").is_some(),
            "inline and a component"
        );
        let fastapi = yaml_serde::to_string(&fastapi(&upstream())).unwrap();
        for construct in
            ["openapi: 3.1.0", "title: Start Time", "- type: 'null'", "operationId: get_an_appointment_v1_appointments__id__get"]
        {
            assert!(fastapi.contains(construct), "fastapi: {construct}");
        }
        let spring = yaml_serde::to_string(&springdoc(&upstream())).unwrap();
        for construct in ["openapi: 3.0.1", "'*/*':", "format: int64", "operationId: findAll_1"] {
            assert!(spring.contains(construct), "springdoc: {construct}");
        }
        let moved = moved(&upstream());
        assert!(moved["paths"].get("/v1/admins/{admin_id}").is_some() && moved["paths"].get("/v1/admins/{id}").is_none());
        assert!(moved["paths"]["/v1/appointments/{id}/book"].get("patch").is_some());
        assert!(moved["paths"]["/v1/invoicing/coupons"].get("get").is_none());
    }

    /// The moved bundle: the admin pins follow the renamed parameter, the inferred Book
    /// Appointment gives way to the published PATCH, and List Coupons needs its decision.
    #[test]
    fn the_moved_bundle_is_followed_where_it_can_be_and_decided_where_it_cannot() {
        use crate::decisions::{Difference, Resolution, Route};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(std::path::Path::new("."));
        let overlay = crate::overlay::parse(&std::fs::read_to_string(root.join(crate::effective::OVERLAY_PATH)).unwrap()).unwrap();
        let text = yaml_serde::to_string(&moved(&upstream())).unwrap();
        let route = |r: &str| Route::parse(r).unwrap();
        let undecided = crate::effective::build(&text, &overlay, &[], "moved").unwrap();
        assert_eq!(undecided.undecided(), [&Difference::Removed { route: route("GET /v1/invoicing/coupons"), accepted: false }]);
        let accept = [Resolution::parse("drop-removed=GET /v1/invoicing/coupons").unwrap()];
        let effective = crate::effective::build(&text, &overlay, &accept, "moved").unwrap();
        for expected in [
            Difference::Moved {
                from: route("PATCH /v1/admins/{id}"),
                to: route("PATCH /v1/admins/{admin_id}"),
                inferred: false,
                accepted: false,
            },
            Difference::Moved {
                from: route("POST /v1/appointments/{id}/book"),
                to: route("PATCH /v1/appointments/{id}/book"),
                inferred: true,
                accepted: false,
            },
            Difference::Removed { route: route("GET /v1/invoicing/coupons"), accepted: true },
        ] {
            assert!(effective.differences.contains(&expected), "{expected}: {:#?}", effective.differences);
        }
        let book = &effective.document["paths"]["/v1/appointments/{id}/book"]["patch"];
        assert_eq!(book["operationId"].as_str(), Some("bookAppointment"), "the pin followed");
        assert!(book["responses"].get("400").is_some(), "the inference fills what the bundle leaves out: {book:?}");
        assert!(book.get("x-hero-inferred").is_none(), "published: no longer our guess");
        assert_eq!(book["x-hero-upstream-operation-id"].as_str(), Some("AppointmentsController_book"));
    }

    /// The types whose `Debug` the generator redacts by name (a 400's `ValidationIssue`) keep
    /// that name whatever a bundle calls them: NestJS's `ValidationIssueDto` once lost it, and
    /// with it the redaction of Hero's `expected` text.
    #[test]
    fn every_bundle_style_keeps_the_names_the_redaction_is_keyed_on() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(std::path::Path::new("."));
        let overlay = crate::overlay::parse(&std::fs::read_to_string(root.join(crate::effective::OVERLAY_PATH)).unwrap()).unwrap();
        for style in STYLES {
            let text = yaml_serde::to_string(&(style.make)(&upstream())).unwrap();
            let accept: Vec<crate::decisions::Resolution> =
                style.accept.iter().map(|a| crate::decisions::Resolution::parse(a).unwrap()).collect();
            let effective = crate::effective::build(&text, &overlay, &accept, style.name).unwrap();
            let style = style.name;
            let undecided: Vec<String> = effective.undecided().iter().map(ToString::to_string).collect();
            assert!(undecided.is_empty(), "{style}: {undecided:#?}");
            let schemas = &effective.document["components"]["schemas"];
            for name in ["ValidationError", "ValidationIssue"] {
                assert!(schemas.get(name).is_some(), "{style}: no `{name}` in the effective document");
            }
        }
    }
}

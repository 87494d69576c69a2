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
//! Both keep the rest of what upstream lacks lacking: Book Appointment, Delete a Webhook (and,
//! in the NestJS one, the free-form slot list answer) stay the overlay's to supply.

use std::collections::BTreeMap;

use yaml_serde::{Mapping, Value};

const SCHEMAS: &str = "#/components/schemas/";
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

    /// The types whose `Debug` the generator redacts by name (a 400's `ValidationIssue`) keep
    /// that name whatever a bundle calls them: NestJS's `ValidationIssueDto` once lost it, and
    /// with it the redaction of Hero's `expected` text.
    #[test]
    fn every_bundle_style_keeps_the_names_the_redaction_is_keyed_on() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(std::path::Path::new("."));
        let overlay = crate::overlay::parse(&std::fs::read_to_string(root.join(crate::effective::OVERLAY_PATH)).unwrap()).unwrap();
        for (style, bundle) in [("redocly", redocly_31(&upstream())), ("nestjs", nestjs(&upstream()))] {
            let text = yaml_serde::to_string(&bundle).unwrap();
            let effective = crate::effective::build(&text, &overlay, style).unwrap();
            let schemas = &effective.document["components"]["schemas"];
            for name in ["ValidationError", "ValidationIssue"] {
                assert!(schemas.get(name).is_some(), "{style}: no `{name}` in the effective document");
            }
        }
    }
}

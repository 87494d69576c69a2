//! One form for what OpenAPI lets a bundle write several ways, so that schema pins and overlay
//! targets meet the same shape whatever tool wrote the bundle:
//!
//! - `component-ref`: a `$ref` to `components/parameters`, `components/responses` or
//!   `components/requestBodies` is replaced by what it points at (and the section is dropped once
//!   nothing refers to it). Stoplight and hand-written bundles share parameters and error
//!   responses this way; Redocly and NestJS write them out at each operation.
//! - `path-parameters`: parameters declared once on the path item are merged into each of its
//!   operations (an operation's own parameter of the same name and location wins, as OpenAPI
//!   says).
//! - `same-schema`: an inline schema structurally equal to a component (descriptions, titles,
//!   examples and extensions aside) becomes a `$ref` to it. Bundlers inline a schema where one
//!   file refers to another, and keep it as a component where two files share it.

use std::collections::BTreeMap;

use yaml_serde::{Mapping, Value};

use super::document::METHODS;
use super::{Changes, Rule, pointer_segment};

/// The component sections whose uses are written out in place.
const SECTIONS: [&str; 3] = ["parameters", "responses", "requestBodies"];

/// How many `$ref`s to a component of [`SECTIONS`] are followed before giving up (a cycle).
const MAX_HOPS: usize = 16;

/// Keywords that say nothing about the shape: two schemas that differ only in these are one.
const ANNOTATIONS: [&str; 7] = ["description", "title", "example", "examples", "externalDocs", "deprecated", "readOnly"];

pub(super) fn normalise(document: &mut Value, changes: &mut Changes) {
    let Value::Mapping(doc) = document else { return };
    component_refs(doc, changes);
    path_parameters(doc, changes);
    same_schemas(doc, changes);
}

/// `component-ref`.
fn component_refs(doc: &mut Mapping, changes: &mut Changes) {
    let components = doc.get("components").cloned().unwrap_or(Value::Null);
    let Some(Value::Mapping(paths)) = doc.get_mut("paths") else { return };
    for (path, item) in paths.iter_mut() {
        let path = path.as_str().unwrap_or_default().to_owned();
        let Value::Mapping(item) = item else { continue };
        if let Some(Value::Sequence(params)) = item.get_mut("parameters") {
            for param in params.iter_mut() {
                inline(param, "parameters", &components, &format!("#/paths/{}", pointer_segment(&path)), changes);
            }
        }
        for method in METHODS {
            let Some(Value::Mapping(op)) = item.get_mut(*method) else { continue };
            let at = format!("{} {path}", method.to_uppercase());
            if let Some(Value::Sequence(params)) = op.get_mut("parameters") {
                params.iter_mut().for_each(|p| inline(p, "parameters", &components, &at, changes));
            }
            if let Some(body) = op.get_mut("requestBody") {
                inline(body, "requestBodies", &components, &at, changes);
            }
            if let Some(Value::Mapping(responses)) = op.get_mut("responses") {
                responses.values_mut().for_each(|r| inline(r, "responses", &components, &at, changes));
            }
        }
    }
    // A section nothing refers to any more (from outside itself) is dropped: the generator
    // ignores it, and the pins and the overlay must not find a second copy of what the
    // operations now hold.
    for section in SECTIONS {
        let mut rest = Value::Mapping(doc.clone());
        if let Some(Value::Mapping(components)) = rest.get_mut("components") {
            components.shift_remove(section);
        }
        let used = yaml_serde::to_string(&rest).unwrap_or_default().contains(&format!("#/components/{section}/"));
        let Some(Value::Mapping(components)) = doc.get_mut("components") else { return };
        if !used && let Some(Value::Mapping(entries)) = components.shift_remove(section) {
            changes.add(
                Rule::ComponentRef,
                format!("#/components/{section}"),
                format!(
                    "dropped {} entr{} after writing each use out in place",
                    entries.len(),
                    if entries.len() == 1 { "y" } else { "ies" }
                ),
            );
        }
    }
}

/// Replaces `value` (a `$ref` to `#/components/<section>/X`) by `X`, following chains.
fn inline(value: &mut Value, section: &str, components: &Value, at: &str, changes: &mut Changes) {
    let prefix = format!("#/components/{section}/");
    for _ in 0..MAX_HOPS {
        let Some(reference) = value.get("$ref").and_then(Value::as_str).map(str::to_owned) else { return };
        let Some(target) = reference.strip_prefix(&prefix).and_then(|name| components.get(section)?.get(unescape(name))) else { return };
        *value = target.clone();
        changes.add(Rule::ComponentRef, at, format!("wrote out {reference} in place"));
    }
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// `path-parameters`.
fn path_parameters(doc: &mut Mapping, changes: &mut Changes) {
    let Some(Value::Mapping(paths)) = doc.get_mut("paths") else { return };
    for (path, item) in paths.iter_mut() {
        let path = path.as_str().unwrap_or_default().to_owned();
        let Value::Mapping(item) = item else { continue };
        let Some(Value::Sequence(shared)) = item.shift_remove("parameters") else { continue };
        for method in METHODS {
            let Some(Value::Mapping(op)) = item.get_mut(*method) else { continue };
            let own: Vec<Value> = op.get("parameters").and_then(Value::as_sequence).cloned().unwrap_or_default();
            let taken: Vec<&Value> = shared.iter().filter(|p| !own.iter().any(|o| same_parameter(o, p))).collect();
            if taken.is_empty() {
                continue;
            }
            let names: Vec<String> = taken.iter().map(|p| parameter_label(p)).collect();
            // The path's parameters first: a path parameter keeps its place before the query.
            let merged = Value::Sequence(taken.into_iter().cloned().chain(own).collect());
            place_parameters(op, merged);
            changes.add(
                Rule::PathParameters,
                format!("{} {path}", method.to_uppercase()),
                format!("took {} from the path item", names.join(", ")),
            );
        }
    }
}

/// Sets `parameters` where a bundle that writes them per operation has them: in place if the
/// operation had its own, else before the body and the answers, so that the document (and the
/// generated code) is the same whichever way the bundle declared them.
fn place_parameters(op: &mut Mapping, parameters: Value) {
    if let Some(existing) = op.get_mut("parameters") {
        *existing = parameters;
        return;
    }
    let before = op.keys().position(|k| matches!(k.as_str(), Some("requestBody" | "responses" | "callbacks"))).unwrap_or(op.len());
    let entries: Vec<(Value, Value)> = std::mem::take(op).into_iter().collect();
    let mut parameters = Some(parameters);
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i == before
            && let Some(parameters) = parameters.take()
        {
            op.insert("parameters".into(), parameters);
        }
        op.insert(key, value);
    }
    if let Some(parameters) = parameters {
        op.insert("parameters".into(), parameters);
    }
}

fn same_parameter(a: &Value, b: &Value) -> bool {
    a.get("name") == b.get("name") && a.get("in") == b.get("in")
}

fn parameter_label(p: &Value) -> String {
    format!("`{}` ({})", p.get("name").and_then(Value::as_str).unwrap_or("?"), p.get("in").and_then(Value::as_str).unwrap_or("?"))
}

/// `same-schema`: components' own inline parts first (until nothing changes, so that a copy of
/// a component that holds copies of others is recognised), then every operation's schemas.
fn same_schemas(doc: &mut Mapping, changes: &mut Changes) {
    for _ in 0..MAX_HOPS {
        let known = components_by_shape(doc);
        if known.is_empty() {
            return;
        }
        let before = changes.len();
        if let Some(Value::Mapping(schemas)) = doc.get_mut("components").and_then(|c| c.get_mut("schemas")) {
            for (name, schema) in schemas.iter_mut() {
                let name = name.as_str().unwrap_or_default().to_owned();
                let at = format!("#/components/schemas/{}", pointer_segment(&name));
                children(schema, &at, &known, changes);
            }
        }
        if changes.len() == before {
            break;
        }
    }
    let known = components_by_shape(doc);
    if known.is_empty() {
        return;
    }
    let Some(Value::Mapping(paths)) = doc.get_mut("paths") else { return };
    for (path, item) in paths.iter_mut() {
        let path = path.as_str().unwrap_or_default().to_owned();
        for method in METHODS {
            let Some(Value::Mapping(op)) = item.get_mut(*method) else { continue };
            let at = format!("#/paths/{}/{method}", pointer_segment(&path));
            for (key, value) in op.iter_mut() {
                match key.as_str() {
                    Some("parameters") => {
                        for (i, param) in value.as_sequence_mut().into_iter().flatten().enumerate() {
                            if let Some(schema) = param.get_mut("schema") {
                                share(schema, &format!("{at}/parameters/{i}/schema"), &known, changes);
                            }
                        }
                    }
                    Some("requestBody") => media_schemas(value, &format!("{at}/requestBody"), &known, changes),
                    Some("responses") => {
                        for (status, response) in value.as_mapping_mut().into_iter().flatten() {
                            let status = status.as_str().map_or_else(|| super::brief(status), str::to_owned);
                            media_schemas(response, &format!("{at}/responses/{status}"), &known, changes);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

fn media_schemas(holder: &mut Value, at: &str, known: &Known, changes: &mut Changes) {
    let Some(Value::Mapping(content)) = holder.get_mut("content") else { return };
    for (name, media) in content.iter_mut() {
        if let Some(schema) = media.get_mut("schema") {
            let name = name.as_str().unwrap_or_default();
            share(schema, &format!("{at}/content/{}/schema", pointer_segment(name)), known, changes);
        }
    }
}

fn components_by_shape(doc: &Mapping) -> Known {
    let mut known = Known::new();
    let Some(Value::Mapping(schemas)) = doc.get("components").and_then(|c| c.get("schemas")) else { return known };
    for (name, schema) in schemas {
        if let (Some(name), true) = (name.as_str(), substantial(schema)) {
            known.entry(shape(schema, true)).or_default().push((name.to_owned(), schema.clone()));
        }
    }
    known
}

/// Component shape → the components of that shape (name and schema), in document order.
type Known = BTreeMap<String, Vec<(String, Value)>>;

/// The schema's inline parts, bottom-up, then the schema itself. (A component's root is never
/// passed here: [`children`] is called on it, so only its parts are shared.)
fn share(schema: &mut Value, at: &str, known: &Known, changes: &mut Changes) {
    children(schema, at, known, changes);
    if !substantial(schema) {
        return;
    }
    let Some(same) = known.get(&shape(schema, true)) else { return };
    let names: Vec<&str> = same.iter().filter(|(_, component)| is_copy(schema, component)).map(|(name, _)| name.as_str()).collect();
    let Some(name) = names.first().copied() else { return };
    let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
    *schema = super::schema_ref(name, nullable);
    let also = if names.len() > 1 {
        format!(" (the first of {} components of this shape: {})", names.len(), names.join(", "))
    } else {
        String::new()
    };
    changes.add(Rule::SameSchema, at, format!("an inline schema equal to {name} → $ref{also}"));
}

fn children(schema: &mut Value, at: &str, known: &Known, changes: &mut Changes) {
    let Value::Mapping(map) = schema else { return };
    if let Some(Value::Mapping(properties)) = map.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            let name = name.as_str().unwrap_or_default();
            share(property, &format!("{at}/properties/{}", pointer_segment(name)), known, changes);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child @ Value::Mapping(_)) = map.get_mut(key) {
            share(child, &format!("{at}/{key}"), known, changes);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Sequence(members)) = map.get_mut(key) {
            for (i, member) in members.iter_mut().enumerate() {
                share(member, &format!("{at}/{key}/{i}"), known, changes);
            }
        }
    }
}

/// An object with properties: the only shapes worth sharing. Enums and small objects coincide
/// across unrelated fields (`status: [active, inactive]`, `{id, name}`), and a coincidence taken
/// for a copy would give a field another resource's type.
fn substantial(schema: &Value) -> bool {
    let Value::Mapping(map) = schema else { return false };
    !map.contains_key("$ref") && map.get("properties").and_then(Value::as_mapping).is_some_and(|p| !p.is_empty())
}

/// How many properties make a shape distinctive on its own; a smaller object is taken for a
/// copy only if it also carries the component's own description or title, as a bundler's
/// copy does.
const DISTINCTIVE_PROPERTIES: usize = 3;

/// Whether `schema` is a copy of `component` (their [`shape`]s are already equal).
fn is_copy(schema: &Value, component: &Value) -> bool {
    let properties = schema.get("properties").and_then(Value::as_mapping).map_or(0, Mapping::len);
    if properties >= DISTINCTIVE_PROPERTIES {
        return true;
    }
    ["description", "title"].iter().any(|key| {
        let (a, b) = (schema.get(*key), component.get(*key));
        a.is_some() && a == b
    })
}

/// A canonical text of the schema's shape: keys sorted, annotations and extensions dropped,
/// `required` as a set; at the root also `nullable` (a nullable use of a component is still it).
fn shape(schema: &Value, root: bool) -> String {
    match schema {
        Value::Mapping(map) => {
            let mut entries: Vec<(String, String)> = map
                .iter()
                .filter_map(|(key, value)| {
                    let key = key.as_str().map_or_else(|| super::brief(key), str::to_owned);
                    if ANNOTATIONS.contains(&key.as_str()) || key.starts_with("x-") || (root && key == "nullable") {
                        return None;
                    }
                    let text = match (key.as_str(), value) {
                        ("required", Value::Sequence(names)) => {
                            let mut names: Vec<String> = names.iter().map(super::brief).collect();
                            names.sort();
                            names.join(",")
                        }
                        // Property names are data, not keywords: never dropped as annotations.
                        ("properties", Value::Mapping(props)) => {
                            let mut props: Vec<String> =
                                props.iter().map(|(k, v)| format!("{}={}", super::brief(k), shape(v, false))).collect();
                            props.sort();
                            props.join(";")
                        }
                        _ => shape(value, false),
                    };
                    Some((key, text))
                })
                .collect();
            entries.sort();
            let inner: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Sequence(items) => format!("[{}]", items.iter().map(|i| shape(i, false)).collect::<Vec<_>>().join(",")),
        other => super::brief(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (Value, Vec<String>) {
        let mut doc: Value = yaml_serde::from_str(text).unwrap();
        let mut changes = Changes::default();
        normalise(&mut doc, &mut changes);
        (doc, changes.0.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn path_level_parameters_are_merged_into_each_operation_and_the_operations_own_win() {
        let (doc, changes) = run("
paths:
  /v1/admins/{id}:
    parameters:
    - {name: id, in: path, required: true, schema: {type: string}}
    - {name: fields, in: query, schema: {type: string}}
    get:
      parameters:
      - {name: fields, in: query, schema: {type: integer}}
    patch: {responses: {}}
");
        let item = &doc["paths"]["/v1/admins/{id}"];
        assert!(item.get("parameters").is_none(), "the path item keeps none");
        let get = item["get"]["parameters"].as_sequence().unwrap();
        assert_eq!(get.len(), 2);
        assert_eq!(get[0]["name"].as_str(), Some("id"));
        assert_eq!(get[1]["schema"]["type"].as_str(), Some("integer"), "the operation's own `fields` wins");
        assert_eq!(item["patch"]["parameters"].as_sequence().unwrap().len(), 2);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(changes[0].contains("[path-parameters] GET /v1/admins/{id}: took `id` (path)"), "{changes:?}");
    }

    #[test]
    fn shared_parameters_responses_and_bodies_are_written_out_in_place() {
        let (doc, changes) = run("
paths:
  /v1/slots:
    parameters:
    - $ref: '#/components/parameters/PageSize'
    post:
      requestBody: {$ref: '#/components/requestBodies/SlotBody'}
      responses:
        '401': {$ref: '#/components/responses/Unauthorised'}
        '404': {$ref: '#/components/responses/Missing'}
components:
  parameters:
    PageSize: {name: page_size, in: query, schema: {type: integer}}
  requestBodies:
    SlotBody: {content: {application/json: {schema: {type: object}}}}
  responses:
    Missing: {$ref: '#/components/responses/Unauthorised'}
    Unauthorised: {description: no key}
");
        let op = &doc["paths"]["/v1/slots"]["post"];
        assert_eq!(op["parameters"][0]["name"].as_str(), Some("page_size"));
        assert!(op["requestBody"]["content"].get("application/json").is_some());
        assert_eq!(op["responses"]["404"]["description"].as_str(), Some("no key"), "a chain is followed");
        assert!(doc["components"].as_mapping().unwrap().is_empty(), "the sections are dropped: {doc:?}");
        assert!(changes.iter().any(|c| c.contains("[component-ref] #/components/parameters: dropped 1 entry")), "{changes:?}");
    }

    #[test]
    fn an_inline_copy_of_a_component_becomes_a_ref_to_it_whatever_its_descriptions_and_key_order() {
        let (doc, changes) = run("
paths:
  /v1/appointments/{id}:
    get:
      responses:
        '200':
          content:
            application/json:
              schema:
                description: The appointment (inline, as a bundler writes it)
                properties:
                  patient: {properties: {name: {type: string}}, type: object, description: A person}
                  start: {type: string}
                  id: {type: string, description: its id}
                required: [start, id]
                type: object
  /v1/appointments/{id}/history:
    get:
      responses:
        '200':
          content:
            application/json:
              schema: {type: object, minProperties: 1, required: [id, start], properties: {id: {type: string}, start: {type: string}, patient: {$ref: '#/components/schemas/Person'}}}
  /v1/appointments:
    get:
      responses:
        '200':
          content:
            application/json:
              schema:
                type: object
                properties:
                  data: {type: array, items: {type: object, required: [id, start], properties: {id: {type: string}, start: {type: string}, patient: {type: object, description: A person, properties: {name: {type: string}}}}, nullable: true}}
                  status: {type: string}
                  coupon: {type: object, properties: {name: {type: string}}}
components:
  schemas:
    Appointment:
      type: object
      required: [id, start]
      properties:
        id: {type: string}
        start: {type: string, description: When it starts}
        patient: {$ref: '#/components/schemas/Person'}
    Person:
      type: object
      description: A person
      properties:
        name: {type: string, description: Full name}
    Name: {type: string}
");
        let list_item = &doc["paths"]["/v1/appointments"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
            ["data"]["items"];
        assert_eq!(list_item["allOf"][0]["$ref"].as_str(), Some("#/components/schemas/Appointment"), "nested copies first: {list_item:?}");
        assert_eq!(list_item["nullable"].as_bool(), Some(true));
        let status =
            &doc["paths"]["/v1/appointments"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["status"];
        assert_eq!(status["type"].as_str(), Some("string"), "a bare string is never taken for `Name`");
        let coupon =
            &doc["paths"]["/v1/appointments"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["coupon"];
        assert!(coupon.get("$ref").is_none(), "a small object without Person's description is not taken for a Person: {coupon:?}");
        let one = &doc["paths"]["/v1/appointments/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(one["$ref"].as_str(), Some("#/components/schemas/Appointment"), "{one:?}");
        let other = &doc["paths"]["/v1/appointments/{id}/history"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert!(other.get("$ref").is_none(), "an extra keyword makes it another shape: {other:?}");
        assert!(changes.iter().any(|c| c.contains("[same-schema] #/paths/~1v1~1appointments/get/responses/200/content/application~1json/schema/properties/data/items: an inline schema equal to Appointment")), "{changes:?}");
    }

    #[test]
    fn a_shape_is_blind_to_annotations_but_not_to_property_names() {
        let a: Value = yaml_serde::from_str("{type: object, properties: {description: {type: string}}, x-note: a}").unwrap();
        let b: Value = yaml_serde::from_str("{properties: {description: {type: string, title: D}}, type: object}").unwrap();
        let c: Value = yaml_serde::from_str("{type: object, properties: {title: {type: string}}}").unwrap();
        assert_eq!(shape(&a, true), shape(&b, true));
        assert_ne!(shape(&a, true), shape(&c, true));
    }
}

//! Schema pins (`x-hero-schema-pins` in `openapi/overlay.yaml`): the Rust type names users and
//! the hand-written layer rely on, fixed by where the schema sits in an operation, never by
//! what the published bundle calls it.
//!
//! A bundle may name the slot list's item `SlotDto`, or leave it inline (progenitor would then
//! call it `ListSlotsResponseDataItem`). The pin `Slot` at `GET /v1/slots -> 200 -> data -> []`
//! renames the component, or makes the inline schema a component, so the type stays `Slot`.
//!
//! A location is an operation (`METHOD /path`) and then steps separated by `->`: first
//! `request` (the JSON request body), a status (`200`, the JSON answer) or `param <name>` (a
//! parameter's schema); then property names, or `[]` (array items). `$ref`s and
//! single-member `allOf`s are followed at each step.
//!
//! Pins run twice: before the overlay's actions (leniently: a location the bundle does not
//! describe yet is skipped, since an inference may supply it) and after them (strictly: every
//! pin must then name a component of its name).

use yaml_serde::{Mapping, Value};

use crate::overlay::{SchemaPin, key_is};

const SCHEMAS: &str = "#/components/schemas/";

/// Which of the two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Before the overlay: skip what cannot be resolved.
    Lenient,
    /// After the overlay: everything must resolve.
    Strict,
}

/// A pin that cannot be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schema pin {name} (at `{at}`) {problem}; fix the pin in openapi/overlay.yaml, or supply the schema with an inference")]
pub struct PinError {
    /// The pinned name.
    pub name: String,
    /// Its location.
    pub at: String,
    /// What is wrong.
    pub problem: String,
}

/// Where a pin's location leads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    /// A component schema.
    Component(String),
    /// An inline schema at this path from the root.
    Inline(Vec<Seg>),
    /// A free-form schema on the way: nothing described there to follow.
    Silent(String),
    /// The pinned schema itself is free-form (inline, at this path): an inference may still
    /// describe it; if none does, it is named as it is.
    FreeForm(Vec<Seg>),
    /// The operation, status or property is not there.
    Missing(String),
}

/// A path from the document's root, key by key.
type Seg = String;

/// What applying the pins did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// What they renamed or named (for the report).
    pub done: Vec<String>,
    /// The pins that could not be kept; the others were applied all the same.
    pub failed: Vec<PinError>,
}

/// Applies every pin it can, and says which it cannot keep (all of them, not only the first).
pub fn apply(document: &mut Value, pins: &[SchemaPin], pass: Pass) -> Applied {
    let mut applied = Applied::default();
    for pin in pins {
        if let Err(error) = apply_one(document, pin, pass, &mut applied.done) {
            applied.failed.push(error);
        }
    }
    applied
}

fn apply_one(document: &mut Value, pin: &SchemaPin, pass: Pass, done: &mut Vec<String>) -> Result<(), PinError> {
    let error = |problem: String| PinError { name: pin.name.clone(), at: pin.at.clone(), problem };
    match resolve(document, &pin.at, &pin.name).map_err(error)? {
        Found::Component(name) if name == pin.name && schemas(document).is_some_and(|s| s.contains_key(name.as_str())) => {}
        Found::Component(name) if name == pin.name => {
            if pass == Pass::Strict {
                return Err(error(format!("refers to #/components/schemas/{name}, which no schema (published or inferred) defines")));
            }
        }
        Found::Component(name) => {
            if schemas(document).is_some_and(|s| s.contains_key(pin.name.as_str())) {
                return Err(error(format!("leads to the schema {name}, and another schema is already called {}", pin.name)));
            }
            rename(document, &name, &pin.name);
            done.push(format!("{name} → {} (schema pin at `{}`)", pin.name, pin.at));
        }
        Found::FreeForm(_) if pass == Pass::Lenient => {}
        Found::Inline(path) | Found::FreeForm(path) => {
            if schemas(document).is_some_and(|s| s.contains_key(pin.name.as_str())) {
                return Err(error(format!("leads to an inline schema, and another schema is already called {}", pin.name)));
            }
            hoist(document, &path, &pin.name);
            done.push(format!("inline schema → {} (schema pin at `{}`)", pin.name, pin.at));
        }
        Found::Silent(_) | Found::Missing(_) if pass == Pass::Lenient => {}
        Found::Silent(where_) => return Err(error(format!("leads to a free-form schema ({where_}) that no inference describes"))),
        Found::Missing(what) => return Err(error(format!("cannot be followed: {what}"))),
    }
    Ok(())
}

/// Follows `at` through the document. `wanted` is the pinned name: a merged `oneOf` of
/// components (the error-shape rule's, `ValidationErrorOrErrorMessage`) is seen through to the
/// member the rest of the path leads to.
fn resolve(document: &Value, at: &str, wanted: &str) -> Result<Found, String> {
    let mut steps = at.split("->").map(str::trim);
    let operation = steps.next().unwrap_or_default();
    let (method, path) = operation.split_once(' ').ok_or_else(|| format!("`{operation}` is not `METHOD /path`"))?;
    let method = method.to_ascii_lowercase();
    let mut location = vec!["paths".into(), path.to_owned(), method.clone()];
    if get(document, &location).is_none() {
        return Ok(Found::Missing(format!("the document has no {} {path}", method.to_uppercase())));
    }
    let Some(step) = steps.next() else {
        return Err("names an operation but no `-> request` or `-> <status>` step".into());
    };
    if let Some(name) = step.strip_prefix("param ") {
        // A parameter's schema: `GET /v1/webhooks/{id} -> param id`.
        let Some(Value::Sequence(params)) = get(document, &location).and_then(|op| op.get("parameters")) else {
            return Ok(Found::Missing(format!("{operation} has no parameters")));
        };
        let Some(index) = params.iter().position(|p| p.get("name").and_then(Value::as_str) == Some(name)) else {
            return Ok(Found::Missing(format!("{operation} has no parameter `{name}`")));
        };
        location.extend(["parameters".into(), index.to_string(), "schema".into()]);
        if get(document, &location).is_none() {
            return Ok(Found::Missing(format!("{operation} parameter `{name}` has no schema")));
        }
    } else {
        let holder = if step == "request" { vec!["requestBody".into()] } else { vec!["responses".into(), step.to_owned()] };
        location.extend(holder);
        let Some(holder_value) = get(document, &location) else { return Ok(Found::Missing(format!("{operation} has no {step}"))) };
        if let Some(reference) = holder_value.get("$ref").and_then(Value::as_str) {
            let section = if step == "request" { "requestBodies" } else { "responses" };
            let name = reference
                .strip_prefix(&format!("#/components/{section}/"))
                .ok_or_else(|| format!("{reference} is not a local {section} reference"))?;
            location = vec!["components".into(), section.into(), name.to_owned()];
        }
        let Some(Value::Mapping(content)) = get(document, &location).and_then(|v| v.get("content")) else {
            return Ok(Found::Missing(format!("{operation} {step} has no body")));
        };
        let Some(media) = content.keys().filter_map(Value::as_str).find(|m| m.contains("json")) else {
            return Ok(Found::Missing(format!("{operation} {step} has no JSON body")));
        };
        location.extend(["content".into(), media.to_owned(), "schema".into()]);
        if get(document, &location).is_none() {
            return Ok(Found::Missing(format!("{operation} {step} has no schema")));
        }
    }
    walk(document, location, &steps.collect::<Vec<_>>(), wanted)
}

/// The rest of a pin's path (`message -> []`) from `location`.
fn walk(document: &Value, mut location: Vec<Seg>, steps: &[&str], wanted: &str) -> Result<Found, String> {
    for (i, step) in steps.iter().enumerate() {
        location = follow(document, location)?;
        let here = get(document, &location).unwrap_or(&Value::Null);
        if let Some(members) = merged_members(here) {
            // The one member where the rest of the path leads somewhere.
            let found: Vec<Found> = members
                .into_iter()
                .map(|member| walk(document, vec!["components".into(), "schemas".into(), member], &steps[i..], wanted))
                .collect::<Result<Vec<Found>, String>>()?
                .into_iter()
                .filter(|f| !matches!(f, Found::Missing(_)))
                .collect();
            return Ok(match <[Found; 1]>::try_from(found) {
                Ok([only]) => only,
                Err(found) if found.is_empty() => Found::Missing(format!("no `{step}` in any member of {}", describe(&location))),
                Err(_) => Found::Missing(format!("`{step}` is in several members of {}", describe(&location))),
            });
        }
        if silent(here) {
            return Ok(Found::Silent(describe(&location)));
        }
        location.extend(if *step == "[]" { vec!["items".into()] } else { vec!["properties".into(), (*step).to_owned()] });
        if get(document, &location).is_none() {
            return Ok(Found::Missing(format!("no `{step}` in {}", describe(&location[..location.len() - 1]))));
        }
    }
    let here = get(document, &location).unwrap_or(&Value::Null);
    if let Some(name) = reference_of(here) {
        let merged = schemas(document).and_then(|s| s.get(name.as_str())).and_then(merged_members);
        if name != wanted && merged.is_some_and(|members| members.iter().any(|m| m == wanted)) {
            return Ok(Found::Component(wanted.to_owned()));
        }
        return Ok(Found::Component(name));
    }
    Ok(if silent(here) { Found::FreeForm(location) } else { Found::Inline(location) })
}

/// The component names of a `oneOf` whose members are all `$ref`s (a merge of body shapes).
fn merged_members(schema: &Value) -> Option<Vec<String>> {
    let members = schema.get("oneOf")?.as_sequence()?;
    members.iter().map(|m| m.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(SCHEMAS)).map(str::to_owned)).collect()
}

/// Where a `$ref` (or a single-member `allOf` holding one) leads, repeatedly.
fn follow(document: &Value, mut location: Vec<Seg>) -> Result<Vec<Seg>, String> {
    for _ in 0..64 {
        let here = get(document, &location).unwrap_or(&Value::Null);
        if let Some(name) = reference_of(here) {
            location = vec!["components".into(), "schemas".into(), name];
        } else {
            return Ok(location);
        }
    }
    Err("follows more than 64 references (a cycle?)".into())
}

/// `X` for `{$ref: '#/components/schemas/X'}` or `{allOf: [{$ref: …X}], …}`.
fn reference_of(schema: &Value) -> Option<String> {
    let direct = |s: &Value| s.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix(SCHEMAS)).map(str::to_owned);
    direct(schema).or_else(|| match schema.get("allOf").and_then(Value::as_sequence) {
        Some(members) if members.len() == 1 => direct(&members[0]),
        _ => None,
    })
}

/// Free-form: no properties, items, composition or reference.
fn silent(schema: &Value) -> bool {
    match schema {
        Value::Mapping(map) => {
            !["properties", "items", "allOf", "anyOf", "oneOf", "$ref", "enum", "additionalProperties"].iter().any(|k| map.contains_key(*k))
                && map.get("type").and_then(Value::as_str).is_none_or(|t| t == "object")
        }
        _ => true,
    }
}

fn get<'a>(document: &'a Value, location: &[Seg]) -> Option<&'a Value> {
    let mut node = document;
    for seg in location {
        node = match node {
            Value::Sequence(items) => items.get(seg.parse::<usize>().ok()?)?,
            node => node.as_mapping()?.iter().find(|(k, _)| key_is(k, seg)).map(|(_, v)| v)?,
        };
    }
    Some(node)
}

fn get_mut<'a>(document: &'a mut Value, location: &[Seg]) -> Option<&'a mut Value> {
    let mut node = document;
    for seg in location {
        node = match node {
            Value::Sequence(items) => items.get_mut(seg.parse::<usize>().ok()?)?,
            node => node.as_mapping_mut()?.iter_mut().find(|(k, _)| key_is(k, seg)).map(|(_, v)| v)?,
        };
    }
    Some(node)
}

fn describe(location: &[Seg]) -> String {
    let text: String = location.iter().map(|seg| format!("/{}", crate::normalise::pointer_segment(seg))).collect();
    format!("#{text}")
}

fn schemas(document: &Value) -> Option<&Mapping> {
    document.get("components")?.get("schemas")?.as_mapping()
}

fn schemas_mut(document: &mut Value) -> Option<&mut Mapping> {
    let doc = document.as_mapping_mut()?;
    let components = doc.entry("components".into()).or_insert_with(|| Value::Mapping(Mapping::new())).as_mapping_mut()?;
    components.entry("schemas".into()).or_insert_with(|| Value::Mapping(Mapping::new())).as_mapping_mut()
}

/// Renames component `from` to `to` in place (same position) and rewrites every reference.
pub(crate) fn rename(document: &mut Value, from: &str, to: &str) {
    if let Some(schemas) = schemas_mut(document) {
        let renamed: Mapping = std::mem::take(schemas)
            .into_iter()
            .map(|(k, v)| if k.as_str() == Some(from) { (Value::from(to), v) } else { (k, v) })
            .collect();
        *schemas = renamed;
    }
    let (old, new) = (format!("{SCHEMAS}{from}"), format!("{SCHEMAS}{to}"));
    rewrite_refs(document, &old, &new);
}

fn rewrite_refs(value: &mut Value, old: &str, new: &str) {
    let mut pending = vec![value];
    while let Some(node) = pending.pop() {
        match node {
            Value::Mapping(map) => {
                for (key, child) in map.iter_mut() {
                    if key.as_str() == Some("$ref") && child.as_str() == Some(old) {
                        *child = Value::from(new);
                    } else {
                        pending.push(child);
                    }
                }
            }
            Value::Sequence(items) => pending.extend(items.iter_mut()),
            _ => {}
        }
    }
}

/// Moves the inline schema at `location` into `components/schemas/<name>` and refers to it.
fn hoist(document: &mut Value, location: &[Seg], name: &str) {
    let Some(node) = get_mut(document, location) else { return };
    let mut schema = std::mem::take(node);
    let nullable = schema.as_mapping_mut().and_then(|m| m.shift_remove("nullable")).and_then(|v| v.as_bool()) == Some(true);
    *node = crate::normalise::schema_ref(name, nullable);
    if let Some(schemas) = schemas_mut(document) {
        schemas.insert(name.into(), std::mem::take(&mut schema));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(name: &str, at: &str) -> SchemaPin {
        SchemaPin { name: name.into(), at: at.into(), description: "test".into() }
    }

    const DOC: &str = "
paths:
  /v1/slots:
    get:
      parameters:
      - {name: page_index, in: query, schema: {type: integer}}
      - {name: page_size, in: query, schema: {$ref: '#/components/schemas/PageSizeDto'}}
      responses:
        '200':
          content:
            application/json:
              schema:
                type: object
                properties:
                  data: {type: array, items: {$ref: '#/components/schemas/SlotDto'}}
                  count: {type: integer}
  /v1/appointments:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {a: {type: string}}}}}}
      responses:
        '200': {content: {application/json: {schema: {}}}}
components:
  schemas:
    PageSizeDto: {type: integer, minimum: 1}
    SlotDto:
      type: object
      properties:
        owner: {allOf: [{$ref: '#/components/schemas/SlotDto'}], nullable: true}
";

    #[test]
    fn a_component_is_renamed_and_an_inline_schema_named() {
        let mut doc: Value = yaml_serde::from_str(DOC).unwrap();
        let pins = [
            pin("Slot", "GET /v1/slots -> 200 -> data -> []"),
            pin("SlotList", "GET /v1/slots -> 200"),
            pin("AppointmentCreate", "POST /v1/appointments -> request"),
            pin("PageSize", "GET /v1/slots -> param page_size"),
        ];
        let Applied { done, failed } = apply(&mut doc, &pins, Pass::Strict);
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(done.len(), 4, "{done:?}");
        let schemas = schemas(&doc).unwrap();
        let names: Vec<&str> = schemas.keys().filter_map(Value::as_str).collect();
        assert_eq!(names, ["PageSize", "Slot", "SlotList", "AppointmentCreate"]);
        assert_eq!(
            doc["components"]["schemas"]["Slot"]["properties"]["owner"]["allOf"][0]["$ref"].as_str(),
            Some("#/components/schemas/Slot")
        );
        assert_eq!(
            doc["components"]["schemas"]["SlotList"]["properties"]["data"]["items"]["$ref"].as_str(),
            Some("#/components/schemas/Slot")
        );
        // Applying again changes nothing.
        assert_eq!(apply(&mut doc, &pins, Pass::Strict), Applied::default());
    }

    #[test]
    fn missing_locations_wait_in_the_lenient_pass_and_fail_in_the_strict_one() {
        let mut doc: Value = yaml_serde::from_str(DOC).unwrap();
        for at in ["POST /v1/appointments -> 200 -> data", "PATCH /v1/appointments/{id}/book -> 200", "GET /v1/slots -> 200 -> nope"] {
            assert_eq!(apply(&mut doc, &[pin("X", at)], Pass::Lenient), Applied::default(), "{at}");
            let error = apply(&mut doc, &[pin("X", at)], Pass::Strict).failed.remove(0);
            assert!(error.to_string().starts_with(&format!("schema pin X (at `{at}`)")), "{error}");
        }
        // A free-form answer waits for an inference, and is named as it is if none describes it.
        let free = [pin("Reserved", "POST /v1/appointments -> 200")];
        assert_eq!(apply(&mut doc, &free, Pass::Lenient), Applied::default());
        assert_eq!(apply(&mut doc, &free, Pass::Strict).done.len(), 1);
        assert!(schemas(&doc).unwrap().contains_key("Reserved"));
        let clash = apply(&mut doc, &[pin("SlotDto", "POST /v1/appointments -> request")], Pass::Strict).failed.remove(0);
        assert!(clash.problem.contains("already called SlotDto"), "{clash}");
    }

    #[test]
    fn every_pin_that_cannot_be_kept_is_named_in_one_pass_and_the_rest_are_applied() {
        let mut doc: Value = yaml_serde::from_str(DOC).unwrap();
        let pins =
            [pin("A", "GET /v1/gone -> 200"), pin("Slot", "GET /v1/slots -> 200 -> data -> []"), pin("B", "GET /v1/slots -> 200 -> nope")];
        let Applied { done, failed } = apply(&mut doc, &pins, Pass::Strict);
        assert_eq!(failed.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(done, ["SlotDto → Slot (schema pin at `GET /v1/slots -> 200 -> data -> []`)"]);
    }
}

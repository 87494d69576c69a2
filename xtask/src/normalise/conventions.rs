//! The SDK's conventions: one idea, one Rust type, in every operation.
//!
//! Hero's reference types the same field differently from page to page (a patient id is `Id` in
//! one schema and a plain string in the next; `page_index` is a string on two lists and an
//! integer on the others; counts are `number`). These rules make the document agree with itself,
//! always towards what the document already says somewhere, and never in a way that changes the
//! JSON a request carries for the same value:
//!
//! - `hero-id`: a plain string field whose name the document types as `Id` elsewhere, or names an
//!   id of a resource the booking guide calls numeric ("Appointment and related ids are numeric
//!   strings"), becomes `Id` (still a string on the wire; now checked before it is sent).
//! - `page-integers`: `page_index` / `page_size` parameters become `integer` (`u64`).
//! - `whole-numbers`: counts, durations, hours and number-typed ids become `integer` (`u64`).
//! - `date-format`: a string field with no format gets the `date` or `date-time` format the
//!   document gives the same name elsewhere (when every such place agrees, and the field's own
//!   example fits it). A query parameter gets `date` only: a `date-time` would change the text
//!   users send.
//!
//! Every change names the field it touched; the drift report lists them per rule.

use std::collections::{BTreeMap, BTreeSet};

use yaml_serde::{Mapping, Value};

use super::document::METHODS;
use super::{Changes, Rule, pointer_segment};

const ID_REF: &str = "#/components/schemas/Id";

/// The booking guide: "Appointment and related ids are numeric strings (pattern `^\d+$`)".
const BOOKING_ID_RESOURCES: &[&str] = &["appointment", "appointment_type", "billpayer", "location", "patient", "practitioner"];

/// A component named `<resource>` plus one of these holds that resource's own `id`.
const SAME_RESOURCE_SUFFIXES: &[&str] = &["", "_reservation", "_search_result", "_created", "_updated"];

/// Names whose `number` values are whole numbers by meaning.
fn is_whole_number_name(name: &str) -> bool {
    matches!(name, "count" | "duration" | "id") || ["_count", "_hours", "_minutes", "_id"].iter().any(|s| name.ends_with(s))
}

/// What the whole document says about names, gathered before anything changes.
#[derive(Debug, Default)]
struct Knowledge {
    /// Field names typed `Id` somewhere (other than `id` itself).
    id_names: BTreeSet<String>,
    /// Owners (component or property names, snake case) whose `id` is typed `Id` somewhere.
    id_owners: BTreeSet<String>,
    /// The string formats each field name has across the document.
    formats: BTreeMap<String, BTreeSet<String>>,
    /// The string examples each field name has across the document.
    examples: BTreeMap<String, BTreeSet<String>>,
    /// The document's own id component (`Id`, or a bundle's `IdDto` a schema pin renames).
    id_ref: String,
}

/// Where a schema sits: the field (property or parameter) it types and what that field is part of.
#[derive(Debug, Clone, Copy)]
struct Place<'a> {
    name: Option<&'a str>,
    owner: &'a str,
    query: bool,
}

pub(super) fn apply(document: &mut Value, changes: &mut Changes) {
    let mut knowledge = Knowledge { id_ref: id_component(document), ..Knowledge::default() };
    visit(document, &mut |schema, place, _| learn(schema, place, &mut knowledge));
    visit(document, &mut |schema, place, at| {
        // What `cargo xtask probe` saw Hero answer is left as observed.
        if schema.get("x-hero-observed").is_some() {
            return;
        }
        hero_id(schema, place, at, &knowledge, changes);
        page_integers(schema, place, at, changes);
        whole_numbers(schema, place, at, changes);
        date_format(schema, place, at, &knowledge, changes);
    });
}

/// Calls `f` on every schema position of the document, with its place and location.
fn visit(document: &mut Value, f: &mut dyn FnMut(&mut Value, Place<'_>, &str)) {
    let Value::Mapping(doc) = document else { return };
    if let Some(Value::Mapping(schemas)) = doc.get_mut("components").and_then(|c| c.get_mut("schemas")) {
        for (name, schema) in schemas.iter_mut() {
            let name = name.as_str().unwrap_or_default().to_owned();
            let at = format!("#/components/schemas/{}", pointer_segment(&name));
            walk(schema, Place { name: None, owner: &snake(&name), query: false }, &at, f);
        }
    }
    let Some(Value::Mapping(paths)) = doc.get_mut("paths") else { return };
    for (path, item) in paths.iter_mut() {
        let path = path.as_str().unwrap_or_default().to_owned();
        let Value::Mapping(item) = item else { continue };
        let item_at = format!("#/paths/{}", pointer_segment(&path));
        parameters(item.get_mut("parameters"), &item_at, f);
        for method in METHODS {
            let Some(Value::Mapping(op)) = item.get_mut(*method) else { continue };
            let op_at = format!("{item_at}/{method}");
            parameters(op.get_mut("parameters"), &op_at, f);
            let owner = op.get("operationId").and_then(Value::as_str).map(snake).unwrap_or_default();
            if let Some(Value::Mapping(content)) = op.get_mut("requestBody").and_then(|b| b.get_mut("content")) {
                for (media, body) in content.iter_mut() {
                    let at = format!("{op_at}/requestBody/content/{}/schema", pointer_segment(media.as_str().unwrap_or_default()));
                    if let Some(schema) = body.get_mut("schema") {
                        walk(schema, Place { name: None, owner: &owner, query: false }, &at, f);
                    }
                }
            }
            let Some(Value::Mapping(responses)) = op.get_mut("responses") else { continue };
            for (status, response) in responses.iter_mut() {
                let status = super::brief(status).trim_matches('"').to_owned();
                let Some(Value::Mapping(content)) = response.get_mut("content") else { continue };
                for (media, body) in content.iter_mut() {
                    let at = format!("{op_at}/responses/{status}/content/{}/schema", pointer_segment(media.as_str().unwrap_or_default()));
                    if let Some(schema) = body.get_mut("schema") {
                        walk(schema, Place { name: None, owner: &owner, query: false }, &at, f);
                    }
                }
            }
        }
    }
}

fn parameters(list: Option<&mut Value>, at: &str, f: &mut dyn FnMut(&mut Value, Place<'_>, &str)) {
    let Some(Value::Sequence(list)) = list else { return };
    for (i, parameter) in list.iter_mut().enumerate() {
        let Value::Mapping(parameter) = parameter else { continue };
        // `assignee_id[]` is the PHP/Rails spelling of an array parameter named `assignee_id`.
        let name = parameter.get("name").and_then(Value::as_str).unwrap_or_default().trim_end_matches("[]").to_owned();
        let query = parameter.get("in").and_then(Value::as_str) == Some("query");
        if let Some(schema) = parameter.get_mut("schema") {
            walk(schema, Place { name: Some(&name), owner: "", query }, &format!("{at}/parameters/{i}/schema"), f);
        }
    }
}

fn walk(schema: &mut Value, place: Place<'_>, at: &str, f: &mut dyn FnMut(&mut Value, Place<'_>, &str)) {
    if place.name.is_some() {
        f(schema, place, at);
    }
    let Value::Mapping(map) = schema else { return };
    if let Some(Value::Mapping(properties)) = map.get_mut("properties") {
        // The properties of a property's object belong to that property (`patient.id`).
        let owner = place.name.unwrap_or(place.owner).to_owned();
        for (key, child) in properties.iter_mut() {
            let key = key.as_str().unwrap_or_default().to_owned();
            let child_at = format!("{at}/properties/{}", pointer_segment(&key));
            walk(child, Place { name: Some(&key), owner: &owner, query: false }, &child_at, f);
        }
    }
    if let Some(items) = map.get_mut("items") {
        let singular = place.name.map(|n| n.strip_suffix("_ids").map_or_else(|| n.to_owned(), |stem| format!("{stem}_id")));
        walk(items, Place { name: singular.as_deref(), ..place }, &format!("{at}/items"), f);
    }
    for union in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Sequence(members)) = map.get_mut(union) {
            // A member types the same field (or is part of the same component).
            for (i, member) in members.iter_mut().enumerate() {
                walk(member, place, &format!("{at}/{union}/{i}"), f);
            }
        }
    }
}

/// `#/components/schemas/Id`, unless the document has no `Id` but another component that is
/// the numeric-id pattern (a NestJS bundle's `IdDto`): ids then refer to that one, and a
/// schema pin gives it the crate's name.
fn id_component(document: &Value) -> String {
    let schemas = document.get("components").and_then(|c| c.get("schemas")).and_then(Value::as_mapping);
    let Some(schemas) = schemas else { return ID_REF.to_owned() };
    if schemas.contains_key("Id") {
        return ID_REF.to_owned();
    }
    schemas
        .iter()
        .find(|(_, s)| {
            s.get("type").and_then(Value::as_str) == Some("string")
                && s.get("pattern").and_then(Value::as_str) == Some(super::schema::ID_PATTERN)
        })
        .and_then(|(name, _)| name.as_str())
        .map_or_else(|| ID_REF.to_owned(), |name| format!("#/components/schemas/{}", pointer_segment(name)))
}

fn learn(schema: &Value, place: Place<'_>, knowledge: &mut Knowledge) {
    let Some(name) = place.name else { return };
    if let Some(example) = schema.get("example").and_then(Value::as_str) {
        knowledge.examples.entry(name.to_owned()).or_default().insert(example.to_owned());
    }
    if is_id_ref(schema, &knowledge.id_ref) {
        // A path parameter's `id` belongs to no schema: it says nothing about other `id`s.
        if name == "id" {
            if !place.owner.is_empty() {
                knowledge.id_owners.insert(place.owner.to_owned());
            }
        } else {
            knowledge.id_names.insert(name.to_owned());
        }
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str)
        && schema.get("type").and_then(Value::as_str) == Some("string")
        && matches!(format, "date" | "date-time")
    {
        knowledge.formats.entry(name.to_owned()).or_default().insert(format.to_owned());
    }
}

/// `$ref: Id`, or `allOf: [$ref: Id]` (how a nullable or described id is written).
fn is_id_ref(schema: &Value, id_ref: &str) -> bool {
    let direct = |s: &Value| s.get("$ref").and_then(Value::as_str).is_some_and(|r| r == ID_REF || r == id_ref);
    direct(schema) || schema.get("allOf").and_then(Value::as_sequence).is_some_and(|m| m.len() == 1 && direct(&m[0]))
}

/// A `type: string` with nothing that constrains or reinterprets it.
fn is_plain_string(map: &Mapping) -> bool {
    map.get("type").and_then(Value::as_str) == Some("string")
        && map
            .keys()
            .filter_map(Value::as_str)
            .all(|k| matches!(k, "type" | "description" | "example" | "nullable" | "minLength" | "title") || k.starts_with("x-"))
}

fn hero_id(schema: &mut Value, place: Place<'_>, at: &str, knowledge: &Knowledge, changes: &mut Changes) {
    let (Some(name), Value::Mapping(map)) = (place.name, &*schema) else { return };
    if !is_plain_string(map) {
        return;
    }
    let why = if name == "id" {
        if place.owner.is_empty() {
            // A parameter named `id` (a link's id, a path id) is typed by its own operation.
            return;
        }
        let owned_by = |resource: &str| SAME_RESOURCE_SUFFIXES.iter().any(|suffix| place.owner == format!("{resource}{suffix}"));
        if knowledge.id_owners.iter().any(|o| owned_by(o)) {
            format!("`{}` ids are `Id` elsewhere in the document", place.owner)
        } else if BOOKING_ID_RESOURCES.iter().any(|r| owned_by(r)) {
            "the booking guide: appointment and related ids are numeric strings".to_owned()
        } else {
            return;
        }
    } else if knowledge.id_names.contains(name) {
        format!("`{name}` is `Id` elsewhere in the document")
    } else if name.strip_suffix("_id").is_some_and(|resource| BOOKING_ID_RESOURCES.contains(&resource)) {
        "the booking guide: appointment and related ids are numeric strings".to_owned()
    } else {
        return;
    };
    let mut replacement = Mapping::new();
    let nullable = map.get("nullable").and_then(Value::as_bool) == Some(true);
    let kept: Vec<(Value, Value)> = map
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), Some("type" | "nullable" | "minLength" | "example")))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut reference = Mapping::new();
    reference.insert("$ref".into(), knowledge.id_ref.as_str().into());
    if nullable || !kept.is_empty() {
        // `allOf` keeps the description (3.0 ignores siblings of `$ref`) and carries `nullable`,
        // which needs a `type` beside it (Redocly's nullable-type-sibling).
        if nullable {
            replacement.insert("type".into(), "string".into());
        }
        replacement.insert("allOf".into(), Value::Sequence(vec![Value::Mapping(reference)]));
        if nullable {
            replacement.insert("nullable".into(), true.into());
        }
        replacement.extend(kept);
    } else {
        replacement = reference;
    }
    changes.add(Rule::HeroId, at, format!("string → Id ({why})"));
    *schema = Value::Mapping(replacement);
}

fn page_integers(schema: &mut Value, place: Place<'_>, at: &str, changes: &mut Changes) {
    let (Some(name @ ("page_index" | "page_size")), true, Value::Mapping(map)) = (place.name, place.query, &mut *schema) else { return };
    let was = describe(map);
    if to_whole_number(map) {
        mark_published(map, &was);
        changes.add(Rule::PageIntegers, at, format!("`{name}`: {was} → integer (u64)"));
    }
}

fn whole_numbers(schema: &mut Value, place: Place<'_>, at: &str, changes: &mut Changes) {
    let (Some(name), Value::Mapping(map)) = (place.name, &mut *schema) else { return };
    if !is_whole_number_name(name) || !matches!(map.get("type").and_then(Value::as_str), Some("number" | "integer")) {
        return;
    }
    let was = describe(map);
    if to_whole_number(map) {
        mark_published(map, &was);
        changes.add(Rule::WholeNumbers, at, format!("`{name}`: {was} → integer (u64)"));
    }
}

/// `{type: integer, format: uint64}`; a `minimum` of 0 or 1 goes (typify would make a 1 into
/// `NonZeroU64`, which an integer literal cannot be passed as). True when something changed.
fn to_whole_number(map: &mut Mapping) -> bool {
    let before = map.clone();
    map.insert("type".into(), "integer".into());
    map.insert("format".into(), "uint64".into());
    if map.get("minimum").and_then(Value::as_f64).is_some_and(|m| m == 0.0 || m == 1.0) {
        map.shift_remove("minimum");
    }
    for key in ["example", "default"] {
        // `"0"` (a string parameter's example) becomes the number it stands for.
        if let Some(Value::String(text)) = map.get(key)
            && let Ok(n) = text.parse::<u64>()
        {
            map.insert(key.into(), n.into());
        }
    }
    *map != before
}

/// `x-hero-published`: what Hero's document said before a convention made the type stronger.
/// The generator reads received fields so marked liberally (`hero_health::Lenient`): the
/// stronger type is what we send, never a reason to fail an answer Hero's document allows.
/// Kept when a later run finds the field already converted, so the mark survives re-normalising.
pub(crate) const PUBLISHED: &str = "x-hero-published";

fn mark_published(map: &mut Mapping, was: &str) {
    if !map.contains_key(PUBLISHED) {
        // Only the type: `describe` adds the dropped minimum, which is a note for the report.
        let was = was.split(' ').next().unwrap_or(was);
        map.insert(PUBLISHED.into(), was.into());
    }
}

fn describe(map: &Mapping) -> String {
    let ty = map.get("type").and_then(Value::as_str).unwrap_or("?");
    let mut text = map.get("format").and_then(Value::as_str).map_or_else(|| ty.to_owned(), |f| format!("{ty}/{f}"));
    if let Some(min) = map.get("minimum").and_then(Value::as_f64) {
        text.push_str(&format!(" (minimum {min})"));
    }
    text
}

fn date_format(schema: &mut Value, place: Place<'_>, at: &str, knowledge: &Knowledge, changes: &mut Changes) {
    let (Some(name), Value::Mapping(map)) = (place.name, &mut *schema) else { return };
    if map.get("type").and_then(Value::as_str) != Some("string")
        || map.contains_key("format")
        || map.contains_key("enum")
        || map.contains_key("pattern")
    {
        return;
    }
    let Some(formats) = knowledge.formats.get(name) else { return };
    let [format] = formats.iter().collect::<Vec<_>>()[..] else { return };
    if place.query && format != "date" {
        return;
    }
    let fits = |example: &str| match format.as_str() {
        "date" => example.len() == 10 && example.as_bytes()[4] == b'-',
        _ => example.len() > 10 && example.as_bytes()[10] == b'T',
    };
    // Every example of the name must fit: `dob` is `date-time` in six schemas, but its
    // examples elsewhere are dates, so the document does not agree with itself there.
    if knowledge.examples.get(name).is_some_and(|examples| examples.iter().any(|e| !fits(e))) {
        return;
    }
    map.insert("format".into(), format.as_str().into());
    mark_published(map, "string");
    changes.add(Rule::DateFormat, at, format!("`{name}`: string → {format} (the document's format for `{name}` elsewhere)"));
}

/// `AppointmentType` → `appointment_type`; `listSlots` → `list_slots`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(yaml: &str) -> (Value, Vec<String>) {
        let mut document: Value = yaml_serde::from_str(yaml).unwrap();
        let mut changes = Changes::default();
        apply(&mut document, &mut changes);
        (document, changes.0.iter().map(|c| format!("[{}] {}", c.rule.name(), c.location)).collect())
    }

    const DOC: &str = r#"
openapi: 3.0.3
paths:
  /v1/slots:
    get:
      operationId: listSlots
      parameters:
      - {name: page_index, in: query, schema: {type: string, example: "0"}}
      - {name: page_size, in: query, schema: {type: integer, minimum: 1}}
      - {name: start_date, in: query, schema: {type: string}}
      - {name: created_at, in: query, schema: {type: string}}
      - {name: location_ids, in: query, schema: {type: array, items: {type: string}}}
      responses: {}
components:
  schemas:
    Id: {type: string, pattern: '^\d+$'}
    Appointment:
      properties:
        id: {$ref: '#/components/schemas/Id'}
        assignee_id: {$ref: '#/components/schemas/Id'}
        start_date: {type: string, format: date}
        created_at: {type: string, format: date-time}
    AppointmentReservation:
      properties:
        id: {type: string}
        count: {type: number}
        created_at: {type: string, example: '2020-01-01'}
    Webhook:
      properties:
        id: {type: string}
        assignee_id: {type: string, nullable: true, description: who}
        patient_id: {type: string}
        stripe_id: {type: string}
        duration: {type: number, minimum: 1}
        amount: {type: number}
        patient: {properties: {id: {type: string}}}
"#;

    #[test]
    fn each_convention_touches_what_it_names_and_nothing_else() {
        let (doc, changes) = run(DOC);
        let p = |pointer: &str| serde_json::to_value(&doc).unwrap().pointer(pointer).cloned().unwrap();
        assert_eq!(
            p("/paths/~1v1~1slots/get/parameters/0/schema"),
            serde_json::json!({"type": "integer", "format": "uint64", "example": 0, "x-hero-published": "string"})
        );
        assert_eq!(
            p("/paths/~1v1~1slots/get/parameters/1/schema"),
            serde_json::json!({"type": "integer", "format": "uint64", "x-hero-published": "integer"})
        );
        assert_eq!(p("/paths/~1v1~1slots/get/parameters/2/schema/format"), "date");
        // A date-time query parameter would change the text users send: left alone.
        assert!(p("/paths/~1v1~1slots/get/parameters/3/schema").get("format").is_none());
        assert_eq!(p("/paths/~1v1~1slots/get/parameters/4/schema/items/$ref"), ID_REF);
        assert_eq!(p("/components/schemas/AppointmentReservation/properties/id/$ref"), ID_REF);
        assert_eq!(
            p("/components/schemas/AppointmentReservation/properties/count"),
            serde_json::json!({"type": "integer", "format": "uint64", "x-hero-published": "number"})
        );
        // Its example is a date, not a date-time: the document contradicts itself, left alone.
        assert!(p("/components/schemas/AppointmentReservation/properties/created_at").get("format").is_none());
        assert_eq!(
            p("/components/schemas/Webhook/properties/assignee_id"),
            serde_json::json!({"type": "string", "allOf": [{"$ref": ID_REF}], "nullable": true, "description": "who"})
        );
        assert_eq!(p("/components/schemas/Webhook/properties/patient_id/$ref"), ID_REF);
        assert_eq!(p("/components/schemas/Webhook/properties/patient/properties/id/$ref"), ID_REF);
        // Not a Hero resource id, and not a whole number by name.
        assert_eq!(p("/components/schemas/Webhook/properties/id"), serde_json::json!({"type": "string"}));
        assert_eq!(p("/components/schemas/Webhook/properties/stripe_id"), serde_json::json!({"type": "string"}));
        assert_eq!(p("/components/schemas/Webhook/properties/amount"), serde_json::json!({"type": "number"}));
        assert_eq!(
            p("/components/schemas/Webhook/properties/duration"),
            serde_json::json!({"type": "integer", "format": "uint64", "x-hero-published": "number"})
        );
        assert_eq!(p("/paths/~1v1~1slots/get/parameters/2/schema/x-hero-published"), "string", "what Hero published is kept");
        assert_eq!(changes.len(), 10, "{changes:#?}");
    }

    #[test]
    fn ids_refer_to_the_documents_own_id_component() {
        let doc = r#"
openapi: 3.0.3
paths: {}
components:
  schemas:
    IdDto: {type: string, pattern: '^\d+$'}
    Appointment:
      properties:
        patient_id: {$ref: '#/components/schemas/IdDto'}
        practitioner_id: {type: string}
"#;
        let normalised = super::super::normalise(yaml_serde::from_str(doc).unwrap()).unwrap();
        let json = serde_json::to_value(&normalised.document).unwrap();
        assert_eq!(json.pointer("/components/schemas/Appointment/properties/practitioner_id/$ref").unwrap(), "#/components/schemas/IdDto");
        assert!(json.pointer("/components/schemas/Id").is_none(), "no second id component (a schema pin renames IdDto)");
    }

    #[test]
    fn a_second_run_changes_nothing() {
        let (doc, _) = run(DOC);
        let (again, changes) = run(&yaml_serde::to_string(&doc).unwrap());
        assert_eq!(again, doc);
        assert!(changes.is_empty(), "{changes:?}");
    }
}

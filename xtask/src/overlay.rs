//! `openapi/overlay.yaml`: what hero-health adds to Hero's published description, kept apart
//! from it ([OpenAPI Overlay 1.0](https://spec.openapis.org/overlay/v1.0.0.html)).
//!
//! Each action has a JSONPath `target`, a `description` saying why, and `update` (or
//! `remove: true`). An extension, `x-hero-kind`, says how it meets what Hero publishes:
//!
//! - `pin` — a name users and the hand-written layer rely on (an `operationId` set by method
//!   and path). It is applied as the Overlay Specification says (a deep merge that overwrites).
//!   If its target is gone, that is a difference to decide ([`crate::decisions`]).
//! - `inference` (the default) — a guess where the published reference is silent. It fills
//!   gaps only: whatever upstream now says wins, and the report lists what upstream covers, so
//!   the action can be reviewed or dropped. A free-form schema (`{}`, `{type: object}` without
//!   properties) counts as silence, so an inferred answer schema replaces it.
//!
//! Targets are located with `serde_json_path` (RFC 9535) on a JSON view of the document and
//! applied to the YAML value itself, so mapping order is kept.

use std::fmt;

use serde_json_path::{JsonPath, PathElement};
use yaml_serde::Value;

/// How an action meets the published document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Overwrites; its target must exist.
    Pin,
    /// Fills gaps; upstream wins.
    Inference,
    /// Only annotates a published part (`x-hero-inferred`: how the reconstruction read it).
    Note,
}

/// One action of the overlay.
#[derive(Debug, Clone)]
pub struct Action {
    /// 1-based position in `actions`, as the report names it.
    pub number: usize,
    /// The JSONPath target.
    pub target: String,
    /// Why the action exists.
    pub description: String,
    /// Pin or inference.
    pub kind: Kind,
    /// What to merge, if anything.
    pub update: Option<Value>,
    /// Whether to remove the targets instead.
    pub remove: bool,
}

/// A schema name pinned to where the schema sits in an operation (`x-hero-schema-pins`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaPin {
    /// The Rust type name users and the layer rely on (`Slot`).
    pub name: String,
    /// `GET /v1/slots -> 200 -> data -> []`: see [`crate::pins`].
    pub at: String,
    /// Why.
    pub description: String,
}

/// A parsed `overlay.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    /// The actions, in order.
    pub actions: Vec<Action>,
    /// The schema pins, applied around the actions ([`crate::pins`]).
    pub schema_pins: Vec<SchemaPin>,
}

/// What an action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A pin applied; `changed` lists what it overwrote with a different value.
    Pinned {
        /// The action.
        number: usize,
        /// Locations whose value the pin changed (empty: upstream already agreed).
        changed: Vec<String>,
    },
    /// An inference, with what it supplied and what upstream already covers.
    Inferred {
        /// The action.
        number: usize,
        /// Locations it supplied.
        supplied: Vec<String>,
        /// Locations upstream now describes itself (the inference gave way).
        covered: Vec<String>,
    },
    /// A note applied.
    Noted {
        /// The action.
        number: usize,
    },
    /// A pin whose target the document does not have: its operation moved in a way that
    /// could not be followed, or a part of it is gone. Nothing was applied.
    PinGone {
        /// The action.
        number: usize,
    },
    /// An inference or note whose target upstream no longer has.
    TargetGone {
        /// The action.
        number: usize,
    },
    /// A removal.
    Removed {
        /// The action.
        number: usize,
        /// How many nodes.
        count: usize,
    },
}

/// Why the overlay could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverlayError {
    /// Not an Overlay 1.0 document, or an action is malformed.
    #[error("openapi/overlay.yaml: {0}")]
    Invalid(String),
}

/// Reads the overlay text (YAML).
pub fn parse(text: &str) -> Result<Overlay, OverlayError> {
    let invalid = |why: String| OverlayError::Invalid(why);
    let doc: Value = yaml_serde::from_str(text).map_err(|e| invalid(format!("not YAML ({e})")))?;
    match doc.get("overlay").and_then(Value::as_str) {
        Some(version) if version.starts_with("1.0.") => {}
        Some(version) => return Err(invalid(format!("overlay version {version} is not supported (1.0.x is)"))),
        None => return Err(invalid("no `overlay: 1.0.0` field".into())),
    }
    let mut overlay = Overlay::default();
    let actions = doc.get("actions").and_then(Value::as_sequence).ok_or_else(|| invalid("no `actions` list".into()))?;
    for (i, action) in actions.iter().enumerate() {
        let number = i + 1;
        let field = |name: &str| action.get(name).and_then(Value::as_str).map(str::to_owned);
        let target =
            field("target").filter(|t| t.starts_with('$')).ok_or_else(|| invalid(format!("action {number} has no `target` JSONPath")))?;
        JsonPath::parse(&target).map_err(|e| invalid(format!("action {number}: target {target} is not JSONPath ({e})")))?;
        let kind = match field("x-hero-kind").as_deref() {
            None | Some("inference") => Kind::Inference,
            Some("pin") => Kind::Pin,
            Some("note") => Kind::Note,
            Some(other) => return Err(invalid(format!("action {number}: x-hero-kind {other} is not pin, inference or note"))),
        };
        let description = field("description")
            .filter(|d| !d.trim().is_empty())
            .ok_or_else(|| invalid(format!("action {number} ({target}) has no description: say why it exists")))?;
        let update = action.get("update").cloned();
        let remove = action.get("remove").and_then(Value::as_bool).unwrap_or(false);
        if update.is_some() == remove {
            return Err(invalid(format!("action {number} ({target}) needs exactly one of `update` and `remove: true`")));
        }
        overlay.actions.push(Action { number, target, description, kind, update, remove });
    }
    if let Some(pins) = doc.get("x-hero-schema-pins") {
        let pins = pins.as_sequence().ok_or_else(|| invalid("x-hero-schema-pins is not a list".into()))?;
        for (i, pin) in pins.iter().enumerate() {
            let field = |name: &str| pin.get(name).and_then(Value::as_str).map(str::to_owned);
            match (field("name"), field("at"), field("description")) {
                (Some(name), Some(at), Some(description)) => overlay.schema_pins.push(SchemaPin { name, at, description }),
                _ => return Err(invalid(format!("schema pin {} needs `name`, `at` and `description`", i + 1))),
            }
        }
    }
    Ok(overlay)
}

/// Applies every action, in order, to `document`.
pub fn apply(document: &mut Value, overlay: &Overlay) -> Result<Vec<Outcome>, OverlayError> {
    overlay.actions.iter().map(|action| apply_one(document, action)).collect()
}

fn apply_one(document: &mut Value, action: &Action) -> Result<Outcome, OverlayError> {
    let locations = locate(document, &action.target).map_err(OverlayError::Invalid)?;
    if locations.is_empty() {
        return match action.kind {
            Kind::Pin => Ok(Outcome::PinGone { number: action.number }),
            Kind::Inference | Kind::Note if action.remove => Ok(Outcome::Removed { number: action.number, count: 0 }),
            Kind::Inference | Kind::Note => Ok(Outcome::TargetGone { number: action.number }),
        };
    }
    if action.remove {
        // Deepest and last first, so earlier locations stay valid while removing.
        for location in locations.iter().rev() {
            remove_at(document, location);
        }
        return Ok(Outcome::Removed { number: action.number, count: locations.len() });
    }
    let update = action.update.as_ref().unwrap_or(&Value::Null);
    let (mut supplied, mut covered) = (Vec::new(), Vec::new());
    for location in &locations {
        let Some(node) = node_at(document, location) else { continue };
        let at = pointer(location);
        match action.kind {
            Kind::Pin | Kind::Note => overwrite(node, update, &at, &mut supplied),
            Kind::Inference => fill(node, update, &at, &mut supplied, &mut covered),
        }
    }
    Ok(match action.kind {
        Kind::Pin => Outcome::Pinned { number: action.number, changed: supplied },
        Kind::Note => Outcome::Noted { number: action.number },
        Kind::Inference => Outcome::Inferred { number: action.number, supplied, covered },
    })
}

/// One step of a location: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The locations `target` selects, as steps from the root.
fn locate(document: &Value, target: &str) -> Result<Vec<Vec<Step>>, String> {
    let path = JsonPath::parse(target).map_err(|e| format!("target {target} is not JSONPath ({e})"))?;
    let json = serde_json::to_value(document).map_err(|e| format!("the document cannot be viewed as JSON ({e})"))?;
    Ok(path
        .query_located(&json)
        .locations()
        .map(|location| {
            location
                .iter()
                .map(|element| match element {
                    PathElement::Name(name) => Step::Key((*name).to_owned()),
                    PathElement::Index(i) => Step::Index(*i),
                })
                .collect()
        })
        .collect())
}

/// JSON Pointer text of a location, for the report.
fn pointer(location: &[Step]) -> String {
    location
        .iter()
        .map(|step| match step {
            Step::Key(k) => format!("/{}", crate::normalise::pointer_segment(k)),
            Step::Index(i) => format!("/{i}"),
        })
        .collect()
}

/// Whether a YAML key is `name` (a bundle may write `200:` as a number).
pub(crate) fn key_is(key: &Value, name: &str) -> bool {
    match key {
        Value::String(s) => s == name,
        Value::Number(n) => n.to_string() == name,
        Value::Bool(b) => b.to_string() == name,
        _ => false,
    }
}

fn node_at<'a>(document: &'a mut Value, location: &[Step]) -> Option<&'a mut Value> {
    let mut node = document;
    for step in location {
        node = match (node, step) {
            (Value::Mapping(map), Step::Key(name)) => map.iter_mut().find(|(k, _)| key_is(k, name)).map(|(_, v)| v)?,
            (Value::Sequence(items), Step::Index(i)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

fn remove_at(document: &mut Value, location: &[Step]) {
    let Some((last, parent)) = location.split_last() else { return };
    match (node_at(document, parent), last) {
        (Some(Value::Mapping(map)), Step::Key(name)) => {
            if let Some(key) = map.keys().find(|k| key_is(k, name)).cloned() {
                map.shift_remove(&key);
            }
        }
        (Some(Value::Sequence(items)), Step::Index(i)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}

/// The Overlay Specification's merge: mappings merge key by key, a sequence target gets the
/// update appended (a sequence update: each item), anything else is replaced.
fn overwrite(node: &mut Value, update: &Value, at: &str, changed: &mut Vec<String>) {
    match (node, update) {
        (Value::Mapping(target), Value::Mapping(update)) => {
            for (key, value) in update {
                let here = format!("{at}/{}", crate::normalise::pointer_segment(&key_text(key)));
                match target.iter_mut().find(|(k, _)| key_is(k, &key_text(key))) {
                    Some((_, existing)) => overwrite(existing, value, &here, changed),
                    None => {
                        target.insert(key.clone(), value.clone());
                        changed.push(here);
                    }
                }
            }
        }
        (Value::Sequence(items), Value::Sequence(update)) => {
            items.extend(update.iter().cloned());
            changed.push(at.to_owned());
        }
        (Value::Sequence(items), update) => {
            items.push(update.clone());
            changed.push(at.to_owned());
        }
        (node, update) => {
            if node != update {
                *node = update.clone();
                changed.push(at.to_owned());
            }
        }
    }
}

/// An inference's merge: only what upstream does not say is added.
fn fill(node: &mut Value, update: &Value, at: &str, supplied: &mut Vec<String>, covered: &mut Vec<String>) {
    match (node, update) {
        (node, update) if silent(node) && !silent(update) => {
            *node = update.clone();
            supplied.push(at.to_owned());
        }
        (Value::Mapping(target), Value::Mapping(update)) => {
            for (key, value) in update {
                let name = key_text(key);
                if name == "x-hero-inferred" {
                    // Upstream describes this part itself: the note on our guess no longer applies.
                    continue;
                }
                let here = format!("{at}/{}", crate::normalise::pointer_segment(&name));
                match target.iter_mut().find(|(k, _)| key_is(k, &name)) {
                    Some((_, existing)) => fill(existing, value, &here, supplied, covered),
                    None => {
                        target.insert(key.clone(), value.clone());
                        supplied.push(here);
                    }
                }
            }
        }
        (Value::Sequence(items), Value::Sequence(update)) => {
            for item in update {
                let here = format!("{at}/{}", item_label(item));
                if items.iter().any(|existing| same_item(existing, item)) {
                    covered.push(here);
                } else {
                    items.push(item.clone());
                    supplied.push(here);
                }
            }
        }
        // Upstream says the same, or something else: either way it is covered.
        _ => covered.push(at.to_owned()),
    }
}

/// A free-form schema or an empty mapping: upstream says nothing there.
fn silent(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Mapping(map) => map.iter().all(|(k, v)| match k.as_str() {
            Some("type") => v.as_str() == Some("object"),
            Some("description" | "title" | "example" | "nullable") => true,
            Some(k) if k.starts_with("x-") => true,
            _ => false,
        }),
        _ => false,
    }
}

/// Parameters are the same parameter when name and location agree; other items when equal.
fn same_item(a: &Value, b: &Value) -> bool {
    match (a.get("name"), b.get("name")) {
        (Some(x), Some(y)) => x == y && a.get("in") == b.get("in"),
        _ => a == b,
    }
}

fn item_label(item: &Value) -> String {
    item.get("name").and_then(Value::as_str).map_or_else(|| "-".to_owned(), |name| format!("[name={name}]"))
}

fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => yaml_serde::to_string(other).map(|s| s.trim().to_owned()).unwrap_or_default(),
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Pin => "pin",
            Kind::Inference => "inference",
            Kind::Note => "note",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        yaml_serde::from_str(text).unwrap()
    }

    fn overlay(actions: &str) -> Overlay {
        parse(&format!("overlay: 1.0.0\ninfo: {{title: t, version: '1'}}\nactions:\n{actions}")).unwrap()
    }

    #[test]
    fn an_inference_fills_gaps_and_gives_way_to_what_upstream_says() {
        let mut doc = yaml(
            "paths:\n  /a:\n    get:\n      summary: published\n      responses:\n        200:\n          description: ok\n          content: {application/json: {schema: {type: object}}}\n",
        );
        let o = overlay(
            "- target: $.paths['/a'].get\n  description: guesses\n  update:\n    summary: ours\n    tags: [Booking]\n    responses:\n      '200':\n        content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}\n",
        );
        let outcomes = apply(&mut doc, &o).unwrap();
        let Outcome::Inferred { supplied, covered, .. } = &outcomes[0] else { panic!("{outcomes:?}") };
        assert_eq!(covered, &["/paths/~1a/get/summary"]);
        assert_eq!(supplied, &["/paths/~1a/get/tags", "/paths/~1a/get/responses/200/content/application~1json/schema"]);
        assert_eq!(doc["paths"]["/a"]["get"]["summary"].as_str(), Some("published"));
        // The free-form answer was silence: the inferred schema replaced it (key 200 was a number).
        assert_eq!(
            doc["paths"]["/a"]["get"]["responses"][200]["content"]["application/json"]["schema"]["$ref"].as_str(),
            Some("#/components/schemas/A")
        );
    }

    #[test]
    fn a_pin_overwrites_and_a_vanished_pin_is_reported() {
        let mut doc = yaml("paths:\n  /a:\n    get: {operationId: Controller_findOne}\n");
        let o = overlay("- target: $.paths['/a'].get\n  description: pin get_a\n  x-hero-kind: pin\n  update: {operationId: getA}\n");
        assert_eq!(apply(&mut doc, &o).unwrap(), [Outcome::Pinned { number: 1, changed: vec!["/paths/~1a/get/operationId".into()] }]);
        assert_eq!(doc["paths"]["/a"]["get"]["operationId"].as_str(), Some("getA"));
        let gone = overlay("- target: $.paths['/b'].get\n  description: pin get_b\n  x-hero-kind: pin\n  update: {operationId: getB}\n");
        assert_eq!(apply(&mut doc, &gone).unwrap(), [Outcome::PinGone { number: 1 }]);
    }

    #[test]
    fn parameters_already_published_are_covered_not_duplicated() {
        let mut doc = yaml("p:\n  parameters:\n  - {name: page_size, in: query, schema: {type: integer}}\n");
        let o = overlay(
            "- target: $.p.parameters\n  description: paging\n  update:\n  - {name: page_size, in: query}\n  - {name: page_index, in: query}\n",
        );
        let outcomes = apply(&mut doc, &o).unwrap();
        assert_eq!(
            outcomes,
            [Outcome::Inferred {
                number: 1,
                supplied: vec!["/p/parameters/[name=page_index]".into()],
                covered: vec!["/p/parameters/[name=page_size]".into()]
            }]
        );
        assert_eq!(doc["p"]["parameters"].as_sequence().unwrap().len(), 2);
    }

    #[test]
    fn malformed_overlays_are_refused_with_the_action_named() {
        for (text, needle) in [
            ("overlay: 2.0.0\nactions: []\n", "version 2.0.0"),
            ("overlay: 1.0.0\nactions:\n- {target: '$.a', update: {}}\n", "action 1 ($.a) has no description"),
            ("overlay: 1.0.0\nactions:\n- {target: '$.a', description: d}\n", "exactly one of"),
            ("overlay: 1.0.0\nactions:\n- {target: 'a.b', description: d, update: {}}\n", "no `target` JSONPath"),
            ("overlay: 1.0.0\nactions:\n- {target: '$[', description: d, update: {}}\n", "not JSONPath"),
            (
                "overlay: 1.0.0\nactions:\n- {target: '$.a', description: d, update: {}, x-hero-kind: maybe}\n",
                "is not pin, inference or note",
            ),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(needle), "{needle}: {error}");
        }
    }
}

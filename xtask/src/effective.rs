//! The effective document build.rs generates from: Hero's published description
//! (`openapi/upstream.yaml`, verbatim) plus hero-health's own additions
//! (`openapi/overlay.yaml`), normalised.
//!
//! upstream → normalise → schema pins (lenient) → overlay actions → normalise → schema pins
//! (strict) → `openapi/hero-public-api.yaml`.
//!
//! The schema pins run first so that the overlay's targets can use the crate's names
//! (`#/components/schemas/Appointment`) whatever the bundle calls them. They run again at the end,
//! where every pin must hold.

use std::fmt::Write as _;

use yaml_serde::Value;

use crate::XtaskError;
use crate::codegen::operations::UPSTREAM_OPERATION_ID;
use crate::normalise::{self, Change, Normalised};
use crate::overlay::{self, Kind, Outcome, Overlay};
use crate::pins::{self, Pass};

/// Where Hero's description is kept, verbatim as downloaded.
pub const UPSTREAM_PATH: &str = "openapi/upstream.yaml";
/// Where hero-health's inferences and pins are kept.
pub const OVERLAY_PATH: &str = "openapi/overlay.yaml";

/// The effective document and how it was made.
#[derive(Debug, Clone)]
pub struct Effective {
    /// The document, ready for [`normalise::render`].
    pub document: Value,
    /// What normalising changed (upstream first, then after the overlay).
    pub changes: Vec<Change>,
    /// What each overlay action did.
    pub outcomes: Vec<Outcome>,
    /// Schemas the pins renamed or named.
    pub renamed: Vec<String>,
}

/// Parses YAML/JSON text (within the size and depth limits) and normalises it.
pub fn load(text: &str, source_name: &str) -> Result<Normalised, XtaskError> {
    crate::codegen::limits::check(text).map_err(|reason| XtaskError::OverLimit { source_name: source_name.to_owned(), reason })?;
    let value: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| XtaskError::Yaml { source_name: source_name.to_owned(), reason: e.to_string() })?;
    normalise::normalise(value).map_err(|reason| XtaskError::NotOpenApi { source_name: source_name.to_owned(), reason })
}

/// Builds the effective document from the upstream text and the overlay.
pub fn build(upstream: &str, overlay: &Overlay, source_name: &str) -> Result<Effective, XtaskError> {
    let first = load(upstream, source_name)?;
    // What Hero's bundle calls each operation: not an id the normaliser made up or made unique.
    let mut published = operation_ids(&first.document);
    published.retain(|(path, method), _| {
        let at = format!("{} {path}", method.to_uppercase());
        !first.changes.iter().any(|c| c.rule == normalise::Rule::OperationId && c.location == at)
    });
    let mut document = first.document;
    let mut renamed = pins::apply(&mut document, &overlay.schema_pins, Pass::Lenient)?;
    let outcomes = overlay::apply(&mut document, overlay)?;
    let second = normalise::normalise(document).map_err(|reason| XtaskError::NotOpenApi { source_name: source_name.to_owned(), reason })?;
    let mut document = second.document;
    renamed.extend(pins::apply(&mut document, &overlay.schema_pins, Pass::Strict)?);
    record_upstream_ids(&mut document, &published);
    let mut changes = first.changes;
    changes.extend(second.changes);
    Ok(Effective { document, changes, outcomes, renamed })
}

/// `(path, method)` → `operationId` of every operation of `document`.
fn operation_ids(document: &Value) -> std::collections::BTreeMap<(String, String), String> {
    let mut ids = std::collections::BTreeMap::new();
    let Some(Value::Mapping(paths)) = document.get("paths") else { return ids };
    for (path, item) in paths {
        for method in normalise::METHODS {
            let (Some(path), Some(id)) = (path.as_str(), item.get(*method).and_then(|op| op.get("operationId")).and_then(Value::as_str))
            else {
                continue;
            };
            ids.insert((path.to_owned(), (*method).to_owned()), id.to_owned());
        }
    }
    ids
}

/// Marks each operation whose `operationId` differs from the upstream one at the same method
/// and path with [`UPSTREAM_OPERATION_ID`] (an old mark is replaced or removed), so that the
/// crate can point a user who names the operation as Hero's bundle does to the crate's one
/// spelling (`Fault::on("listPatientsV3")` → "did you mean searchPatients?").
fn record_upstream_ids(document: &mut Value, published: &std::collections::BTreeMap<(String, String), String>) {
    let Some(Value::Mapping(paths)) = document.get_mut("paths") else { return };
    for (path, item) in paths.iter_mut() {
        let Some(path) = path.as_str().map(str::to_owned) else { continue };
        for method in normalise::METHODS {
            let Some(Value::Mapping(op)) = item.get_mut(*method) else { continue };
            let id = op.get("operationId").and_then(Value::as_str).map(str::to_owned);
            op.remove(UPSTREAM_OPERATION_ID);
            if let (Some(id), Some(upstream)) = (id, published.get(&(path.clone(), (*method).to_owned())))
                && &id != upstream
            {
                op.insert(UPSTREAM_OPERATION_ID.into(), upstream.clone().into());
            }
        }
    }
}

/// The overlay part of the drift report (Markdown).
pub fn report(effective: &Effective, overlay: &Overlay) -> String {
    let action = |number: usize| &overlay.actions[number - 1];
    let mut out = String::new();
    let (mut pins_changed, mut pins_total, mut supplied, mut partly, mut covered_all, mut gone) =
        (Vec::new(), 0, 0, Vec::new(), Vec::new(), Vec::new());
    for outcome in &effective.outcomes {
        match outcome {
            Outcome::Pinned { number, changed } => {
                pins_total += 1;
                if !changed.is_empty() {
                    pins_changed.push((*number, changed.clone()));
                }
            }
            Outcome::Inferred { supplied: s, covered, .. } if covered.is_empty() && !s.is_empty() => supplied += 1,
            Outcome::Inferred { number, supplied: s, covered } if s.is_empty() => covered_all.push((*number, covered.clone())),
            Outcome::Inferred { number, covered, .. } => partly.push((*number, covered.clone())),
            Outcome::TargetGone { number } => gone.push(*number),
            Outcome::Removed { .. } | Outcome::Noted { .. } => {}
        }
    }
    let inferences = overlay.actions.iter().filter(|a| a.kind == Kind::Inference).count();
    let notes = overlay.actions.iter().filter(|a| a.kind == Kind::Note).count();
    let _ = writeln!(out, "## Overlay ({OVERLAY_PATH})\n");
    let _ = writeln!(
        out,
        "- **Pins**: {pins_total} pin action(s) (operationIds, id types), {} of them overriding what upstream says; {} schema pin(s), {} renaming or naming a schema.",
        pins_changed.len(),
        overlay.schema_pins.len(),
        effective.renamed.len()
    );
    let _ = writeln!(
        out,
        "- **Inferences**: {inferences} action(s); {supplied} still wholly supplied, {} partly and {} wholly covered by upstream now, {} whose target is gone.",
        partly.len(),
        covered_all.len(),
        gone.iter().filter(|n| action(**n).kind == Kind::Inference).count()
    );
    let _ = writeln!(
        out,
        "- **Notes** on how published parts were read: {notes}, {} of them on parts upstream no longer has.\n",
        gone.iter().filter(|n| action(**n).kind == Kind::Note).count()
    );
    if !covered_all.is_empty() || !partly.is_empty() {
        let _ = writeln!(out, "### Upstream now describes what these inferences supplied\n");
        let _ = writeln!(out, "Upstream wins. Compare, then drop the action (wholly covered) or trim it to what upstream still lacks.\n");
        let verdicts = covered_all.iter().map(|(n, c)| ("drop", n, c)).chain(partly.iter().map(|(n, c)| ("review", n, c)));
        for (verdict, number, covered) in verdicts {
            let _ = writeln!(out, "- **{verdict}** action {number} ({}): upstream has {}", action(*number).description, covered.join(", "));
        }
        out.push('\n');
    }
    if !gone.is_empty() {
        let _ = writeln!(out, "### Inferences and notes whose target is gone (not applied)\n");
        for number in &gone {
            let a = action(*number);
            let _ = writeln!(out, "- action {number} ({}): `{}` matches nothing; fix its target or drop it", a.description, a.target);
        }
        out.push('\n');
    }
    if !pins_changed.is_empty() || !effective.renamed.is_empty() {
        let _ = writeln!(out, "<details><summary>Names the pins kept stable</summary>\n");
        for (number, changed) in &pins_changed {
            let _ = writeln!(out, "- pin {number} ({}): set {}", action(*number).description, changed.join(", "));
        }
        for rename in &effective.renamed {
            let _ = writeln!(out, "- {rename}");
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPSTREAM: &str = "openapi: 3.1.0
info: {title: t, version: '2'}
paths:
  /v1/slots:
    get:
      operationId: SlotsController_findAll
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: object}
components:
  schemas:
    SlotDto:
      type: object
      properties:
        id: {type: string, pattern: '^\\d+$'}
";

    const OVERLAY: &str = "overlay: 1.0.0
info: {title: t, version: '1'}
x-hero-schema-pins:
- {name: SlotList, at: 'GET /v1/slots -> 200', description: the list}
- {name: Slot, at: 'GET /v1/slots -> 200 -> data -> []', description: the item}
actions:
- target: $.paths['/v1/slots'].get.responses['200'].content['application/json']
  description: the answer is not published; the Hero list envelope
  update:
    schema: {$ref: '#/components/schemas/SlotList'}
- target: $.components.schemas
  description: the envelope
  update:
    SlotList:
      type: object
      properties:
        data: {type: array, items: {$ref: '#/components/schemas/SlotDto'}}
        count: {type: integer}
- target: $.paths['/v1/slots'].get
  description: pin list_slots
  x-hero-kind: pin
  update: {operationId: listSlots}
";

    #[test]
    fn inferences_fill_the_gaps_and_pins_rename_whatever_upstream_calls_things() {
        let overlay = overlay::parse(OVERLAY).unwrap();
        let effective = build(UPSTREAM, &overlay, "fixture").unwrap();
        let text = normalise::render(&effective.document);
        assert!(text.contains("operationId: listSlots"), "{text}");
        assert!(text.contains("x-hero-upstream-operation-id: SlotsController_findAll"), "Hero's name is kept: {text}");
        assert!(text.contains("$ref: '#/components/schemas/SlotList'"), "{text}");
        assert!(text.contains("    Slot:\n"), "SlotDto renamed by its pin: {text}");
        assert!(!text.contains("SlotDto"), "{text}");
        assert!(text.contains("id:\n          $ref: '#/components/schemas/Id'"), "{text}");
        // The effective document is already normal.
        assert!(normalise::normalise(effective.document.clone()).unwrap().changes.is_empty());
        let report = report(&effective, &overlay);
        assert!(report.contains("1 pin action(s) (operationIds, id types), 1 of them overriding what upstream says"), "{report}");
        assert!(report.contains("2 action(s); 2 still wholly supplied"), "{report}");
        assert!(report.contains("SlotDto → Slot"), "{report}");
    }

    #[test]
    fn an_operation_id_upstream_does_not_have_is_not_recorded_as_upstreams() {
        let overlay = overlay::parse(OVERLAY).unwrap();
        let without = UPSTREAM.replace("      operationId: SlotsController_findAll\n", "");
        let text = normalise::render(&build(&without, &overlay, "fixture").unwrap().document);
        assert!(text.contains("operationId: listSlots") && !text.contains(UPSTREAM_OPERATION_ID), "{text}");
        let same = UPSTREAM.replace("SlotsController_findAll", "listSlots");
        let text = normalise::render(&build(&same, &overlay, "fixture").unwrap().document);
        assert!(!text.contains(UPSTREAM_OPERATION_ID), "no rename, no mark: {text}");
    }

    #[test]
    fn once_upstream_publishes_it_the_inference_gives_way_and_the_report_says_so() {
        let published = UPSTREAM.replace(
            "schema: {type: object}",
            "schema: {type: object, properties: {data: {type: array, items: {$ref: '#/components/schemas/SlotDto'}}, count: {type: integer}, total_pages: {type: integer}}}",
        );
        let overlay = overlay::parse(OVERLAY).unwrap();
        let effective = build(&published, &overlay, "fixture").unwrap();
        let text = normalise::render(&effective.document);
        assert!(text.contains("total_pages"), "upstream's answer wins: {text}");
        let report = report(&effective, &overlay);
        assert!(report.contains("**drop** action 2 (the envelope): upstream has /components/schemas/SlotList"), "{report}");
    }

    #[test]
    fn a_vanished_pin_is_an_error_naming_it() {
        let moved = UPSTREAM.replace("/v1/slots:", "/v2/slots:");
        let error = build(&moved, &overlay::parse(OVERLAY).unwrap(), "fixture").unwrap_err().to_string();
        assert!(error.contains("pin 3 (pin list_slots) targets $.paths['/v1/slots'].get"), "{error}");
    }
}

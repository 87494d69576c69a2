//! The effective document build.rs generates from: Hero's published description
//! (`openapi/upstream.yaml`, verbatim) plus hero-health's own additions
//! (`openapi/overlay.yaml`), normalised.
//!
//! upstream → normalise → accepted schema renames → routes followed ([`routes`]) → schema pins
//! (lenient) → overlay actions → normalise → schema pins (strict) →
//! `openapi/hero-public-api.yaml`.
//!
//! Nothing in the bundle stops the build at the first difference: every pin that cannot be
//! kept, every operation moved or removed, is collected as a [`Difference`], and what cannot be
//! kept is left out so that the rest can still be checked. The caller refuses to write while
//! any difference [`blocks`](Difference::blocks).
//!
//! The schema pins run first so that the overlay's targets can use the crate's names
//! (`#/components/schemas/Appointment`) whatever the bundle calls them. They run again at the end,
//! where every pin must hold.

use std::fmt::Write as _;

use yaml_serde::Value;

use crate::XtaskError;
use crate::codegen::operations::UPSTREAM_OPERATION_ID;
use crate::decisions::{Difference, Resolution};
use crate::normalise::{self, Change, Normalised};
use crate::overlay::{self, Kind, Outcome, Overlay};
use crate::pins::{self, Pass};
use crate::routes;

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
    /// How the document differs from what the overlay expects, decided or not.
    pub differences: Vec<Difference>,
    /// The accepted resolutions that decided something, each by name (for `openapi/accepted.yaml`).
    pub used: Vec<Resolution>,
}

impl Effective {
    /// The differences still to decide.
    pub fn undecided(&self) -> Vec<&Difference> {
        self.differences.iter().filter(|d| d.blocks()).collect()
    }

    /// An error listing the undecided differences, if there are any.
    ///
    /// # Errors
    ///
    /// [`XtaskError::Undecided`] when a difference blocks.
    pub fn decided(&self) -> Result<(), XtaskError> {
        let undecided = self.undecided();
        if undecided.is_empty() { Ok(()) } else { Err(XtaskError::Undecided(undecided.iter().map(ToString::to_string).collect())) }
    }
}

/// Parses YAML/JSON text (within the size and depth limits) and normalises it.
pub fn load(text: &str, source_name: &str) -> Result<Normalised, XtaskError> {
    crate::codegen::limits::check(text).map_err(|reason| XtaskError::OverLimit { source_name: source_name.to_owned(), reason })?;
    let value: yaml_serde::Value =
        yaml_serde::from_str(text).map_err(|e| XtaskError::Yaml { source_name: source_name.to_owned(), reason: e.to_string() })?;
    normalise::normalise(value).map_err(|reason| XtaskError::NotOpenApi { source_name: source_name.to_owned(), reason })
}

/// Builds the effective document from the upstream text, the overlay and the accepted
/// resolutions. Differences are collected in [`Effective::differences`], not returned as errors.
///
/// # Errors
///
/// The text cannot be read as OpenAPI, or the overlay's JSONPath cannot be applied.
pub fn build(upstream: &str, overlay: &Overlay, accepted: &[Resolution], source_name: &str) -> Result<Effective, XtaskError> {
    let first = load(upstream, source_name)?;
    // What Hero's bundle calls each operation: not an id the normaliser made up or made unique.
    let mut published = operation_ids(&first.document);
    published.retain(|(path, method), _| {
        let at = format!("{} {path}", method.to_uppercase());
        !first.changes.iter().any(|c| c.rule == normalise::Rule::OperationId && c.location == at)
    });
    let mut document = first.document;
    let mut differences = Vec::new();
    let mut used = Vec::new();
    for resolution in accepted {
        if let Resolution::RenameSchema(from, to) = resolution
            && document.get("components").and_then(|c| c.get("schemas")).and_then(|s| s.get(from.as_str())).is_some()
        {
            pins::rename(&mut document, from, to);
            differences.push(Difference::Renamed { from: from.clone(), to: to.clone() });
            used.push(resolution.clone());
        }
    }
    let followed = routes::follow(&document, overlay, accepted);
    differences.extend(followed.differences);
    used.extend(followed.used);
    let mut overlay = followed.overlay;

    let lenient = pins::apply(&mut document, &overlay.schema_pins, Pass::Lenient);
    let mut renamed = lenient.done;
    let mut failed = lenient.failed;
    // A pin that could not be kept is left out of the strict pass: it is reported once.
    overlay.schema_pins.retain(|pin| !failed.iter().any(|e| e.name == pin.name));
    let outcomes = overlay::apply(&mut document, &overlay)?;
    for outcome in &outcomes {
        if let Outcome::PinGone { number } = outcome
            && let Some(action) = overlay.actions.iter().find(|a| a.number == *number)
        {
            let resolution = Resolution::DropPin(action.target.clone());
            let accepted = accepted.contains(&resolution);
            if accepted {
                used.push(resolution);
            }
            differences.push(Difference::PinGone {
                number: *number,
                description: action.description.clone(),
                target: action.target.clone(),
                accepted,
            });
        }
    }
    let second = normalise::normalise(document).map_err(|reason| XtaskError::NotOpenApi { source_name: source_name.to_owned(), reason })?;
    let mut document = second.document;
    let strict = pins::apply(&mut document, &overlay.schema_pins, Pass::Strict);
    renamed.extend(strict.done);
    failed.extend(strict.failed);
    for error in failed {
        let resolution = Resolution::DropSchemaPin(error.name.clone());
        let accepted = accepted.contains(&resolution);
        if accepted {
            used.push(resolution);
        }
        differences.push(Difference::SchemaPin { error, accepted });
    }
    for resolution in accepted {
        let resolved = used.contains(resolution) || (*resolution == Resolution::DropRemoved(None));
        if !resolved {
            differences.push(Difference::Stale(resolution.clone()));
        }
    }
    record_upstream_ids(&mut document, &published);
    let mut changes = first.changes;
    changes.extend(second.changes);
    Ok(Effective { document, changes, outcomes, renamed, differences, used })
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
            Outcome::Removed { .. } | Outcome::Noted { .. } | Outcome::PinGone { .. } => {}
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
        let effective = build(UPSTREAM, &overlay, &[], "fixture").unwrap();
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
        let text = normalise::render(&build(&without, &overlay, &[], "fixture").unwrap().document);
        assert!(text.contains("operationId: listSlots") && !text.contains(UPSTREAM_OPERATION_ID), "{text}");
        let same = UPSTREAM.replace("SlotsController_findAll", "listSlots");
        let text = normalise::render(&build(&same, &overlay, &[], "fixture").unwrap().document);
        assert!(!text.contains(UPSTREAM_OPERATION_ID), "no rename, no mark: {text}");
    }

    #[test]
    fn once_upstream_publishes_it_the_inference_gives_way_and_the_report_says_so() {
        let published = UPSTREAM.replace(
            "schema: {type: object}",
            "schema: {type: object, properties: {data: {type: array, items: {$ref: '#/components/schemas/SlotDto'}}, count: {type: integer}, total_pages: {type: integer}}}",
        );
        let overlay = overlay::parse(OVERLAY).unwrap();
        let effective = build(&published, &overlay, &[], "fixture").unwrap();
        let text = normalise::render(&effective.document);
        assert!(text.contains("total_pages"), "upstream's answer wins: {text}");
        let report = report(&effective, &overlay);
        assert!(report.contains("**drop** action 2 (the envelope): upstream has /components/schemas/SlotList"), "{report}");
    }

    #[test]
    fn a_vanished_operation_is_a_difference_to_decide_and_an_accepted_one_is_dropped() {
        let overlay = overlay::parse(OVERLAY).unwrap();
        let moved = UPSTREAM.replace("/v1/slots:", "/v2/slots:");
        let effective = build(&moved, &overlay, &[], "fixture").unwrap();
        let undecided: Vec<String> = effective.undecided().iter().map(ToString::to_string).collect();
        assert_eq!(undecided, ["removed: GET /v1/slots is not in the bundle, at any method or parameter naming"]);
        let error = effective.decided().unwrap_err().to_string();
        assert!(error.contains("1 difference(s)") && error.contains("--accept"), "{error}");
        let accept = [Resolution::DropRemoved(None)];
        let effective = build(&moved, &overlay, &accept, "fixture").unwrap();
        assert!(effective.undecided().is_empty(), "{:?}", effective.differences);
        assert_eq!(effective.used, [Resolution::DropRemoved(Some(crate::decisions::Route::parse("GET /v1/slots").unwrap()))]);
        let stale = build(UPSTREAM, &overlay, &effective.used, "fixture").unwrap();
        assert!(matches!(stale.differences.as_slice(), [Difference::Stale(_)]), "{:?}", stale.differences);
    }
}

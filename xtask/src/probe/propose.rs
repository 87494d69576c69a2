//! The proposed overlay: for each difference the probe saw, the Overlay 1.0 action(s) that make
//! the document say what Hero answered. Each action cites the operation and the observation,
//! is a pin (it overrides what the document says), and marks what it writes `x-hero-observed`
//! so the SDK conventions leave it as observed. It is written for review, never applied.

use serde_json::{Value, json};
use serde_json_path::JsonPath;

use super::compare::{Difference, Finding};
use super::describe;

/// The last step of a JSONPath this module writes: `['name']`, `.items` or `[0]`.
enum Step {
    Key(String),
    Index,
}

fn split_last(at: &str) -> Option<(&str, Step)> {
    if let Some(stripped) = at.strip_suffix("']") {
        let start = stripped.rfind("['")?;
        return Some((&at[..start], Step::Key(stripped[start + 2..].to_owned())));
    }
    if let Some(parent) = at.strip_suffix(".items") {
        return Some((parent, Step::Key("items".into())));
    }
    if at.ends_with(']') {
        let start = at.rfind('[')?;
        return Some((&at[..start], Step::Index));
    }
    None
}

fn node<'a>(document: &'a Value, at: &str) -> Option<&'a Value> {
    JsonPath::parse(at).ok()?.query(document).first()
}

/// The overlay text (YAML) proposing a change for every finding; `document` is the effective
/// document the findings point into.
pub fn overlay(findings: &[Finding], document: &Value) -> String {
    let mut actions: Vec<Value> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for finding in findings {
        if !seen.insert((finding.at.clone(), finding.difference.clone())) {
            continue;
        }
        let observed = format!("probe: `{}` {} {}", finding.operation, finding.field, describe(&finding.difference));
        let pin = |target: &str, update: Value| json!({"target": target, "description": observed, "x-hero-kind": "pin", "update": update});
        let remove = |target: &str| json!({"target": target, "description": observed, "x-hero-kind": "pin", "remove": true});
        // A property node rewritten: remove it, then put the new one under its parent.
        let replace = |at: &str, new: Value| -> Vec<Value> {
            match split_last(at) {
                Some((parent, Step::Key(key))) => vec![remove(at), pin(parent, json!({ key: new }))],
                Some((parent, Step::Index)) => vec![remove(at), pin(parent, json!([new]))],
                None => Vec::new(),
            }
        };
        let mark = json!(observed.clone());
        match &finding.difference {
            Difference::UndocumentedStatus { status } => {
                let documented = node(document, &finding.at).and_then(Value::as_object);
                let content =
                    documented.and_then(|r| r.iter().find(|(k, _)| k.starts_with('2')).and_then(|(_, v)| v.get("content").cloned()));
                let mut response =
                    json!({"description": "Observed by cargo xtask probe; not in Hero's reference", "x-hero-observed": mark});
                if let (Some(content), true) = (content, (200..300).contains(status)) {
                    response["content"] = content;
                }
                actions.push(pin(&finding.at, json!({ status.to_string(): response })));
            }
            // A name the probe does not show cannot be proposed: the maintainer looks first.
            Difference::UnknownField { name, .. } | Difference::EnumValue { value: name } if super::compare::is_token(name) => continue,
            Difference::UnknownField { name, json_type } => {
                let mut property =
                    json!({"description": "Observed by cargo xtask probe; not in Hero's reference", "x-hero-observed": mark});
                if *json_type != "null" {
                    property["type"] = json!(json_type);
                }
                actions.push(pin(&finding.at, json!({"properties": { name: property }})));
            }
            Difference::MissingRequired { name } => actions.push(remove(&format!("{}.required[?@ == '{name}']", finding.at))),
            Difference::TypeDiffers { observed: json_type, .. } => {
                let new = if *json_type == "null" {
                    json!({"x-hero-observed": mark})
                } else {
                    json!({"type": json_type, "x-hero-observed": mark})
                };
                actions.extend(replace(&finding.at, new));
            }
            Difference::UnexpectedNull => {
                let current = node(document, &finding.at).cloned().unwrap_or(Value::Null);
                match current.get("$ref") {
                    // `$ref` takes no siblings: nullable goes beside an `allOf` of it.
                    Some(reference) => {
                        let ty = reference
                            .as_str()
                            .and_then(|r| node(document, &format!("$.components.schemas['{}']", r.rsplit('/').next().unwrap_or_default())));
                        let ty = ty.and_then(|s| s.get("type").cloned()).unwrap_or(json!("object"));
                        actions.extend(replace(
                            &finding.at,
                            json!({"type": ty, "allOf": [{"$ref": reference}], "nullable": true, "x-hero-observed": mark}),
                        ));
                    }
                    None => actions.push(pin(&finding.at, json!({"nullable": true, "x-hero-observed": mark}))),
                }
            }
            Difference::EnumValue { value } => {
                if value.starts_with('(') {
                    // Not shown, so not proposed: it did not look like an enum value.
                    continue;
                }
                actions.push(pin(&finding.at, json!(value)));
            }
            Difference::BadFormat { .. } => {
                actions.push(pin(&finding.at, json!({"x-hero-observed": mark})));
                actions.push(remove(&format!("{}.format", finding.at)));
            }
            Difference::IdPattern => {
                let nullable = node(document, &finding.at).and_then(|n| n.get("nullable")).and_then(Value::as_bool) == Some(true);
                let mut new = json!({"type": "string", "description": "An identifier that is not always numeric (observed by cargo xtask probe)", "x-hero-observed": mark});
                if nullable {
                    new["nullable"] = json!(true);
                }
                actions.extend(replace(&finding.at, new));
            }
        }
    }
    // In the order an overlay is read: version, info, actions.
    let mut overlay = yaml_serde::Mapping::new();
    overlay.insert("overlay".into(), "1.0.0".into());
    let info = json!({"title": "Proposed by cargo xtask probe: review, then move the actions you accept into openapi/overlay.yaml", "version": "1.0.0"});
    overlay.insert("info".into(), yaml_serde::to_value(info).unwrap_or_default());
    overlay.insert("actions".into(), yaml_serde::to_value(actions).unwrap_or_default());
    let header = "# Proposed by `cargo xtask probe` from what Hero answered. Never applied automatically:\n# review each action, copy the ones you accept into openapi/overlay.yaml, then `cargo xtask apply`.\n";
    format!("{header}{}", yaml_serde::to_string(&overlay).unwrap_or_default())
}

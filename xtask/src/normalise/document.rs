//! Document-level down-conversion (version, `webhooks`, 3.1-only fields) and the walk that finds
//! every schema position in components, paths and webhooks.

use yaml_serde::{Mapping, Value};

use super::{Changes, NormaliseError, Rule, brief, pointer_segment, schema};

/// The HTTP methods of a path item, in the order OpenAPI lists them.
pub(crate) const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Accepts OpenAPI 3.0.x and 3.1.x, and says what else it is.
pub(super) fn check_version(document: &Value) -> Result<(), NormaliseError> {
    let Value::Mapping(map) = document else { return Err(NormaliseError::NotAMapping) };
    match map.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.0.") || v.starts_with("3.1.") => Ok(()),
        Some(other) => Err(NormaliseError::UnsupportedVersion(other.as_str().map_or_else(|| brief(other), str::to_owned))),
        None => Err(NormaliseError::NoVersion { swagger: map.contains_key("swagger") }),
    }
}

/// The 3.1 → 3.0 rules outside operations' response shaping.
pub(super) fn normalise(document: &mut Value, changes: &mut Changes) {
    let Value::Mapping(doc) = document else { return };
    if let Some(Value::String(version)) = doc.get("openapi")
        && version.starts_with("3.1.")
    {
        changes.add(Rule::OpenapiVersion, "#/openapi", format!("{version} → 3.0.3"));
        doc.insert("openapi".into(), "3.0.3".into());
    }
    drop_field(doc, "jsonSchemaDialect", "#", changes);
    if let Some(Value::Mapping(info)) = doc.get_mut("info") {
        drop_field(info, "summary", "#/info", changes);
        if let Some(Value::Mapping(license)) = info.get_mut("license") {
            drop_field(license, "identifier", "#/info/license", changes);
        }
    }
    if !doc.contains_key("paths") {
        // 3.1 documents may have only webhooks; 3.0 requires `paths`.
        doc.insert("paths".into(), Value::Mapping(Mapping::new()));
    }
    if let Some(webhooks) = doc.shift_remove("webhooks") {
        if doc.contains_key("x-webhooks") {
            changes.add(Rule::Webhooks, "#/webhooks", "dropped (x-webhooks already exists)");
        } else {
            changes.add(Rule::Webhooks, "#/webhooks", "moved to x-webhooks (3.0 cannot describe webhooks; the generator ignores them)");
            doc.insert("x-webhooks".into(), webhooks);
        }
    }
    let path_items = match doc.get_mut("components") {
        Some(Value::Mapping(components)) => {
            let items = components.shift_remove("pathItems");
            components_pass(components, changes);
            items
        }
        _ => None,
    };
    inline_path_item_refs(doc, path_items.as_ref(), changes);
    if let Some(items) = &path_items {
        changes.add(
            Rule::Unsupported31,
            "#/components/pathItems",
            format!(
                "dropped {} path item(s) after inlining their uses (3.0 has no components/pathItems)",
                items.as_mapping().map_or(0, Mapping::len)
            ),
        );
    }
    for section in ["paths", "x-webhooks"] {
        if let Some(Value::Mapping(items)) = doc.get_mut(section) {
            for (path, item) in items.iter_mut() {
                let path = path.as_str().unwrap_or_default();
                path_item(item, &format!("#/{section}/{}", pointer_segment(path)), changes);
            }
        }
    }
}

fn drop_field(map: &mut Mapping, field: &str, at: &str, changes: &mut Changes) {
    if let Some(value) = map.shift_remove(field) {
        changes.add(Rule::Unsupported31, format!("{at}/{field}"), format!("dropped `{}` (OpenAPI 3.0 cannot say it)", brief(&value)));
    }
}

fn components_pass(components: &mut Mapping, changes: &mut Changes) {
    for (section, walk) in [
        ("schemas", schema::normalise as fn(&mut Value, &str, &mut Changes)),
        ("parameters", parameter),
        ("headers", parameter),
        ("requestBodies", with_content),
        ("responses", response),
    ] {
        if let Some(Value::Mapping(entries)) = components.get_mut(section) {
            for (name, entry) in entries.iter_mut() {
                let name = name.as_str().unwrap_or_default();
                walk(entry, &format!("#/components/{section}/{}", pointer_segment(name)), changes);
            }
        }
    }
    if let Some(Value::Mapping(schemes)) = components.get_mut("securitySchemes") {
        let mutual: Vec<Value> =
            schemes.iter().filter(|(_, s)| s.get("type").and_then(Value::as_str) == Some("mutualTLS")).map(|(k, _)| k.clone()).collect();
        for name in mutual {
            schemes.shift_remove(&name);
            let name = name.as_str().unwrap_or_default();
            changes.add(
                Rule::Unsupported31,
                format!("#/components/securitySchemes/{}", pointer_segment(name)),
                "dropped mutualTLS scheme (3.1 only)",
            );
        }
    }
}

/// `paths: {/x: {$ref: '#/components/pathItems/X'}}` → the item itself.
fn inline_path_item_refs(doc: &mut Mapping, path_items: Option<&Value>, changes: &mut Changes) {
    let Some(Value::Mapping(paths)) = doc.get_mut("paths") else { return };
    for (path, item) in paths.iter_mut() {
        let Some(reference) = item.get("$ref").and_then(Value::as_str).map(str::to_owned) else { continue };
        let target = reference.strip_prefix("#/components/pathItems/").and_then(|name| path_items?.get(name));
        if let Some(target) = target {
            *item = target.clone();
            let path = path.as_str().unwrap_or_default();
            changes.add(Rule::PathItemRef, format!("#/paths/{}", pointer_segment(path)), format!("inlined {reference}"));
        }
    }
}

fn path_item(item: &mut Value, at: &str, changes: &mut Changes) {
    let Value::Mapping(item) = item else { return };
    parameters(item, at, changes);
    for method in METHODS {
        let Some(Value::Mapping(op)) = item.get_mut(*method) else { continue };
        let at = format!("{at}/{method}");
        parameters(op, &at, changes);
        if let Some(body) = op.get_mut("requestBody") {
            with_content(body, &format!("{at}/requestBody"), changes);
        }
        if let Some(Value::Mapping(responses)) = op.get_mut("responses") {
            for (code, r) in responses.iter_mut() {
                let code = code.as_str().map(str::to_owned).unwrap_or_else(|| brief(code));
                response(r, &format!("{at}/responses/{code}"), changes);
            }
        }
    }
}

fn parameters(owner: &mut Mapping, at: &str, changes: &mut Changes) {
    if let Some(Value::Sequence(params)) = owner.get_mut("parameters") {
        for (i, p) in params.iter_mut().enumerate() {
            parameter(p, &format!("{at}/parameters/{i}"), changes);
        }
    }
}

/// A parameter or header: a `schema`, or a `content` map.
fn parameter(value: &mut Value, at: &str, changes: &mut Changes) {
    if let Some(s) = value.get_mut("schema") {
        schema::normalise(s, &format!("{at}/schema"), changes);
    }
    with_content(value, at, changes);
}

fn response(value: &mut Value, at: &str, changes: &mut Changes) {
    with_content(value, at, changes);
    if let Some(Value::Mapping(headers)) = value.get_mut("headers") {
        for (name, header) in headers.iter_mut() {
            let name = name.as_str().unwrap_or_default();
            parameter(header, &format!("{at}/headers/{}", pointer_segment(name)), changes);
        }
    }
}

/// A request body, response or parameter `content` map: each media type's `schema`.
fn with_content(value: &mut Value, at: &str, changes: &mut Changes) {
    let Some(Value::Mapping(content)) = value.get_mut("content") else { return };
    for (media, entry) in content.iter_mut() {
        let media = media.as_str().unwrap_or_default();
        if let Some(s) = entry.get_mut("schema") {
            schema::normalise(s, &format!("{at}/content/{}/schema", pointer_segment(media)), changes);
        }
    }
}

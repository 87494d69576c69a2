//! Down-converts one JSON Schema (OpenAPI 3.1 / 2020-12) to the OpenAPI 3.0 schema dialect,
//! recursively. Only schema positions are walked: `examples` in a media type or a parameter is a
//! 3.0 map of Example Objects and stays as it is.

use yaml_serde::{Mapping, Value};

use super::{Changes, Rule, brief, pointer_segment};

/// Schema keywords OpenAPI 3.0 has no equivalent for; they are dropped with a warning.
const UNSUPPORTED: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$defs",
    "$comment",
    "$vocabulary",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "patternProperties",
    "propertyNames",
    "contains",
    "minContains",
    "maxContains",
];

/// Normalises the schema at `value` (a location such as `#/components/schemas/X`).
pub(super) fn normalise(value: &mut Value, at: &str, changes: &mut Changes) {
    if let Value::Bool(allowed) = value {
        // 3.1 allows `true` (anything) and `false` (nothing) as schemas; 3.0 needs objects.
        let replacement = if *allowed { Mapping::new() } else { one("not", Value::Mapping(Mapping::new())) };
        changes.add(Rule::BooleanSchema, at, format!("schema `{allowed}` → {}", brief(&Value::Mapping(replacement.clone()))));
        *value = Value::Mapping(replacement);
        return;
    }
    let Value::Mapping(map) = value else { return };
    if map.contains_key("$ref") {
        // 3.1 allows siblings next to `$ref`; 3.0 ignores them, and so does the generator.
        return;
    }
    for keyword in UNSUPPORTED {
        if let Some(dropped) = map.shift_remove(*keyword) {
            changes.add(Rule::Unsupported31, at, format!("dropped `{keyword}: {}` (OpenAPI 3.0 cannot say it)", brief(&dropped)));
        }
    }
    if let Some(title) = map.shift_remove("title") {
        // progenitor (typify) names an inline type after its title: FastAPI's `title: Sector`
        // would rename `AppointmentTypeSector`, which the pins cannot hold and the hand-written
        // layer names.
        changes.add(Rule::SchemaTitle, at, format!("dropped `title: {}` (the generator would name the type after it)", brief(&title)));
    }
    type_list(map, at, changes);
    null_type(map, at, changes);
    for union in ["anyOf", "oneOf"] {
        nullable_union(map, union, at, changes);
    }
    constant(map, at, changes);
    examples(map, at, changes);
    for (exclusive, inclusive) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        exclusive_bound(map, exclusive, inclusive, at, changes);
    }
    children(map, at, changes);
    id_pattern(value, at, changes);
}

/// The pattern of Hero's numeric-string ids, and the component the crate maps to `crate::Id`.
pub(super) const ID_PATTERN: &str = "^\\d+$";
const ID_COMPONENT: &str = "#/components/schemas/Id";

/// `{type: string, pattern: '^\d+$'}` → `$ref: '#/components/schemas/Id'` (nullable: under
/// `allOf`). Published bundles write the pattern inline on every id; the crate maps the one
/// component to its hand-written `Id`, which is checked on what is sent and not on what is
/// received, and needs no regex engine.
fn id_pattern(value: &mut Value, at: &str, changes: &mut Changes) {
    let Value::Mapping(map) = value else { return };
    let is_id = map.get("type").and_then(Value::as_str) == Some("string")
        && map.get("pattern").and_then(Value::as_str) == Some(ID_PATTERN)
        && map.keys().all(|k| matches!(k.as_str(), Some("type" | "pattern" | "description" | "example" | "nullable" | "minLength")));
    // A component that is itself the id pattern (`Id`, a bundle's `IdDto`) stays: references to
    // it are the ids, and a schema pin can give it the crate's name.
    let is_component = at.strip_prefix("#/components/schemas/").is_some_and(|name| !name.contains('/'));
    if !is_id || is_component {
        return;
    }
    let nullable = map.get("nullable").and_then(Value::as_bool) == Some(true);
    let mut replacement = one("$ref", ID_COMPONENT.into());
    if nullable {
        replacement = one("allOf", Value::Sequence(vec![Value::Mapping(replacement)]));
        replacement.insert("nullable".into(), true.into());
    }
    if let Some(description) = map.get("description") {
        replacement.insert("description".into(), description.clone());
    }
    changes.add(Rule::IdPattern, at, format!("inline id pattern → $ref Id{}", if nullable { " (nullable, under allOf)" } else { "" }));
    *value = Value::Mapping(replacement);
}

/// Adds the `Id` component if an `id-pattern` or `hero-id` change points at it and the document
/// lacks it.
pub(super) fn ensure_id_component(document: &mut Value, changes: &mut Changes) {
    if !refers_to(document, ID_COMPONENT) {
        // The ids refer to the document's own id component (a bundle's `IdDto`).
        return;
    }
    let Some(doc) = document.as_mapping_mut() else { return };
    let components = doc.entry("components".into()).or_insert_with(|| Value::Mapping(Mapping::new()));
    let Some(components) = components.as_mapping_mut() else { return };
    let schemas = components.entry("schemas".into()).or_insert_with(|| Value::Mapping(Mapping::new()));
    let Some(schemas) = schemas.as_mapping_mut() else { return };
    if !schemas.contains_key("Id") {
        let mut id = one("type", "string".into());
        id.insert("pattern".into(), ID_PATTERN.into());
        id.insert("description".into(), "A Hero identifier: a numeric string.".into());
        schemas.insert("Id".into(), Value::Mapping(id));
        changes.add(Rule::IdPattern, ID_COMPONENT, "added the Id component the inline id patterns now refer to");
    }
}

/// Whether any `$ref` in `value` is `target`.
fn refers_to(value: &Value, target: &str) -> bool {
    match value {
        Value::Mapping(map) => map.iter().any(|(k, v)| (k.as_str() == Some("$ref") && v.as_str() == Some(target)) || refers_to(v, target)),
        Value::Sequence(items) => items.iter().any(|v| refers_to(v, target)),
        _ => false,
    }
}

fn one(key: &str, value: Value) -> Mapping {
    let mut map = Mapping::new();
    map.insert(key.into(), value);
    map
}

/// `type: [string, 'null']` → `type: string` + `nullable: true`; `[string, integer]` → `anyOf`.
fn type_list(map: &mut Mapping, at: &str, changes: &mut Changes) {
    let Some(Value::Sequence(types)) = map.get("type") else { return };
    let before = brief(&Value::Sequence(types.clone()));
    let names: Vec<String> = types.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect();
    let nullable = names.iter().any(|t| t == "null");
    let mut others: Vec<String> = names.into_iter().filter(|t| t != "null").collect();
    others.dedup();
    let after = match others.len() {
        0 => {
            map.shift_remove("type");
            "no type".to_string()
        }
        1 => {
            map.insert("type".into(), others[0].clone().into());
            format!("type: {}", others[0])
        }
        _ => {
            map.shift_remove("type");
            let branches: Vec<Value> = others.iter().map(|t| Value::Mapping(one("type", t.clone().into()))).collect();
            if map.contains_key("anyOf") {
                // Keep the existing anyOf; both must hold, so the type list goes under allOf.
                let all = map.entry("allOf".into()).or_insert_with(|| Value::Sequence(Vec::new()));
                if let Value::Sequence(all) = all {
                    all.push(Value::Mapping(one("anyOf", Value::Sequence(branches))));
                }
            } else {
                map.insert("anyOf".into(), Value::Sequence(branches));
            }
            format!("anyOf of {}", others.join(", "))
        }
    };
    if nullable {
        map.insert("nullable".into(), true.into());
    }
    changes.add(Rule::TypeArray, at, format!("type {before} → {after}{}", if nullable { " + nullable: true" } else { "" }));
}

/// `type: 'null'` on its own → `nullable: true` (3.0 has no null type).
fn null_type(map: &mut Mapping, at: &str, changes: &mut Changes) {
    if map.get("type").and_then(Value::as_str) == Some("null") {
        map.shift_remove("type");
        map.insert("nullable".into(), true.into());
        changes.add(Rule::NullType, at, "type: 'null' → nullable: true");
    }
}

fn is_null_schema(value: &Value) -> bool {
    let Value::Mapping(map) = value else { return false };
    match map.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Sequence(ts)) => ts.iter().all(|t| t.as_str() == Some("null")),
        _ => matches!(map.get("const"), Some(Value::Null)) || map.get("enum") == Some(&Value::Sequence(vec![Value::Null])),
    }
}

/// `anyOf: [X, {type: 'null'}]` → X + `nullable: true` (a lone `$ref` goes under `allOf`, the
/// 3.0 way to make a reference nullable, which progenitor turns into `Option<X>`).
fn nullable_union(map: &mut Mapping, union: &str, at: &str, changes: &mut Changes) {
    let Some(Value::Sequence(members)) = map.get(union) else { return };
    if !members.iter().any(is_null_schema) {
        return;
    }
    let rest: Vec<Value> = members.iter().filter(|m| !is_null_schema(m)).cloned().collect();
    map.shift_remove(union);
    map.insert("nullable".into(), true.into());
    let detail = match rest.len() {
        0 => format!("{union} of null only → nullable: true"),
        1 => {
            let member = rest.into_iter().next().unwrap_or(Value::Null);
            let inline = member.as_mapping().filter(|m| !m.contains_key("$ref") && m.keys().all(|k| !map.contains_key(k)));
            match inline {
                Some(inline) => {
                    for (k, v) in inline.clone() {
                        map.insert(k, v);
                    }
                    format!("{union} [schema, null] → the schema + nullable: true")
                }
                None => {
                    let all = map.entry("allOf".into()).or_insert_with(|| Value::Sequence(Vec::new()));
                    if let Value::Sequence(all) = all {
                        all.push(member);
                    }
                    format!("{union} [schema, null] → allOf [schema] + nullable: true")
                }
            }
        }
        n => {
            map.insert(union.into(), Value::Sequence(rest));
            format!("null member removed from {union} (leaving {n}) → nullable: true")
        }
    };
    changes.add(Rule::NullableUnion, at, detail);
}

/// `const: v` → `enum: [v]`.
fn constant(map: &mut Mapping, at: &str, changes: &mut Changes) {
    let Some(value) = map.shift_remove("const") else { return };
    let detail = format!("const {} → enum [{}]", brief(&value), brief(&value));
    // With an `enum` beside it, `const` still narrows the value to one: the one-value enum says so.
    map.insert("enum".into(), Value::Sequence(vec![value]));
    changes.add(Rule::Const, at, detail);
}

/// Schema `examples: [a, b]` (2020-12) → `example: a` (3.0 has one example per schema).
fn examples(map: &mut Mapping, at: &str, changes: &mut Changes) {
    let Some(examples) = map.shift_remove("examples") else { return };
    let first = match &examples {
        Value::Sequence(items) => items.first().cloned(),
        _ => None,
    };
    let detail = match first {
        Some(first) if !map.contains_key("example") => {
            map.insert("example".into(), first);
            let n = examples.as_sequence().map_or(0, Vec::len);
            if n > 1 { format!("examples → example (the first of {n})") } else { "examples → example".to_string() }
        }
        _ => "dropped examples (the schema already has an example, or they are not a list)".to_string(),
    };
    changes.add(Rule::Examples, at, detail);
}

/// `exclusiveMinimum: 5` (2020-12, a number) → `minimum: 5` + `exclusiveMinimum: true` (3.0).
fn exclusive_bound(map: &mut Mapping, exclusive: &str, inclusive: &str, at: &str, changes: &mut Changes) {
    let Some(Value::Number(bound)) = map.get(exclusive).cloned() else { return };
    let stricter = match map.get(inclusive).and_then(Value::as_f64).zip(bound.as_f64()) {
        // Both given: the exclusive bound wins unless the inclusive one is stricter.
        Some((inc, exc)) if (inclusive == "minimum" && inc > exc) || (inclusive == "maximum" && inc < exc) => false,
        _ => true,
    };
    if stricter {
        map.insert(inclusive.into(), Value::Number(bound.clone()));
        map.insert(exclusive.into(), true.into());
        changes.add(Rule::ExclusiveBound, at, format!("{exclusive}: {bound} → {inclusive}: {bound} + {exclusive}: true"));
    } else {
        map.shift_remove(exclusive);
        changes.add(Rule::ExclusiveBound, at, format!("dropped {exclusive}: {bound} (the {inclusive} is stricter)"));
    }
}

/// Recurses into the subschemas.
fn children(map: &mut Mapping, at: &str, changes: &mut Changes) {
    if let Some(Value::Mapping(properties)) = map.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            let name = name.as_str().unwrap_or_default();
            normalise(property, &format!("{at}/properties/{}", pointer_segment(name)), changes);
        }
    }
    if let Some(items) = map.get_mut("items") {
        normalise(items, &format!("{at}/items"), changes);
    }
    // `additionalProperties: true/false` is valid 3.0; only an object there is a subschema.
    if let Some(extra @ Value::Mapping(_)) = map.get_mut("additionalProperties") {
        normalise(extra, &format!("{at}/additionalProperties"), changes);
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Sequence(members)) = map.get_mut(combinator) {
            for (i, member) in members.iter_mut().enumerate() {
                normalise(member, &format!("{at}/{combinator}/{i}"), changes);
            }
        }
    }
    if let Some(not) = map.get_mut("not") {
        normalise(not, &format!("{at}/not"), changes);
    }
}

//! What changed between two (normalised) documents, operation by operation: added, removed and
//! changed operations, where a change is a method or path, a parameter, a request or response
//! field (its type, required flag or enum values) or a status. Operations are matched by
//! `operationId`, the name of the generated method.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::codegen::document::{format_name, resolve, unbox};
use openapiv3::{OpenAPI, Parameter, ParameterSchemaOrContent, ReferenceOr, Schema, SchemaKind, StatusCode, Type};

/// How deep nested fields are compared (`a.b.c…`); deeper changes show at this depth.
const MAX_DEPTH: usize = 8;

/// One operation's comparable outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// `operationId`.
    pub id: String,
    /// `GET`, `POST`…
    pub method: String,
    /// `/v1/appointments/{id}`.
    pub path: String,
    params: BTreeMap<String, String>,
    request: BTreeMap<String, Field>,
    response: BTreeMap<String, Field>,
    statuses: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    ty: String,
    required: bool,
    values: BTreeSet<String>,
}

/// An operation present on both sides that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The new outline.
    pub outline: Outline,
    /// One line per difference.
    pub details: Vec<String>,
}

/// The differences between two documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// In the new document only.
    pub added: Vec<Outline>,
    /// In the old document only.
    pub removed: Vec<Outline>,
    /// In both, different.
    pub changed: Vec<Changed>,
}

impl Drift {
    /// Nothing was added, removed or changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares `old` with `new`.
pub fn compare(old: &OpenAPI, new: &OpenAPI) -> Drift {
    let old = outlines(old);
    let new = outlines(new);
    let mut drift = Drift::default();
    for (id, outline) in &new {
        match old.get(id) {
            None => drift.added.push(outline.clone()),
            Some(before) => {
                let details = differences(before, outline);
                if !details.is_empty() {
                    drift.changed.push(Changed { outline: outline.clone(), details });
                }
            }
        }
    }
    drift.removed = old.iter().filter(|(id, _)| !new.contains_key(*id)).map(|(_, o)| o.clone()).collect();
    drift
}

/// Every operation's outline, by `operationId` (sorted, so reports are stable).
pub fn outlines(spec: &OpenAPI) -> BTreeMap<String, Outline> {
    let mut all = BTreeMap::new();
    for (path, method, op) in spec.operations() {
        let id = op.operation_id.clone().unwrap_or_else(|| format!("{} {path}", method.to_uppercase()));
        let item_params = spec.paths.paths.get(path).and_then(ReferenceOr::as_item).map(|i| &i.parameters[..]).unwrap_or(&[]);
        let mut params = BTreeMap::new();
        for p in item_params.iter().chain(&op.parameters) {
            let Some(p) = resolve(spec, p, "parameters", |c| &c.parameters) else { continue };
            let (place, data) = match p {
                Parameter::Query { parameter_data, .. } => ("query", parameter_data),
                Parameter::Header { parameter_data, .. } => ("header", parameter_data),
                Parameter::Path { parameter_data, .. } => ("path", parameter_data),
                Parameter::Cookie { parameter_data, .. } => ("cookie", parameter_data),
            };
            let ty = match &data.format {
                ParameterSchemaOrContent::Schema(s) => type_label(spec, s),
                ParameterSchemaOrContent::Content(_) => "content".into(),
            };
            params.insert(format!("{place} `{}`", data.name), format!("{ty}, {}", if data.required { "required" } else { "optional" }));
        }
        let mut request = BTreeMap::new();
        if let Some(body) = op.request_body.as_ref().and_then(|b| resolve(spec, b, "requestBodies", |c| &c.request_bodies)) {
            for (media, content) in &body.content {
                if let Some(schema) = &content.schema {
                    request.insert(
                        "(body)".into(),
                        Field { ty: format!("{media} {}", type_label(spec, schema)), required: body.required, values: BTreeSet::new() },
                    );
                    flatten(spec, schema, "", &mut Vec::new(), &mut request);
                }
            }
        }
        let mut response = BTreeMap::new();
        let mut statuses = Vec::new();
        for (code, r) in &op.responses.responses {
            let code = match code {
                StatusCode::Code(c) => c.to_string(),
                StatusCode::Range(r) => format!("{r}XX"),
            };
            statuses.push(code.clone());
            if !code.starts_with('2') {
                continue;
            }
            let Some(r) = resolve(spec, r, "responses", |c| &c.responses) else { continue };
            for (media, content) in &r.content {
                if let Some(schema) = &content.schema {
                    response.insert(
                        "(body)".into(),
                        Field { ty: format!("{media} {}", type_label(spec, schema)), required: true, values: BTreeSet::new() },
                    );
                    flatten(spec, schema, "", &mut Vec::new(), &mut response);
                }
            }
        }
        let outline = Outline {
            id: id.clone(),
            method: method.to_uppercase(),
            path: path.to_owned(),
            params,
            request,
            response,
            statuses: statuses.join(", "),
        };
        all.insert(id, outline);
    }
    all
}

fn differences(old: &Outline, new: &Outline) -> Vec<String> {
    let mut out = Vec::new();
    if (old.method.as_str(), old.path.as_str()) != (new.method.as_str(), new.path.as_str()) {
        out.push(format!("moved: {} {} → {} {}", old.method, old.path, new.method, new.path));
    }
    for (name, before, after) in pairs(&old.params, &new.params) {
        match (before, after) {
            (None, Some(a)) => out.push(format!("parameter added: {name} ({a})")),
            (Some(b), None) => out.push(format!("parameter removed: {name} ({b})")),
            (Some(b), Some(a)) if b != a => out.push(format!("parameter changed: {name}: {b} → {a}")),
            _ => {}
        }
    }
    fields("request", &old.request, &new.request, &mut out);
    fields("response", &old.response, &new.response, &mut out);
    if old.statuses != new.statuses {
        out.push(format!("statuses: {} → {}", old.statuses, new.statuses));
    }
    out
}

fn fields(side: &str, old: &BTreeMap<String, Field>, new: &BTreeMap<String, Field>, out: &mut Vec<String>) {
    let required = |f: &Field| if f.required { "required" } else { "optional" };
    for (name, before, after) in pairs(old, new) {
        match (before, after) {
            (None, Some(a)) => out.push(format!("{side} field added: `{name}` ({}, {})", a.ty, required(a))),
            (Some(b), None) => out.push(format!("{side} field removed: `{name}` ({})", b.ty)),
            (Some(b), Some(a)) => {
                if b.ty != a.ty {
                    out.push(format!("{side} field `{name}`: type {} → {}", b.ty, a.ty));
                }
                if b.required != a.required {
                    out.push(format!("{side} field `{name}`: {} → {}", required(b), required(a)));
                }
                let gone: Vec<&str> = b.values.difference(&a.values).map(String::as_str).collect();
                let new_values: Vec<&str> = a.values.difference(&b.values).map(String::as_str).collect();
                if !gone.is_empty() || !new_values.is_empty() {
                    let mut text = format!("{side} field `{name}`: enum values");
                    if !new_values.is_empty() {
                        let _ = write!(text, " added {}", new_values.join(", "));
                    }
                    if !gone.is_empty() {
                        let _ = write!(text, "{} removed {}", if new_values.is_empty() { "" } else { ";" }, gone.join(", "));
                    }
                    out.push(text);
                }
            }
            (None, None) => {}
        }
    }
}

/// Keys of both maps in order, with each side's value.
fn pairs<'a, V>(old: &'a BTreeMap<String, V>, new: &'a BTreeMap<String, V>) -> Vec<(&'a String, Option<&'a V>, Option<&'a V>)> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    keys.into_iter().map(|k| (k, old.get(k), new.get(k))).collect()
}

fn resolve_schema<'a>(spec: &'a OpenAPI, schema: &'a ReferenceOr<Schema>) -> (Option<String>, Option<&'a Schema>) {
    match schema {
        ReferenceOr::Item(s) => (None, Some(s)),
        ReferenceOr::Reference { reference } => {
            let name = reference.rsplit('/').next().unwrap_or(reference).to_owned();
            let target = spec.components.as_ref().and_then(|c| c.schemas.get(&name)).and_then(ReferenceOr::as_item);
            (Some(name), target)
        }
    }
}

/// `string(date-time)`, `integer`, `array of Slot`, `object Appointment`, `…?` when nullable.
fn type_label(spec: &OpenAPI, schema: &ReferenceOr<Schema>) -> String {
    let (name, target) = resolve_schema(spec, schema);
    let Some(s) = target else { return name.unwrap_or_else(|| "?".into()) };
    let base = match &s.schema_kind {
        SchemaKind::Type(Type::String(t)) => format!("string{}", format_label(format_name(&t.format))),
        SchemaKind::Type(Type::Number(t)) => format!("number{}", format_label(format_name(&t.format))),
        SchemaKind::Type(Type::Integer(t)) => format!("integer{}", format_label(format_name(&t.format))),
        SchemaKind::Type(Type::Boolean(_)) => "boolean".into(),
        SchemaKind::Type(Type::Object(_)) => "object".into(),
        SchemaKind::Type(Type::Array(a)) => match &a.items {
            Some(items) => format!("array of {}", type_label(spec, &unbox(items))),
            None => "array".into(),
        },
        SchemaKind::OneOf { .. } => "oneOf".into(),
        SchemaKind::AnyOf { .. } => "anyOf".into(),
        SchemaKind::AllOf { all_of } => match &all_of[..] {
            [only] => return format!("{}{}", type_label(spec, only), if s.schema_data.nullable { "?" } else { "" }),
            _ => "allOf".into(),
        },
        SchemaKind::Not { .. } => "not".into(),
        SchemaKind::Any(_) => "any".into(),
    };
    let named = match name {
        Some(n) if base == "object" || base.starts_with("oneOf") || base.starts_with("anyOf") || base == "allOf" => format!("{base} {n}"),
        Some(n) => format!("{base} ({n})"),
        None => base,
    };
    format!("{named}{}", if s.schema_data.nullable { "?" } else { "" })
}

/// `Item(DateTime)` → `(date-time)`; `Empty` → ``; `Unknown("uuid")` → `(uuid)`.
/// `(date-time)` for a format, nothing without one.
fn format_label(format: Option<String>) -> String {
    format.map(|f| format!("({f})")).unwrap_or_default()
}

/// Records every field under `prefix` (`a.b`, `items[].c`) with its type, flag and enum values.
fn flatten(spec: &OpenAPI, schema: &ReferenceOr<Schema>, prefix: &str, stack: &mut Vec<String>, out: &mut BTreeMap<String, Field>) {
    let (name, target) = resolve_schema(spec, schema);
    let Some(s) = target else { return };
    if stack.len() >= MAX_DEPTH || name.as_ref().is_some_and(|n| stack.contains(n)) {
        return; // recursive type, or deep enough: the type label above already tells the change.
    }
    stack.push(name.clone().unwrap_or_default());
    let join = |field: &str| if prefix.is_empty() { field.to_owned() } else { format!("{prefix}.{field}") };
    match &s.schema_kind {
        SchemaKind::Type(Type::Object(object)) => {
            for (field, property) in &object.properties {
                let property = unbox(property);
                let key = join(field);
                let values = enum_values(spec, &property);
                out.insert(key.clone(), Field { ty: type_label(spec, &property), required: object.required.contains(field), values });
                flatten(spec, &property, &key, stack, out);
            }
        }
        SchemaKind::Type(Type::Array(array)) => {
            if let Some(items) = &array.items {
                flatten(spec, &unbox(items), &format!("{prefix}[]"), stack, out);
            }
        }
        SchemaKind::AllOf { all_of: members } | SchemaKind::OneOf { one_of: members } | SchemaKind::AnyOf { any_of: members } => {
            for member in members {
                flatten(spec, member, prefix, stack, out);
            }
        }
        _ => {}
    }
    stack.pop();
}

fn enum_values(spec: &OpenAPI, schema: &ReferenceOr<Schema>) -> BTreeSet<String> {
    let Some(s) = resolve_schema(spec, schema).1 else { return BTreeSet::new() };
    let show = |v: Option<String>| v.unwrap_or_else(|| "null".into());
    match &s.schema_kind {
        SchemaKind::Type(Type::String(t)) => t.enumeration.iter().cloned().map(show).collect(),
        SchemaKind::Type(Type::Integer(t)) => t.enumeration.iter().map(|v| show(v.map(|n| n.to_string()))).collect(),
        SchemaKind::Type(Type::Number(t)) => t.enumeration.iter().map(|v| show(v.map(|n| n.to_string()))).collect(),
        SchemaKind::AllOf { all_of } if all_of.len() == 1 => enum_values(spec, &all_of[0]),
        _ => BTreeSet::new(),
    }
}

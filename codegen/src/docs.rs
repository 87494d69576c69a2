//! Docs on every generated item, and builders that name every missing field.
//!
//! progenitor documents each `Client` method with the operation's summary and description, and
//! typify each type with its schema's description; everything else (struct fields without a
//! description, enum values, builder setters, `new`, `builder()`) comes out bare. This pass, run
//! on the parsed code, adds:
//! - to each `Client` method and request builder: the `operationId` (what errors and the mock's
//!   `Fault::on` name), `METHOD /path`, and the fields required before `send()`;
//! - to each request setter: which parameter it sets, where, whether it is required, and the
//!   parameter's description;
//! - to each type, field and enum value: the schema's words, or what it is part of;
//! - everywhere the document says `x-hero-inferred`: a visible "Inferred" note with the reason,
//!   so users know what Hero's reference has never confirmed.
//!
//! It also makes a builder that is missing several required fields name all of them (progenitor
//! and typify stop at the first), and turns progenitor's setter message ("conversion to
//! `crate :: id :: Id` for location_id failed") into one that says what a valid value is.

use std::collections::BTreeMap;

use openapiv3::{OpenAPI, Operation, ReferenceOr, Schema, SchemaKind, Type};
use proc_macro2::{Group, Literal, TokenStream, TokenTree};
use quote::ToTokens as _;
use syn::{Attribute, Fields, ImplItem, Item, parse_quote};

use crate::syntax::{is_named, last_ident};

/// Runs the pass (see the module docs). The surface's rows map routes to method names.
pub fn complete(file: &mut syn::File, spec: &OpenAPI, surface: &[crate::surface::Row]) {
    let operations = operations_by_method(spec, surface);
    for item in &mut file.items {
        match item {
            Item::Impl(imp) if imp.trait_.is_none() && is_named(&imp.self_ty, "Client") => client_methods(imp, &operations),
            Item::Mod(m) if m.ident == "builder" => {
                if let Some((_, items)) = &mut m.content {
                    request_builders(items, &operations, spec);
                }
            }
            Item::Mod(m) if m.ident == "types" => {
                if let Some((_, items)) = &mut m.content {
                    types(items, spec);
                }
            }
            _ => {}
        }
    }
}

/// One operation of the document, as the generated method sees it.
struct Op<'a> {
    name: String,
    builder: String,
    id: String,
    method: String,
    path: String,
    operation: &'a Operation,
    parameters: Vec<&'a openapiv3::ParameterData>,
}

fn operations_by_method<'a>(spec: &'a OpenAPI, surface: &[crate::surface::Row]) -> BTreeMap<String, Op<'a>> {
    let mut out = BTreeMap::new();
    for (path, method, operation) in spec.operations() {
        let Some(row) = crate::surface::Row::find(surface, method, path) else { continue };
        let name = row.name.as_str();
        let item_parameters = spec.paths.paths.get(path).and_then(ReferenceOr::as_item).map(|i| &i.parameters[..]).unwrap_or_default();
        let parameters = operation.parameters.iter().chain(item_parameters).filter_map(|p| resolve_parameter(spec, p)).collect();
        let id = operation.operation_id.clone().unwrap_or_else(|| name.to_owned());
        out.insert(
            name.to_owned(),
            Op {
                name: name.to_owned(),
                builder: row.builder.clone(),
                id,
                method: method.to_uppercase(),
                path: path.to_owned(),
                operation,
                parameters,
            },
        );
    }
    out
}

fn resolve_parameter<'a>(spec: &'a OpenAPI, parameter: &'a ReferenceOr<openapiv3::Parameter>) -> Option<&'a openapiv3::ParameterData> {
    match parameter {
        ReferenceOr::Item(p) => Some(p.parameter_data_ref()),
        ReferenceOr::Reference { reference } => {
            let name = reference.rsplit('/').next()?;
            spec.components.as_ref()?.parameters.get(name)?.as_item().map(|p| p.parameter_data_ref())
        }
    }
}

/// The Rust name progenitor gives a parameter (`assignee_id[]` → `assignee_id`).
fn rust_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// `x-hero-inferred` of a vendor-extension map, as a note, if there is one.
fn inferred(extensions: &indexmap::IndexMap<String, serde_json::Value>) -> Option<String> {
    let reason = extensions.get("x-hero-inferred")?;
    let reason = reason.as_str().map_or_else(|| reason.to_string(), str::to_owned);
    Some(format!("**Inferred** (`x-hero-inferred`: Hero's reference has never confirmed this): {reason}"))
}

fn client_methods(imp: &mut syn::ItemImpl, operations: &BTreeMap<String, Op<'_>>) {
    for item in &mut imp.items {
        let ImplItem::Fn(f) = item else { continue };
        let Some(op) = operations.get(&f.sig.ident.to_string()) else { continue };
        let mut text = format!(
            "Operation `{}` (`{} {}`). Errors name it `{}`; the mock's `Fault::on` takes either name.",
            op.id, op.method, op.path, op.name
        );
        let required = required_fields(op);
        if !required.is_empty() {
            text.push_str(&format!(" Required before `send()`: {}.", required.join(", ")));
        }
        push_doc(&mut f.attrs, &text);
        for note in operation_notes(op) {
            push_doc(&mut f.attrs, &note);
        }
    }
}

/// Every "Inferred" note an operation carries: its own, its parameters', its body's and answers'.
fn operation_notes(op: &Op<'_>) -> Vec<String> {
    let mut notes: Vec<String> = inferred(&op.operation.extensions).into_iter().collect();
    for p in &op.parameters {
        if let Some(note) = inferred(&p.extensions) {
            notes.push(format!("Parameter `{}`: {note}", p.name));
        }
    }
    if let Some(ReferenceOr::Item(body)) = &op.operation.request_body
        && let Some(note) = inferred(&body.extensions)
    {
        notes.push(format!("Request body: {note}"));
    }
    for (status, response) in &op.operation.responses.responses {
        if let ReferenceOr::Item(response) = response
            && let Some(note) = inferred(&response.extensions)
        {
            notes.push(format!("Answer {status}: {note}"));
        }
    }
    notes
}

fn required_fields(op: &Op<'_>) -> Vec<String> {
    let mut required: Vec<String> = op.parameters.iter().filter(|p| p.required).map(|p| format!("`{}`", rust_name(&p.name))).collect();
    if op.operation.request_body.as_ref().and_then(ReferenceOr::as_item).is_some_and(|b| b.required) {
        required.push("`body` (or `body_map`)".to_owned());
    }
    required
}

fn request_builders(items: &mut [Item], operations: &BTreeMap<String, Op<'_>>, spec: &OpenAPI) {
    let by_builder: BTreeMap<&str, &Op<'_>> = operations.values().map(|op| (op.builder.as_str(), op)).collect();
    for item in items.iter_mut() {
        match item {
            Item::Struct(s) => {
                if let Some(op) = by_builder.get(s.ident.to_string().as_str()) {
                    let required = required_fields(op);
                    let text = if required.is_empty() {
                        format!("Operation `{}` (`{} {}`). Every field is optional.", op.id, op.method, op.path)
                    } else {
                        format!(
                            "Operation `{}` (`{} {}`). Required before `send()`: {}; a `send()` without them names every one missing.",
                            op.id,
                            op.method,
                            op.path,
                            required.join(", ")
                        )
                    };
                    push_doc(&mut s.attrs, &text);
                }
            }
            Item::Impl(imp) if imp.trait_.is_none() => {
                let Some(op) = last_ident(&imp.self_ty).and_then(|name| by_builder.get(name.as_str())) else { continue };
                let body_type = body_schema_name(op.operation, spec);
                for impl_item in &mut imp.items {
                    let ImplItem::Fn(f) = impl_item else { continue };
                    let name = f.sig.ident.to_string();
                    if matches!(f.vis, syn::Visibility::Public(_)) && !has_doc(&f.attrs) {
                        let text = setter_doc(&name, op, body_type.as_deref());
                        push_doc(&mut f.attrs, &text);
                    }
                    if name == "send" {
                        name_every_missing_request_field(f);
                    } else {
                        rewrite_setter_messages(f);
                    }
                }
            }
            _ => {}
        }
    }
}

fn setter_doc(name: &str, op: &Op<'_>, body_type: Option<&str>) -> String {
    let body =
        body_type.map_or_else(|| "the request body".to_owned(), |t| format!("the request body, a [`types::{t}`](crate::types::{t})"));
    match name {
        "new" => format!("A `{}` request with no field set; `Client::{}` is the usual way in.", op.id, op.name),
        "body" => format!("Sets {body} (anything that converts into it)."),
        "body_map" => format!("Edits {body} through its builder, field by field (the builder starts empty)."),
        _ => match op.parameters.iter().find(|p| rust_name(&p.name) == name) {
            Some(p) => {
                let place = if op.path.contains(&format!("{{{}}}", p.name)) { "path" } else { "query" };
                let required = if p.required { "required" } else { "optional" };
                let mut text = format!("Sets the `{}` {place} parameter ({required}).", p.name);
                if let Some(description) = &p.description {
                    text.push_str(&format!(" {}", description.trim()));
                }
                if let Some(note) = inferred(&p.extensions) {
                    text.push_str(&format!("\n\n{note}"));
                }
                text
            }
            None => format!("Sets `{name}`."),
        },
    }
}

fn body_schema_name(operation: &Operation, spec: &OpenAPI) -> Option<String> {
    let body = match operation.request_body.as_ref()? {
        ReferenceOr::Item(body) => body,
        ReferenceOr::Reference { reference } => spec.components.as_ref()?.request_bodies.get(reference.rsplit('/').next()?)?.as_item()?,
    };
    match body.content.get("application/json")?.schema.as_ref()? {
        ReferenceOr::Reference { reference } => reference.rsplit('/').next().map(str::to_owned),
        ReferenceOr::Item(_) => None,
    }
}

/// The component schemas by name.
fn component_schemas(spec: &OpenAPI) -> BTreeMap<String, &Schema> {
    spec.components
        .as_ref()
        .map(|c| c.schemas.iter().filter_map(|(name, s)| s.as_item().map(|s| (name.clone(), s))).collect())
        .unwrap_or_default()
}

/// Which struct field uses which inline type (`EpisodePatient` → `Episode.patient`): an inline
/// type is named after where it sits.
fn part_of_map(items: &[Item], schemas: &BTreeMap<String, &Schema>) -> BTreeMap<String, String> {
    let mut part_of = BTreeMap::new();
    for item in items {
        let Item::Struct(s) = item else { continue };
        let Fields::Named(fields) = &s.fields else { continue };
        for field in &fields.named {
            let ty = field.ty.to_token_stream().to_string();
            let owner = s.ident.to_string();
            for word in ty.split(|c: char| !c.is_alphanumeric() && c != '_') {
                if !schemas.contains_key(word) && word.starts_with(&owner) && word != owner {
                    part_of.entry(word.to_owned()).or_insert_with(|| format!("{}.{}", s.ident, json_name(field)));
                }
            }
        }
    }
    part_of
}

/// The document's schema of each struct field of `mod types`: `(type, Rust field)` → property.
pub(crate) fn field_schemas<'a>(items: &[Item], spec: &'a OpenAPI) -> BTreeMap<(String, String), &'a Schema> {
    let schemas = component_schemas(spec);
    let part_of = part_of_map(items, &schemas);
    let mut out = BTreeMap::new();
    for item in items {
        let Item::Struct(s) = item else { continue };
        let Fields::Named(fields) = &s.fields else { continue };
        let Some(schema) = schema_of(&s.ident.to_string(), &schemas, &part_of, 0) else { continue };
        for field in &fields.named {
            if let (Some(ident), Some(property)) = (&field.ident, property(schema, &json_name(field))) {
                out.insert((s.ident.to_string(), ident.to_string()), property);
            }
        }
    }
    out
}

fn types(items: &mut [Item], spec: &OpenAPI) {
    let schemas = component_schemas(spec);
    // Which struct field uses which inline type: the inline type's docs say what it is part of.
    let part_of = part_of_map(items, &schemas);
    let mut wire_values: BTreeMap<(String, String), String> = BTreeMap::new();
    for item in items.iter() {
        match item {
            Item::Impl(imp) if imp.trait_.as_ref().is_some_and(|(p, _)| p.segments.last().is_some_and(|s| s.ident == "Display")) => {
                if let Some(name) = last_ident(&imp.self_ty) {
                    collect_wire_values(&name, imp, &mut wire_values);
                }
            }
            _ => {}
        }
    }
    for item in items.iter_mut() {
        match item {
            Item::Struct(s) => {
                let name = s.ident.to_string();
                let schema = schema_of(&name, &schemas, &part_of, 0);
                type_doc(&mut s.attrs, &name, schema, &part_of);
                if let Fields::Named(fields) = &mut s.fields {
                    for field in fields.named.iter_mut() {
                        let json = json_name(field);
                        let property = schema.and_then(|s| property(s, &json));
                        let required = schema.is_some_and(|s| is_required(s, &json));
                        if !has_doc(&field.attrs) {
                            let text = property
                                .and_then(|p| p.schema_data.description.clone())
                                .unwrap_or_else(|| format!("`{json}`{}", if required { " (required)." } else { " (optional)." }));
                            push_doc(&mut field.attrs, &text);
                        }
                        if let Some(note) = property.and_then(|p| inferred(&p.schema_data.extensions)) {
                            push_doc(&mut field.attrs, &note);
                        }
                    }
                }
            }
            Item::Enum(e) => {
                let name = e.ident.to_string();
                type_doc(&mut e.attrs, &name, schemas.get(&name).copied(), &part_of);
                for variant in e.variants.iter_mut() {
                    if has_doc(&variant.attrs) {
                        continue;
                    }
                    let text = match wire_values.get(&(name.clone(), variant.ident.to_string())) {
                        Some(value) => format!("`\"{value}\"`"),
                        None => format!("The `{}` variant.", variant.ident),
                    };
                    push_doc(&mut variant.attrs, &text);
                }
            }
            Item::Impl(imp) if imp.trait_.is_none() => {
                let Some(name) = last_ident(&imp.self_ty) else { continue };
                for impl_item in &mut imp.items {
                    if let ImplItem::Fn(f) = impl_item
                        && matches!(f.vis, syn::Visibility::Public(_))
                        && !has_doc(&f.attrs)
                    {
                        let text = match f.sig.ident.to_string().as_str() {
                            "builder" => format!("A builder for [`{name}`], every field unset: set them one by one, then `try_into()`."),
                            other => format!("`{other}` of [`{name}`]."),
                        };
                        push_doc(&mut f.attrs, &text);
                    }
                }
            }
            Item::Mod(m) if m.ident == "builder" => {
                if let Some((_, items)) = &mut m.content {
                    type_builders(items, &schemas);
                }
            }
            _ => {}
        }
    }
}

/// The schema a generated type comes from: a component, or (for an inline type) the property
/// of its owner's schema it sits in (`EpisodePatient` → `Episode.patient`), through array items.
fn schema_of<'a>(
    name: &str,
    schemas: &BTreeMap<String, &'a Schema>,
    part_of: &BTreeMap<String, String>,
    depth: usize,
) -> Option<&'a Schema> {
    if let Some(schema) = schemas.get(name) {
        return Some(schema);
    }
    let (owner, field) = part_of.get(name)?.split_once('.')?;
    if depth > 8 {
        return None;
    }
    let mut schema = property(schema_of(owner, schemas, part_of, depth + 1)?, field)?;
    while let SchemaKind::Type(Type::Array(array)) = &schema.schema_kind {
        schema = match array.items.as_ref()? {
            ReferenceOr::Item(items) => items,
            ReferenceOr::Reference { .. } => return None,
        };
    }
    Some(schema)
}

fn type_doc(attrs: &mut Vec<Attribute>, name: &str, schema: Option<&Schema>, part_of: &BTreeMap<String, String>) {
    let described = schema.is_some_and(|s| s.schema_data.description.is_some());
    if !described {
        let text = match (schema.filter(|_| !part_of.contains_key(name)), part_of.get(name)) {
            (Some(_), _) => format!("The `{name}` schema of Hero's API (`#/components/schemas/{name}`)."),
            (None, Some(owner)) => format!("The type of `{owner}` (an inline schema, named after where it sits)."),
            (None, None) => format!("`{name}`, an inline schema of Hero's API."),
        };
        push_doc(attrs, &text);
    }
    if let Some(note) = schema.and_then(|s| inferred(&s.schema_data.extensions)) {
        push_doc(attrs, &note);
    }
}

fn type_builders(items: &mut [Item], schemas: &BTreeMap<String, &Schema>) {
    for item in items.iter_mut() {
        match item {
            Item::Struct(s) if !has_doc(&s.attrs) => {
                let name = s.ident.to_string();
                let required: Vec<String> = schemas
                    .get(&name)
                    .and_then(|schema| match &schema.schema_kind {
                        SchemaKind::Type(Type::Object(o)) => Some(o.required.iter().map(|r| format!("`{r}`")).collect()),
                        _ => None,
                    })
                    .unwrap_or_default();
                let required = if required.is_empty() { "none".to_owned() } else { required.join(", ") };
                let text = format!(
                    "Builder for [`super::{name}`]: set fields with its methods, then `try_into()`. Required: {required}. A conversion with fields missing names every one."
                );
                push_doc(&mut s.attrs, &text);
            }
            Item::Impl(imp) => {
                let Some(name) = last_ident(&imp.self_ty) else { continue };
                let schema = schemas.get(&name).copied();
                for impl_item in &mut imp.items {
                    let ImplItem::Fn(f) = impl_item else { continue };
                    if f.sig.ident == "try_from" {
                        name_every_missing_type_field(f);
                    }
                    if imp.trait_.is_some() || !matches!(f.vis, syn::Visibility::Public(_)) || has_doc(&f.attrs) {
                        continue;
                    }
                    let field = f.sig.ident.to_string().trim_start_matches("r#").to_owned();
                    let required = schema.is_some_and(|s| is_required(s, &field));
                    let mut text = format!("Sets `{field}` ({}).", if required { "required" } else { "optional" });
                    if let Some(description) = schema.and_then(|s| property(s, &field)).and_then(|p| p.schema_data.description.as_deref()) {
                        text.push_str(&format!(" {}", description.trim()));
                    }
                    push_doc(&mut f.attrs, &text);
                }
            }
            _ => {}
        }
    }
}

/// `TryFrom<builder::X> for X`: before the first `value.field?`, check every field and report
/// all that failed (typify's conversion stops at the first).
fn name_every_missing_type_field(f: &mut syn::ImplItemFn) {
    // typify writes `Ok(Self { a: value.a?, b: value.b? })`.
    let fields: Vec<syn::Ident> = f
        .block
        .stmts
        .iter()
        .find_map(|stmt| match stmt {
            syn::Stmt::Expr(syn::Expr::Call(call), None) => match call.args.first() {
                Some(syn::Expr::Struct(built)) => Some(built),
                _ => None,
            },
            _ => None,
        })
        .into_iter()
        .flat_map(|built| &built.fields)
        .filter_map(|field| match (&field.expr, &field.member) {
            (syn::Expr::Try(_), syn::Member::Named(name)) => Some(name.clone()),
            _ => None,
        })
        .collect();
    if fields.len() < 2 {
        return;
    }
    let check: syn::Stmt = parse_quote! {
        {
            let missing: ::std::vec::Vec<&str> = [#(value.#fields.as_ref().err()),*].into_iter().flatten().map(::std::string::String::as_str).collect();
            if missing.len() > 1 {
                return Err(format!("{} fields are missing or invalid: {}", missing.len(), missing.join("; ")).into());
            }
        }
    };
    f.block.stmts.insert(0, check);
}

/// `X` of the first `types::X::try_from` called in `expr` (through `?`, method calls and closures).
fn conversion_target(expr: &syn::Expr) -> Option<syn::Ident> {
    match expr {
        syn::Expr::Try(t) => conversion_target(&t.expr),
        syn::Expr::MethodCall(call) => conversion_target(&call.receiver).or_else(|| call.args.iter().find_map(conversion_target)),
        syn::Expr::Closure(closure) => conversion_target(&closure.body),
        syn::Expr::Call(call) => match &*call.func {
            syn::Expr::Path(path) => {
                let segments: Vec<&syn::Ident> = path.path.segments.iter().map(|s| &s.ident).collect();
                match segments.as_slice() {
                    [types, ty, try_from] if *types == "types" && *try_from == "try_from" => Some((*ty).clone()),
                    _ => call.args.iter().find_map(conversion_target),
                }
            }
            _ => call.args.iter().find_map(conversion_target),
        },
        _ => None,
    }
}

/// A request builder's (progenitor's) `send`: after `let Self { client, a, b } = self;`, report every
/// field that is unset or failed to convert (the body's own missing fields included).
fn name_every_missing_request_field(f: &mut syn::ImplItemFn) {
    let Some((position, pattern)) = f.block.stmts.iter().enumerate().find_map(|(i, s)| match s {
        syn::Stmt::Local(syn::Local { pat: syn::Pat::Struct(pattern), .. }) if pattern.path.is_ident("Self") => Some((i, pattern)),
        _ => None,
    }) else {
        return;
    };
    let fields: Vec<syn::Ident> = pattern
        .fields
        .iter()
        .filter_map(|field| match &field.member {
            syn::Member::Named(ident) if ident != "client" => Some(ident.clone()),
            _ => None,
        })
        .collect();
    if fields.is_empty() {
        return;
    }
    // `let body = body.and_then(|v| types::X::try_from(v)…)…?;` names the body's type.
    let body_type = f.block.stmts.iter().find_map(|s| match s {
        syn::Stmt::Local(syn::Local { pat: syn::Pat::Ident(binding), init: Some(init), .. }) if binding.ident == "body" => {
            conversion_target(&init.expr)
        }
        _ => None,
    });
    let checks = fields.iter().map(|field| {
        if field == "body"
            && let Some(ty) = &body_type
        {
            quote::quote! {
                match &body {
                    Err(e) => Some(e.clone()),
                    Ok(b) => types::#ty::try_from(b.clone()).err().map(|e| format!("body: {e}")),
                }
            }
        } else {
            quote::quote! { #field.as_ref().err().cloned() }
        }
    });
    let check: syn::Stmt = parse_quote! {
        {
            let missing: ::std::vec::Vec<::std::string::String> = [#(#checks),*].into_iter().flatten().collect();
            if missing.len() > 1 {
                return Err(Error::InvalidRequest(format!("{} fields are missing or invalid: {}", missing.len(), missing.join("; "))));
            }
        }
    };
    f.block.stmts.insert(position + 1, check);
}

/// progenitor's setter message "conversion to `crate :: id :: Id` for location_id failed"
/// becomes "location_id: not a Hero id (digits only, like \"1234\")", and the type's tokens
/// lose their spaces elsewhere.
fn rewrite_setter_messages(f: &mut syn::ImplItemFn) {
    let tokens = rewrite_tokens(f.block.to_token_stream());
    if let Ok(block) = syn::parse2::<syn::Block>(tokens) {
        f.block = block;
    }
}

fn rewrite_tokens(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), rewrite_tokens(group.stream()));
                new.set_span(group.span());
                TokenTree::Group(new)
            }
            TokenTree::Literal(literal) => {
                match syn::parse_str::<syn::LitStr>(&literal.to_string()).ok().and_then(|s| setter_message(&s.value())) {
                    Some(text) => TokenTree::Literal(Literal::string(&text)),
                    None => TokenTree::Literal(literal),
                }
            }
            other => other,
        })
        .collect()
}

fn setter_message(text: &str) -> Option<String> {
    let rest = text.strip_prefix("conversion to `")?;
    let (ty, rest) = rest.split_once("` for ")?;
    let field = rest.strip_suffix(" failed")?;
    let ty: String = ty.chars().filter(|c| !c.is_whitespace()).collect();
    Some(if ty == "crate::id::Id" {
        format!("{field}: not a Hero id (digits only, like \"1234\")")
    } else {
        format!("{field}: the value does not convert to `{}`", ty.trim_start_matches("::"))
    })
}

/// The wire value of each variant of an enum, read from its `Display` impl.
pub(crate) fn collect_wire_values(name: &str, imp: &syn::ItemImpl, into: &mut BTreeMap<(String, String), String>) {
    // `fn fmt(..) { match *self { Self::Admin => f.write_str("Admin"), … } }`
    let arms = imp.items.iter().filter_map(|item| match item {
        syn::ImplItem::Fn(f) => f.block.stmts.iter().find_map(|stmt| match stmt {
            syn::Stmt::Expr(syn::Expr::Match(m), _) => Some(&m.arms),
            _ => None,
        }),
        _ => None,
    });
    for arm in arms.flatten() {
        let syn::Pat::Path(pattern) = &arm.pat else { continue };
        let syn::Expr::MethodCall(call) = &*arm.body else { continue };
        let (Some(variant), Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(value), .. }))) =
            (pattern.path.segments.last(), call.args.first())
        else {
            continue;
        };
        if call.method == "write_str" {
            into.insert((name.to_owned(), variant.ident.to_string()), value.value());
        }
    }
}

fn property<'a>(schema: &'a Schema, name: &str) -> Option<&'a Schema> {
    match &schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => match o.properties.get(name)? {
            ReferenceOr::Item(p) => Some(p),
            ReferenceOr::Reference { .. } => None,
        },
        _ => None,
    }
}

fn is_required(schema: &Schema, name: &str) -> bool {
    matches!(&schema.schema_kind, SchemaKind::Type(Type::Object(o)) if o.required.iter().any(|r| r == name))
}

/// The JSON name of a field: its `#[serde(rename = "…")]`, or its name.
pub(crate) fn json_name(field: &syn::Field) -> String {
    let mut name = field.ident.as_ref().map(|i| i.to_string().trim_start_matches("r#").to_owned()).unwrap_or_default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                name = value.value();
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    name
}

fn has_doc(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("doc"))
}

/// Appends a paragraph to an item's docs.
pub(crate) fn push_doc(attrs: &mut Vec<Attribute>, text: &str) {
    if has_doc(attrs) {
        attrs.push(parse_quote!(#[doc = ""]));
    }
    for line in text.lines() {
        let line = format!(" {line}");
        attrs.push(parse_quote!(#[doc = #line]));
    }
}

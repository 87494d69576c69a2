//! Liberal in what the client accepts: a received field whose type an SDK convention made
//! stronger than Hero publishes (`x-hero-published`, set by the xtask's conventions) becomes
//! `crate::lenient::Lenient<T>`, which keeps the value as received and the typed value when it
//! parsed. What users send keeps the strict type: a type only requests use is left alone.
//!
//! "Received" is every type an answer (success or error body) can reach, and every type no
//! request reaches (webhook payloads, spare components). A type both reach is received: its
//! fields also take the typed value (`Lenient::from`), and serialise it exactly as before.
//!
//! Also here, because it is the same promise: a whole-number field Hero publishes as an
//! `integer` takes `15.0` as 15 (JSON Schema counts it an integer; serde does not).

use std::collections::{BTreeMap, BTreeSet};

use openapiv3::OpenAPI;
use quote::ToTokens as _;
use syn::{Fields, Item, parse_quote};

use crate::surface::Row;
use crate::syntax::{option_inner, types_module};

/// The extension the conventions write: what Hero's document said before.
pub const PUBLISHED: &str = "x-hero-published";

/// The stronger types a convention produces, by their last path segment.
const STRONG: &[&str] = &["u64", "DateTime", "NaiveDate"];

/// Integer types typify writes for a published `integer`.
const INTEGERS: &[&str] = &["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"];

/// What the pass did: the lenient fields (`Type.json_name`) and the integer fields it made
/// accept integral floats.
#[derive(Debug, Default)]
pub struct Outcome {
    /// `Message.created_at`, … in the order of the generated table.
    pub lenient: Vec<String>,
    /// How many published-integer fields accept `15.0`.
    pub whole_numbers: usize,
}

/// Runs the pass (see the module docs).
pub fn apply(file: &mut syn::File, spec: &OpenAPI, rows: &[Row]) -> Result<Outcome, String> {
    let request_roots = request_types(file);
    let Some(types) = types_module(file) else { return Err("generated code has no `types` module".into()) };
    let schemas = crate::docs::field_schemas(types, spec);
    let graph = references(types);
    let answers: BTreeSet<String> = rows
        .iter()
        .flat_map(|r| std::iter::once(&r.success).chain(r.error.iter()))
        .filter_map(|t| t.rsplit("::").next().map(str::to_owned))
        .collect();
    let from_answers = reach(&graph, answers);
    let from_requests = reach(&graph, request_roots);
    let received = |name: &str| from_answers.contains(name) || !from_requests.contains(name);

    let mut outcome = Outcome::default();
    // (struct, field ident) → (old type, new type), for the typify builder of the same struct.
    let mut changed: BTreeMap<(String, String), (syn::Type, syn::Type)> = BTreeMap::new();
    for item in types.iter_mut() {
        let Item::Struct(s) = item else { continue };
        let owner = s.ident.to_string();
        if !received(&owner) {
            continue;
        }
        let Fields::Named(fields) = &mut s.fields else { continue };
        for field in fields.named.iter_mut() {
            let Some(ident) = field.ident.as_ref().map(ToString::to_string) else { continue };
            let Some(schema) = schemas.get(&(owner.clone(), ident.clone())) else { continue };
            let published = schema.schema_data.extensions.get(PUBLISHED).and_then(|v| v.as_str()).map(str::to_owned);
            let (optional, inner) = match option_inner(&field.ty) {
                Some(inner) => (true, inner.clone()),
                None => (false, field.ty.clone()),
            };
            let inner_name = last_segment(&inner);
            if let Some(published) = published {
                let old = field.ty.clone();
                if !STRONG.contains(&inner_name.as_str()) {
                    return Err(format!(
                        "the field `{owner}.{ident}` has a type (`{}`) the lenient pass does not handle (only `T` and `Option<T>` of {STRONG:?}); extend codegen/src/lenient.rs",
                        old.to_token_stream()
                    ));
                }
                let index = outcome.lenient.len();
                outcome.lenient.push(format!("{owner}.{}", crate::docs::json_name(field)));
                let lenient: syn::Type = parse_quote!(crate::lenient::Lenient<#inner>);
                field.ty = if optional { parse_quote!(::std::option::Option<#lenient>) } else { lenient };
                let with = if optional { "lenient_optional_field" } else { "lenient_field" };
                set_deserialize_with(&mut field.attrs, &format!("{with}::<_, _, {index}>"), optional);
                let text = format!(
                    "Hero publishes this as `{published}`; the SDK reads {} when the value is one and keeps the value as sent otherwise: `.parsed()` (`Option`) or `.get()` (`Result`) for the typed value, `.raw()` for what Hero sent ([`Lenient`](crate::Lenient)).",
                    describe(&inner_name)
                );
                crate::docs::push_doc(&mut field.attrs, &text);
                changed.insert((owner.clone(), ident), (old, field.ty.clone()));
            } else if INTEGERS.contains(&inner_name.as_str()) && !has_deserialize_with_other_than_option(&field.attrs) {
                let with = if optional { "crate::lenient::optional_whole_number" } else { "crate::lenient::whole_number" };
                set_deserialize_with(&mut field.attrs, with, optional);
                outcome.whole_numbers += 1;
            }
        }
    }
    typify_builders(types, &changed);
    if !outcome.lenient.is_empty() {
        let names = &outcome.lenient;
        let count = names.len();
        types.push(parse_quote! {
            /// The lenient fields, by position: the fallback event names the field.
            const LENIENT_FIELDS: [&str; #count] = [#(#names),*];
        });
        types.push(parse_quote! {
            fn lenient_field<'de, D: ::serde::Deserializer<'de>, T: crate::lenient::Strong, const N: usize>(deserializer: D) -> ::std::result::Result<crate::lenient::Lenient<T>, D::Error> {
                crate::lenient::field(deserializer, LENIENT_FIELDS[N])
            }
        });
        types.push(parse_quote! {
            fn lenient_optional_field<'de, D: ::serde::Deserializer<'de>, T: crate::lenient::Strong, const N: usize>(deserializer: D) -> ::std::result::Result<::std::option::Option<crate::lenient::Lenient<T>>, D::Error> {
                crate::lenient::optional_field(deserializer, LENIENT_FIELDS[N])
            }
        });
    }
    Ok(outcome)
}

fn describe(strong: &str) -> &'static str {
    match strong {
        "u64" => "a whole number (`u64`; `15.0` is 15)",
        "DateTime" => "an RFC 3339 date-time (`DateTime<Utc>`)",
        "NaiveDate" => "a date (`NaiveDate`)",
        _ => "its SDK type",
    }
}

/// The `types::X` a request builder's fields (its parameters and body) name.
fn request_types(file: &syn::File) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for item in &file.items {
        let Item::Mod(m) = item else { continue };
        if m.ident != "builder" {
            continue;
        }
        for item in m.content.iter().flat_map(|(_, items)| items) {
            if let Item::Struct(s) = item {
                for field in &s.fields {
                    collect_idents(&field.ty.to_token_stream(), &mut out);
                }
            }
        }
    }
    out
}

/// Which types of `mod types` each type names in its fields or variants.
fn references(types: &[Item]) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeSet<String> = types
        .iter()
        .filter_map(|i| match i {
            Item::Struct(s) => Some(s.ident.to_string()),
            Item::Enum(e) => Some(e.ident.to_string()),
            _ => None,
        })
        .collect();
    let mut graph = BTreeMap::new();
    for item in types {
        let (name, tokens) = match item {
            Item::Struct(s) => (s.ident.to_string(), s.fields.to_token_stream()),
            Item::Enum(e) => (e.ident.to_string(), e.variants.to_token_stream()),
            _ => continue,
        };
        let mut used = BTreeSet::new();
        collect_idents(&tokens, &mut used);
        used.retain(|u| names.contains(u) && *u != name);
        graph.insert(name, used);
    }
    graph
}

fn collect_idents(tokens: &proc_macro2::TokenStream, out: &mut BTreeSet<String>) {
    for token in tokens.clone() {
        match token {
            proc_macro2::TokenTree::Ident(i) => {
                out.insert(i.to_string());
            }
            proc_macro2::TokenTree::Group(g) => collect_idents(&g.stream(), out),
            _ => {}
        }
    }
}

fn reach(graph: &BTreeMap<String, BTreeSet<String>>, roots: BTreeSet<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = roots.into_iter().collect();
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone()) {
            todo.extend(graph.get(&name).into_iter().flatten().cloned());
        }
    }
    seen
}

/// Replaces typify's `deserialize_with` (its `Option::deserialize` for a required nullable
/// field) with `with`; an optional field also gets `default`, which serde needs once a field
/// has its own `deserialize_with`.
fn set_deserialize_with(attrs: &mut Vec<syn::Attribute>, with: &str, optional: bool) {
    let required_nullable = attrs.iter().any(is_option_deserialize);
    attrs.retain(|a| !is_option_deserialize(a));
    if optional && !required_nullable {
        attrs.push(parse_quote!(#[serde(default, deserialize_with = #with)]));
    } else {
        attrs.push(parse_quote!(#[serde(deserialize_with = #with)]));
    }
}

fn is_option_deserialize(attr: &syn::Attribute) -> bool {
    attr.path().is_ident("serde")
        && attr.to_token_stream().to_string().replace(' ', "") == "#[serde(deserialize_with=\"::std::option::Option::deserialize\")]"
}

fn has_deserialize_with_other_than_option(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("serde") && a.to_token_stream().to_string().contains("deserialize_with") && !is_option_deserialize(a))
}

fn last_segment(ty: &syn::Type) -> String {
    crate::syntax::last_ident(ty).unwrap_or_default()
}

/// `tokens` with every run of tokens spelling `old` replaced by `new`. Token-level rather than
/// a syntax visitor: syn's `visit-mut` feature would cost every user's build script a module,
/// and the types here are flat paths (`<` and `>` are single tokens, not groups).
fn replace_tokens(
    tokens: proc_macro2::TokenStream,
    old: &proc_macro2::TokenStream,
    new: &proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    use proc_macro2::TokenTree;
    let old: Vec<String> = old.clone().into_iter().map(|t| t.to_string()).collect();
    fn walk(tokens: proc_macro2::TokenStream, old: &[String], new: &proc_macro2::TokenStream) -> proc_macro2::TokenStream {
        let list: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = proc_macro2::TokenStream::new();
        let mut at = 0;
        while at < list.len() {
            let matches = !old.is_empty()
                && at + old.len() <= list.len()
                && list[at..at + old.len()].iter().zip(old).all(|(t, o)| !matches!(t, TokenTree::Group(_)) && t.to_string() == *o);
            if matches {
                out.extend(new.clone());
                at += old.len();
                continue;
            }
            match &list[at] {
                TokenTree::Group(g) => {
                    let mut group = proc_macro2::Group::new(g.delimiter(), walk(g.stream(), old, new));
                    group.set_span(g.span());
                    out.extend([TokenTree::Group(group)]);
                }
                other => out.extend([other.clone()]),
            }
            at += 1;
        }
        out
    }
    walk(tokens, &old, new)
}

/// `ty` with `old` replaced by `new`; `ty` unchanged should the result not parse.
fn swap_type(ty: &syn::Type, old: &syn::Type, new: &syn::Type) -> syn::Type {
    syn::parse2(replace_tokens(ty.to_token_stream(), &old.to_token_stream(), &new.to_token_stream())).unwrap_or_else(|_| ty.clone())
}

/// typify's `types::builder::X` mirrors `X`'s fields (`Result<T, String>`) and setters
/// (`T: TryInto<FieldType>`): the changed fields change there too, field by field.
fn typify_builders(types: &mut [Item], changed: &BTreeMap<(String, String), (syn::Type, syn::Type)>) {
    let Some(items) = types.iter_mut().find_map(|i| match i {
        Item::Mod(m) if m.ident == "builder" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        return;
    };
    for item in items.iter_mut() {
        match item {
            Item::Struct(s) => {
                let owner = s.ident.to_string();
                for field in s.fields.iter_mut() {
                    let Some(ident) = field.ident.as_ref().map(ToString::to_string) else { continue };
                    if let Some((old, new)) = changed.get(&(owner.clone(), ident)) {
                        field.ty = swap_type(&field.ty, old, new);
                    }
                }
            }
            Item::Impl(imp) if imp.trait_.is_none() => {
                let Some(owner) = crate::syntax::last_ident(&imp.self_ty) else { continue };
                for impl_item in &mut imp.items {
                    let syn::ImplItem::Fn(f) = impl_item else { continue };
                    if let Some((old, new)) = changed.get(&(owner.clone(), f.sig.ident.to_string()))
                        && let Ok(clause) = syn::parse2::<syn::WhereClause>(replace_tokens(
                            f.sig.generics.where_clause.to_token_stream(),
                            &old.to_token_stream(),
                            &new.to_token_stream(),
                        ))
                    {
                        f.sig.generics.where_clause = Some(clause);
                    }
                }
            }
            _ => {}
        }
    }
}

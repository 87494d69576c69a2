//! Generated calls return `hero_health::Error`, not progenitor's error.
//!
//! progenitor's error keeps the body of an answer that did not decode and prints it in
//! `Display`. With `?` into `Box<dyn Error>`, that body (patient data) could reach a log.
//! Every request builder's `send` therefore becomes:
//!
//! ```ignore
//! pub async fn send(self) -> Result<ResponseValue<T>, crate::Error> {
//!     let client = self.client;
//!     self.send_generated().await.map_err(|error| crate::Error::from(error).in_operation("get_appointment", &client.inner))
//! }
//! ```
//!
//! progenitor's own `send` is kept, unchanged, as the crate-private `send_generated` that the
//! new `send` wraps (so the generated request code stays exactly as progenitor wrote it, and the
//! snapshot shows the wrapper apart from it). The client's request context goes along so that the
//! error reads the client's clock (a `Retry-After` date becomes a wait by it). Every error body type gets the crate's `ErrorBody` (validation issues, when the body is
//! Hero's `ValidationError`).

use std::collections::BTreeSet;

use quote::ToTokens as _;
use syn::{GenericArgument, ImplItem, Item, PathArguments, ReturnType, Type, parse_quote};

use crate::syntax::last_ident;

/// Rewrites every builder's `send`; returns how many. The rows name each builder's method
/// (what `in_operation` is given). Errors name what did not look like progenitor's output.
pub fn rewrite(file: &mut syn::File, rows: &[crate::surface::Row]) -> Result<usize, String> {
    let methods: std::collections::BTreeMap<&str, &str> = rows.iter().map(|row| (row.builder.as_str(), row.name.as_str())).collect();
    let builder = builder_items(file).ok_or("generated code has no `builder` module")?;
    let mut error_bodies: BTreeSet<String> = BTreeSet::new();
    let mut count = 0;
    for item in builder.iter_mut() {
        let Item::Impl(imp) = item else { continue };
        let Some(position) = imp.items.iter().position(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == "send")) else { continue };
        let ImplItem::Fn(original) = &mut imp.items[position] else { continue };
        let (success, error_body) = split_return(&original.sig.output)
            .ok_or_else(|| format!("`send` of {} does not return Result<ResponseValue<_>, Error<_>>", imp.self_ty.to_token_stream()))?;
        let docs: Vec<syn::Attribute> = original.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
        let method = last_ident(&imp.self_ty)
            .and_then(|builder| methods.get(builder.as_str()).copied())
            .ok_or_else(|| format!("`send` of {} belongs to no operation of the surface", imp.self_ty.to_token_stream()))?;
        decode_errors_leniently(original)?;
        original.sig.ident = parse_quote!(send_generated);
        original.vis = parse_quote!(pub(crate));
        original.attrs.retain(|a| !a.path().is_ident("doc"));
        original
            .attrs
            .push(parse_quote!(#[doc = " progenitor's `send`, as it wrote it; `send` wraps it so that its error becomes `crate::Error`."]));
        let wrapper: ImplItem = parse_quote! {
            #(#docs)*
            ///
            /// # Errors
            ///
            /// [`crate::Error`], classified by what to do next (refused, rate limited, server
            /// error, timeout…). Its messages never hold a body, the API key or a URL.
            pub async fn send(self) -> Result<ResponseValue<#success>, crate::Error> {
                let client = self.client;
                self.send_generated().await.map_err(|error| crate::Error::from(error).in_operation(#method, &client.inner))
            }
        };
        imp.items.insert(position, wrapper);
        let body = error_body.to_token_stream().to_string().replace(' ', "");
        if body != "()" {
            error_bodies.insert(body);
        }
        count += 1;
    }
    // `()` and Hero's `ValidationError` have their impls in src/error.rs. A merged body (an
    // untagged enum, `ValidationErrorOrErrorMessage`) carries the issues of its `ValidationError`
    // variant; any other error body (a bundle's own problem type) carries none the crate can read.
    let variants = validation_variants(file);
    let Some(builder) = builder_items(file) else { return Err("generated code has no `builder` module".into()) };
    for body in error_bodies.iter().filter(|b| !b.ends_with("::ValidationError")) {
        let ty: Type = syn::parse_str(body).map_err(|e| format!("error body type {body}: {e}"))?;
        let found = last_ident(&ty).and_then(|name| variants.iter().find(|(enum_name, _)| *enum_name == name));
        let validation: syn::Expr = match found {
            Some((_, variant)) => {
                let variant = syn::Ident::new(variant, proc_macro2::Span::call_site());
                parse_quote!(match self { #ty::#variant(body) => Some(body), _ => None })
            }
            None => parse_quote!(None),
        };
        builder.push(parse_quote! {
            impl crate::error::ErrorBody for #ty {
                fn validation(&self) -> Option<&crate::types::ValidationError> {
                    #validation
                }
            }
        });
    }
    Ok(count)
}

fn builder_items(file: &mut syn::File) -> Option<&mut Vec<Item>> {
    file.items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "builder" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    })
}

/// `(enum, variant)` for every enum of `types` with a variant that holds a `ValidationError`.
fn validation_variants(file: &mut syn::File) -> Vec<(String, String)> {
    let Some(types) = crate::syntax::types_module(file) else { return Vec::new() };
    types
        .iter()
        .filter_map(|item| match item {
            Item::Enum(e) => e
                .variants
                .iter()
                .find(|v| matches!(&v.fields, syn::Fields::Unnamed(f) if f.unnamed.len() == 1 && crate::syntax::is_named(&f.unnamed[0].ty, "ValidationError")))
                .map(|v| (e.ident.to_string(), v.ident.to_string())),
            _ => None,
        })
        .collect()
}

/// Every documented error status of progenitor's `send` decodes its body with
/// `crate::answer::error_answer`, which keeps an answer whose body is not the documented type as
/// an unexpected one (status and headers intact) instead of a decoding error without a status.
fn decode_errors_leniently(send: &mut syn::ImplItemFn) -> Result<(), String> {
    const PROGENITOR: &str = "Err (Error :: ErrorResponse (ResponseValue :: from_response (response) . await ?))";
    let text = send.block.to_token_stream().to_string();
    if !text.contains(PROGENITOR) {
        // No documented error status (or progenitor changed: the snapshot would show it).
        return Ok(());
    }
    let rewritten = text.replace(PROGENITOR, "Err (crate :: answer :: error_answer (response) . await)");
    send.block = syn::parse_str(&rewritten).map_err(|e| format!("rewritten `send` does not parse: {e}"))?;
    Ok(())
}

/// `(T, E)` of `Result<ResponseValue<T>, Error<E>>`.
fn split_return(output: &ReturnType) -> Option<(Type, Type)> {
    let ReturnType::Type(_, ty) = output else { return None };
    let [ok, err] = generic_args(ty, "Result")?.try_into().ok()?;
    let [success] = generic_args(&ok, "ResponseValue")?.try_into().ok()?;
    let [body] = generic_args(&err, "Error")?.try_into().ok()?;
    Some((success, body))
}

fn generic_args(ty: &Type, name: &str) -> Option<Vec<Type>> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last().filter(|s| s.ident == name)?;
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    Some(args.args.iter().filter_map(|a| if let GenericArgument::Type(t) = a { Some(t.clone()) } else { None }).collect())
}

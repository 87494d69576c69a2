//! Open enums: the day Hero adds an enum value, a response carrying it must still decode.
//!
//! typify generates closed string enums (`#[derive(Deserialize)]`, unit variants), so one new
//! value fails the whole response. After generation, every such enum in `mod types` gets:
//! - a variant `Unknown(String)` holding the value as sent (`UnknownValue(String)` when the
//!   enum already has a value named `unknown`, which Hero may well publish: NHS gender codes
//!   include it);
//! - `Deserialize` that maps known values to their variants and anything else to `Unknown`;
//! - `Serialize` that writes the value back (`Display`);
//! - a `Display` arm for `Unknown`.
//!
//! `FromStr`/`TryFrom` stay strict: what users send is still checked. `Copy` is dropped (a
//! `String` is not `Copy`).

use syn::{Item, ItemEnum, parse_quote};

use crate::syntax::types_module;

/// Constrained strings (a `pattern`, `minLength`…) become newtypes whose `Deserialize` checks
/// the constraint. The crate's policy is to check what it sends, never what it receives (a
/// server answering an id the pattern does not allow must not fail the whole answer), so their
/// `Deserialize` keeps the string as sent; `FromStr`/`TryFrom` still check. Returns how many.
pub fn lenient_newtypes(file: &mut syn::File) -> usize {
    let Some(types) = types_module(file) else { return 0 };
    let newtypes: Vec<syn::Ident> = types
        .iter()
        .filter_map(|item| match item {
            Item::Struct(s) if matches!(&s.fields, syn::Fields::Unnamed(f) if f.unnamed.len() == 1 && quote::ToTokens::to_token_stream(&f.unnamed[0].ty).to_string().ends_with("String")) => {
                Some(s.ident.clone())
            }
            _ => None,
        })
        .collect();
    let mut count = 0;
    for item in types.iter_mut() {
        let Item::Impl(imp) = item else { continue };
        let is_deserialize = imp.trait_.as_ref().is_some_and(|(path, _)| path.segments.last().is_some_and(|s| s.ident == "Deserialize"));
        let syn::Type::Path(ty) = &*imp.self_ty else { continue };
        if !is_deserialize || !ty.path.get_ident().is_some_and(|i| newtypes.contains(i)) {
            continue;
        }
        for impl_item in &mut imp.items {
            if let syn::ImplItem::Fn(f) = impl_item {
                f.block = parse_quote!({ Ok(Self(<::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?)) });
                count += 1;
            }
        }
    }
    count
}

/// Opens every closed string enum of `mod types`; returns how many.
pub fn open_enums(file: &mut syn::File) -> Result<usize, String> {
    let Some(types) = types_module(file) else {
        return Err("generated code has no `types` module".into());
    };
    // Each closed enum with the name of its catch-all variant.
    let opened: Vec<(syn::Ident, syn::Ident)> = types
        .iter()
        .filter_map(|i| if let Item::Enum(e) = i { closed_string_enum(e).then(|| (e.ident.clone(), catch_all(e))) } else { None })
        .collect();
    let catch_all_of = |name: &syn::Ident| opened.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    for item in types.iter_mut() {
        match item {
            Item::Enum(e) if catch_all_of(&e.ident).is_some() => {
                let variant = catch_all_of(&e.ident).unwrap_or_else(|| unreachable!("checked by the guard"));
                open(e, &variant)
            }
            Item::Impl(imp) if imp.trait_.as_ref().is_some_and(|(path, _)| path.segments.last().is_some_and(|s| s.ident == "Display")) => {
                let syn::Type::Path(ty) = &*imp.self_ty else { continue };
                let Some(variant) = ty.path.get_ident().and_then(catch_all_of) else { continue };
                for impl_item in &mut imp.items {
                    let syn::ImplItem::Fn(f) = impl_item else { continue };
                    for stmt in &mut f.block.stmts {
                        if let syn::Stmt::Expr(syn::Expr::Match(m), _) = stmt {
                            m.arms.push(parse_quote!(Self::#variant(ref value) => f.write_str(value),));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for (name, variant) in &opened {
        types.push(parse_quote! {
            impl ::serde::Serialize for #name {
                fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                    serializer.collect_str(self)
                }
            }
        });
        types.push(parse_quote! {
            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                    let value = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                    Ok(value.parse().unwrap_or(Self::#variant(value)))
                }
            }
        });
    }
    Ok(opened.len())
}

/// `Unknown`, or the first of `UnknownValue`, `UnknownValue2`, … that no variant has yet.
fn catch_all(e: &ItemEnum) -> syn::Ident {
    let taken = |name: &str| e.variants.iter().any(|v| v.ident == name);
    let name = std::iter::once("Unknown".to_owned())
        .chain((1..).map(|n| if n == 1 { "UnknownValue".to_owned() } else { format!("UnknownValue{n}") }))
        .find(|name| !taken(name))
        .unwrap_or_else(|| unreachable!("an enum has finitely many variants"));
    quote::format_ident!("{name}")
}

/// Unit variants only, serde-derived: a typify string enum.
fn closed_string_enum(e: &ItemEnum) -> bool {
    e.variants.iter().all(|v| matches!(v.fields, syn::Fields::Unit)) && derives(e).iter().any(|d| d == "Deserialize")
}

fn derives(e: &ItemEnum) -> Vec<String> {
    let mut names = Vec::new();
    for attr in e.attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(last) = meta.path.segments.last() {
                names.push(last.ident.to_string());
            }
            Ok(())
        });
    }
    names
}

fn open(e: &mut ItemEnum, catch_all: &syn::Ident) {
    let keep: Vec<syn::Path> = {
        let mut keep = Vec::new();
        for attr in e.attrs.iter().filter(|a| a.path().is_ident("derive")) {
            let _ = attr.parse_nested_meta(|meta| {
                let last = meta.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                if !matches!(last.as_str(), "Deserialize" | "Serialize" | "Copy") {
                    keep.push(meta.path.clone());
                }
                Ok(())
            });
        }
        keep
    };
    // The serde attributes (variant renames) go with the derives; FromStr/Display keep the names.
    e.attrs.retain(|a| !a.path().is_ident("derive") && !a.path().is_ident("serde"));
    for variant in &mut e.variants {
        variant.attrs.retain(|a| !a.path().is_ident("serde"));
    }
    e.attrs.push(parse_quote!(#[derive(#(#keep),*)]));
    e.variants.push(parse_quote! {
        /// A value this version of the SDK does not know (Hero added it later), kept as sent.
        #catch_all(::std::string::String)
    });
}

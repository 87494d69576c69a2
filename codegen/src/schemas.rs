//! JSON Schema for every generated type, behind the crate's `schemars` feature (off by default,
//! so the default build does not compile schemars).
//!
//! Each struct and enum of `mod types` derives `schemars::JsonSchema` under
//! `cfg_attr(feature = "schemars", …)`. The opened enums (see [`crate::tolerant`]) get their own
//! impl instead: a derive would describe their catch-all variant as an object, while on the wire
//! it is one more string. Their schema lists the known values and says that others may arrive.
//! A hidden `component_schemas()` lists the schema of each type named after a component of the
//! document, for the crate's type-fidelity test.

use std::collections::BTreeMap;

use openapiv3::OpenAPI;
use syn::{Item, parse_quote};

use crate::syntax::option_inner;

/// Adds the derives and impls.
pub fn add(file: &mut syn::File, spec: &OpenAPI) {
    let Some(types) = crate::syntax::types_module(file) else { return };
    let mut wire: BTreeMap<(String, String), String> = BTreeMap::new();
    for item in types.iter() {
        if let Item::Impl(imp) = item
            && imp.trait_.as_ref().is_some_and(|(p, _)| p.segments.last().is_some_and(|s| s.ident == "Display"))
            && let syn::Type::Path(ty) = &*imp.self_ty
            && let Some(name) = ty.path.get_ident()
        {
            crate::docs::collect_wire_values(&name.to_string(), imp, &mut wire);
        }
    }
    let properties: BTreeMap<(String, String), String> = crate::docs::field_schemas(types, spec)
        .into_iter()
        .filter_map(|(at, schema)| match &schema.schema_kind {
            // chrono's types carry `date` and `date-time` themselves.
            openapiv3::SchemaKind::Type(openapiv3::Type::String(s)) => {
                crate::document::format_name(&s.format).filter(|f| !matches!(f.as_str(), "date" | "date-time")).map(|f| (at, f))
            }
            _ => None,
        })
        .collect();
    let mut named: Vec<syn::Ident> = Vec::new();
    let mut opened: Vec<(syn::Ident, Vec<String>)> = Vec::new();
    for item in types.iter_mut() {
        if let Item::Struct(s) = item
            && let syn::Fields::Named(fields) = &mut s.fields
        {
            let owner = s.ident.to_string();
            for field in fields.named.iter_mut() {
                // A format the Rust type does not carry (`email`, `uri`: plain `String`s): the
                // schema still says it.
                if let Some(format) = field.ident.as_ref().and_then(|i| properties.get(&(owner.clone(), i.to_string()))) {
                    field.attrs.push(parse_quote!(#[cfg_attr(feature = "schemars", schemars(extend("format" = #format)))]));
                }
                // A required property that may be null: `Option<T>` that serde still requires
                // (typify's `deserialize_with = Option::deserialize`). schemars would call it
                // optional; it is not.
                let required_nullable = field
                    .attrs
                    .iter()
                    .any(|a| a.path().is_ident("serde") && quote::ToTokens::to_token_stream(a).to_string().contains("Option::deserialize"));
                if required_nullable && let Some(inner) = option_inner(&field.ty) {
                    // `schemars(required)` would drop the `null`; the wrapper keeps both facts.
                    let with = format!("crate::json_schema::RequiredNullable<{}>", quote::ToTokens::to_token_stream(inner));
                    field.attrs.push(parse_quote!(#[cfg_attr(feature = "schemars", schemars(with = #with))]));
                }
            }
        }
        let (ident, attrs, open_values) = match item {
            Item::Struct(s) => (s.ident.clone(), &mut s.attrs, None),
            Item::Enum(e) => {
                let open =
                    e.variants.iter().any(|v| v.ident.to_string().starts_with("Unknown") && matches!(v.fields, syn::Fields::Unnamed(_)));
                let values = open.then(|| {
                    e.variants.iter().filter_map(|v| wire.get(&(e.ident.to_string(), v.ident.to_string())).cloned()).collect::<Vec<_>>()
                });
                (e.ident.clone(), &mut e.attrs, values)
            }
            _ => continue,
        };
        match open_values {
            Some(values) => opened.push((ident.clone(), values)),
            None => attrs.push(parse_quote!(#[cfg_attr(feature = "schemars", derive(::schemars::JsonSchema))])),
        }
        named.push(ident);
    }
    for (ident, values) in &opened {
        let name = ident.to_string();
        types.push(parse_quote! {
            #[cfg(feature = "schemars")]
            impl ::schemars::JsonSchema for #ident {
                fn schema_name() -> ::std::borrow::Cow<'static, str> {
                    #name.into()
                }
                fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                    ::schemars::json_schema!({
                        "type": "string",
                        "enum": [#(#values),*],
                        "description": "The values the document lists. Hero may send others later: the SDK keeps them (the `Unknown` variant) instead of failing."
                    })
                }
            }
        });
    }
    let components: Vec<&syn::Ident> =
        spec.components.iter().flat_map(|c| c.schemas.keys()).filter_map(|name| named.iter().find(|i| *i == name)).collect();
    let names: Vec<String> = components.iter().map(ToString::to_string).collect();
    file.items.push(parse_quote! {
        /// The JSON Schema of each generated type named after a component of the OpenAPI
        /// document, by that name: for the crate's type-fidelity test.
        #[cfg(feature = "schemars")]
        #[doc(hidden)]
        pub fn component_schemas() -> ::std::vec::Vec<(&'static str, ::schemars::Schema)> {
            ::std::vec![#((#names, ::schemars::schema_for!(types::#components))),*]
        }
    });
}

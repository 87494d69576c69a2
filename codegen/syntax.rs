//! Small helpers about the generated code's syntax, shared by the passes that rewrite it.

use syn::Item;

/// The items of `mod types`.
pub fn types_module(file: &mut syn::File) -> Option<&mut Vec<Item>> {
    file.items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    })
}

/// The last identifier of a type path (`builder::GetAppointment<'_>` → `GetAppointment`).
pub fn last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Whether `ty`'s last identifier is `name`.
pub fn is_named(ty: &syn::Type, name: &str) -> bool {
    last_ident(ty).is_some_and(|n| n == name)
}

/// The request builder progenitor makes for a method (`get_appointment` → `GetAppointment`).
pub fn builder_name(method: &str) -> String {
    method.split('_').filter(|w| !w.is_empty()).map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect()
}

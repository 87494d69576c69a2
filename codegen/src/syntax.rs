//! Small helpers about the generated code's syntax, shared by the passes that rewrite it.

use quote::ToTokens;
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

/// The file's tokens, one item per line, also inside modules and impl blocks; otherwise as
/// compact as `to_token_stream()`.
///
/// Why lines at all: rustc compiles the same code on one 1 MB line about 20 % slower (finding a
/// span's column walks its line). Why not prettyplease: the build script would compile and run a
/// formatter for a file nobody reads; the snapshot formats it instead (`pretty`, feature `pretty`).
pub fn item_lines(file: syn::File) -> String {
    let mut out = String::new();
    for attr in &file.attrs {
        out.push_str(&attr.to_token_stream().to_string());
        out.push('\n');
    }
    for item in file.items {
        push_item(&mut out, item);
    }
    out
}

/// Takes the item apart rather than cloning it: the `types` module is most of the file, and the
/// build script runs unoptimised in every user's build.
fn push_item(out: &mut String, item: Item) {
    match item {
        Item::Mod(mut m) if m.content.is_some() => {
            let items = m.content.as_mut().map(|(_, items)| std::mem::take(items)).unwrap_or_default();
            push_open(out, &m);
            items.into_iter().for_each(|item| push_item(out, item));
            out.push_str("}\n");
        }
        Item::Impl(mut imp) => {
            let items = std::mem::take(&mut imp.items);
            push_open(out, &imp);
            for item in &items {
                out.push_str(&item.to_token_stream().to_string());
                out.push('\n');
            }
            out.push_str("}\n");
        }
        other => {
            out.push_str(&other.to_token_stream().to_string());
            out.push('\n');
        }
    }
}

/// `item` (emptied) without its closing brace: `pub mod types {`.
fn push_open(out: &mut String, item: &impl ToTokens) {
    let text = item.to_token_stream().to_string();
    out.push_str(text.trim_end().strip_suffix('}').unwrap_or(&text).trim_end());
    out.push('\n');
}

/// `T` of `Option<T>` (written `::std::option::Option<T>` by typify).
pub fn option_inner(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else { return None };
    let last = path.path.segments.last().filter(|s| s.ident == "Option")?;
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => {
            args.args.iter().find_map(|a| if let syn::GenericArgument::Type(t) = a { Some(t) } else { None })
        }
        _ => None,
    }
}

//! The last check on generated code: no two items of one module share a name.
//!
//! The preflight catches the clashes it can name in the document (operationIds or schema names
//! that differ only in case or separators). progenitor also names types itself (an inline
//! answer becomes `GetThingResponse`), which can meet a component of that name; rustc would
//! then fail with E0428 in `OUT_DIR`. This finds any such pair, so the document is refused
//! with the Rust name instead of written and left not to compile.

use std::collections::BTreeMap;

use syn::{ImplItem, Item};

/// Names defined twice in one module (or twice as `Client` methods), as `module::Name`.
pub fn duplicates(file: &syn::File) -> Vec<String> {
    let mut found = Vec::new();
    scan("crate", &file.items, &mut found);
    found
}

fn scan(module: &str, items: &[Item], found: &mut Vec<String>) {
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut methods: BTreeMap<(String, String), usize> = BTreeMap::new();
    for item in items {
        let name = match item {
            Item::Struct(i) => Some(i.ident.to_string()),
            Item::Enum(i) => Some(i.ident.to_string()),
            Item::Type(i) => Some(i.ident.to_string()),
            Item::Fn(i) => Some(i.sig.ident.to_string()),
            Item::Const(i) => Some(i.ident.to_string()),
            Item::Trait(i) => Some(i.ident.to_string()),
            Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    scan(&format!("{module}::{}", m.ident), inner, found);
                }
                Some(m.ident.to_string())
            }
            Item::Impl(imp) if imp.trait_.is_none() => {
                let owner = quote::ToTokens::to_token_stream(&imp.self_ty).to_string();
                for impl_item in &imp.items {
                    if let ImplItem::Fn(f) = impl_item {
                        *methods.entry((owner.clone(), f.sig.ident.to_string())).or_default() += 1;
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(name) = name {
            *names.entry(name).or_default() += 1;
        }
    }
    found.extend(names.into_iter().filter(|(_, n)| *n > 1).map(|(name, _)| format!("{module}::{name}")));
    found.extend(methods.into_iter().filter(|(_, n)| *n > 1).map(|((owner, name), _)| format!("{module}::{owner}::{name}")));
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_name_defined_twice_in_a_module_is_found() {
        let file: syn::File = syn::parse_quote! {
            pub mod types {
                pub struct FooBar;
                pub enum FooBar { A }
                pub struct Other;
            }
            impl Client { fn get(&self) {} fn get(&self) {} }
            impl Other { fn get(&self) {} }
        };
        assert_eq!(super::duplicates(&file), ["crate::types::FooBar", "crate::Client::get"]);
    }
}

//! progenitor's public `Client::new` and `Client::new_with_client` do not reach users.
//!
//! Through them a caller could pair any URL with a client's request context (its API key) and
//! skip every check of `ClientBuilder`: https-only for remote hosts, no redirects, the size
//! limit. `new` also builds its `reqwest` client with `unwrap()`. Users build clients with
//! `Client::builder()`. `new` is dropped; `new_with_client`, which the builder calls, becomes
//! `pub(crate)`.

use syn::{ImplItem, Item, parse_quote};

/// Drops `Client::new` and makes `Client::new_with_client` `pub(crate)`; returns how many
/// constructors it changed.
pub fn hide(file: &mut syn::File) -> usize {
    let mut count = 0;
    for item in &mut file.items {
        let Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() || !matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client")) {
            continue;
        }
        let before = imp.items.len();
        imp.items.retain(|i| !matches!(i, ImplItem::Fn(f) if f.sig.ident == "new"));
        count += before - imp.items.len();
        for impl_item in &mut imp.items {
            if let ImplItem::Fn(f) = impl_item
                && f.sig.ident == "new_with_client"
            {
                f.vis = parse_quote!(pub(crate));
                count += 1;
            }
        }
    }
    count
}

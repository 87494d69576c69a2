//! Secrets stay out of `Debug`: a generated type (or its builder) with a field that holds a
//! credential gets a `Debug` that prints `[redacted]` for it instead of progenitor's derive.
//!
//! The fields are the document's credentials: Elements' `access_token`, a webhook's
//! `signing_key`, a prescription partner's `password`, and anything named like an API key or a
//! secret. `dbg!(token)` or `{:?}` of a request builder then shows the shape, never the value.
//!
//! Two more kinds are summarised rather than shown: a webhook's custom `headers` (a partner
//! puts its receiver's own credentials there) print how many there are, and a `url` prints its
//! origin only (a receiver URL's path or query can carry a token; a link's, a patient's). A
//! validation issue shows its `code` and `expected` text only when they read as Hero's words
//! and rules, and only the document's words of its `path`; the `message` and `error` of any
//! other error body (`ErrorMessage`) likewise only as rules.

use syn::punctuated::Punctuated;
use syn::{Fields, Item, Token, parse_quote};

/// Whether a field of this name holds a credential.
pub fn is_secret(field: &str) -> bool {
    matches!(field, "access_token" | "refresh_token" | "signing_key" | "password" | "api_key")
        || field.ends_with("_secret")
        || field.ends_with("_password")
}

/// Replaces the derived `Debug` of every struct in `types` and `types::builder` that has a
/// secret field; returns their names.
pub fn redact(file: &mut syn::File) -> Vec<String> {
    let mut redacted = Vec::new();
    let Some(types) = crate::syntax::types_module(file) else { return redacted };
    redact_items(types, &mut redacted);
    for item in types.iter_mut() {
        if let Item::Mod(m) = item
            && m.ident == "builder"
            && let Some((_, items)) = m.content.as_mut()
        {
            redact_items(items, &mut redacted);
        }
    }
    redacted
}

/// How a field appears in `Debug`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Value,
    Redacted,
    Summarised,
    /// A word of Hero's (a validation code), or a token when it is anything else.
    Word,
    /// Hero's description of a rule, or nothing when it may quote a value.
    Prose,
}

fn shown(ty: &str, field: &str) -> Shown {
    // A 400's issue: its `expected` text can quote the value sent, its `path` hold a key that is
    // data (an NHS number); the path shows the document's words only.
    if is_secret(field) {
        Shown::Redacted
    } else if ty == "ValidationIssue" && field == "code" {
        Shown::Word
    } else if (ty == "ValidationIssue" && field == "expected") || (ty == "ErrorMessage" && matches!(field, "message" | "error")) {
        // An error's message can quote the request (`Cannot GET /v1/patients/9434765919`).
        Shown::Prose
    } else if matches!(field, "headers" | "url") || (ty == "ValidationIssue" && field == "path") {
        Shown::Summarised
    } else {
        Shown::Value
    }
}

fn redact_items(items: &mut Vec<Item>, redacted: &mut Vec<String>) {
    let mut impls = Vec::new();
    for item in items.iter_mut() {
        let Item::Struct(s) = item else { continue };
        let Fields::Named(fields) = &s.fields else { continue };
        let names: Vec<&syn::Ident> = fields.named.iter().filter_map(|f| f.ident.as_ref()).collect();
        let label = s.ident.to_string();
        if names.iter().all(|n| shown(&label, &n.to_string()) == Shown::Value) || !drop_derived_debug(&mut s.attrs) {
            continue;
        }
        let ident = &s.ident;
        let shown = names.iter().map(|name| {
            let key = name.to_string();
            match shown(&label, &key) {
                Shown::Redacted => quote::quote!(.field(#key, &"[redacted]")),
                Shown::Summarised => quote::quote!(.field(#key, &crate::redact::Summary(&self.#name))),
                Shown::Word => quote::quote!(.field(#key, &crate::redact::Word(&self.#name))),
                Shown::Prose => quote::quote!(.field(#key, &crate::redact::Prose(&self.#name))),
                Shown::Value => quote::quote!(.field(#key, &self.#name)),
            }
        });
        impls.push(parse_quote! {
            impl ::std::fmt::Debug for #ident {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.debug_struct(#label) #(#shown)* .finish()
                }
            }
        });
        redacted.push(label);
    }
    items.extend(impls);
}

/// Removes `Debug` from the item's `#[derive(…)]`; whether it was there.
fn drop_derived_debug(attrs: &mut [syn::Attribute]) -> bool {
    for attr in attrs.iter_mut().filter(|a| a.path().is_ident("derive")) {
        let Ok(paths) = attr.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated) else { continue };
        let kept: Punctuated<syn::Path, Token![,]> =
            paths.iter().filter(|p| p.segments.last().is_none_or(|s| s.ident != "Debug")).cloned().collect();
        if kept.len() != paths.len() {
            *attr = parse_quote!(#[derive(#kept)]);
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_recognised_by_name() {
        for secret in ["access_token", "signing_key", "password", "api_key", "client_secret", "partner_password"] {
            assert!(is_secret(secret), "{secret}");
        }
        for plain in ["token_type", "key", "id", "email", "expires_in"] {
            assert!(!is_secret(plain), "{plain}");
        }
    }

    #[test]
    fn the_derive_loses_debug_and_a_redacting_impl_is_added() {
        let mut file: syn::File = parse_quote! {
            pub mod types {
                #[derive(Clone, Debug, PartialEq)]
                pub struct AccessToken { pub access_token: String, pub expires_in: u64 }
                #[derive(Clone, Debug)]
                pub struct Plain { pub id: String }
            }
        };
        assert_eq!(redact(&mut file), ["AccessToken"]);
        let text = quote::ToTokens::to_token_stream(&file).to_string();
        assert!(text.contains("# [derive (Clone , PartialEq)] pub struct AccessToken"), "{text}");
        assert!(text.contains(r#". field ("access_token" , & "[redacted]")"#), "{text}");
        assert!(text.contains(r#". field ("expires_in" , & self . expires_in)"#), "{text}");
        assert!(text.contains("# [derive (Clone , Debug)] pub struct Plain"), "{text}");
    }
}

//! The surface listing: one sorted line per operation,
//! `METHOD /path -> fn_name -> SuccessType [! ErrorType]`, read from the generated code's syntax
//! (never its doc prose) so the names are exactly what users call. Reviewers see the whole API, and its changes, on a page.

use quote::ToTokens;

use crate::syntax::{is_named, last_ident};

/// One operation of the generated client: what the listing shows and the other passes use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    /// `GET`, `POST`…
    pub method: String,
    /// The path template, `/v1/appointments/{id}`.
    pub path: String,
    /// The generated method's name, `get_appointment`.
    pub name: String,
    /// Its request builder's name as generated, `GetAppointment` (progenitor escapes keywords:
    /// `self` gives `Self_`), read from the method's return type.
    pub builder: String,
    /// The success type, `hero_health::types::Appointment` (or `()`, `ByteStream`).
    pub success: String,
    /// The documented error body type, if any.
    pub error: Option<String>,
}

impl Row {
    /// The row of `METHOD path`, if the client has it.
    pub fn find<'a>(rows: &'a [Row], method: &str, path: &str) -> Option<&'a Row> {
        rows.iter().find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
    }
}

/// The listing's text: one sorted line per row.
pub fn render(rows: &[Row]) -> String {
    let mut lines: Vec<String> = rows
        .iter()
        .map(|r| match &r.error {
            Some(error) => format!("{} {} -> {} -> {} ! {error}", r.method, r.path, r.name, r.success),
            None => format!("{} {} -> {} -> {}", r.method, r.path, r.name, r.success),
        })
        .collect();
    lines.sort();
    lines.join("\n") + "\n"
}

/// The rows of the generated file (builder interface, merged tags), sorted.
///
/// Read from the code, never from its doc prose: each `Client` method returns its request
/// builder, whose `send` builds the request (`client.client.post(url)`, with `url` from
/// `format!("{}/v1/appointments/{}", client.baseurl, …)`) and returns `Result<ResponseValue<T>,
/// Error<E>>`. The `format!` template is matched to the document's path templates (OpenAPI allows
/// no two that differ only in parameter names), so the row carries the documented path.
///
/// # Errors
/// The generated code does not have that shape (progenitor changed): which method, and what.
pub fn rows(file: &syn::File, spec: &openapiv3::OpenAPI) -> Result<Vec<Row>, String> {
    let templates: std::collections::BTreeMap<(String, String), &str> =
        spec.operations().map(|(path, method, _)| ((method.to_uppercase(), placeholders(path)), path)).collect();
    // `impl Client { fn op(&self) -> builder::Op<'_> }`.
    let mut ops = Vec::new();
    for item in &file.items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() || !is_named(&imp.self_ty, "Client") {
            continue;
        }
        for f in imp.items.iter().filter_map(|i| if let syn::ImplItem::Fn(f) = i { Some(f) } else { None }) {
            let syn::ReturnType::Type(_, ty) = &f.sig.output else { continue };
            let Some(builder) = last_ident(ty) else { continue };
            ops.push((f.sig.ident.to_string(), builder));
        }
    }
    // `impl<'a> Op<'a> { pub async fn send(self) -> … }` in `mod builder`.
    let builder_mod = file
        .items
        .iter()
        .find_map(|i| match i {
            syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref().map(|(_, items)| items),
            _ => None,
        })
        .ok_or("generated code has no `builder` module (is the interface style Builder?)")?;
    let mut rows = Vec::with_capacity(ops.len());
    for (name, builder) in ops {
        let Some(send) = builder_mod
            .iter()
            .filter_map(|i| if let syn::Item::Impl(imp) = i { Some(imp) } else { None })
            .filter(|imp| imp.trait_.is_none() && is_named(&imp.self_ty, &builder))
            .flat_map(|imp| &imp.items)
            .find_map(|i| match i {
                syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
                _ => None,
            })
        else {
            continue; // Not an operation: `Client` has other methods (`baseurl`, `client`…).
        };
        let (method, url) = request(&send.block).ok_or_else(|| format!("{name}: send() builds no request this listing can read"))?;
        let path = templates
            .get(&(method.clone(), url.clone()))
            .ok_or_else(|| format!("{name}: {method} {url} is no operation of the document"))?
            .to_string();
        let syn::ReturnType::Type(_, ret) = &send.sig.output else {
            return Err(format!("{name}: send() returns nothing"));
        };
        let args = generic_args(ret);
        let [ok, err] = args.as_slice() else {
            return Err(format!("{name}: send() does not return Result<_, _>"));
        };
        let success = generic_args(ok).first().map(|t| type_name(t)).unwrap_or_else(|| type_name(ok));
        let error = generic_args(err).first().map(|t| type_name(t)).filter(|e| e != "()");
        rows.push(Row { method, path, name, builder, success, error });
    }
    if rows.len() != templates.len() {
        return Err(format!("the client has {} operations this listing can read, the document {}", rows.len(), templates.len()));
    }
    rows.sort();
    Ok(rows)
}

/// A path template with every `{parameter}` as `{}`: `/v1/appointments/{id}` → `/v1/appointments/{}`.
fn placeholders(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_name = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_name = true;
                out.push_str("{}");
            }
            '}' => in_name = false,
            _ if in_name => {}
            _ => out.push(c),
        }
    }
    out
}

/// The HTTP method and URL template (after the base URL's `{}`) of the request `send` builds:
/// `let url = format!("{}/v1/…", client.baseurl, …);` and a call on `client.client`, either
/// `.post(url)` or `.request(Method::POST, url)`. The bindings' names are not relied on
/// (progenitor calls them `_url`, `_request` when a parameter is named `url` or `request`).
fn request(block: &syn::Block) -> Option<(String, String)> {
    let mut url = None;
    let mut method = None;
    for stmt in &block.stmts {
        let syn::Stmt::Local(local) = stmt else { continue };
        let Some(init) = &local.init else { continue };
        match &*init.expr {
            syn::Expr::Macro(m) if m.mac.path.is_ident("format") => {
                let Ok(args) = m.mac.parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated) else {
                    continue;
                };
                let mut args = args.iter();
                let (Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(template), .. })), Some(base)) = (args.next(), args.next())
                else {
                    continue;
                };
                if is_field(base, "baseurl") {
                    url = template.value().strip_prefix("{}").map(str::to_owned);
                }
            }
            expr => method = method.or_else(|| http_method(expr)),
        }
    }
    Some((method?, url?))
}

/// Whether `expr` is `<something>.name`.
fn is_field(expr: &syn::Expr, name: &str) -> bool {
    matches!(expr, syn::Expr::Field(f) if matches!(&f.member, syn::Member::Named(n) if n == name))
}

/// Walks a call chain (`client.client.post(url).header(…).build()?`) down to the call on
/// `client.client`, and returns its HTTP method.
fn http_method(mut expr: &syn::Expr) -> Option<String> {
    loop {
        match expr {
            syn::Expr::Try(t) => expr = &t.expr,
            syn::Expr::MethodCall(call) => {
                if !is_field(&call.receiver, "client") {
                    expr = &call.receiver;
                    continue;
                }
                return match call.method.to_string().as_str() {
                    "request" => match call.args.first() {
                        Some(syn::Expr::Path(p)) => p.path.segments.last().map(|s| s.ident.to_string()),
                        _ => None,
                    },
                    verb => Some(verb.to_ascii_uppercase()),
                };
            }
            _ => return None,
        }
    }
}

fn generic_args(ty: &syn::Type) -> Vec<&syn::Type> {
    let syn::Type::Path(p) = ty else { return Vec::new() };
    let Some(last) = p.path.segments.last() else { return Vec::new() };
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return Vec::new() };
    args.args.iter().filter_map(|a| if let syn::GenericArgument::Type(t) = a { Some(t) } else { None }).collect()
}

/// `types::Appointment` -> `hero_health::types::Appointment`; `()` and `ByteStream` stay.
fn type_name(ty: &syn::Type) -> String {
    let text = ty
        .to_token_stream()
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",");
    match text.strip_prefix("types::") {
        Some(rest) => format!("hero_health::types::{rest}"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_become_placeholders() {
        assert_eq!(placeholders("/v1/appointments/{id}/reschedule"), "/v1/appointments/{}/reschedule");
        assert_eq!(placeholders("/v2/patients/{patientId}/notes/{note_id}"), "/v2/patients/{}/notes/{}");
        assert_eq!(placeholders("/v1/slots"), "/v1/slots");
    }

    #[test]
    fn the_request_is_read_from_the_call_chain_and_the_url_template() {
        let block: syn::Block = syn::parse_quote! {{
            let Self { client, id } = self;
            let url = format!("{}/v1/appointments/{}", client.baseurl, encode_path(&id.to_string()));
            let mut request = client.client.patch(url).header(ACCEPT, "application/json").build()?;
        }};
        assert_eq!(request(&block), Some(("PATCH".into(), "/v1/appointments/{}".into())));
        let block: syn::Block = syn::parse_quote! {{
            let url = url.map_err(Error::InvalidRequest)?;
            let _url = format!("{}/v1/links/status", client.baseurl,);
            let mut _request = client.client.request(::reqwest::Method::QUERY, _url).build()?;
        }};
        assert_eq!(request(&block), Some(("QUERY".into(), "/v1/links/status".into())), "a parameter named `url` renames the binding");
        let block: syn::Block = syn::parse_quote! {{
            let url = format!("{}/v1/slots", client.baseurl);
            let request = build(url)?;
        }};
        assert_eq!(request(&block), None, "no call on client.client: no row, and rows() says which method");
    }
}

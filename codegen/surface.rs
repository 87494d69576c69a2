//! The surface listing: one sorted line per operation,
//! `METHOD /path -> fn_name -> SuccessType [! ErrorType]`, read from the generated code itself so
//! the names are exactly what users call. Reviewers see the whole API, and its changes, on a page.

use quote::ToTokens;

use super::syntax::{is_named, last_ident};

/// One operation of the generated client: what the listing shows and the other passes use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    /// `GET`, `POST`…
    pub method: String,
    /// The path template, `/v1/appointments/{id}`.
    pub path: String,
    /// The generated method's name, `get_appointment`.
    pub name: String,
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
pub fn rows(file: &syn::File) -> Result<Vec<Row>, String> {
    // `impl Client { fn op(&self) -> builder::Op<'_> }`, documented "Sends a `GET` request to `/p`".
    let mut ops = Vec::new();
    for item in &file.items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() || !is_named(&imp.self_ty, "Client") {
            continue;
        }
        for f in imp.items.iter().filter_map(|i| if let syn::ImplItem::Fn(f) = i { Some(f) } else { None }) {
            let Some((method, path)) = request_line(&f.attrs) else { continue };
            let syn::ReturnType::Type(_, ty) = &f.sig.output else { continue };
            let builder = last_ident(ty).ok_or_else(|| format!("{}: unexpected return type", f.sig.ident))?;
            ops.push((method, path, f.sig.ident.to_string(), builder));
        }
    }
    // `impl<'a> Op<'a> { pub async fn send(self) -> Result<ResponseValue<T>, Error<E>> }` in `mod builder`.
    let builder_mod = file
        .items
        .iter()
        .find_map(|i| match i {
            syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref().map(|(_, items)| items),
            _ => None,
        })
        .ok_or("generated code has no `builder` module (is the interface style Builder?)")?;
    let mut rows = Vec::with_capacity(ops.len());
    for (method, path, name, builder) in ops {
        let send = builder_mod
            .iter()
            .filter_map(|i| if let syn::Item::Impl(imp) = i { Some(imp) } else { None })
            .filter(|imp| imp.trait_.is_none() && is_named(&imp.self_ty, &builder))
            .flat_map(|imp| &imp.items)
            .find_map(|i| match i {
                syn::ImplItem::Fn(f) if f.sig.ident == "send" => Some(f),
                _ => None,
            })
            .ok_or_else(|| format!("{name}: builder {builder} has no send()"))?;
        let syn::ReturnType::Type(_, ret) = &send.sig.output else {
            return Err(format!("{name}: send() returns nothing"));
        };
        let args = generic_args(ret);
        let [ok, err] = args.as_slice() else {
            return Err(format!("{name}: send() does not return Result<_, _>"));
        };
        let success = generic_args(ok).first().map(|t| type_name(t)).unwrap_or_else(|| type_name(ok));
        let error = generic_args(err).first().map(|t| type_name(t)).filter(|e| e != "()");
        rows.push(Row { method, path, name, success, error });
    }
    rows.sort();
    Ok(rows)
}

fn request_line(attrs: &[syn::Attribute]) -> Option<(String, String)> {
    attrs.iter().find_map(|a| {
        let syn::Meta::NameValue(nv) = &a.meta else { return None };
        let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value else { return None };
        let doc = s.value();
        doc.lines().find_map(|line| {
            let rest = line.trim().strip_prefix("Sends a `")?;
            let (method, rest) = rest.split_once("` request to `")?;
            let (path, _) = rest.split_once('`')?;
            Some((method.to_string(), path.to_string()))
        })
    })
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

//! `impl Page` for every list envelope (`OUT_DIR/pages.rs`): a component schema with a `data`
//! array of a named item type and a numeric `count` is one page of a Hero list, so one generic
//! paginator (`src/pagination.rs`) serves every list operation.

use openapiv3::{OpenAPI, ReferenceOr, SchemaKind, Type};

use crate::surface::Row;

/// Rust source of the `Page` impls, and of `pages()`/`items()` on every list builder (see
/// `list_streams`); the surface's rows know the method names.
pub fn impls(spec: &OpenAPI, surface: &[Row]) -> String {
    let (mut out, pageable) = page_impls(spec);
    out.push_str(&list_streams(spec, surface, &pageable));
    out
}

/// The `Page` impls, and the names of the schemas that got one.
fn page_impls(spec: &OpenAPI) -> (String, Vec<String>) {
    let mut pageable = Vec::new();
    let mut out = String::from("// `Page` for each `{data: [Item], count}` schema, generated from the OpenAPI document.\n");
    let Some(components) = &spec.components else { return (out, pageable) };
    for (name, schema) in &components.schemas {
        let Some(schema) = schema.as_item() else { continue };
        let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else { continue };
        let (Some(data), Some(count)) = (object.properties.get("data"), object.properties.get("count")) else { continue };
        let item = match data.as_item().map(|d| &d.schema_kind) {
            Some(SchemaKind::Type(Type::Array(array))) => match &array.items {
                Some(ReferenceOr::Reference { reference }) => reference.rsplit('/').next().map(|name| format!("crate::types::{name}")),
                // Items the reference does not describe (`{type: object}`): progenitor makes them
                // JSON maps, and they page all the same.
                Some(ReferenceOr::Item(item)) if matches!(&item.schema_kind, SchemaKind::Type(Type::Object(o)) if o.properties.is_empty()) => {
                    Some("::serde_json::Map<::std::string::String, ::serde_json::Value>".to_owned())
                }
                _ => None,
            },
            _ => None,
        };
        // `number` is generated as f64 already, `integer` needs converting; an optional count
        // (Option<_>) that is absent means "unknown": paging then stops at a short page.
        let required = |field: &str| object.required.iter().any(|r| r == field);
        // A count the conventions made a `u64` is `Lenient` (see `lenient`): one that did not
        // parse leaves the total unknown, so the pages run until a short one.
        let lenient = count.as_item().is_some_and(|c| c.schema_data.extensions.contains_key(crate::lenient::PUBLISHED));
        let count_expr = match (count.as_item().map(|c| &c.schema_kind), required("count")) {
            (Some(SchemaKind::Type(Type::Integer(_))), true) if lenient => Some("self.count.get().map_or(f64::INFINITY, |c| c as f64)"),
            (Some(SchemaKind::Type(Type::Integer(_))), false) if lenient => {
                Some("self.count.and_then(|c| c.get().ok()).map_or(f64::INFINITY, |c| c as f64)")
            }
            (Some(SchemaKind::Type(Type::Number(_))), true) => Some("self.count"),
            (Some(SchemaKind::Type(Type::Integer(_))), true) => Some("self.count as f64"),
            (Some(SchemaKind::Type(Type::Number(_))), false) => Some("self.count.unwrap_or(f64::INFINITY)"),
            (Some(SchemaKind::Type(Type::Integer(_))), false) => Some("self.count.map_or(f64::INFINITY, |c| c as f64)"),
            _ => None,
        };
        if let (Some(item), Some(count_expr), true) = (item, count_expr, required("data")) {
            out.push_str(&format!(
                "impl crate::pagination::Page for crate::types::{name} {{\n    type Item = {item};\n    fn into_parts(self) -> (Vec<Self::Item>, f64) {{\n        (self.data, {count_expr})\n    }}\n}}\n"
            ));
            pageable.push(name.clone());
        }
    }
    (out, pageable)
}

/// `pages(size)` and `items(size)` on the builder of every operation that takes `page_index`
/// and `page_size` and answers a page: a `Stream` that sets both itself. Hero types the two
/// differently per operation (string, integer, number), so the conversion is written per
/// operation here rather than asked of the caller.
fn list_streams(spec: &OpenAPI, surface: &[Row], pageable: &[String]) -> String {
    let mut out = String::from("// `pages()` / `items()` on every list builder, generated from the OpenAPI document.\n");
    for (path, method, op) in spec.operations() {
        let Some(row) = Row::find(surface, method, path) else { continue };
        let answer = row.success.trim_start_matches("hero_health::types::");
        if !pageable.iter().any(|p| p == answer) {
            continue;
        }
        let conversion = |param: &str, value: &str| {
            op.parameters.iter().filter_map(|p| p.as_item()).find(|p| p.parameter_data_ref().name == param).map(|p| {
                match &p.parameter_data_ref().format {
                    openapiv3::ParameterSchemaOrContent::Schema(ReferenceOr::Item(schema)) => match &schema.schema_kind {
                        SchemaKind::Type(Type::String(_)) => format!("{value}.to_string()"),
                        SchemaKind::Type(Type::Number(_)) => format!("{value} as f64"),
                        _ => value.to_owned(),
                    },
                    _ => value.to_owned(),
                }
            })
        };
        let (Some(index), Some(size)) = (conversion("page_index", "index"), conversion("page_size", "size.get()")) else { continue };
        let builder = &row.builder;
        out.push_str(&format!(
            r#"impl<'a> crate::builder::{builder}<'a> {{
    /// The list's pages as a `Stream`, each fetched when polled: this request with
    /// `page_index` 0, 1, … and `page_size`, until the page that reaches `count` (see
    /// [`crate::pagination::pages`]). Any other field set on the builder applies to every page.
    pub fn pages(self, page_size: ::std::num::NonZeroU64) -> impl futures_core::Stream<Item = Result<Vec<<crate::types::{answer} as crate::pagination::Page>::Item>, crate::Error>> + 'a {{
        crate::pagination::pages(page_size, move |index, size| self.clone().page_index({index}).page_size({size}).send())
    }}

    /// The list's items one by one, across pages: see [`Self::pages`].
    pub fn items(self, page_size: ::std::num::NonZeroU64) -> impl futures_core::Stream<Item = Result<<crate::types::{answer} as crate::pagination::Page>::Item, crate::Error>> + 'a {{
        crate::pagination::items(page_size, move |index, size| self.clone().page_index({index}).page_size({size}).send())
    }}
}}
"#
        ));
    }
    out
}

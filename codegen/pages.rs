//! `impl Page` for every list envelope (`OUT_DIR/pages.rs`): a component schema with a `data`
//! array of a named item type and a numeric `count` is one page of a Hero list, so one generic
//! paginator (`src/pagination.rs`) serves every list operation.

use openapiv3::{OpenAPI, ReferenceOr, SchemaKind, Type};

/// Rust source of the `Page` impls.
pub fn impls(spec: &OpenAPI) -> String {
    let mut out = String::from("// `Page` for each `{data: [Item], count}` schema, generated from the OpenAPI document.\n");
    let Some(components) = &spec.components else { return out };
    for (name, schema) in &components.schemas {
        let Some(schema) = schema.as_item() else { continue };
        let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else { continue };
        let (Some(data), Some(count)) = (object.properties.get("data"), object.properties.get("count")) else { continue };
        let item = match data.as_item().map(|d| &d.schema_kind) {
            Some(SchemaKind::Type(Type::Array(array))) => match &array.items {
                Some(ReferenceOr::Reference { reference }) => reference.rsplit('/').next().map(str::to_owned),
                _ => None,
            },
            _ => None,
        };
        // `number` is generated as f64 already, `integer` needs converting; an optional count
        // (Option<_>) that is absent means "unknown": paging then stops at a short page.
        let required = |field: &str| object.required.iter().any(|r| r == field);
        let count_expr = match (count.as_item().map(|c| &c.schema_kind), required("count")) {
            (Some(SchemaKind::Type(Type::Number(_))), true) => Some("self.count"),
            (Some(SchemaKind::Type(Type::Integer(_))), true) => Some("self.count as f64"),
            (Some(SchemaKind::Type(Type::Number(_))), false) => Some("self.count.unwrap_or(f64::INFINITY)"),
            (Some(SchemaKind::Type(Type::Integer(_))), false) => Some("self.count.map_or(f64::INFINITY, |c| c as f64)"),
            _ => None,
        };
        if let (Some(item), Some(count_expr), true) = (item, count_expr, required("data")) {
            out.push_str(&format!(
                "impl crate::pagination::Page for crate::types::{name} {{\n    type Item = crate::types::{item};\n    fn into_parts(self) -> (Vec<Self::Item>, f64) {{\n        (self.data, {count_expr})\n    }}\n}}\n"
            ));
        }
    }
    out
}

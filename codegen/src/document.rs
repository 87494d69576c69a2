//! Small helpers about the OpenAPI document itself, shared by the generator's passes and the
//! xtask: following `$ref`s, unboxing property schemas, naming formats, JSON Pointer escaping,
//! and the media types progenitor can send.

use openapiv3::{OpenAPI, ReferenceOr, Schema, VariantOrUnknownOrEmpty};

/// Request media types progenitor 0.15 can send (`method.rs: BodyContentType`), in the order
/// the normaliser prefers to keep them.
pub const REQUEST_MEDIA_TYPES: &[&str] =
    &["application/json", "application/x-www-form-urlencoded", "application/octet-stream", "text/plain", "text/x-markdown"];

/// `item` itself, or what its `$ref` names in `components/<section>` (`None` when it does not
/// resolve).
pub fn resolve<'a, T>(
    spec: &'a OpenAPI,
    item: &'a ReferenceOr<T>,
    section: &str,
    get: impl Fn(&'a openapiv3::Components) -> &'a indexmap::IndexMap<String, ReferenceOr<T>>,
) -> Option<&'a T> {
    match item {
        ReferenceOr::Item(item) => Some(item),
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix(&format!("#/components/{section}/"))?;
            get(spec.components.as_ref()?).get(name)?.as_item()
        }
    }
}

/// A property or item schema (`ReferenceOr<Box<Schema>>`) in the shape the rest takes.
pub fn unbox(schema: &ReferenceOr<Box<Schema>>) -> ReferenceOr<Schema> {
    match schema {
        ReferenceOr::Item(s) => ReferenceOr::Item((**s).clone()),
        ReferenceOr::Reference { reference } => ReferenceOr::Reference { reference: reference.clone() },
    }
}

/// A schema format as the document writes it (`date-time`, `uint64`), or `None`.
pub fn format_name<T: KnownFormat>(format: &VariantOrUnknownOrEmpty<T>) -> Option<String> {
    match format {
        VariantOrUnknownOrEmpty::Empty => None,
        VariantOrUnknownOrEmpty::Unknown(name) => Some(name.clone()),
        VariantOrUnknownOrEmpty::Item(known) => Some(known.name().to_owned()),
    }
}

/// The formats openapiv3 knows by name, as the document writes them.
pub trait KnownFormat {
    /// `date-time`, `int64`…
    fn name(&self) -> &'static str;
}

impl KnownFormat for openapiv3::StringFormat {
    fn name(&self) -> &'static str {
        match self {
            openapiv3::StringFormat::Date => "date",
            openapiv3::StringFormat::DateTime => "date-time",
            openapiv3::StringFormat::Password => "password",
            openapiv3::StringFormat::Byte => "byte",
            openapiv3::StringFormat::Binary => "binary",
        }
    }
}

impl KnownFormat for openapiv3::NumberFormat {
    fn name(&self) -> &'static str {
        match self {
            openapiv3::NumberFormat::Float => "float",
            openapiv3::NumberFormat::Double => "double",
        }
    }
}

impl KnownFormat for openapiv3::IntegerFormat {
    fn name(&self) -> &'static str {
        match self {
            openapiv3::IntegerFormat::Int32 => "int32",
            openapiv3::IntegerFormat::Int64 => "int64",
        }
    }
}

/// `key` with JSON Pointer escaping (`~` → `~0`, `/` → `~1`), for locations.
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_named_as_the_document_writes_them() {
        let schema: Schema = serde_json::from_value(serde_json::json!({"type": "string", "format": "date-time"})).unwrap();
        let openapiv3::SchemaKind::Type(openapiv3::Type::String(s)) = &schema.schema_kind else { panic!() };
        assert_eq!(format_name(&s.format).as_deref(), Some("date-time"));
        let schema: Schema = serde_json::from_value(serde_json::json!({"type": "integer", "format": "uint64"})).unwrap();
        let openapiv3::SchemaKind::Type(openapiv3::Type::Integer(i)) = &schema.schema_kind else { panic!() };
        assert_eq!(format_name(&i.format).as_deref(), Some("uint64"));
        assert_eq!(pointer_segment("/v1/a~b"), "~1v1~1a~0b");
    }
}

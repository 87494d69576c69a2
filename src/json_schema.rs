//! Support for the `schemars` feature: what the derives of the generated types need.

use std::marker::PhantomData;

/// The schema of a property that must be present and may be `null`: `Option<T>` that serde
/// still requires. schemars calls a plain `Option<T>` field optional, and `schemars(required)`
/// drops the `null`; this keeps both.
#[doc(hidden)]
#[derive(Debug)]
pub struct RequiredNullable<T>(PhantomData<T>);

impl<T: schemars::JsonSchema> schemars::JsonSchema for RequiredNullable<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Nullable_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<Option<T>>()
    }
}

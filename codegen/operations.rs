//! The operation table (`OUT_DIR/operations.rs`): `(method name, operationId, METHOD, path
//! template)` for every operation. The hooks only learn the generated method name; with this
//! table, spans and errors show the documented `operationId` and the path template, never a
//! concrete path (which can carry patient ids).

use openapiv3::OpenAPI;

use super::surface::Row;

/// Rust source of `pub(crate) static OPERATIONS: &[(&str, &str, &str, &str)]`; the surface's
/// rows know the method names.
pub fn table(spec: &OpenAPI, surface: &[Row]) -> String {
    let mut out = String::from(
        "/// `(method name, operationId, METHOD, path template)`, generated from the OpenAPI document.\n\
         pub(crate) static OPERATIONS: &[(&str, &str, &str, &str)] = &[\n",
    );
    for (path, method, op) in spec.operations() {
        let method = method.to_uppercase();
        let id = op.operation_id.as_deref().unwrap_or_default();
        let name = Row::find(surface, &method, path).map_or(id, |row| row.name.as_str());
        out.push_str(&format!("    ({name:?}, {id:?}, {method:?}, {path:?}),\n"));
    }
    out.push_str("];\n");
    out
}

//! The operation table (`OUT_DIR/operations.rs`): `(operationId, METHOD, path template)` for
//! every operation, so the hand-written layer can name operations in spans and errors without
//! ever logging a concrete path (which can carry patient ids).

use openapiv3::OpenAPI;

/// Rust source of `pub(crate) static OPERATIONS: &[(&str, &str, &str)]`.
pub fn table(spec: &OpenAPI) -> String {
    let mut out = String::from("/// `(operationId, METHOD, path template)`, generated from the OpenAPI document.\npub(crate) static OPERATIONS: &[(&str, &str, &str)] = &[\n");
    for (path, method, op) in spec.operations() {
        let id = op.operation_id.as_deref().unwrap_or_default();
        out.push_str(&format!("    ({id:?}, {:?}, {path:?}),\n", method.to_uppercase()));
    }
    out.push_str("];\n");
    out
}

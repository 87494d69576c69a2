//! The answer decoders (`OUT_DIR/decoders.rs`): for each operation whose success answer is a
//! generated type, a function that decodes a body exactly as the client does and writes the
//! value back as JSON. The mock's `decode_answer` looks them up, so a recorded or published
//! answer can be checked against the SDK's types without calling each operation by hand.

use openapiv3::OpenAPI;

use crate::surface::Row;

/// Rust source of `pub(crate) static DECODERS: &[(&str, Decoder)]`, by operationId.
pub fn table(spec: &OpenAPI, surface: &[Row]) -> String {
    let mut out = String::from(
        "/// `(operationId, decoder)`, generated from the OpenAPI document.\n\
         pub(crate) static DECODERS: &[(&str, Decoder)] = &[\n",
    );
    for (path, method, op) in spec.operations() {
        let (Some(id), Some(row)) = (op.operation_id.as_deref(), Row::find(surface, method, path)) else { continue };
        let Some(name) = row.success.strip_prefix("hero_health::types::") else { continue };
        out.push_str(&format!("    ({id:?}, |body| ::serde_json::to_value(::serde_json::from_slice::<crate::types::{name}>(body)?)),\n"));
    }
    out.push_str("];\n");
    out
}

//! The operation table (`OUT_DIR/operations.rs`): `(method name, operationId, METHOD, path
//! template)` for every operation. The hooks only learn the generated method name; with this
//! table, spans and errors show the documented `operationId` and the path template, never a
//! concrete path (which can carry patient ids).

use openapiv3::OpenAPI;

use crate::surface::Row;

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
    out.push_str(&upstream_ids(spec));
    out.push_str(&words(spec));
    out
}

/// Where the effective document keeps an operation's upstream `operationId` when the overlay
/// renamed it (written by `cargo xtask update-spec` / `apply`).
pub const UPSTREAM_OPERATION_ID: &str = "x-hero-upstream-operation-id";

/// Rust source of `pub(crate) static UPSTREAM_OPERATION_IDS: &[(&str, &str)]`: `(Hero's
/// operationId, the crate's)` for each renamed operation, so a user who names an operation as
/// Hero's bundle does is pointed to the one spelling the crate uses.
fn upstream_ids(spec: &OpenAPI) -> String {
    let mut out = String::from(
        "/// `(upstream operationId, operationId)` of each operation the overlay renamed.\n\
         pub(crate) static UPSTREAM_OPERATION_IDS: &[(&str, &str)] = &[\n",
    );
    for (_, _, op) in spec.operations() {
        let (Some(id), Some(upstream)) = (&op.operation_id, op.extensions.get(UPSTREAM_OPERATION_ID).and_then(|v| v.as_str())) else {
            continue;
        };
        out.push_str(&format!("    ({upstream:?}, {id:?}),\n"));
    }
    out.push_str("];\n");
    out
}

/// Rust source of `pub(crate) static DOCUMENT_WORDS: &[&str]`, sorted: every property name the
/// document declares. An error or report may name a key from an answer only when it is one of
/// these; any other key can be data (an NHS number used as a map key).
fn words(spec: &OpenAPI) -> String {
    fn walk(value: &serde_json::Value, words: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Object(properties)) = map.get("properties") {
                    words.extend(properties.keys().cloned());
                }
                map.values().for_each(|v| walk(v, words));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, words)),
            _ => {}
        }
    }
    let mut words = std::collections::BTreeSet::new();
    walk(&serde_json::to_value(spec).unwrap_or_default(), &mut words);
    let mut out =
        String::from("/// Every property name of the OpenAPI document, sorted.\npub(crate) static DOCUMENT_WORDS: &[&str] = &[\n");
    for word in words {
        out.push_str(&format!("    {word:?},\n"));
    }
    out.push_str("];\n");
    out
}

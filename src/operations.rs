//! The operation table build.rs writes (`OUT_DIR/operations.rs`): each generated method's
//! operationId and path template. Core: errors, hooks and the mock all look names up here.

mod table {
    include!(concat!(env!("OUT_DIR"), "/operations.rs"));
}

/// `(operationId, path template)` of a generated method (`get_appointment` →
/// `getAppointment`, `/v1/appointments/{id}`): spans show the template, never the concrete path,
/// which can carry patient ids.
pub(crate) fn operation(method_name: &str) -> (&'static str, &'static str) {
    table::OPERATIONS.iter().find(|(name, ..)| *name == method_name).map_or(("?", "?"), |(_, id, _, path)| (*id, *path))
}

/// The operationId for `name`, which may be an operationId (`bookAppointment`) or a generated
/// method's name (`book_appointment`); otherwise the closest operationId (at most three edits
/// away), as a suggestion.
#[cfg(feature = "mock")]
pub(crate) fn resolve_operation(name: &str) -> Result<&'static str, Option<&'static str>> {
    if let Some((_, id, ..)) = table::OPERATIONS.iter().find(|(method, id, ..)| *id == name || *method == name) {
        return Ok(id);
    }
    let key = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect::<String>();
    let wanted = key(name);
    Err(table::OPERATIONS
        .iter()
        .map(|(_, id, ..)| (strsim::levenshtein(&key(id), &wanted), *id))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, id)| id))
}

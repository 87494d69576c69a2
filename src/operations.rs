//! The operation table build.rs writes (`OUT_DIR/operations.rs`): each generated method's
//! operationId and path template. Core: errors, hooks and the mock all look names up here.

// `UPSTREAM_OPERATION_IDS` serves only the mock's suggestions.
#[cfg_attr(not(feature = "mock"), allow(dead_code))]
mod table {
    include!(concat!(env!("OUT_DIR"), "/operations.rs"));
}

/// `key` if it is a property name of the OpenAPI document, otherwise a token in its place
/// (`‹key 3f2a›`): 16 bits of a hash keyed with a secret of this process, the same for the same
/// key throughout the process (to tell keys apart within a message, or across log lines), and
/// useless for confirming a guess (an NHS number tried against it) without that secret. A key
/// an answer or a 400 body brings can be data: an NHS number used as a map key, a surname.
pub(crate) fn document_word_or_token(key: &str) -> std::borrow::Cow<'_, str> {
    if table::DOCUMENT_WORDS.binary_search(&key).is_ok() {
        return std::borrow::Cow::Borrowed(key);
    }
    static SECRET: std::sync::OnceLock<std::collections::hash_map::RandomState> = std::sync::OnceLock::new();
    let hash = std::hash::BuildHasher::hash_one(SECRET.get_or_init(Default::default), key);
    std::borrow::Cow::Owned(format!("‹key {:04x}›", hash & 0xffff))
}

/// `(operationId, path template)` of a generated method (`get_appointment` →
/// `getAppointment`, `/v1/appointments/{id}`): spans show the template, never the concrete path,
/// which can carry patient ids.
pub(crate) fn operation(method_name: &str) -> (&'static str, &'static str) {
    table::OPERATIONS.iter().find(|(name, ..)| *name == method_name).map_or(("?", "?"), |(_, id, _, path)| (*id, *path))
}

/// [`resolve_operation`] without the closest-spelling guess: `name` if it is an operationId,
/// else the one its generated method or Hero's upstream name means, if any.
pub(crate) fn exact_operation(name: &str) -> Result<&'static str, Option<&'static str>> {
    if let Some((_, id, ..)) = table::OPERATIONS.iter().find(|(_, id, ..)| *id == name) {
        return Ok(id);
    }
    if let Some((_, id, ..)) = table::OPERATIONS.iter().find(|(method, ..)| *method == name) {
        return Err(Some(id));
    }
    if let Some((_, id)) = table::UPSTREAM_OPERATION_IDS.iter().find(|(upstream, _)| *upstream == name) {
        return Err(Some(id));
    }
    Err(None)
}

/// `name` if it is an operationId of the document: the one spelling faults, errors
/// ([`crate::Error::operation_id`]), spans and the mock's log use. Otherwise the operationId the
/// caller most likely meant, as a suggestion: the operation whose generated method is `name`
/// (`book_appointment` → `bookAppointment`), the operation Hero's bundle calls `name` where the
/// crate renamed it (`listPatientsV3` → `searchPatients`), or the closest operationId at most
/// three edits away.
#[cfg(feature = "mock")]
pub(crate) fn resolve_operation(name: &str) -> Result<&'static str, Option<&'static str>> {
    if let found @ (Ok(_) | Err(Some(_))) = exact_operation(name) {
        return found;
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

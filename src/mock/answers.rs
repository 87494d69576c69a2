//! Checking an answer against the SDK's types without calling the operation: the decoders
//! build.rs generates (`OUT_DIR/decoders.rs`), one per operation with a typed success answer.

use super::MockError;

/// Decodes an answer body into the operation's type and writes it back as JSON.
type Decoder = fn(&[u8]) -> Result<serde_json::Value, serde_json::Error>;

mod table {
    use super::Decoder;
    include!(concat!(env!("OUT_DIR"), "/decoders.rs"));
}

/// Decodes `body` exactly as the client decodes a success answer of `operation` (its
/// operationId, `createWebhook`: the spelling errors and logs use), and returns the decoded value
/// written back as JSON: what your code would see. For checking answers recorded from Hero, or
/// your own fixtures, against this version of the SDK.
///
/// # Errors
///
/// [`MockError::UnknownOperation`] for a name that is no operation, [`MockError::NoTypedAnswer`]
/// for an operation whose success answer has no type (no body, or a byte stream), and
/// [`MockError::Undecodable`] with the client's own [`crate::Error::Decode`] (which names the
/// field, never its value) when the body does not decode.
pub fn decode_answer(operation: &str, body: &[u8]) -> Result<serde_json::Value, MockError> {
    let id = crate::operations::resolve_operation(operation)
        .map_err(|suggestion| MockError::UnknownOperation { given: operation.to_owned(), suggestion })?;
    let (_, decode) = table::DECODERS.iter().find(|(op, _)| *op == id).ok_or(MockError::NoTypedAnswer { operation: id })?;
    decode(body).map_err(|error| {
        let error = crate::GeneratedError::<()>::InvalidResponsePayload(body.to_vec().into(), error);
        MockError::Undecodable(Box::new(crate::Error::from(error)))
    })
}

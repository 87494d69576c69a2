//! Reading an answer in full, within a size limit, before the generated code decodes it.
//!
//! Why the whole body is read in the `exec` hook rather than left to the generated code:
//! - a size limit can only be kept while reading ([`crate::ClientBuilder::with_max_response_bytes`]);
//!   a hostile or broken server could otherwise send an endless body until the timeout;
//! - a body that is cut off, or drips past the timeout, after a `200` is then a failure of the
//!   attempt, which the retry policy can retry for idempotent methods (a GET whose answer was
//!   lost is sent again like one that never got a status line).
//!
//! Every answer of Hero's API is JSON of modest size (lists are paged), so nothing streams.

use std::fmt;

use reqwest::Response;

/// The default limit on an answer's body: far above any page of Hero's API, far below what
/// would hurt a service.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Why the client refused an answer before decoding it. It reaches [`crate::Error`] as the
/// source of a reqwest error, which is how the `exec` hook reports failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The body (announced or read so far) exceeds the limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A custom HTTP client followed a redirect: the answer comes from another location.
    Redirected,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::TooLarge { limit } => write!(f, "the answer is larger than the {limit}-byte limit"),
            Refusal::Redirected => f.write_str("the HTTP client followed a redirect"),
        }
    }
}

impl std::error::Error for Refusal {}

/// The refusal somewhere in `error`'s chain of sources, if the client refused the answer.
pub(crate) fn refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refusal> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(refusal) = current.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        cause = current.source();
    }
    None
}

/// How one attempt ended.
#[derive(Debug)]
pub(crate) enum Read {
    /// The whole body, within the limit, in a response the generated code can decode.
    Complete(Response),
    /// No answer, or its body broke off or timed out.
    Failed(reqwest::Error),
    /// Refused without reading it all.
    Refused(Refusal),
}

/// Reads `response`'s body in full, refusing more than `limit` bytes.
pub(crate) async fn read(response: Response, limit: usize) -> Read {
    if response.content_length().is_some_and(|announced| announced > limit as u64) {
        return Read::Refused(Refusal::TooLarge { limit });
    }
    let (parts, body) = http::Response::from(response).into_parts();
    // Back into a reqwest::Response to read it chunk by chunk (reqwest's timeouts stay on the
    // body); the stand-in URL reqwest gives it keeps the concrete one out of any error message.
    let mut body = Response::from(http::Response::new(body));
    let mut bytes = Vec::new();
    loop {
        match body.chunk().await {
            Ok(Some(chunk)) if bytes.len() + chunk.len() > limit => return Read::Refused(Refusal::TooLarge { limit }),
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(error) => return Read::Failed(error),
        }
    }
    Read::Complete(Response::from(http::Response::from_parts(parts, reqwest::Body::from(bytes))))
}

/// The error of an answer with a documented error status (`400u16 => …` in the generated
/// code): its body decoded as the documented type, or, when it is not that type (a gateway's
/// HTML page, an empty 429, a 401 in another shape), the answer as an unexpected one, status and
/// headers kept. progenitor's own decoding would make the latter a decoding error without its
/// status, and a 429 that cannot be read would no longer be a rate limit to wait for.
pub(crate) async fn error_answer<E: serde::de::DeserializeOwned>(response: Response) -> progenitor_client::Error<E> {
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(error) => return progenitor_client::Error::ResponseBodyError(error),
    };
    match serde_json::from_slice::<E>(&bytes) {
        Ok(body) => progenitor_client::Error::ErrorResponse(progenitor_client::ResponseValue::new(body, status, headers)),
        Err(_) => {
            let mut answer = http::Response::new(reqwest::Body::from(bytes));
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            progenitor_client::Error::UnexpectedResponse(Response::from(answer))
        }
    }
}

/// A reqwest error whose source is `refusal`: the `exec` hook can only fail with a
/// `reqwest::Error`, and reqwest makes one only from a failed read, so one is read.
pub(crate) async fn into_error(refusal: Refusal) -> reqwest::Error {
    let failing = futures_util::stream::once(async move { Err::<Vec<u8>, Refusal>(refusal) });
    let response = Response::from(http::Response::new(reqwest::Body::wrap_stream(failing)));
    match response.bytes().await {
        Err(error) => error,
        Ok(_) => unreachable!("a body whose only chunk is an error cannot be read successfully"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &'static str) -> Response {
        Response::from(http::Response::builder().status(200).body(reqwest::Body::from(body)).expect("valid parts"))
    }

    #[tokio::test]
    async fn a_body_within_the_limit_is_kept_whole_with_status_and_headers() {
        let Read::Complete(read) = read(response("{\"a\":1}"), 7).await else { panic!("refused") };
        assert_eq!(read.status(), 200);
        assert_eq!(read.text().await.expect("text"), "{\"a\":1}");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused() {
        // (An announced Content-Length over the limit: tests/it/hostile.rs, with a real connection.)
        assert!(matches!(read(response("12345678"), 7).await, Read::Refused(Refusal::TooLarge { limit: 7 })));
    }

    #[tokio::test]
    async fn a_refusal_survives_as_the_source_of_a_reqwest_error() {
        let error = into_error(Refusal::Redirected).await;
        assert_eq!(refusal(&error), Some(&Refusal::Redirected));
    }
}

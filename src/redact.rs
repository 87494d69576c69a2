//! How generated types show what they must not print whole (codegen/src/secrets.rs writes the
//! calls): a webhook's custom headers by count, a URL by its origin.
//!
//! Core module: it names no layer above it.

use std::collections::HashMap;
use std::fmt;

/// `Debug` of a field, summarised: see [`Summarise`].
pub(crate) struct Summary<'a, T: ?Sized>(pub(crate) &'a T);

impl<T: Summarise + ?Sized> fmt::Debug for Summary<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.summarise(f)
    }
}

/// `Debug` of a field that should hold one of Hero's words (a validation code such as
/// `slot_unavailable`): shown when it is one, as a token otherwise.
pub(crate) struct Word<'a, T: ?Sized>(pub(crate) &'a T);

impl fmt::Debug for Word<'_, String> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", word_or_token(self.0))
    }
}

impl fmt::Debug for Word<'_, Result<String, String>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(word) => Word(word).fmt(f),
            Err(_) => f.write_str("[not set]"),
        }
    }
}

/// A validation code is Hero's word (lowercase, `_`, `.`, `-`); anything else in its place is
/// shown as a token.
pub(crate) fn word_or_token(code: &str) -> std::borrow::Cow<'_, str> {
    let is_word = code.len() <= 64 && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.' || b == b'-');
    if is_word { std::borrow::Cow::Borrowed(code) } else { crate::operations::document_word_or_token(code) }
}

/// `Debug` of Hero's `expected` text of a validation issue: see [`prose`].
pub(crate) struct Prose<'a, T: ?Sized>(pub(crate) &'a T);

impl fmt::Debug for Prose<'_, String> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match prose(self.0) {
            Some(text) => write!(f, "{text:?}"),
            None => f.write_str("[not shown]"),
        }
    }
}

impl fmt::Debug for Prose<'_, Result<String, String>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(text) => Prose(text).fmt(f),
            Err(_) => f.write_str("[not set]"),
        }
    }
}

impl fmt::Debug for Prose<'_, Option<String>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(text) => Prose(text).fmt(f),
            None => f.write_str("None"),
        }
    }
}

impl fmt::Debug for Prose<'_, Result<Option<String>, String>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(text) => Prose(text).fmt(f),
            Err(_) => f.write_str("[not set]"),
        }
    }
}

/// Hero's `expected` text when it reads as a rule (`a date`, `an appointment that is not
/// confirmed yet`): lowercase words and plain punctuation, no digits, no capitals, no `@`.
/// Anything else may quote the value sent (a name, an NHS number) and is not shown.
pub(crate) fn prose(text: &str) -> Option<&str> {
    let plain = |b: u8| b.is_ascii_lowercase() || b" ,;:'()-_./".contains(&b);
    (!text.is_empty() && text.len() <= 120 && text.bytes().all(plain)).then_some(text)
}

/// A value shown without its content.
pub(crate) trait Summarise {
    fn summarise(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// Custom headers: how many, never their names or values (a receiver's own credentials).
impl Summarise for HashMap<String, String> {
    fn summarise(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} header(s) redacted]", self.len())
    }
}

/// A URL: its scheme and host, never its path, query or credentials.
impl Summarise for String {
    fn summarise(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(self) {
            Ok(url) if url.has_host() => write!(f, "\"{}://{}/…\"", url.scheme(), url.host_str().unwrap_or_default()),
            _ => f.write_str("[url redacted]"),
        }
    }
}

/// A validation issue's path: indices, and keys that are words of the document; any other
/// key as a token (`crate::operations::document_word_or_token`).
impl Summarise for Vec<serde_json::Value> {
    fn summarise(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", path_segments(self))
    }
}

/// The segments of a validation issue's path as they may be shown.
pub(crate) fn path_segments(path: &[serde_json::Value]) -> Vec<String> {
    path.iter()
        .map(|segment| match segment {
            serde_json::Value::Number(index) if index.is_u64() => index.to_string(),
            serde_json::Value::String(key) => crate::operations::document_word_or_token(key).into_owned(),
            _ => "‹value›".to_owned(),
        })
        .collect()
}

impl<T: Summarise> Summarise for Option<T> {
    fn summarise(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Some(value) => {
                f.write_str("Some(")?;
                value.summarise(f)?;
                f.write_str(")")
            }
            None => f.write_str("None"),
        }
    }
}

/// A typify builder's field: the value, or why it could not be set (typify's message names the
/// field and the conversion, not the value).
impl<T: Summarise> Summarise for Result<T, String> {
    fn summarise(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ok(value) => value.summarise(f),
            Err(_) => f.write_str("[not set]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_print_a_count_and_a_url_its_origin() {
        let headers: HashMap<String, String> = [("x-receiver-key".to_owned(), "rk_live_secret".to_owned())].into();
        assert_eq!(format!("{:?}", Summary(&headers)), "[1 header(s) redacted]");
        let url = "https://user:pw@hooks.example.com:8443/hero/tok_123?key=secret".to_owned();
        assert_eq!(format!("{:?}", Summary(&url)), "\"https://hooks.example.com/…\"");
        assert_eq!(format!("{:?}", Summary(&"not a url 9434765919".to_owned())), "[url redacted]");
        assert_eq!(format!("{:?}", Summary(&Err::<String, _>("error converting supplied value for url: x".to_owned()))), "[not set]");
    }
}

//! [`Id`], the numeric-string identifier Hero uses for appointments, patients, practitioners and
//! most other resources.

use std::fmt;
use std::str::FromStr;

/// A Hero identifier: a numeric string such as `"1234"`.
///
/// Values you build are checked (`"12a".parse::<Id>()` fails, naming the rule), so a typo never
/// reaches the API. Values Hero sends are accepted as they are: the published documents mark ids
/// `^\d+$`, yet Hero's own docs mock answers `"id": "string"`, and a new id format on the server
/// side must not make a whole response undecodable.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Id(String);

/// A value that is not a Hero identifier (digits only, at least one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a Hero id is digits only, like \"1234\"; got {len} character(s){detail}")]
pub struct InvalidId {
    len: usize,
    detail: String,
}

impl Id {
    /// Checks and wraps an identifier.
    ///
    /// # Errors
    ///
    /// [`InvalidId`] when the value is empty or has a character that is not an ASCII digit.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidId> {
        let value = value.into();
        // The value itself is not echoed: a mixed-up argument could be a secret or patient data.
        match value.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            None if !value.is_empty() => Ok(Self(value)),
            None => Err(InvalidId { len: 0, detail: String::new() }),
            Some((at, _)) => Err(InvalidId { len: value.chars().count(), detail: format!(", the first non-digit at byte {at}") }),
        }
    }

    /// An identifier read back from where the crate stored it (a booking journal), taken as it
    /// is, as an answer of Hero's is: it was checked, or answered by Hero, when first seen.
    pub(crate) fn received(value: String) -> Self {
        Self(value)
    }

    /// The identifier as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for Id {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Id {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Id {
    type Error = InvalidId;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for Id {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<&String> for Id {
    type Error = InvalidId;
    fn try_from(s: &String) -> Result<Self, Self::Error> {
        Self::new(s.as_str())
    }
}

impl From<u64> for Id {
    fn from(n: u64) -> Self {
        Self(n.to_string())
    }
}

impl From<Id> for String {
    fn from(id: Id) -> Self {
        id.0
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an identifier (string or number)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Id, E> {
                Ok(Id(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A string of digits: what Hero documents for its ids (`^\d+$`). The SDK checks it on what it
/// sends; what Hero answers is taken as it comes.
#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Id {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Id".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^\\d+$",
            "description": "A Hero identifier: a numeric string, such as \"1234\"."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_only_digit_strings() {
        assert_eq!("1234".parse::<Id>().unwrap().as_str(), "1234");
        assert_eq!(Id::from(42u64).as_str(), "42");
        assert!("".parse::<Id>().is_err());
        let err = "12a4".parse::<Id>().unwrap_err().to_string();
        assert_eq!(err, "a Hero id is digits only, like \"1234\"; got 4 character(s), the first non-digit at byte 2");
        assert!(!err.contains("12a4"), "the rejected value must not be echoed");
    }

    #[test]
    fn decodes_whatever_the_server_sends() {
        let ids: Vec<Id> = serde_json::from_str(r#"["17", "string", 99]"#).unwrap();
        assert_eq!(ids.iter().map(Id::as_str).collect::<Vec<_>>(), ["17", "string", "99"]);
        assert_eq!(serde_json::to_string(&ids[0]).unwrap(), r#""17""#);
    }
}

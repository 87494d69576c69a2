//! [`NhsNumber`]: the ten-digit NHS number, its modulus 11 check digit checked when you build one.

use std::fmt;
use std::str::FromStr;

/// An NHS number, such as `943 476 5919`.
///
/// One you build is checked: ten digits (spaces and hyphens, as in the 3-3-4 grouping, are
/// allowed and dropped), and the tenth is the modulus 11 check digit of the other nine
/// (NHS Digital's Data Dictionary, "NHS Number"). A mistyped digit, or two adjacent digits
/// swapped, never reaches PDS. One Hero answers is kept as it came, like an [`Id`](crate::Id):
/// [`NhsNumber::is_valid`] says whether it checks out.
///
/// It identifies a patient, so `Debug` shows only its last three digits and there is no
/// `Display`: print it on purpose with [`as_str`](NhsNumber::as_str).
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct NhsNumber(String);

/// Why a value is not an NHS number. Never repeats the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidNhsNumber {
    /// Not ten digits (after dropping spaces and hyphens).
    #[error("an NHS number has ten digits (spaces and hyphens, as in 943 476 5919, are fine); got {digits} digit(s){other}")]
    #[non_exhaustive]
    Length {
        /// How many digits there were.
        digits: usize,
        /// A note on other characters, if any.
        other: &'static str,
    },
    /// The tenth digit is not the check digit of the first nine: a digit was mistyped or two
    /// were swapped.
    #[error("the NHS number's check digit does not match (a digit mistyped or two swapped?); check it against the patient's record")]
    CheckDigit,
}

impl NhsNumber {
    /// Checks and wraps an NHS number, dropping spaces and hyphens.
    ///
    /// # Errors
    ///
    /// [`InvalidNhsNumber`] when it is not ten digits or its check digit does not match.
    pub fn new(value: &str) -> Result<Self, InvalidNhsNumber> {
        let other = value.chars().any(|c| !(c.is_ascii_digit() || c == ' ' || c == '-'));
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        if other || digits.len() != 10 {
            let other = if other { ", and characters other than digits, spaces and hyphens" } else { "" };
            return Err(InvalidNhsNumber::Length { digits: digits.len(), other });
        }
        if check_digit(&digits) != digits.as_bytes().get(9).map(|d| d - b'0') {
            return Err(InvalidNhsNumber::CheckDigit);
        }
        Ok(NhsNumber(digits))
    }

    /// The number as sent (ten digits for one you built; as received for one Hero answered).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is ten digits with a matching check digit (always, for one you built).
    pub fn is_valid(&self) -> bool {
        NhsNumber::new(&self.0).is_ok_and(|checked| checked.0 == self.0)
    }
}

/// The modulus 11 check digit of the first nine digits of `digits`, `None` when there is none
/// (a remainder that gives 10: no NHS number is issued with those nine digits).
fn check_digit(digits: &str) -> Option<u8> {
    let sum: u32 = digits.bytes().take(9).zip((2..=10).rev()).map(|(d, weight)| u32::from(d - b'0') * weight).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        check => u8::try_from(check).ok(),
    }
}

impl fmt::Debug for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = self.0.char_indices().rev().nth(2).map_or("", |(at, _)| &self.0[at..]);
        write!(f, "NhsNumber(*******{tail})")
    }
}

impl FromStr for NhsNumber {
    type Err = InvalidNhsNumber;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NhsNumber::new(s)
    }
}

impl AsRef<str> for NhsNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An answer's NHS number is kept as it came, unchecked: a number Hero holds is the patient's,
/// and refusing the whole answer over it would help no one.
impl<'de> serde::Deserialize<'de> for NhsNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(NhsNumber)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples_check_out() {
        // NHS Digital's test numbers.
        for number in ["9434765919", "943 476 5919", "943-476-5919", "4010232137"] {
            assert!(NhsNumber::new(number).is_ok(), "{number}");
        }
        assert_eq!(NhsNumber::new("943 476 5919").unwrap().as_str(), "9434765919");
        assert_eq!(NhsNumber::new("9434765918"), Err(InvalidNhsNumber::CheckDigit));
        assert!(matches!(NhsNumber::new("943476591"), Err(InvalidNhsNumber::Length { digits: 9, .. })));
        assert!(matches!(NhsNumber::new("94347659x9"), Err(InvalidNhsNumber::Length { .. })));
        assert_eq!(format!("{:?}", NhsNumber::new("9434765919").unwrap()), "NhsNumber(*******919)");
    }
}

//! [`Lenient`]: a received field whose Rust type is stronger than what Hero publishes.
//!
//! The SDK conventions (README, "SDK conventions") type a field more strongly than Hero's
//! document does where the rest of the document says what it means: a format-less `created_at`
//! is a date-time, a `number` count is a `u64`. That is right for what users send. For what Hero
//! answers it would turn a schema-valid answer (Hero's docs mock sends `"created_at": "string"`)
//! into a failure of the whole answer, and for a write that is a lost outcome. So such a field is
//! read liberally: the value is kept exactly as received, and the typed value is there when it
//! parsed.
//!
//! This module is a core module: it imports nothing above it.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

/// A value Hero sent in a field that the SDK types more strongly than Hero's document does:
/// the typed value when it parsed, and always the value exactly as received.
///
/// Which fields are `Lenient` is decided by the code generator: every field of an answer whose
/// type an SDK convention made stronger than Hero publishes (a format-less string read as a
/// date-time, a `number` read as a `u64`). A value that does not parse never fails the answer:
/// [`get`](Self::get) then says so, [`raw`](Self::raw) has what Hero sent, and a `debug` event
/// of target `hero_health::lenient` names the field (never the value: it may be patient data).
///
/// ```
/// use hero_health::Lenient;
/// use chrono::{DateTime, Utc};
///
/// // What Hero's docs mock answers for a format-less string:
/// let placeholder: Lenient<DateTime<Utc>> = serde_json::from_str(r#""string""#).unwrap();
/// assert!(placeholder.get().is_err());
/// assert_eq!(placeholder.raw(), "string");
///
/// let sent: Lenient<DateTime<Utc>> = serde_json::from_str(r#""2026-12-01T09:30:00Z""#).unwrap();
/// let at: DateTime<Utc> = sent.get()?;
/// assert_eq!(at.to_rfc3339(), "2026-12-01T09:30:00+00:00");
///
/// // A whole number sent as `15.0` is 15; `15.5` is kept as sent.
/// let count: Lenient<u64> = serde_json::from_str("15.0").unwrap();
/// assert_eq!(count.get()?, 15);
/// assert_eq!(count.raw().to_string(), "15.0");
/// # Ok::<(), hero_health::lenient::Unparsed>(())
/// ```
///
/// Serialising writes the value as received (or, for one built with `From`, the typed value), so
/// an answer passed on or stored loses nothing. Two limits come from JSON parsing, not from this
/// type: a number is kept as the `f64` it reads as (`1E2` is written back `100.0`), and a number
/// beyond the `f64` range (`1e400`) fails the answer in `serde_json` before any field sees it.
/// An optional field's explicit `null` is written back as absent, like the strict types do.
#[derive(Clone)]
pub struct Lenient<T> {
    typed: Option<T>,
    raw: Value,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for chrono::DateTime<chrono::Utc> {}
    impl Sealed for chrono::NaiveDate {}
    impl Sealed for u64 {}
}

/// The stronger types a [`Lenient`] field reads. Sealed: the code generator picks them.
pub trait Strong: sealed::Sealed + Sized {
    /// What a value must look like to parse, for messages: "an RFC 3339 date-time".
    const EXPECTED: &'static str;
    /// The typed value, when `raw` is one.
    #[doc(hidden)]
    fn from_received(raw: &Value) -> Option<Self>;
    /// The value as the wire carries it.
    #[doc(hidden)]
    fn to_wire(&self) -> Value;
}

impl Strong for DateTime<Utc> {
    const EXPECTED: &'static str = "an RFC 3339 date-time such as \"2026-12-01T09:30:00Z\"";
    fn from_received(raw: &Value) -> Option<Self> {
        DateTime::parse_from_rfc3339(raw.as_str()?).ok().map(|at| at.with_timezone(&Utc))
    }
    fn to_wire(&self) -> Value {
        // The form chrono's own `Serialize` writes, so a value built from `From` is sent exactly
        // as the strict type would have sent it.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Strong for NaiveDate {
    const EXPECTED: &'static str = "a date such as \"2026-12-01\"";
    fn from_received(raw: &Value) -> Option<Self> {
        // chrono's `%Y-%m-%d` also takes "2026-1-1" and "+2026-12-01": only the published form.
        let text = raw.as_str()?;
        let form = text.len() == 10 && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        form.then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten()
    }
    fn to_wire(&self) -> Value {
        Value::String(self.format("%Y-%m-%d").to_string())
    }
}

impl Strong for u64 {
    const EXPECTED: &'static str = "a whole number from 0 to 18446744073709551615";
    fn from_received(raw: &Value) -> Option<Self> {
        whole(raw.as_number()?)
    }
    fn to_wire(&self) -> Value {
        Value::from(*self)
    }
}

/// A JSON number as a `u64` when it is one: `15` and `15.0` are 15; `15.5`, `-1` and `1e30` are
/// not.
pub(crate) fn whole(number: &serde_json::Number) -> Option<u64> {
    integral(number).and_then(|n| u64::try_from(n).ok())
}

/// A JSON number that is integral, within `i64::MIN..=u64::MAX`, as an `i128`.
fn integral(number: &serde_json::Number) -> Option<i128> {
    if let Some(n) = number.as_i64() {
        return Some(n.into());
    }
    if let Some(n) = number.as_u64() {
        return Some(n.into());
    }
    let float = number.as_f64()?;
    // From 2^53 on a float may not be the number written (9007199254740993.0 reads as 2^53): no
    // typed value is better than a wrong one (the raw value is kept either way).
    const EXACT: f64 = 9_007_199_254_740_992.0;
    (float.fract() == 0.0 && float.abs() < EXACT).then_some(float as i128)
}

/// A [`Lenient`] value that did not parse into its type: what was expected and what kind of
/// JSON value came instead (never the value itself: it may be patient data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Hero sent {received} where the SDK reads {expected}; the value as sent is in `raw()`")]
pub struct Unparsed {
    expected: &'static str,
    received: String,
}

impl<T: Strong> Lenient<T> {
    /// The typed value, or why there is none.
    ///
    /// # Errors
    ///
    /// [`Unparsed`] when Hero's value is not one of `T` (the value itself is in
    /// [`raw`](Self::raw)).
    pub fn get(&self) -> Result<T, Unparsed>
    where
        T: Copy,
    {
        self.typed.ok_or_else(|| self.unparsed())
    }

    /// The typed value when Hero's value parsed into it: the common path.
    pub fn parsed(&self) -> Option<T>
    where
        T: Copy,
    {
        self.typed
    }

    fn unparsed(&self) -> Unparsed {
        Unparsed { expected: T::EXPECTED, received: describe(&self.raw) }
    }

    /// Reads a received value: typed when it parses, always kept as it came. `field` names the
    /// field in the `debug` event a fallback logs.
    #[doc(hidden)]
    pub fn received(raw: Value, field: &str) -> Self {
        let typed = T::from_received(&raw);
        if typed.is_none() {
            tracing::debug!(target: "hero_health::lenient", field, expected = T::EXPECTED, received = %describe(&raw), "a field Hero sent did not parse into its SDK type; its value is kept as sent");
        }
        Self { typed, raw }
    }
}

impl<T> Lenient<T> {
    /// The typed value when Hero's value parsed into it.
    pub fn typed(&self) -> Option<&T> {
        self.typed.as_ref()
    }

    /// The typed value when Hero's value parsed into it.
    pub fn into_typed(self) -> Option<T> {
        self.typed
    }

    /// The value exactly as Hero sent it (for one built with `From`, the typed value as the wire
    /// carries it).
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

/// [`Lenient::parsed`] for an optional field: `appointment.duration.parsed()` is the typed value
/// when Hero sent one that parsed, `None` when it sent none or one that did not parse (then
/// `.as_ref().map(Lenient::raw)` has it).
pub trait LenientOption<T> {
    /// The typed value, when there is a value and it parsed.
    fn parsed(&self) -> Option<T>;
}

impl<T: Strong + Copy> LenientOption<T> for Option<Lenient<T>> {
    fn parsed(&self) -> Option<T> {
        self.as_ref().and_then(Lenient::parsed)
    }
}

/// "a string of 6 characters", "the number 15.5" is not said: only the kind and size.
fn describe(raw: &Value) -> String {
    match raw {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::String(s) => format!("a string of {} character(s)", s.chars().count()),
        Value::Array(a) => format!("an array of {} item(s)", a.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

impl<T: Strong> From<T> for Lenient<T> {
    fn from(typed: T) -> Self {
        let raw = typed.to_wire();
        Self { typed: Some(typed), raw }
    }
}

impl<T: PartialEq> PartialEq for Lenient<T> {
    /// The typed values when both parsed (`15` and `15.0` are equal, as are one instant at two
    /// offsets, as for the strict types); otherwise the values as sent.
    fn eq(&self, other: &Self) -> bool {
        match (&self.typed, &other.typed) {
            (Some(a), Some(b)) => a == b,
            _ => self.raw == other.raw,
        }
    }
}

impl<T: PartialEq> PartialEq<T> for Lenient<T> {
    fn eq(&self, other: &T) -> bool {
        self.typed.as_ref() == Some(other)
    }
}

impl<T: fmt::Debug> fmt::Debug for Lenient<T> {
    /// The typed value, or `Unparsed(a string of 6 character(s))`: never the raw value, which
    /// may be patient data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.typed {
            Some(typed) => typed.fmt(f),
            None => write!(f, "Unparsed({})", describe(&self.raw)),
        }
    }
}

impl<T: fmt::Display> fmt::Display for Lenient<T> {
    /// The typed value, or `unparsed (a string of 6 character(s))`: never the raw value, which
    /// may be patient data ([`raw`](Self::raw) has it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.typed {
            Some(typed) => typed.fmt(f),
            None => write!(f, "unparsed ({})", describe(&self.raw)),
        }
    }
}

impl<T> serde::Serialize for Lenient<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de, T: Strong> serde::Deserialize<'de> for Lenient<T> {
    /// Never fails on a JSON value: see [`Lenient`].
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::received(Value::deserialize(deserializer)?, std::any::type_name::<T>()))
    }
}

/// `deserialize_with` for a `Lenient` struct field: the generated code passes the field's name,
/// so the fallback event says which field it was.
#[doc(hidden)]
pub fn field<'de, D: serde::Deserializer<'de>, T: Strong>(deserializer: D, field: &'static str) -> Result<Lenient<T>, D::Error> {
    Ok(Lenient::received(serde::Deserialize::deserialize(deserializer)?, field))
}

/// `deserialize_with` for an optional `Lenient` struct field: `null` is `None`.
#[doc(hidden)]
pub fn optional_field<'de, D: serde::Deserializer<'de>, T: Strong>(
    deserializer: D,
    field: &'static str,
) -> Result<Option<Lenient<T>>, D::Error> {
    let raw: Value = serde::Deserialize::deserialize(deserializer)?;
    Ok((!raw.is_null()).then(|| Lenient::received(raw, field)))
}

/// `deserialize_with` for a whole number Hero publishes as an integer: `15.0` is 15 (JSON
/// Schema counts it as an integer; serde does not). Anything else fails as the strict type would.
#[doc(hidden)]
pub fn whole_number<'de, D: serde::Deserializer<'de>, N: TryFrom<i128>>(deserializer: D) -> Result<N, D::Error> {
    use serde::de::Error as _;
    let number = serde_json::Number::deserialize(deserializer)?;
    integral(&number)
        .and_then(|n| N::try_from(n).ok())
        .ok_or_else(|| D::Error::custom(format_args!("expected a whole number in range, got {number}")))
}

/// [`whole_number`] for an optional field: `null` is `None`.
#[doc(hidden)]
pub fn optional_whole_number<'de, D: serde::Deserializer<'de>, N: TryFrom<i128>>(deserializer: D) -> Result<Option<N>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Whole<N: TryFrom<i128>>(#[serde(deserialize_with = "whole_number")] N);
    Ok(Option::<Whole<N>>::deserialize(deserializer)?.map(|Whole(n)| n))
}

use serde::Deserialize as _;

/// The schema of the type the SDK reads: what a conforming answer carries. Anything else is
/// kept as sent (see [`Lenient`]), so a schema for what is accepted would say nothing.
#[cfg(feature = "schemars")]
impl<T: Strong + schemars::JsonSchema> schemars::JsonSchema for Lenient<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Lenient_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read<T: Strong>(json: &str) -> Lenient<T> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn whole_numbers_include_integral_floats_only() {
        assert_eq!(read::<u64>("15").get(), Ok(15));
        assert_eq!(read::<u64>("15.0").get(), Ok(15));
        assert_eq!(read::<u64>("0.0").get(), Ok(0));
        for not_whole in ["15.5", "-1", "-1.0", "1e30", "\"15\"", "null", "true"] {
            let value = read::<u64>(not_whole);
            assert!(value.get().is_err(), "{not_whole}");
            assert_eq!(value.raw(), &serde_json::from_str::<Value>(not_whole).unwrap(), "kept as sent");
        }
        assert_eq!(read::<u64>("18446744073709551615").get(), Ok(u64::MAX));
        assert_eq!(read::<u64>("9007199254740991.0").get(), Ok(9_007_199_254_740_991));
        assert!(read::<u64>("9007199254740993.0").get().is_err(), "past 2^53 a float may not be the number sent");
        assert_eq!(read::<u64>("-0.0").get(), Ok(0));
    }

    #[test]
    fn dates_parse_only_in_their_format_and_keep_the_offset_as_sent() {
        let at = read::<DateTime<Utc>>(r#""2026-12-01T10:30:00+01:00""#);
        assert_eq!(at.get().unwrap().to_rfc3339(), "2026-12-01T09:30:00+00:00");
        assert_eq!(serde_json::to_string(&at).unwrap(), r#""2026-12-01T10:30:00+01:00""#, "written back as sent");
        for other in [r#""2026-12-01T10:30:00""#, r#""""#, "1764581400", r#""string""#] {
            assert!(read::<DateTime<Utc>>(other).get().is_err(), "{other}");
        }
        assert_eq!(read::<NaiveDate>(r#""2026-12-01""#).get(), Ok(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()));
        for other in [r#""01/12/2026""#, r#""2026-1-1""#, r#""+2026-12-01""#, r#"" 2026-12-01""#] {
            assert!(read::<NaiveDate>(other).get().is_err(), "{other}");
        }
    }

    #[test]
    fn what_users_build_is_sent_as_the_strict_type_sends_it() {
        let at: DateTime<Utc> = "2026-12-01T09:30:00Z".parse().unwrap();
        assert_eq!(serde_json::to_value(Lenient::from(at)).unwrap(), serde_json::to_value(at).unwrap());
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(serde_json::to_value(Lenient::from(day)).unwrap(), serde_json::to_value(day).unwrap());
        assert_eq!(serde_json::to_string(&Lenient::from(7_u64)).unwrap(), "7");
    }

    #[test]
    fn equality_is_by_typed_value_when_both_parsed() {
        assert_eq!(read::<u64>("15.0"), Lenient::from(15));
        assert_eq!(read::<u64>("15.0"), 15);
        assert_eq!(read::<DateTime<Utc>>(r#""2026-12-01T10:30:00+01:00""#), read::<DateTime<Utc>>(r#""2026-12-01T09:30:00Z""#));
        assert_ne!(read::<u64>(r#""x""#), read::<u64>(r#""y""#));
        assert_eq!(read::<u64>(r#""x""#), read::<u64>(r#""x""#));
    }

    #[test]
    fn messages_and_debug_never_carry_the_value() {
        let secret = read::<DateTime<Utc>>(r#""Jane Smith 9434765919""#);
        let said = format!("{} {:?} {:?} {secret}", secret.get().unwrap_err(), secret.get(), secret);
        assert!(!said.contains("Jane") && !said.contains("9434765919"), "{said}");
        assert!(said.contains("a string of 21 character(s)"), "{said}");
    }

    #[test]
    fn integer_fields_take_integral_floats() {
        #[derive(serde::Deserialize)]
        struct Counted {
            #[serde(deserialize_with = "whole_number")]
            n: i64,
            #[serde(default, deserialize_with = "optional_whole_number")]
            m: Option<u32>,
        }
        let c: Counted = serde_json::from_str(r#"{"n": -3.0, "m": 4.0}"#).unwrap();
        assert_eq!((c.n, c.m), (-3, Some(4)));
        let c: Counted = serde_json::from_str(r#"{"n": 2, "m": null}"#).unwrap();
        assert_eq!((c.n, c.m), (2, None));
        assert!(serde_json::from_str::<Counted>(r#"{"n": 2.5}"#).is_err(), "a published integer that is not one still fails");
        assert!(serde_json::from_str::<Counted>(r#"{"n": 1, "m": 5000000000}"#).is_err(), "out of range fails");
    }
}

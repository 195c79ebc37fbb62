//! A loosely typed JSON value for fields whose type producers disagree on.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use serde_json::Value;

/// A JSON value kept in the type the producer sent it in.
///
/// Fields such as `statusCode`, `time` or `truncatedBody` arrive as numbers from some producers and
/// as strings from others (and occasionally as something absurd). Decoding them into `Scalar` means a
/// wrong type never fails the whole record: the server converts with [`Scalar::as_i64`] and friends
/// and, when that fails, reports the field by name together with [`Scalar::kind`].
///
/// Invariant kept by deserialization and by the `From` conversions: [`Scalar::UInt`] only holds
/// values above `i64::MAX`, every other integer is an [`Scalar::Int`]. Values built by hand that break
/// the invariant still convert correctly but do not compare equal to their decoded form.
///
/// Inside an `Option<Scalar>` field a JSON `null` decodes as `None`, so [`Scalar::Null`] only appears
/// where a `Scalar` is used on its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Scalar {
    /// JSON `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// A number with a fraction or exponent, or an integer too large for `u64`.
    Float(f64),
    /// A string, unmodified.
    Str(String),
    /// An array or object where a scalar was expected (or, for Akto's `tag`, legitimately an object).
    /// Boxed because it is rare and would otherwise make every scalar larger.
    Composite(Box<Value>),
}

impl Scalar {
    /// The value as an `i64`: integers, floats with no fractional part, and strings holding such a
    /// number once surrounding whitespace is trimmed (`" 200 "`, `"1763700000"`, `"2e3"`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Scalar::Int(v) => Some(*v),
            Scalar::UInt(v) => i64::try_from(*v).ok(),
            Scalar::Float(v) => integral_f64_to_i64(*v),
            Scalar::Str(s) => {
                let t = s.trim();
                t.parse::<i64>()
                    .ok()
                    .or_else(|| finite_f64(t).and_then(integral_f64_to_i64))
            }
            Scalar::Null | Scalar::Bool(_) | Scalar::Composite(_) => None,
        }
    }

    /// The value as a `u64`, with the same rules as [`Scalar::as_i64`] and no negative numbers.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Scalar::Int(v) => u64::try_from(*v).ok(),
            Scalar::UInt(v) => Some(*v),
            Scalar::Float(v) => integral_f64_to_u64(*v),
            Scalar::Str(s) => {
                let t = s.trim();
                t.parse::<u64>()
                    .ok()
                    .or_else(|| finite_f64(t).and_then(integral_f64_to_u64))
            }
            Scalar::Null | Scalar::Bool(_) | Scalar::Composite(_) => None,
        }
    }

    /// The value as a finite `f64`: any number, or a trimmed string holding a finite number.
    /// `"NaN"` and `"inf"` are refused because no producer means them.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Int(v) => Some(*v as f64),
            Scalar::UInt(v) => Some(*v as f64),
            Scalar::Float(v) => v.is_finite().then_some(*v),
            Scalar::Str(s) => finite_f64(s.trim()),
            Scalar::Null | Scalar::Bool(_) | Scalar::Composite(_) => None,
        }
    }

    /// The value as a `bool`: JSON booleans, and the strings `"true"` / `"false"` in any case with
    /// surrounding whitespace trimmed (Akto sends `"is_pending": "false"`).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            Scalar::Str(s) => {
                let t = s.trim();
                if t.eq_ignore_ascii_case("true") {
                    Some(true)
                } else if t.eq_ignore_ascii_case("false") {
                    Some(false)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// The string, if the producer sent a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as text whatever its type: strings as they are, numbers and booleans as JSON writes
    /// them (`1.1`, `200`, `true`), arrays and objects as compact JSON, and `null` as the empty string.
    pub fn as_str_lossy(&self) -> Cow<'_, str> {
        match self {
            Scalar::Null => Cow::Borrowed(""),
            Scalar::Bool(true) => Cow::Borrowed("true"),
            Scalar::Bool(false) => Cow::Borrowed("false"),
            Scalar::Int(v) => Cow::Owned(v.to_string()),
            Scalar::UInt(v) => Cow::Owned(v.to_string()),
            Scalar::Float(v) => Cow::Owned(float_text(*v)),
            Scalar::Str(s) => Cow::Borrowed(s),
            Scalar::Composite(v) => Cow::Owned(v.to_string()),
        }
    }

    /// The JSON type the producer used, for error messages ("expected an integer, got an object").
    pub fn kind(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "boolean",
            Scalar::Int(_) | Scalar::UInt(_) => "integer",
            Scalar::Float(_) => "number",
            Scalar::Str(_) => "string",
            Scalar::Composite(v) => match **v {
                Value::Array(_) => "array",
                Value::Object(_) => "object",
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                Value::String(_) => "string",
            },
        }
    }

    /// Whether this is JSON `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Scalar::Null)
    }

    /// Whether this is a number, a boolean or a string, i.e. something that has a sensible text form.
    pub fn is_scalar(&self) -> bool {
        matches!(
            self,
            Scalar::Bool(_) | Scalar::Int(_) | Scalar::UInt(_) | Scalar::Float(_) | Scalar::Str(_)
        )
    }
}

fn finite_f64(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

// 2^63 is exactly representable, so comparing against it decides the range without rounding surprises.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

fn integral_f64_to_i64(v: f64) -> Option<i64> {
    (v.is_finite() && v.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&v))
        .then_some(v as i64)
}

fn integral_f64_to_u64(v: f64) -> Option<u64> {
    (v.is_finite() && v.fract() == 0.0 && (0.0..2.0 * TWO_POW_63).contains(&v)).then_some(v as u64)
}

// serde_json's formatting rather than `Display`, so `2.0` stays `2.0` and huge values stay short.
fn float_text(v: f64) -> String {
    serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str_lossy())
    }
}

impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}

impl From<i64> for Scalar {
    fn from(v: i64) -> Self {
        Scalar::Int(v)
    }
}

impl From<i32> for Scalar {
    fn from(v: i32) -> Self {
        Scalar::Int(i64::from(v))
    }
}

impl From<u16> for Scalar {
    fn from(v: u16) -> Self {
        Scalar::Int(i64::from(v))
    }
}

impl From<u32> for Scalar {
    fn from(v: u32) -> Self {
        Scalar::Int(i64::from(v))
    }
}

impl From<u64> for Scalar {
    fn from(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(v) => Scalar::Int(v),
            Err(_) => Scalar::UInt(v),
        }
    }
}

impl From<f64> for Scalar {
    fn from(v: f64) -> Self {
        Scalar::Float(v)
    }
}

impl From<&str> for Scalar {
    fn from(v: &str) -> Self {
        Scalar::Str(v.to_owned())
    }
}

impl From<String> for Scalar {
    fn from(v: String) -> Self {
        Scalar::Str(v)
    }
}

impl From<Value> for Scalar {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Scalar::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Scalar::UInt(u)
                } else {
                    Scalar::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => Scalar::Str(s),
            composite @ (Value::Array(_) | Value::Object(_)) => {
                Scalar::Composite(Box::new(composite))
            }
        }
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Null => serializer.serialize_unit(),
            Scalar::Bool(v) => serializer.serialize_bool(*v),
            Scalar::Int(v) => serializer.serialize_i64(*v),
            Scalar::UInt(v) => serializer.serialize_u64(*v),
            Scalar::Float(v) => serializer.serialize_f64(*v),
            Scalar::Str(v) => serializer.serialize_str(v),
            Scalar::Composite(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

// A visitor rather than `#[serde(untagged)]`: untagged buffers every value into serde's `Content`
// tree and retries each variant, which costs an allocation per field on the ingestion hot path.
struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
        Ok(match (i64::try_from(v), u64::try_from(v)) {
            (Ok(i), _) => Scalar::Int(i),
            (_, Ok(u)) => Scalar::UInt(u),
            _ => Scalar::Float(v as f64),
        })
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar, E> {
        Ok(match u64::try_from(v) {
            Ok(u) => Scalar::from(u),
            Err(_) => Scalar::Float(v as f64),
        })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Scalar, D::Error> {
        Scalar::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        let value = Value::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(Scalar::Composite(Box::new(value)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        let value = Value::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Scalar::Composite(Box::new(value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(json: &str) -> Scalar {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn decodes_every_json_type_into_its_variant() {
        let cases: &[(&str, Scalar)] = &[
            ("null", Scalar::Null),
            ("true", Scalar::Bool(true)),
            ("false", Scalar::Bool(false)),
            ("0", Scalar::Int(0)),
            ("-42", Scalar::Int(-42)),
            ("200", Scalar::Int(200)),
            ("1763700000000", Scalar::Int(1_763_700_000_000)),
            ("9223372036854775807", Scalar::Int(i64::MAX)),
            (
                "9223372036854775808",
                Scalar::UInt(9_223_372_036_854_775_808),
            ),
            ("18446744073709551615", Scalar::UInt(u64::MAX)),
            ("1.1", Scalar::Float(1.1)),
            ("2.0", Scalar::Float(2.0)),
            ("1e3", Scalar::Float(1000.0)),
            ("\"200\"", Scalar::Str("200".into())),
            ("\"\"", Scalar::Str(String::new())),
            ("\"1.100000\"", Scalar::Str("1.100000".into())),
            ("[1,\"a\"]", Scalar::Composite(Box::new(json!([1, "a"])))),
            (
                "{\"service\":\"cloudflare\"}",
                Scalar::Composite(Box::new(json!({"service": "cloudflare"}))),
            ),
        ];
        for (json, want) in cases {
            assert_eq!(&decode(json), want, "{json}");
        }
    }

    #[test]
    fn serializes_back_in_the_original_json_type() {
        for json in [
            "null",
            "true",
            "-42",
            "18446744073709551615",
            "1.1",
            "2.0",
            "\"200\"",
            "[1,\"a\"]",
            "{\"a\":{\"b\":[]}}",
        ] {
            assert_eq!(serde_json::to_string(&decode(json)).unwrap(), json);
        }
    }

    #[test]
    fn null_inside_an_option_field_is_none() {
        let v: Option<Scalar> = serde_json::from_str("null").unwrap();
        assert_eq!(v, None);
        let v: Option<Scalar> = serde_json::from_str("0").unwrap();
        assert_eq!(v, Some(Scalar::Int(0)));
    }

    #[test]
    fn decodes_from_a_json_value_too() {
        let v: Scalar = serde_json::from_value(json!("201")).unwrap();
        assert_eq!(v, Scalar::Str("201".into()));
        let v: Scalar = serde_json::from_value(json!({"x": 1})).unwrap();
        assert_eq!(v, Scalar::Composite(Box::new(json!({"x": 1}))));
    }

    #[test]
    fn as_i64_accepts_integral_numbers_and_numeric_strings() {
        let cases: &[(Scalar, Option<i64>)] = &[
            (Scalar::Int(204), Some(204)),
            (Scalar::Float(200.0), Some(200)),
            (Scalar::Float(-3.0), Some(-3)),
            (Scalar::Float(200.5), None),
            (Scalar::Float(f64::NAN), None),
            (Scalar::Float(f64::INFINITY), None),
            (Scalar::Float(1e19), None),
            (Scalar::Float(-9_223_372_036_854_775_808.0), Some(i64::MIN)),
            (Scalar::UInt(u64::MAX), None),
            (Scalar::UInt(7), Some(7)),
            (Scalar::Str("200".into()), Some(200)),
            (Scalar::Str(" 1763700000\n".into()), Some(1_763_700_000)),
            (Scalar::Str("+5".into()), Some(5)),
            (Scalar::Str("-5".into()), Some(-5)),
            (Scalar::Str("2e3".into()), Some(2000)),
            (Scalar::Str("200.0".into()), Some(200)),
            (Scalar::Str("200.5".into()), None),
            (Scalar::Str("abc".into()), None),
            (Scalar::Str("yesterday".into()), None),
            (Scalar::Str("".into()), None),
            (Scalar::Str("   ".into()), None),
            (Scalar::Str("NaN".into()), None),
            (Scalar::Str("inf".into()), None),
            (Scalar::Str("0x10".into()), None),
            (Scalar::Str("1 2".into()), None),
            (Scalar::Bool(true), None),
            (Scalar::Null, None),
            (Scalar::Composite(Box::new(json!([200]))), None),
        ];
        for (v, want) in cases {
            assert_eq!(v.as_i64(), *want, "{v:?}");
        }
    }

    #[test]
    fn as_u64_refuses_negatives_and_reaches_above_i64() {
        let cases: &[(Scalar, Option<u64>)] = &[
            (Scalar::Int(5), Some(5)),
            (Scalar::Int(-5), None),
            (Scalar::UInt(u64::MAX), Some(u64::MAX)),
            (Scalar::Float(3.0), Some(3)),
            (Scalar::Float(-1.0), None),
            (Scalar::Str(" 18446744073709551615 ".into()), Some(u64::MAX)),
            (Scalar::Str("-1".into()), None),
            (Scalar::Bool(false), None),
        ];
        for (v, want) in cases {
            assert_eq!(v.as_u64(), *want, "{v:?}");
        }
    }

    #[test]
    fn as_f64_accepts_numbers_and_finite_numeric_strings() {
        let cases: &[(Scalar, Option<f64>)] = &[
            (Scalar::Int(3), Some(3.0)),
            (Scalar::UInt(u64::MAX), Some(u64::MAX as f64)),
            (Scalar::Float(1.5), Some(1.5)),
            (Scalar::Float(f64::NAN), None),
            (Scalar::Str(" 1.100000 ".into()), Some(1.1)),
            (Scalar::Str("1e3".into()), Some(1000.0)),
            (Scalar::Str("NaN".into()), None),
            (Scalar::Str("-inf".into()), None),
            (Scalar::Str("x".into()), None),
            (Scalar::Bool(true), None),
            (Scalar::Null, None),
        ];
        for (v, want) in cases {
            assert_eq!(v.as_f64(), *want, "{v:?}");
        }
    }

    #[test]
    fn as_bool_accepts_booleans_and_their_strings_in_any_case() {
        let cases: &[(Scalar, Option<bool>)] = &[
            (Scalar::Bool(true), Some(true)),
            (Scalar::Bool(false), Some(false)),
            (Scalar::Str("true".into()), Some(true)),
            (Scalar::Str("FALSE".into()), Some(false)),
            (Scalar::Str(" True ".into()), Some(true)),
            (Scalar::Str("yes".into()), None),
            (Scalar::Str("1".into()), None),
            (Scalar::Str("".into()), None),
            (Scalar::Int(1), None),
            (Scalar::Null, None),
        ];
        for (v, want) in cases {
            assert_eq!(v.as_bool(), *want, "{v:?}");
        }
    }

    #[test]
    fn as_str_lossy_writes_every_type_as_text() {
        let cases: &[(Scalar, &str)] = &[
            (Scalar::Null, ""),
            (Scalar::Bool(true), "true"),
            (Scalar::Bool(false), "false"),
            (Scalar::Int(-7), "-7"),
            (Scalar::UInt(u64::MAX), "18446744073709551615"),
            (Scalar::Float(1.1), "1.1"),
            (Scalar::Float(2.0), "2.0"),
            (Scalar::Str("1.100000".into()), "1.100000"),
            (
                Scalar::Composite(Box::new(json!({"service": "cloudflare"}))),
                r#"{"service":"cloudflare"}"#,
            ),
        ];
        for (v, want) in cases {
            assert_eq!(v.as_str_lossy(), *want, "{v:?}");
            assert_eq!(v.to_string(), *want, "{v:?}");
        }
        assert!(matches!(
            Scalar::Str("x".into()).as_str_lossy(),
            Cow::Borrowed("x")
        ));
        assert_eq!(Scalar::Str("x".into()).as_str(), Some("x"));
        assert_eq!(Scalar::Int(1).as_str(), None);
    }

    #[test]
    fn kind_names_the_json_type() {
        let cases: &[(Scalar, &str)] = &[
            (Scalar::Null, "null"),
            (Scalar::Bool(true), "boolean"),
            (Scalar::Int(1), "integer"),
            (Scalar::UInt(u64::MAX), "integer"),
            (Scalar::Float(1.5), "number"),
            (Scalar::Str(String::new()), "string"),
            (Scalar::Composite(Box::new(json!([]))), "array"),
            (Scalar::Composite(Box::new(json!({}))), "object"),
        ];
        for (v, want) in cases {
            assert_eq!(v.kind(), *want, "{v:?}");
        }
        assert!(Scalar::Null.is_null());
        assert!(!Scalar::Null.is_scalar());
        assert!(Scalar::Str(String::new()).is_scalar());
        assert!(!Scalar::Composite(Box::new(json!([]))).is_scalar());
    }

    #[test]
    fn from_conversions_keep_the_uint_invariant() {
        assert_eq!(Scalar::from(5u64), Scalar::Int(5));
        assert_eq!(Scalar::from(u64::MAX), Scalar::UInt(u64::MAX));
        assert_eq!(Scalar::from(200u16), Scalar::Int(200));
        assert_eq!(Scalar::from(-1i32), Scalar::Int(-1));
        assert_eq!(Scalar::from("a"), Scalar::Str("a".into()));
        assert_eq!(Scalar::from(json!(5)), Scalar::Int(5));
        assert_eq!(Scalar::from(json!(u64::MAX)), Scalar::UInt(u64::MAX));
        assert_eq!(Scalar::from(json!(1.5)), Scalar::Float(1.5));
        assert_eq!(Scalar::from(json!(null)), Scalar::Null);
        assert_eq!(Scalar::from(json!("s")), Scalar::Str("s".into()));
        assert_eq!(
            Scalar::from(json!([1])),
            Scalar::Composite(Box::new(json!([1])))
        );
    }
}

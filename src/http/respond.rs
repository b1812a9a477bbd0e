//! The one way an answer becomes JSON: a serde `[`Serializer`]` that writes what serde_json
//! writes (byte for byte: the tests below compare the two) and refuses what an answer must not
//! hold.
//!
//! - A NaN or an infinity (serde_json would write `null`) fails the serialisation: an input so
//!   large or small that a result overflows a 64-bit float answers 422, not `null`.
//! - A `null` of any other origin (an `Option` without `skip_serializing_if`, a `Value::Null`)
//!   fails it too, so "no answer holds a null" is enforced where the bytes are written.
//! - Struct keys and the core's fixed texts (labels, formulas, notes written in its code:
//!   `kpi::breakdown::fixed_text`) need no escaping and are copied as they are; debug builds,
//!   and so every test, check each fixed text written. Other text is checked in one pass and
//!   copied whole; only text that does need escaping goes through serde_json's escaping.
//!   Numbers are formatted by the crates serde_json uses (zmij for floats, itoa for integers).
//!   serde_json's own writer escapes every key and label byte by byte: for the microsecond
//!   endpoints (`/crr`, `/nps`) that was a third of a request's instructions (callgrind).

use std::fmt::Display;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::ser::{self, Impossible, Serialize};

use super::error::ApiError;
use crate::kpi::breakdown::FIXED_TEXT;

/// Methods of a serializer that refuse their value with `$refusal`.
macro_rules! refuse {
    ($refusal:expr; $ok:ty; $($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(#[inline]
        fn $name(self, $($arg: $ty),*) -> Result<$ok, Refused> {
            $(let _ = $arg;)*
            Err($refusal)
        })*
    };
}

/// Integer methods of a serializer (`serialize_i8: i8, …`), each running `$body` with the
/// serializer as `$s` and the integer as `$v`.
macro_rules! integers {
    ($($method:ident: $int:ty),*; |$s:ident, $v:ident| $body:expr) => {
        $(#[inline]
        fn $method(self, $v: $int) -> Result<(), Refused> {
            let $s = self;
            $body
        })*
    };
}

/// The compound methods of a serializer whose compounds are all `Impossible`, refused.
macro_rules! refuse_compounds {
    ($refusal:expr;) => {
        fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Refused> {
            Err($refusal)
        }
        fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Refused> {
            Err($refusal)
        }
        fn serialize_tuple_struct(
            self,
            _name: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleStruct, Refused> {
            Err($refusal)
        }
        fn serialize_tuple_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeTupleVariant, Refused> {
            Err($refusal)
        }
        fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Refused> {
            Err($refusal)
        }
        fn serialize_struct(
            self,
            _name: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStruct, Refused> {
            Err($refusal)
        }
        fn serialize_struct_variant(
            self,
            _name: &'static str,
            _index: u32,
            _variant: &'static str,
            _len: usize,
        ) -> Result<Self::SerializeStructVariant, Refused> {
            Err($refusal)
        }
    };
}

/// What stopped an answer from being written.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// A NaN or infinite number, or a `null`.
    NonFinite,
    /// Anything else serde reports (a map key that is not text or a number).
    Other(String),
}

impl Display for Refused {
    #[inline]
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NonFinite => f.write_str("a non-finite number or a null in an answer"),
            Self::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Refused {}

impl ser::Error for Refused {
    #[inline]
    fn custom<T: Display>(message: T) -> Self {
        Self::Other(message.to_string())
    }
}

impl From<Refused> for ApiError {
    #[inline]
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::NonFinite => crate::kpi::InvalidInput::new(
                "",
                "result out of range",
                "a result overflows a 64-bit float with these inputs (too large or too small): use other units",
            )
            .into(),
            Refused::Other(message) => ApiError::Internal(message),
        }
    }
}

/// An answer serialised and checked: the body of a 200 response.
pub struct FiniteJson(pub Vec<u8>, &'static str);

impl FiniteJson {
    /// A chart: the answer drawn as SVG ([`super::charts`]).
    pub fn svg(svg: String) -> Self {
        Self(svg.into_bytes(), "image/svg+xml")
    }
}

impl IntoResponse for FiniteJson {
    #[inline]
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(self.1))],
            self.0,
        )
            .into_response()
    }
}

/// Serialises an answer (see the module's description).
pub fn finite_json<T: Serialize>(answer: T) -> Result<FiniteJson, ApiError> {
    Ok(FiniteJson(to_vec(&answer)?, "application/json"))
}

/// The JSON bytes of a value, or why it may not be an answer.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Refused> {
    // Room for most answers (a few KiB) without regrowing; large ones grow as needed.
    let mut writer = Writer {
        out: Vec::with_capacity(4096),
    };
    value.serialize(&mut writer)?;
    Ok(writer.out)
}

/// The serializer: appends JSON to `out`.
pub struct Writer {
    out: Vec<u8>,
}

/// serde_json's marker for a `RawValue`: its one field is JSON to copy as it is.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

impl Writer {
    #[inline]
    fn text(&mut self, text: &str) {
        if needs_escape(text.as_bytes()) {
            self.escaped(text);
        } else {
            self.out.reserve(text.len() + 2);
            self.out.push(b'"');
            self.out.extend_from_slice(text.as_bytes());
            self.out.push(b'"');
        }
    }

    /// Text that needs escaping, through serde_json's own escaping (rare: input text).
    #[cold]
    #[inline(never)]
    fn escaped(&mut self, text: &str) {
        serde_json::to_writer(&mut self.out, text).expect("writing to a Vec cannot fail");
    }

    #[inline]
    fn integer(&mut self, value: impl itoa::Integer) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    #[inline]
    fn float(&mut self, value: f64) -> Result<(), Refused> {
        if !value.is_finite() {
            return Err(Refused::NonFinite);
        }
        self.out
            .extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
        Ok(())
    }

    #[inline]
    fn compound(&mut self, open: u8) -> Compound<'_> {
        self.out.push(open);
        Compound {
            writer: self,
            first: true,
            raw: false,
            close_variant: false,
        }
    }

    /// `{"variant":` before the value of a newtype, tuple or struct variant.
    #[inline]
    fn variant_key(&mut self, variant: &str) {
        self.out.push(b'{');
        self.text(variant);
        self.out.push(b':');
    }
}

/// An array, object or struct being written.
pub struct Compound<'w> {
    writer: &'w mut Writer,
    first: bool,
    /// A `RawValue`: its field is copied as JSON.
    raw: bool,
    /// A variant's `{"variant":…}` wrapper to close after the value.
    close_variant: bool,
}

impl Compound<'_> {
    #[inline]
    fn comma(&mut self) {
        if !self.first {
            self.writer.out.push(b',');
        }
        self.first = false;
    }

    #[inline]
    fn close(self, close: u8) {
        self.writer.out.push(close);
        if self.close_variant {
            self.writer.out.push(b'}');
        }
    }

    #[inline]
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Refused> {
        if self.raw {
            return value.serialize(RawText(&mut self.writer.out));
        }
        // A struct's field names are Rust identifiers or our own renames: none needs
        // escaping, so each is copied with its comma, quotes and colon in one reservation.
        debug_assert!(!needs_escape(key.as_bytes()), "field name {key:?}");
        let out = &mut self.writer.out;
        out.reserve(key.len() + 4);
        if !self.first {
            out.push(b',');
        }
        self.first = false;
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        value.serialize(&mut *self.writer)
    }
}

/// Whether JSON needs any of these bytes escaped: a control character, `"` or `\\`. The
/// whole text is folded without an early exit, which the compiler vectorises (callgrind: as
/// cheap as testing eight-byte words, and simpler).
#[inline]
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

impl<'w> ser::Serializer for &'w mut Writer {
    type Ok = ();
    type Error = Refused;
    type SerializeSeq = Compound<'w>;
    type SerializeTuple = Compound<'w>;
    type SerializeTupleStruct = Compound<'w>;
    type SerializeTupleVariant = Compound<'w>;
    type SerializeMap = Compound<'w>;
    type SerializeStruct = Compound<'w>;
    type SerializeStructVariant = Compound<'w>;

    #[inline]
    fn serialize_bool(self, v: bool) -> Result<(), Refused> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    integers!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128;
        |writer, v| {
            writer.integer(v);
            Ok(())
        }
    );
    #[inline]
    fn serialize_f32(self, v: f32) -> Result<(), Refused> {
        if !v.is_finite() {
            return Err(Refused::NonFinite);
        }
        self.out
            .extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
        Ok(())
    }
    #[inline]
    fn serialize_f64(self, v: f64) -> Result<(), Refused> {
        self.float(v)
    }
    #[inline]
    fn serialize_char(self, v: char) -> Result<(), Refused> {
        self.text(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Refused> {
        self.text(v);
        Ok(())
    }
    #[inline]
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Refused> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for byte in v {
            seq.serialize_element(byte)?;
        }
        seq.end()
    }
    #[inline]
    fn serialize_none(self) -> Result<(), Refused> {
        Err(Refused::NonFinite)
    }
    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Refused> {
        value.serialize(self)
    }
    #[inline]
    fn serialize_unit(self) -> Result<(), Refused> {
        Err(Refused::NonFinite)
    }
    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Refused> {
        Err(Refused::NonFinite)
    }
    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Refused> {
        self.text(variant);
        Ok(())
    }
    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        // Recognised by address (one static), so no bytes are compared; a name that only
        // looks alike would be written as any newtype, through the scanning path.
        if std::ptr::eq(name, FIXED_TEXT) {
            // Text written in the core's code: copied without the escape scan.
            let start = self.out.len() + 1;
            self.out.push(b'"');
            value.serialize(RawText(&mut self.out))?;
            debug_assert!(
                !needs_escape(&self.out[start..]),
                "a fixed text holds a character JSON escapes: {:?}",
                String::from_utf8_lossy(&self.out[start..])
            );
            self.out.push(b'"');
            return Ok(());
        }
        value.serialize(self)
    }
    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        self.variant_key(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    #[inline]
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w>, Refused> {
        Ok(self.compound(b'['))
    }
    #[inline]
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'w>, Refused> {
        Ok(self.compound(b'['))
    }
    #[inline]
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'w>, Refused> {
        Ok(self.compound(b'['))
    }
    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w>, Refused> {
        self.variant_key(variant);
        let mut compound = self.compound(b'[');
        compound.close_variant = true;
        Ok(compound)
    }
    #[inline]
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w>, Refused> {
        Ok(self.compound(b'{'))
    }
    #[inline]
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Compound<'w>, Refused> {
        if name == RAW_VALUE_TOKEN {
            return Ok(Compound {
                writer: self,
                first: true,
                raw: true,
                close_variant: false,
            });
        }
        Ok(self.compound(b'{'))
    }
    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w>, Refused> {
        self.variant_key(variant);
        let mut compound = self.compound(b'{');
        compound.close_variant = true;
        Ok(compound)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Refused;
    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.comma();
        value.serialize(&mut *self.writer)
    }
    #[inline]
    fn end(self) -> Result<(), Refused> {
        self.close(b']');
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Refused;
    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    #[inline]
    fn end(self) -> Result<(), Refused> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Refused;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    #[inline]
    fn end(self) -> Result<(), Refused> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Refused;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    #[inline]
    fn end(self) -> Result<(), Refused> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Refused;
    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Refused> {
        self.comma();
        key.serialize(MapKey(self.writer))
    }
    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Refused> {
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)
    }
    #[inline]
    fn end(self) -> Result<(), Refused> {
        self.close(b'}');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Refused;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        self.field(key, value)
    }
    #[inline]
    fn end(self) -> Result<(), Refused> {
        if !self.raw {
            self.close(b'}');
        }
        Ok(())
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Refused;
    #[inline]
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        self.field(key, value)
    }
    #[inline]
    fn end(self) -> Result<(), Refused> {
        self.close(b'}');
        Ok(())
    }
}

/// A map key: text, or an integer written as text (as serde_json writes them).
struct MapKey<'w>(&'w mut Writer);

impl MapKey<'_> {
    #[inline]
    fn quoted(self, value: impl itoa::Integer) -> Result<(), Refused> {
        self.0.out.push(b'"');
        self.0.integer(value);
        self.0.out.push(b'"');
        Ok(())
    }
}

fn key_refused() -> Refused {
    Refused::Other("a map key that is neither text nor an integer".into())
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Refused;
    type SerializeSeq = Impossible<(), Refused>;
    type SerializeTuple = Impossible<(), Refused>;
    type SerializeTupleStruct = Impossible<(), Refused>;
    type SerializeTupleVariant = Impossible<(), Refused>;
    type SerializeMap = Impossible<(), Refused>;
    type SerializeStruct = Impossible<(), Refused>;
    type SerializeStructVariant = Impossible<(), Refused>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Refused> {
        self.0.text(v);
        Ok(())
    }
    #[inline]
    fn serialize_char(self, v: char) -> Result<(), Refused> {
        self.0.text(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Refused> {
        self.0.text(variant);
        Ok(())
    }
    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Refused> {
        value.serialize(self)
    }
    integers!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64;
        |key, v| key.quoted(v)
    );
    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Refused> {
        Err(key_refused())
    }
    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Refused> {
        Err(key_refused())
    }
    refuse! { key_refused(); () ;
        serialize_bool(v: bool); serialize_f32(v: f32); serialize_f64(v: f64);
        serialize_bytes(v: &[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(name: &'static str);
    }
    refuse_compounds! { key_refused(); }
}

/// Copies a string as it is: the JSON inside a `RawValue`, or a fixed text.
struct RawText<'a>(&'a mut Vec<u8>);

impl ser::Serializer for RawText<'_> {
    type Ok = ();
    type Error = Refused;
    type SerializeSeq = Impossible<(), Refused>;
    type SerializeTuple = Impossible<(), Refused>;
    type SerializeTupleStruct = Impossible<(), Refused>;
    type SerializeTupleVariant = Impossible<(), Refused>;
    type SerializeMap = Impossible<(), Refused>;
    type SerializeStruct = Impossible<(), Refused>;
    type SerializeStructVariant = Impossible<(), Refused>;

    #[inline]
    fn serialize_str(self, v: &str) -> Result<(), Refused> {
        self.0.extend_from_slice(v.as_bytes());
        Ok(())
    }
    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _value: &T,
    ) -> Result<(), Refused> {
        Err(raw_refused())
    }
    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Refused> {
        Err(raw_refused())
    }
    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Refused> {
        Err(raw_refused())
    }
    refuse! { raw_refused(); () ;
        serialize_bool(v: bool); serialize_i8(v: i8); serialize_i16(v: i16);
        serialize_i32(v: i32); serialize_i64(v: i64); serialize_u8(v: u8);
        serialize_u16(v: u16); serialize_u32(v: u32); serialize_u64(v: u64);
        serialize_f32(v: f32); serialize_f64(v: f64); serialize_char(v: char);
        serialize_bytes(v: &[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }
    refuse_compounds! { raw_refused(); }
}

fn raw_refused() -> Refused {
    Refused::Other("a raw JSON value that is not text".into())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::json;

    use super::{to_vec, Refused};
    use crate::kpi::nps::{net_promoter_score, NpsCounts};
    use crate::kpi::retention::{
        churn_report, retention_report, ChurnCounts, Period, RetentionCounts,
    };
    use crate::kpi::{Benchmark, Breakdown, Confidence, Interval, Kpi, KpiResponse, Unit};

    fn same_as_serde_json<T: Serialize>(value: &T) {
        assert_eq!(
            String::from_utf8(to_vec(value).unwrap()).unwrap(),
            serde_json::to_string(value).unwrap()
        );
    }

    #[test]
    fn kpi_answers_are_written_as_serde_json_writes_them() {
        let level = Confidence::default();
        same_as_serde_json(&net_promoter_score(
            &NpsCounts::new(200, 120, 80).unwrap(),
            level,
        ));
        same_as_serde_json(&net_promoter_score(
            &NpsCounts::new(1, 0, 0).unwrap(),
            level,
        ));
        same_as_serde_json(&retention_report(
            &RetentionCounts::new(100, 20, 95).unwrap(),
            level,
        ));
        let churn = ChurnCounts::from_lost(1000, 37, None, None).unwrap();
        same_as_serde_json(&churn_report(&churn, Some(Period::Month), level));
        same_as_serde_json(&churn_report(&churn, None, level));
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, f64),
        Struct { x: f32, label: char },
    }

    #[test]
    fn every_serde_shape_is_written_as_serde_json_writes_it() {
        same_as_serde_json(&json!({"a": [1, -2, 2.5, "x\"y\\z\n\u{1}é"], "b": {"c": true}}));
        same_as_serde_json(&vec![
            Shape::Unit,
            Shape::Newtype(7),
            Shape::Tuple(-3, 1e300),
        ]);
        same_as_serde_json(&Shape::Struct { x: 0.1, label: '"' });
        same_as_serde_json(&BTreeMap::from([(1u32, "one"), (20, "twenty")]));
        same_as_serde_json(&(u64::MAX, i64::MIN, (), 1u128 << 100).3);
        let raw = serde_json::value::RawValue::from_string(r#"{"k": [1, 2]}"#.into()).unwrap();
        same_as_serde_json(&json!({"raw": 1}));
        same_as_serde_json(&vec![raw]);
    }

    #[test]
    fn text_to_escape_negative_and_float_inputs_match_serde_json() {
        let breakdown = Breakdown::new(
            String::from("a \"quoted\" \\ formula"),
            String::from("tab\there, newline\n, bell\u{7}"),
        )
        .input(String::from("x[\"name\"]"), -3)
        .input("w", 0.1 + 0.2)
        .input("big", u64::MAX)
        .input("text", "a string input")
        .step("é × – unicode stays", "1e300 × 1e300", 1e300)
        .step(String::from("a \"built\" label"), "x", 1.0);
        let mut kpi = Kpi::new(
            String::from("owned \u{1f} metric"),
            2.5,
            Unit::Ratio,
            breakdown,
        )
        .note("a note");
        kpi.interval = Some(Interval::normal(
            1.0,
            0.5,
            (0.0, 2.0),
            "normal",
            Confidence::default(),
        ));
        let answer = KpiResponse::new(kpi.clone()).with(kpi.benchmarks(vec![Benchmark {
            segment: "SaaS".into(),
            description: "open above".into(),
            low: Some(5.0),
            high: None,
            period: Some("month".into()),
        }]));
        same_as_serde_json(&answer);
    }

    #[test]
    fn the_escape_test_finds_every_byte_json_escapes_at_every_position() {
        let naive = |bytes: &[u8]| bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for len in 0..20 {
            for position in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[position] = b;
                    // Neighbours that sit just above the tested values.
                    if position + 1 < len {
                        bytes[position + 1] = 0x21;
                    }
                    assert_eq!(super::needs_escape(&bytes), naive(&bytes), "{bytes:?}");
                }
            }
        }
        assert!(!super::needs_escape(
            "é × – unicode stays, 0x80 and above".as_bytes()
        ));
    }

    #[test]
    fn a_non_finite_number_or_a_null_refuses_the_answer() {
        let overflow = Kpi::new("m", f64::INFINITY, Unit::Ratio, Breakdown::new("f", "s"));
        assert_eq!(to_vec(&KpiResponse::new(overflow)), Err(Refused::NonFinite));
        let nan_step = Breakdown::new("f", "s").step("l", "e", f64::NAN);
        assert_eq!(to_vec(&nan_step), Err(Refused::NonFinite));
        // serde_json's `json!` turns a NaN into `null`: refused too.
        assert_eq!(to_vec(&json!({"x": f64::NAN})), Err(Refused::NonFinite));
        // An Option left in an answer without `skip_serializing_if`.
        #[derive(Serialize)]
        struct Careless {
            maybe: Option<f64>,
        }
        assert_eq!(to_vec(&Careless { maybe: None }), Err(Refused::NonFinite));
        assert_eq!(
            to_vec(&Careless { maybe: Some(1.5) }).unwrap(),
            br#"{"maybe":1.5}"#
        );
    }
}

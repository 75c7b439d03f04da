//! The names of unit enums as serde spells them (`rename_all`, `rename`): one spelling
//! for the JSON, the Prometheus labels, the logs, the stream's event names and the page,
//! written once on the enum's attributes.

use std::fmt;

use serde::de::IntoDeserializer;
use serde::ser::{self, Impossible, Serialize, Serializer};
use serde::Deserialize;

/// The name serde gives the unit variant `v`. Only for enums of unit variants: anything
/// else has no name and reads "".
pub(crate) fn name_of<T: Serialize>(v: &T) -> &'static str {
    v.serialize(VariantName).unwrap_or("")
}

/// Implements `Display` for enums of unit variants: each prints its [`name_of`].
macro_rules! display_by_name {
    ($($t:ty),+ $(,)?) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::names::name_of(self))
            }
        }
    )+};
}
pub(crate) use display_by_name;

/// The unit variant of `T` named `name` (as [`name_of`] spells it).
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(name: &str) -> Option<T> {
    let d: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        name.into_deserializer();
    T::deserialize(d).ok()
}

/// A serializer that only accepts unit variants and returns their name.
struct VariantName;

/// What [`VariantName`] answers for anything but a unit variant.
#[derive(Debug)]
struct NotUnitVariant;

impl fmt::Display for NotUnitVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a unit variant")
    }
}

impl std::error::Error for NotUnitVariant {}

impl ser::Error for NotUnitVariant {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotUnitVariant
    }
}

type Never = Impossible<&'static str, NotUnitVariant>;
type Out = Result<&'static str, NotUnitVariant>;

/// Methods that refuse their value.
macro_rules! refuse {
    ($($method:ident($($t:ty),*)),* $(,)?) => {
        $(fn $method(self $(, _: $t)*) -> Out {
            Err(NotUnitVariant)
        })*
    };
}

impl Serializer for VariantName {
    type Ok = &'static str;
    type Error = NotUnitVariant;
    type SerializeSeq = Never;
    type SerializeTuple = Never;
    type SerializeTupleStruct = Never;
    type SerializeTupleVariant = Never;
    type SerializeMap = Never;
    type SerializeStruct = Never;
    type SerializeStructVariant = Never;

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Out {
        Ok(variant)
    }

    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Out {
        Err(NotUnitVariant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, _: &T) -> Out {
        Err(NotUnitVariant)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Out {
        Err(NotUnitVariant)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Never, NotUnitVariant> {
        Err(NotUnitVariant)
    }

    fn serialize_tuple(self, _: usize) -> Result<Never, NotUnitVariant> {
        Err(NotUnitVariant)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Never, NotUnitVariant> {
        Err(NotUnitVariant)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Never, NotUnitVariant> {
        Err(NotUnitVariant)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Never, NotUnitVariant> {
        Err(NotUnitVariant)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Never, NotUnitVariant> {
        Err(NotUnitVariant)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Never, NotUnitVariant> {
        Err(NotUnitVariant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum E {
        Plain,
        TwoWords,
        #[serde(rename = "24h")]
        Day,
    }

    #[test]
    fn names_are_serdes_and_parse_back() {
        for (e, n) in [
            (E::Plain, "plain"),
            (E::TwoWords, "two_words"),
            (E::Day, "24h"),
        ] {
            assert_eq!(name_of(&e), n);
            assert_eq!(serde_json::to_value(&e).unwrap(), n);
            assert_eq!(parse::<E>(n), Some(e));
        }
        assert_eq!(parse::<E>("Plain"), None);
        assert_eq!(parse::<E>(""), None);
    }

    #[test]
    fn anything_but_a_unit_variant_has_no_name() {
        assert_eq!(name_of(&1u8), "");
        assert_eq!(name_of(&"plain"), "");
        assert_eq!(name_of(&Some(E::Plain)), "");
    }
}

//! Bounded, tolerant reading of untrusted JSON straight into small types, without a
//! `serde_json::Value` tree in between: a 1 MiB body of `0,0,0,…` is half a million
//! values, 16 MiB as a `Value`, and it is skipped here without being kept.
//!
//! [`List`] keeps at most `N` elements of an array (the first or the last `N`), [`Map`] at
//! most `N` entries of an object, and a [`Scalar`] is any one JSON value; elements of the
//! wrong kind are skipped (with `IgnoredAny`) instead of failing the document. Strings are
//! kept to [`MAX_TEXT`] bytes.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Longest string kept from a [`Scalar`] (longer ones are cut at a character boundary).
pub const MAX_TEXT: usize = 4096;
/// Longest object key kept by a [`Map`] (ids and names of upstream entries are short).
pub const MAX_KEY: usize = 64;

/// Visitor methods for the JSON kinds a visitor does not want: scalars become `$none`,
/// arrays and objects are read to their end and dropped, never kept.
macro_rules! skip_other_kinds {
    ($none:expr) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// One JSON value of any kind, read like `serde_json::Value`'s accessors would, but an
/// array or object is skipped, not kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Scalar {
    /// `null`, or a key that was absent.
    #[default]
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    /// A string (at most [`MAX_TEXT`] bytes of it).
    Str(String),
    /// An array or an object (not kept).
    Compound,
}

impl Scalar {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer that fits `i64` (not a float, like `Value::as_i64`).
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match *self {
            Scalar::I64(n) => Some(n),
            Scalar::U64(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    /// A non-negative integer (not a float, like `Value::as_u64`).
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match *self {
            Scalar::U64(n) => Some(n),
            Scalar::I64(n) => u64::try_from(n).ok(),
            _ => None,
        }
    }

    /// Any number as `f64` (like `Value::as_f64`).
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match *self {
            Scalar::I64(n) => Some(n as f64),
            Scalar::U64(n) => Some(n as f64),
            Scalar::F64(x) => Some(x),
            _ => None,
        }
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn capped(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Scalar, E> {
                Ok(Scalar::I64(n))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Scalar, E> {
                Ok(Scalar::U64(n))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Scalar, E> {
                Ok(Scalar::F64(x))
            }
            fn visit_str<E>(self, s: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(capped(s, MAX_TEXT)))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
                skip_seq(seq).map(|()| Scalar::Compound)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
                skip_map(map).map(|()| Scalar::Compound)
            }
        }
        d.deserialize_any(V)
    }
}

/// What an element of a [`List`] becomes: read from a JSON object as `Raw` (a struct of
/// tolerant fields such as [`Scalar`]), then kept or dropped.
pub trait FromObject: Sized {
    type Raw: DeserializeOwned;
    /// The element, or `None` to drop it (a field missing or of the wrong kind).
    fn from_raw(raw: Self::Raw) -> Option<Self>;
}

/// One array element: an object made into `T`, or nothing.
struct Elem<T>(Option<T>);

impl<'de, T: FromObject> Deserialize<'de> for Elem<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: FromObject> Visitor<'de> for V<T> {
            type Value = Elem<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Elem<T>, A::Error> {
                let raw = T::Raw::deserialize(MapAccessDeserializer::new(map))?;
                Ok(Elem(T::from_raw(raw)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Elem<T>, A::Error> {
                skip_seq(seq).map(|()| Elem(None))
            }
            skip_other_kinds!(Elem(None));
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// One JSON value that is an object making a `T`, else (`null`, absent, any other kind,
/// an object that does not make one) `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct One<T>(pub Option<T>);

impl<T> Default for One<T> {
    fn default() -> Self {
        One(None)
    }
}

impl<'de, T: FromObject> Deserialize<'de> for One<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Elem::<T>::deserialize(d).map(|Elem(t)| One(t))
    }
}

/// At most `N` elements of a JSON array that are objects making a `T`: the first `N`
/// (`LAST = false`) or the last `N` (`LAST = true`, for lists that end with the newest).
/// Everything else in the array is read past and dropped. `None` when the value was not
/// an array (or absent).
#[derive(Debug, Clone, PartialEq)]
pub struct List<T, const N: usize, const LAST: bool>(pub Option<Vec<T>>);

/// The first `N` elements.
pub type First<T, const N: usize> = List<T, N, false>;
/// The last `N` elements.
pub type Last<T, const N: usize> = List<T, N, true>;

impl<T, const N: usize, const LAST: bool> Default for List<T, N, LAST> {
    fn default() -> Self {
        List(None)
    }
}

impl<T, const N: usize, const LAST: bool> List<T, N, LAST> {
    /// The elements kept (none when the value was not an array).
    pub(crate) fn items(&self) -> &[T] {
        self.0.as_deref().unwrap_or_default()
    }
}

impl<'de, T: FromObject, const N: usize, const LAST: bool> Deserialize<'de> for List<T, N, LAST> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const N: usize, const LAST: bool>(PhantomData<T>);
        impl<'de, T: FromObject, const N: usize, const LAST: bool> Visitor<'de> for V<T, N, LAST> {
            type Value = List<T, N, LAST>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut kept = VecDeque::new();
                loop {
                    if !LAST && kept.len() >= N {
                        skip_seq(seq)?;
                        break;
                    }
                    match seq.next_element::<Elem<T>>()? {
                        None => break,
                        Some(Elem(None)) => {}
                        Some(Elem(Some(t))) => {
                            if kept.len() >= N {
                                kept.pop_front();
                            }
                            if N > 0 {
                                kept.push_back(t);
                            }
                        }
                    }
                }
                Ok(List(Some(kept.into())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|()| List(None))
            }
            skip_other_kinds!(List(None));
        }
        d.deserialize_any(V::<T, N, LAST>(PhantomData))
    }
}

/// At most `N` entries of a JSON object (the first `N` keys of at most [`MAX_KEY`]
/// bytes), each value read as a tolerant `V`; the rest are read past and dropped. `None`
/// when the value was not an object (or absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Map<V, const N: usize>(pub Option<HashMap<String, V>>);

impl<V, const N: usize> Default for Map<V, N> {
    fn default() -> Self {
        Map(None)
    }
}

impl<V, const N: usize> Map<V, N> {
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.0.as_ref()?.get(key)
    }
}

impl<'de, V: Deserialize<'de>, const N: usize> Deserialize<'de> for Map<V, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V, const N: usize>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>, const N: usize> Visitor<'de> for Vis<V, N> {
            type Value = Map<V, N>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut kept = HashMap::new();
                while let Some(key) = map.next_key::<Scalar>()? {
                    match key {
                        Scalar::Str(k)
                            if k.len() <= MAX_KEY && (kept.len() < N || kept.contains_key(&k)) =>
                        {
                            let v = map.next_value::<V>()?;
                            kept.insert(k, v);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Map(Some(kept)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|()| Map(None))
            }
            skip_other_kinds!(Map(None));
        }
        d.deserialize_any(Vis::<V, N>(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Default)]
    #[serde(default)]
    struct RawItem {
        n: Scalar,
    }

    #[derive(Debug, PartialEq)]
    struct Item(i64);

    impl FromObject for Item {
        type Raw = RawItem;
        fn from_raw(raw: RawItem) -> Option<Item> {
            raw.n.as_i64().map(Item)
        }
    }

    #[derive(Debug, Deserialize)]
    struct Doc {
        #[serde(default)]
        first: First<Item, 2>,
        #[serde(default)]
        last: Last<Item, 2>,
        #[serde(default)]
        map: Map<Scalar, 2>,
    }

    fn doc(s: &str) -> Doc {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn integers_of_either_sign_convert_when_they_fit() {
        assert_eq!(Scalar::I64(5).as_u64(), Some(5));
        assert_eq!(Scalar::I64(-1).as_u64(), None);
        assert_eq!(Scalar::U64(7).as_u64(), Some(7));
        assert_eq!(Scalar::U64(u64::MAX).as_i64(), None);
        assert_eq!(Scalar::F64(1.0).as_u64(), None);
    }

    #[test]
    fn lists_keep_their_first_or_last_objects_and_skip_the_rest() {
        let list =
            r#"[0, {"n": 1}, "x", {"n": "2"}, {"n": 2}, [{"n": 9}], null, {"n": 3}, {"m": 4}]"#;
        let d = doc(&format!(r#"{{"first": {list}, "last": {list}}}"#));
        assert_eq!(d.first.items(), [Item(1), Item(2)]);
        assert_eq!(d.last.items(), [Item(2), Item(3)]);
        let d = doc(r#"{"first": {"n": 1}, "last": 7}"#);
        assert_eq!((d.first.0, d.last.0), (None, None));
        let d = doc(r#"{"first": [], "last": null}"#);
        assert_eq!((d.first.0, d.last.0), (Some(vec![]), None));
        assert!(doc("{}").first.0.is_none());
    }

    #[test]
    fn maps_keep_their_first_short_keys_and_any_value_of_them() {
        let long = "k".repeat(MAX_KEY + 1);
        let d = doc(&format!(
            r#"{{"map": {{"{long}": 0, "a": [1, 2], "b": 0.5, "c": 1, "b": 2}}}}"#
        ));
        assert_eq!(d.map.get("a"), Some(&Scalar::Compound));
        assert_eq!(d.map.get("b"), Some(&Scalar::U64(2)));
        assert_eq!((d.map.get("c"), d.map.get(&long)), (None, None));
        assert!(doc(r#"{"map": [1]}"#).map.0.is_none());
    }

    #[test]
    fn scalars_read_like_values() {
        let s = |j: &str| serde_json::from_str::<Scalar>(j).unwrap();
        assert_eq!(s("-3").as_i64(), Some(-3));
        assert_eq!(s("-3").as_u64(), None);
        assert_eq!(s("1.5").as_i64(), None);
        assert_eq!(s("1.5").as_f64(), Some(1.5));
        assert_eq!(s("18446744073709551615").as_i64(), None);
        assert_eq!(s("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(s(r#""x""#).as_str(), Some("x"));
        assert_eq!(s(r#"{"a": [1]}"#), Scalar::Compound);
        assert_eq!(s("null"), Scalar::Null);
        let long = format!(r#""{}é""#, "x".repeat(MAX_TEXT - 1));
        assert_eq!(s(&long).as_str().map(str::len), Some(MAX_TEXT - 1));
    }

    #[test]
    fn one_object_or_nothing() {
        #[derive(Debug, Deserialize)]
        struct D {
            #[serde(default)]
            one: One<Item>,
        }
        let d = |s: &str| serde_json::from_str::<D>(s).unwrap().one.0;
        assert_eq!(d(r#"{"one": {"n": 3}}"#), Some(Item(3)));
        for other in [
            r#"{"one": null}"#,
            r#"{"one": [{"n": 1}]}"#,
            r#"{"one": 5}"#,
            "{}",
        ] {
            assert_eq!(d(other), None, "{other}");
        }
    }

    #[test]
    fn a_huge_array_of_zeros_keeps_nothing() {
        let body = format!(
            r#"{{"first": [{}0], "last": [{}0]}}"#,
            "0,".repeat(100_000),
            "0,".repeat(100_000)
        );
        let d = doc(&body);
        assert_eq!((d.first.items().len(), d.last.items().len()), (0, 0));
        assert_eq!(d.first.0.map(|v| v.capacity()), Some(0));
    }
}

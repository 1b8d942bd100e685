//! serde_json as the reference JSON parser, keeping every entry of an
//! object in document order (serde_json's own `Map` silently keeps the last
//! of duplicated keys).

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use std::fmt;

/// The entries of a JSON object, in document order, duplicates kept.
#[derive(Debug)]
pub struct Pairs(pub Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Pairs, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Pairs, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, serde_json::Value>()? {
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// serde_json's reading of `text` as an object.
pub fn parse(text: &str) -> Result<Pairs, serde_json::Error> {
    serde_json::from_str(text)
}

/// Whether serde_json refused `text` only because a number does not fit an
/// `f64` (JSON's grammar allows any number; serde_json does not).
pub fn is_number_overflow(e: &serde_json::Error) -> bool {
    e.to_string().contains("number out of range")
}

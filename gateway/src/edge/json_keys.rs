//! Refusing JSON request bodies that repeat a property name in one object.
//!
//! RFC 8259 §4: names within an object SHOULD be unique, and parsers differ on duplicates
//! (some keep the last, some the first, some refuse). fhirgate reads a body with
//! `serde_json` (the last wins) to check scopes and the patient compartment, then forwards
//! the bytes: an upstream that keeps the first would store what was never checked
//! (`{"subject":{"reference":"Patient/B"},"subject":{"reference":"Patient/A"}}`). FHIR R4
//! JSON (json.html §2.6.2) gives every element one property, so a repeated one is never
//! valid FHIR: it answers 400 before anything else reads the body. A JSON Patch body is
//! checked the same way (RFC 6902 §4 reads an operation by its members, and a repeated
//! `path` is two different operations to two parsers).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// Reads `body` as JSON once and fails on the first object that repeats a property name
/// (the error names it, with line and column) or on malformed JSON (serde_json's syntax
/// error; nesting deeper than serde_json's limit of 128 is one).
///
/// Errors: `serde_json::Error` — `is_data()` for a repeated name, `is_syntax()`/`is_eof()`
/// for text that is not JSON.
pub fn check_unique_names(body: &[u8]) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    Unique.deserialize(&mut de)?;
    de.end()
}

/// Visits any JSON value, checking every object's names on the way.
#[derive(Clone, Copy)]
struct Unique;

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    // With serde_json's `arbitrary_precision` a number arrives as a one-entry map; its
    // single name cannot repeat, so it needs no special case.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(Name(name)) = map.next_key()? {
            if seen.contains(&name) {
                return Err(de::Error::custom(format_args!(
                    "property \"{}\" appears twice in one object (RFC 8259 §4)",
                    name.escape_debug()
                )));
            }
            seen.insert(name);
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

/// An object's property name, borrowed from the body when it has no escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(NameVisitor)
    }
}

struct NameVisitor;

impl<'de> Visitor<'de> for NameVisitor {
    type Value = Name<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a property name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
        Ok(Name(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Name<'de>, E> {
        Ok(Name(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Name<'de>, E> {
        Ok(Name(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::check_unique_names;

    #[test]
    fn a_repeated_name_is_refused_where_it_is() {
        let body = br#"{"resourceType":"Observation","subject":{"reference":"Patient/B"},"subject":{"reference":"Patient/A"}}"#;
        let e = check_unique_names(body).expect_err("repeated subject");
        assert!(e.is_data());
        assert!(
            e.to_string()
                .starts_with("property \"subject\" appears twice"),
            "{e}"
        );
    }

    #[test]
    fn names_are_compared_after_unescaping() {
        let e = check_unique_names(br#"{"a":{"id":"1","\u0069d":"2"}}"#).expect_err("id twice");
        assert!(
            e.to_string().starts_with("property \"id\" appears twice"),
            "{e}"
        );
    }

    #[test]
    fn the_same_name_in_sibling_objects_is_fine() {
        let body = br#"{"entry":[{"resource":{"id":"1","v":1.50}},{"resource":{"id":"2","v":[true,null,"x"]}}]}"#;
        check_unique_names(body).expect("valid");
    }

    #[test]
    fn malformed_json_is_a_syntax_error() {
        assert!(
            check_unique_names(br#"{"a":1,}"#)
                .expect_err("trailing comma")
                .is_syntax()
        );
        assert!(
            check_unique_names(br#"{"a":1} x"#)
                .expect_err("trailing text")
                .is_syntax()
        );
    }
}

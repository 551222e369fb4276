//! The post-filter's fast path: one borrowing pass over an answer's JSON that collects
//! what the compartment check reads — `resourceType`, `id` and the patients named by
//! `reference` members, per Bundle entry — without building a `serde_json::Value` tree.
//! Anything it does not decide alone (nested Bundles, Parameters, entries without a
//! resource, granular scopes) is left to the tree-based filter.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::auth::compartment::NamedPatient;
use crate::auth::local_base::{LocalBases, Named};

/// What one resource names: its type, id and the patients its references point to.
#[derive(Debug, Default)]
pub struct Scanned {
    /// `resourceType` at the resource's top level.
    pub resource_type: Option<String>,
    /// `id` at the resource's top level.
    pub id: Option<String>,
    /// `type` at the answer's top level (a Bundle's type; not read for entries).
    pub kind: Option<String>,
    /// Every `reference` naming `Patient/{id}` (contained resources and extensions
    /// included), with its element path, as
    /// [`crate::auth::compartment::patient_references`] finds them.
    pub patients: Vec<NamedPatient>,
    /// A `reference` names a Patient in a shape that is not an id (`urn:uuid:`, `#…`).
    pub unresolved: bool,
    /// Strings under the top-level `link` that may name a patient (holding `Patient`, `=`
    /// or `%`): a Bundle's link URLs, checked by `super::stored::link_texts_reached`.
    pub link_texts: Vec<String>,
    /// The element path being walked (scratch, reused without allocating per member).
    path: String,
    /// Walking the top-level `link` (scratch).
    in_link: bool,
}

impl Scanned {
    /// Walks the value of member `key` (at the current path) with `slot`.
    fn member<'de, A: MapAccess<'de>>(
        &mut self,
        bases: &LocalBases,
        map: &mut A,
        key: &str,
        slot: Slot,
    ) -> Result<(), A::Error> {
        let len = self.path.len();
        if slot != Slot::Reference {
            if len > 0 {
                self.path.push('.');
            }
            self.path.push_str(key);
        }
        let walked = map.next_value_seed(Walk::inner(self, bases, slot));
        self.path.truncate(len);
        walked
    }
}

/// A whole answer: the resource at the top, and for each `entry` its `resource`
/// (`None` for an entry without one).
#[derive(Debug, Default)]
pub struct ScannedAnswer {
    /// The top-level resource; for a non-Bundle its references include those under an
    /// element named `entry` (e.g. `List.entry.item`).
    pub top: Scanned,
    /// `entry[*].resource` when the top level has an `entry` array.
    pub entries: Vec<Option<Scanned>>,
    /// The top level has a `total` member (a Bundle's `total`).
    pub has_total: bool,
}

impl ScannedAnswer {
    /// Whether the top level's `type` is one a Bundle answering a request has
    /// (`searchset`, `history`, `batch-response`, `transaction-response`): any other
    /// Bundle is a stored resource, judged whole (`super::stored`).
    pub fn is_answer_type(&self) -> bool {
        matches!(
            self.top.kind.as_deref(),
            Some("searchset" | "history" | "batch-response" | "transaction-response")
        )
    }
}

/// Scans `bytes`, absolute references naming a patient only under `bases`; `None` when
/// they are not one JSON object (or not UTF-8).
pub fn scan(bytes: &[u8], bases: &LocalBases) -> Option<ScannedAnswer> {
    let mut answer = ScannedAnswer::default();
    // One UTF-8 check of the whole text, then no check per string.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    Root(&mut answer, bases).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(answer)
}

/// Visitor methods accepting any scalar and recording nothing (a value where the walk
/// expects a container is no reference, so it is skipped).
macro_rules! ignore_scalars {
    () => {
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

/// A map key, borrowed from the input when it holds no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// What a string value at the current position is for.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    Other,
    Reference,
    ResourceType,
    Id,
    Kind,
}

/// The slot of a member at a resource's top level.
fn top_slot(name: &str) -> Slot {
    match name {
        "resourceType" => Slot::ResourceType,
        "id" => Slot::Id,
        "reference" => Slot::Reference,
        _ => Slot::Other,
    }
}

/// Walks any value, recording references (and, at a resource's top level, its type and
/// id) into `into`.
struct Walk<'s> {
    into: &'s mut Scanned,
    bases: &'s LocalBases,
    slot: Slot,
}

impl<'s> Walk<'s> {
    fn inner(into: &'s mut Scanned, bases: &'s LocalBases, slot: Slot) -> Self {
        Self { into, bases, slot }
    }

    fn string(self, v: &str) {
        match self.slot {
            Slot::Reference => match self.bases.classify(v) {
                Named::Patient(id) => {
                    let path = self.into.path.clone();
                    self.into.patients.push(NamedPatient { id, path });
                }
                Named::Unresolved => self.into.unresolved = true,
                Named::Nobody => {}
            },
            Slot::ResourceType => self.into.resource_type = Some(v.to_owned()),
            Slot::Id => self.into.id = Some(v.to_owned()),
            Slot::Kind => self.into.kind = Some(v.to_owned()),
            Slot::Other => {
                if self.into.in_link
                    && (v.contains("Patient") || v.contains('=') || v.contains('%'))
                {
                    self.into.link_texts.push(v.to_owned());
                }
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.string(v);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Walk::inner(self.into, self.bases, Slot::Other))?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key)? {
            let slot = if key == "reference" {
                Slot::Reference
            } else {
                Slot::Other
            };
            self.into.member(self.bases, &mut map, &key, slot)?;
        }
        Ok(())
    }
}

/// The top-level object: like [`Resource`], with `entry` read entry by entry.
struct Root<'s>(&'s mut ScannedAnswer, &'s LocalBases);

impl<'de> DeserializeSeed<'de> for Root<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Root<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a resource")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Root(answer, bases) = self;
        while let Some(key) = map.next_key_seed(Key)? {
            match key.as_ref() {
                "entry" => {
                    answer.top.path.clear();
                    answer.top.path.push_str("entry");
                    map.next_value_seed(Entries(answer, bases))?;
                    answer.top.path.clear();
                }
                name => {
                    answer.has_total |= name == "total";
                    let slot = if name == "type" {
                        Slot::Kind
                    } else {
                        top_slot(name)
                    };
                    answer.top.in_link = name == "link";
                    let walked = answer.top.member(bases, &mut map, name, slot);
                    answer.top.in_link = false;
                    walked?
                }
            }
        }
        Ok(())
    }
}

/// The top-level `entry` array: each element's `resource` scanned on its own; every
/// reference found also counts for the top level (a non-Bundle's `entry` is its own).
struct Entries<'s>(&'s mut ScannedAnswer, &'s LocalBases);

impl<'de> DeserializeSeed<'de> for Entries<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Entries<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Entries(answer, bases) = self;
        loop {
            let mut resource = None;
            if seq
                .next_element_seed(Entry(&mut answer.top, &mut resource, bases))?
                .is_none()
            {
                return Ok(());
            }
            if let Some(r) = &resource {
                answer
                    .top
                    .patients
                    .extend(r.patients.iter().map(|n| NamedPatient {
                        id: n.id.clone(),
                        path: format!("entry.resource.{}", n.path),
                    }));
                answer.top.unresolved |= r.unresolved;
            }
            answer.entries.push(resource);
        }
    }
    // Any other shape is walked as the top level's own content.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        Walk::inner(&mut self.0.top, self.1, Slot::Other).visit_map(map)
    }
    ignore_scalars!();
}

/// One entry: `resource` scanned into its own [`Scanned`], the rest walked into `top`.
struct Entry<'s>(&'s mut Scanned, &'s mut Option<Scanned>, &'s LocalBases);

impl<'de> DeserializeSeed<'de> for Entry<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Entry<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an entry")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Entry(top, resource, bases) = self;
        while let Some(key) = map.next_key_seed(Key)? {
            if key == "resource" {
                let mut scanned = Scanned::default();
                map.next_value_seed(Resource(&mut scanned, bases))?;
                *resource = Some(scanned);
            } else {
                let slot = if key == "reference" {
                    Slot::Reference
                } else {
                    Slot::Other
                };
                top.member(bases, &mut map, &key, slot)?;
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Walk::inner(self.0, self.2, Slot::Other).visit_seq(seq)
    }
    ignore_scalars!();
}

/// An entry's resource: its top level's `resourceType` and `id` recorded, the rest walked.
struct Resource<'s>(&'s mut Scanned, &'s LocalBases);

impl<'de> DeserializeSeed<'de> for Resource<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Resource<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a resource")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key)? {
            self.0.member(self.1, &mut map, &key, top_slot(&key))?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Walk::inner(self.0, self.1, Slot::Other).visit_seq(seq)
    }
    ignore_scalars!();
}

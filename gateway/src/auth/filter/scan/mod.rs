//! The post-filter's fast path: one borrowing pass over an answer's JSON that collects
//! what the compartment check reads — `resourceType`, `id` and the patients named by
//! `reference` members, per Bundle entry — without building a `serde_json::Value` tree.
//! Anything it does not decide alone (nested Bundles, Parameters, entries without a
//! resource, granular scopes) is left to the tree-based filter.
//!
//! It reads references exactly as [`crate::auth::compartment::patient_references`] does,
//! a Reference typed `Patient` included ([`ReferenceShape`], checked per object when its
//! last member is read: JSON members come in any order).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::auth::compartment::{Member, NamedPatient, ReferenceShape};
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
    /// A `reference` names a Patient in a shape that is not an id (`urn:uuid:`, `#…`), or
    /// a Reference typed `Patient` names no local patient ([`ReferenceShape`]).
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
    /// Walks the value of member `key` (at the current path) with `slot`; what it tells the
    /// object holding it.
    fn member<'de, A: MapAccess<'de>>(
        &mut self,
        bases: &LocalBases,
        map: &mut A,
        key: &str,
        slot: Slot,
    ) -> Result<Member, A::Error> {
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

    /// Records an object that is a Reference typed `Patient` naming no local patient.
    fn close(&mut self, shape: &ReferenceShape) {
        self.unresolved |= shape.names_unknown_patient();
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
    answer::Root(&mut answer, bases).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(answer)
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
    /// A `type` inside an object (perhaps a Reference's).
    Type,
    ResourceType,
    Id,
    Kind,
}

/// The slot of a member below a resource's top level.
fn member_slot(name: &str) -> Slot {
    match name {
        "reference" => Slot::Reference,
        "type" => Slot::Type,
        _ => Slot::Other,
    }
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

    fn string(self, v: &str) -> Member {
        // Every string under `link`, whatever its member (`stored::links_reached` reads all).
        if self.into.in_link && (v.contains("Patient") || v.contains('=') || v.contains('%')) {
            self.into.link_texts.push(v.to_owned());
        }
        match self.slot {
            Slot::Reference => {
                let named = self.bases.classify(v);
                let member = Member::of_reference(&named, v);
                match named {
                    Named::Patient(id) => {
                        let path = self.into.path.clone();
                        self.into.patients.push(NamedPatient { id, path });
                    }
                    Named::Unresolved => self.into.unresolved = true,
                    Named::Nobody => {}
                }
                return member;
            }
            Slot::Type => return Member::of_type(v),
            Slot::ResourceType => self.into.resource_type = Some(v.to_owned()),
            Slot::Id => self.into.id = Some(v.to_owned()),
            Slot::Kind => self.into.kind = Some(v.to_owned()),
            Slot::Other => {}
        }
        Member::Other
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Member;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Member;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Member, E> {
        Ok(Member::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Member, E> {
        Ok(Member::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Member, E> {
        Ok(Member::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Member, E> {
        Ok(Member::Other)
    }
    fn visit_unit<E>(self) -> Result<Member, E> {
        Ok(Member::Other)
    }
    fn visit_str<E>(self, v: &str) -> Result<Member, E> {
        Ok(self.string(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Member, A::Error> {
        while seq
            .next_element_seed(Walk::inner(self.into, self.bases, Slot::Other))?
            .is_some()
        {}
        Ok(Member::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member, A::Error> {
        let mut shape = ReferenceShape::default();
        while let Some(key) = map.next_key_seed(Key)? {
            let member = self
                .into
                .member(self.bases, &mut map, &key, member_slot(&key))?;
            shape.note(&key, member);
        }
        self.into.close(&shape);
        Ok(Member::Other)
    }
}

mod answer;

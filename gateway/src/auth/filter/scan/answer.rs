//! The answer's top level and its `entry` array: each entry's `resource` scanned into its
//! own [`Scanned`], the rest of the answer walked with [`Walk`].

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

use super::{Key, Scanned, ScannedAnswer, Slot, Walk, member_slot, top_slot};
use crate::auth::compartment::{NamedPatient, ReferenceShape};
use crate::auth::local_base::LocalBases;

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

/// The top-level object: like [`Resource`], with `entry` read entry by entry.
pub(super) struct Root<'s>(pub(super) &'s mut ScannedAnswer, pub(super) &'s LocalBases);

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
                    walked?;
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
        Walk::inner(&mut self.0.top, self.1, Slot::Other)
            .visit_map(map)
            .map(drop)
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
        // The entry object is read as a Reference too, like any object below the top.
        let mut shape = ReferenceShape::default();
        while let Some(key) = map.next_key_seed(Key)? {
            if key == "resource" {
                let mut scanned = Scanned::default();
                map.next_value_seed(Resource(&mut scanned, bases))?;
                *resource = Some(scanned);
            } else {
                let member = top.member(bases, &mut map, &key, member_slot(&key))?;
                shape.note(&key, member);
            }
        }
        top.close(&shape);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Walk::inner(self.0, self.2, Slot::Other)
            .visit_seq(seq)
            .map(drop)
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
        Walk::inner(self.0, self.1, Slot::Other)
            .visit_seq(seq)
            .map(drop)
    }
    ignore_scalars!();
}

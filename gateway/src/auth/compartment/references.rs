//! The references a resource makes to patients: the tree walk over a resource's JSON
//! ([`patient_references`]) and the rule for a Reference typed `Patient`
//! ([`ReferenceShape`]), which the post-filter's fast path (`auth::filter::scan`) applies too.

use percent_encoding::percent_decode_str;
use serde_json::Value;

use super::NamedPatient;
use crate::auth::local_base::{LocalBases, Named};

/// Every patient the resource references, in one pass over the JSON (including contained
/// resources and extensions): values of `reference` members that name a local
/// `Patient/{id}` ([`LocalBases::patient_id`]). A `reference` that names a Patient by another
/// shape (`urn:uuid:`, `#contained`, another server's `https://…/Patient/1`) is not a local
/// patient id and is reported through `unresolved`, and so is a Reference typed `Patient`
/// that names no local patient ([`ReferenceShape`]).
pub fn patient_references(
    resource: &Value,
    bases: &LocalBases,
    unresolved: &mut bool,
) -> Vec<NamedPatient> {
    let mut out = Vec::new();
    walk(resource, bases, &mut String::new(), &mut out, unresolved);
    out
}

fn walk(
    value: &Value,
    bases: &LocalBases,
    path: &mut String,
    out: &mut Vec<NamedPatient>,
    unresolved: &mut bool,
) {
    match value {
        Value::Object(map) => {
            let mut shape = ReferenceShape::default();
            for (k, v) in map {
                let member = if k == "reference"
                    && let Value::String(r) = v
                {
                    let named = bases.classify(r);
                    let member = Member::of_reference(&named, r);
                    match named {
                        Named::Patient(id) => out.push(NamedPatient {
                            id,
                            path: path.clone(),
                        }),
                        Named::Unresolved => *unresolved = true,
                        Named::Nobody => {}
                    }
                    member
                } else {
                    let len = path.len();
                    if len > 0 {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(v, bases, path, out, unresolved);
                    path.truncate(len);
                    match v {
                        Value::String(t) if k == "type" => Member::of_type(t),
                        _ => Member::Other,
                    }
                };
                shape.note(k, member);
            }
            *unresolved |= shape.names_unknown_patient();
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| walk(v, bases, path, out, unresolved)),
        _ => {}
    }
}

/// `Reference.type` values naming Patient (FHIR R4 references.html §2.3.0: the type name,
/// or an absolute URL, here the core StructureDefinition's).
const PATIENT_TYPES: [&str; 2] = ["Patient", "http://hl7.org/fhir/StructureDefinition/Patient"];

/// What one member of a JSON object tells [`ReferenceShape`] about that object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    /// Nothing: another member, a `type` not naming Patient, a `reference` not a string.
    Other,
    /// A `type` naming Patient ([`Member::of_type`]).
    PatientType,
    /// A `reference` read as a local patient or an unresolved one (already recorded).
    Named,
    /// A `reference` to a contained resource (`#…`), which has its own rules.
    Contained,
    /// A `reference` naming nothing the gateway reads as a patient (a bare id,
    /// `Practitioner/1`, `urn:uuid:…`).
    Bare,
}

impl Member {
    /// A `type` member's string value `t`: [`Member::PatientType`] when it names Patient
    /// (read after percent-decoding, like references: fail closed).
    pub fn of_type(t: &str) -> Self {
        let decoded = percent_decode_str(t).decode_utf8_lossy();
        if PATIENT_TYPES.contains(&decoded.as_ref()) {
            Self::PatientType
        } else {
            Self::Other
        }
    }

    /// A `reference` member's string value `r`, which [`LocalBases::classify`] read as `named`.
    pub fn of_reference(named: &Named, r: &str) -> Self {
        match named {
            Named::Patient(_) | Named::Unresolved => Self::Named,
            Named::Nobody if r.starts_with('#') => Self::Contained,
            Named::Nobody => Self::Bare,
        }
    }
}

/// One JSON object read as a Reference typed `Patient`, member by member in any order (JSON
/// members are unordered, RFC 8259 §4). A Reference whose `type` names Patient "SHALL be
/// consistent" with its `reference` (FHIR R4 references.html §2.3.0): when the gateway
/// cannot resolve it to a local `Patient/{id}` — its `reference` is a bare id or names
/// another type, or it has only a logical `identifier` — a lenient server may still resolve
/// it to some patient, so it names an unknown patient, like `urn:uuid:` (SMART App Launch
/// 2.x §3.1: patient scopes reach only the patient compartment; attack finding LOW 14 / N7).
///
/// Left as they are: a `reference` to a contained resource (`#…`, inside the resource
/// itself), an object with `resourceType` (a resource is no Reference), and one with
/// neither `reference` nor `identifier` (`type` and `display` only name nothing a server
/// resolves; `CapabilityStatement.rest.resource.type` or `OperationDefinition.parameter.type`
/// are `Patient` too without being references). A bare `reference` under another `type`, or
/// without `type`, stays as it was: it names no patient (R4 §2.3.0.4: a relative reference
/// is `[type]/[id]`; the type of a bare id is unknowable, and reading every bare id as a
/// possible patient would withhold every Reference with a malformed value).
#[derive(Debug, Default, Clone, Copy)]
pub struct ReferenceShape {
    patient_type: bool,
    reference: Option<Member>,
    identifier: bool,
    resource: bool,
}

impl ReferenceShape {
    /// Notes member `key` whose value read as `member` (a repeated member counts last, as
    /// `serde_json` keeps it).
    pub fn note(&mut self, key: &str, member: Member) {
        match key {
            "type" => self.patient_type = member == Member::PatientType,
            "reference" => self.reference = Some(member),
            "identifier" => self.identifier = true,
            "resourceType" => self.resource = true,
            _ => {}
        }
    }

    /// Whether the object is a Reference typed Patient that names no patient the gateway
    /// can identify.
    pub fn names_unknown_patient(&self) -> bool {
        self.patient_type
            && !self.resource
            && match self.reference {
                Some(Member::Named | Member::Contained) => false,
                Some(_) => true,
                None => self.identifier,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_everywhere() {
        let obs = serde_json::json!({"resourceType": "Observation", "subject": {"reference": "http://x/fhir/Patient/a"},
            "contained": [{"resourceType": "Provenance", "target": [{"reference": "Patient/b/_history/1"}]}],
            "performer": [{"reference": "Practitioner/p"}]});
        let mut unresolved = false;
        let bases = LocalBases::new(["http://x/fhir"]);
        let named = patient_references(&obs, &bases, &mut unresolved);
        let pairs: Vec<(&str, &str)> = named
            .iter()
            .map(|n| (n.id.as_str(), n.path.as_str()))
            .collect();
        assert_eq!(pairs, vec![("a", "subject"), ("b", "contained.target")]);
        assert!(!unresolved);
    }

    /// Whether `value`'s references leave a patient unresolved, and the ids they name.
    fn read(value: serde_json::Value) -> (bool, Vec<String>) {
        let mut unresolved = false;
        let bases = LocalBases::new(["http://x/fhir"]);
        let named = patient_references(&value, &bases, &mut unresolved);
        (unresolved, named.into_iter().map(|n| n.id).collect())
    }

    #[test]
    fn a_reference_typed_patient_names_a_local_patient_or_an_unknown_one() {
        use serde_json::json;
        let sd = "http://hl7.org/fhir/StructureDefinition/Patient";
        for unknown in [
            json!({"focus": [{"type": "Patient", "reference": "b"}]}),
            json!({"focus": [{"reference": "b", "type": "Patient"}]}),
            json!({"focus": [{"type": sd, "reference": "b"}]}),
            json!({"focus": [{"type": "Pati%65nt", "reference": "b"}]}),
            json!({"focus": [{"type": "Patient", "reference": "Practitioner/p"}]}),
            json!({"focus": [{"type": "Patient", "reference": "urn:uuid:1"}]}),
            json!({"focus": [{"type": "Patient", "reference": 7}]}),
            json!({"subject": {"type": "Patient", "identifier": {"system": "urn:mrn", "value": "1"}}}),
            json!({"subject": {"identifier": {"value": "1"}, "type": "Patient"}}),
        ] {
            assert_eq!(read(unknown.clone()), (true, Vec::new()), "{unknown}");
        }
        for (known, ids) in [
            (
                json!({"subject": {"type": "Patient", "reference": "Patient/a"}}),
                vec!["a"],
            ),
            (
                json!({"subject": {"type": sd, "reference": "http://x/fhir/Patient/a"}}),
                vec!["a"],
            ),
            // A bare id under another type, or untyped, names no patient.
            (
                json!({"focus": [{"type": "Group", "reference": "b"}, {"reference": "b"}]}),
                vec![],
            ),
            // Contained, a resource, or text only: not a reference to resolve.
            (
                json!({"subject": {"type": "Patient", "reference": "#p"},
                    "contained": [{"resourceType": "Patient", "id": "p"}]}),
                vec![],
            ),
            (
                json!({"resourceType": "StructureDefinition", "type": "Patient",
                    "identifier": {"value": "x"}}),
                vec![],
            ),
            (
                json!({"rest": [{"resource": [{"type": "Patient", "profile": "x"}]}]}),
                vec![],
            ),
            (
                json!({"subject": {"type": "Patient", "display": "someone"}}),
                vec![],
            ),
        ] {
            let ids: Vec<String> = ids.into_iter().map(String::from).collect();
            assert_eq!(read(known.clone()), (false, ids), "{known}");
        }
    }
}

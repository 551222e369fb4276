//! `Encounter.participant` merges per PV1 field and by participant, not as one element.
//! HL7 v2.5.1 ch. 3 §3.4.3 (PV1) names the visit's practitioners in separate fields:
//! PV1-7 "Attending Doctor", PV1-8 "Referring Doctor", PV1-9 "Consulting Doctor" and
//! PV1-17 "Admitting Doctor" (XCN, repeating), mapped to participants of v3
//! ParticipationType `ATND`, `REF`, `CON` and `ADM` with a logical `individual`
//! (identifier from XCN-1/XCN-9, display from the name; no `reference`).
//!
//! **Key**: as for `Appointment.participant` (see [`super::participant`]): the individual's
//! `reference`, else its `type` with `identifier`, else its `type` with `display`; plus the
//! participant's `type`.
//!
//! **Rule**, per field (snapshot semantics, §2.5.3; `""` is the delete indicator):
//! - a field the message does not carry (empty) leaves the stored participants of its type
//!   alone, so an A08 carrying PV1-7 only keeps the referring doctor an A01 gave;
//! - a field it carries: each of its participants updates the stored one with its key in
//!   place (keeping the elements it lacks, e.g. `period`) or is added; stored participants
//!   of that type with a logical individual (no `reference`: what an earlier message
//!   gave) that the field no longer names are replaced, since the field is the complete
//!   current value (a new attending doctor is not a second one); ones with a literal
//!   `reference` (added over FHIR) are kept;
//! - a field sent as `""` removes every stored participant of its type, and only of it;
//! - participants of other types (a FHIR client's `PPRF`, `translator` …) are kept.

use fhirgate_mappings::hl7v2::Message;
use fhirgate_mappings::hl7v2::codes::V3_PARTICIPATION;
use serde_json::Value;

use super::participant;

/// The PV1 participant fields and the v3 ParticipationType code the mapping gives them.
const FIELDS: [(usize, &str); 4] = [(7, "ATND"), (8, "REF"), (9, "CON"), (17, "ADM")];

/// The participant types (v3 ParticipationType codes) the message's PV1 carries, and
/// those it deletes (`""`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pv1Participants {
    carried: Vec<&'static str>,
    deleted: Vec<&'static str>,
}

impl Pv1Participants {
    /// What the first PV1 of `msg` carries (nothing without a PV1).
    pub(crate) fn of(msg: &Message) -> Self {
        let mut out = Self::default();
        let Some(pv1) = msg.segment("PV1") else {
            return out;
        };
        for (n, code) in FIELDS {
            let field = pv1.field(n);
            if field.is_null() {
                out.deleted.push(code);
            } else if !field.is_empty() {
                out.carried.push(code);
            }
        }
        out
    }

    /// The merged `participant` of the `stored` Encounter with the `incoming` (mapped)
    /// one's (see the module docs); `resolved` maps fullUrls of the message's merged
    /// resources to their `Type/id`. `None` when the result is empty.
    pub(crate) fn merge(
        &self,
        stored: &Value,
        incoming: &Value,
        resolved: &[(String, String)],
    ) -> Option<Value> {
        let wanted: Vec<Option<String>> = incoming["participant"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| participant::key(p, "individual", resolved))
            .collect();
        let kept: Vec<Value> = stored["participant"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| {
                let codes = codes(p);
                if codes.iter().any(|c| self.deleted.contains(c)) {
                    return false;
                }
                let replaced = codes.iter().any(|c| self.carried.contains(c))
                    && p["individual"].get("reference").is_none()
                    && !wanted.contains(&participant::key(p, "individual", resolved));
                !replaced
            })
            .cloned()
            .collect();
        participant::merge_into(kept, incoming, "individual", resolved)
    }
}

/// The v3 ParticipationType codes of a participant's `type`.
fn codes(participant: &Value) -> Vec<&str> {
    participant["type"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["coding"].as_array().into_iter().flatten())
        .filter(|c| c["system"] == V3_PARTICIPATION)
        .filter_map(|c| c["code"].as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Pv1Participants;
    use fhirgate_mappings::hl7v2::{Context, message_to_fhir, parse};
    use serde_json::{Value, json};

    /// The A08 fixture (PV1-7 attending "Terry Attending", UPIN 7654321) with its PV1
    /// edited by `edit`: the plan's participants and the mapped Encounter.
    fn mapped(edit: impl Fn(&str) -> String) -> (Pv1Participants, Value) {
        let path = format!(
            "{}/../tests/fixtures/hl7v2/ADT_A08_v2.3_update_patient.hl7",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = String::from_utf8(std::fs::read(path).expect("fixture")).expect("utf-8");
        let text = text
            .split('\r')
            .map(|s| {
                if s.starts_with("PV1|") {
                    edit(s)
                } else {
                    s.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\r");
        let msg = parse(text.as_bytes()).expect("parse");
        let m = message_to_fhir(&msg, &Context::default()).expect("map");
        assert_eq!(m.resources[0].resource["resourceType"], "Encounter");
        (Pv1Participants::of(&msg), m.resources[0].resource.clone())
    }

    /// PV1 field `n` set to `value`.
    fn set(pv1: &str, n: usize, value: &str) -> String {
        let mut f: Vec<String> = pv1.split('|').map(str::to_owned).collect();
        if f.len() <= n {
            f.resize(n + 1, String::new());
        }
        f[n] = value.to_owned();
        f.join("|")
    }

    const REFERRER: &str = "REFER1^Referrer^Robin^^^^^^&X00003&UPIN";

    #[test]
    fn a_carried_field_updates_its_participant_and_keeps_the_others() {
        // As stored after an A01: the attending (with a period a client added), a
        // referring doctor (PV1-8) and a FHIR client's participant.
        let (_, a01) = mapped(|s| set(s, 8, REFERRER));
        let mut stored = a01.clone();
        let list = stored["participant"].as_array_mut().expect("participants");
        assert_eq!(list.len(), 2, "{list:?}");
        list[0]["period"] = json!({"start": "2019-04-23"});
        let nurse = json!({"type": [{"coding": [{"system":
            "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}],
            "individual": {"reference": "Practitioner/nurse-1"}});
        list.push(nurse.clone());
        // The A08 as sent: PV1-7 only (the same attending, now with a prefix).
        let (plan, a08) = mapped(|s| s.replace("Terry^^^^", "Terry^^^Dr^"));
        assert_eq!(plan.carried, ["ATND"]);
        let out = plan.merge(&stored, &a08, &[]).expect("participants");
        let out = out.as_array().expect("array");
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0]["individual"], a08["participant"][0]["individual"]);
        assert_eq!(
            out[0]["individual"]["display"], "Dr Terry Attending",
            "updated in place"
        );
        assert_eq!(out[0]["period"], json!({"start": "2019-04-23"}), "kept");
        assert_eq!(out[1], a01["participant"][1], "PV1-8 empty: kept");
        assert_eq!(out[2], nurse, "a FHIR client's: kept");
    }

    #[test]
    fn a_new_doctor_replaces_the_former_one_and_a_null_field_removes_its_type() {
        let (_, a01) = mapped(|s| set(s, 8, REFERRER));
        // PV1-7 names another attending: the one an earlier message gave is replaced.
        let other = "999^Other^Olga^^^^^^&7654321&UPIN";
        let (plan, a08) = mapped(|s| set(s, 7, other));
        let out = plan.merge(&a01, &a08, &[]).expect("participants");
        assert_eq!(
            out,
            json!([a01["participant"][1], a08["participant"][0]]),
            "referrer kept, new attending added, the former one gone"
        );
        // PV1-8 "" with PV1-7 empty: the referring doctor removed, the attending kept.
        let (plan, a08) = mapped(|s| set(&set(s, 7, ""), 8, "\"\""));
        assert_eq!(plan.deleted, ["REF"]);
        assert!(plan.carried.is_empty());
        assert_eq!(a08.get("participant"), None);
        let out = plan.merge(&a01, &a08, &[]).expect("participants");
        assert_eq!(out, json!([a01["participant"][0]]));
        // PV1-7 "" too: nothing left.
        let (plan, a08) = mapped(|s| set(&set(s, 7, "\"\""), 8, "\"\""));
        assert_eq!(plan.merge(&a01, &a08, &[]), None);
    }
}

//! `Appointment.participant` merges by participant, not as one element. An SIU message
//! (HL7 v2.5.1 ch. 10 §10.4) names the appointment's patient (PID) and its resources, one
//! AIG (general resource), AIL (location) or AIP (personnel) segment each; a participant a
//! FHIR client added (another practitioner, an interpreter, a related person) is not among
//! them and must survive an S14 (modification) or S13 (reschedule).
//!
//! **Key**: the actor and the participant's `type`. The actor is its `reference` (a
//! `urn:uuid:` fullUrl of a resource of the same message that is merged into a stored one
//! reads as that one's `Type/id`, so the message's patient matches the stored patient
//! participant), else its `type` with `identifier` system and value (AIP-3 XCN, AIG-3),
//! else its `type` with `display` (AIL-3 PL). `type` (AIx-4 resource role) is compared as
//! sent: the same practitioner in another role is another participant.
//!
//! **Rule**: a message participant replaces the elements it carries (`actor`, `type`,
//! `status`) of the stored participant with its key, keeping that participant's others
//! (`required`, `period` …) and its place; one without a stored match is added at the end;
//! stored participants the message does not carry are kept. A resource the message deletes
//! (AIx-2 segment action code `D`) is mapped to status `declined` and so stays, declined. A
//! message without participants leaves them as stored.

use serde_json::Value;

/// `stored`'s participants with `incoming`'s merged in (see the module docs); `resolved`
/// maps fullUrls of the message's merged resources to their `Type/id`. `None` when the
/// result is empty.
pub(crate) fn merge(
    stored: &Value,
    incoming: &Value,
    resolved: &[(String, String)],
) -> Option<Value> {
    let stored = stored["participant"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    merge_into(stored, incoming, "actor", resolved)
}

/// The participants `out` (stored) with `incoming`'s `participant` list merged in by key
/// (see the module docs); `actor` names the element holding the actor (`actor` in
/// Appointment, `individual` in Encounter). `None` when the result is empty.
pub(super) fn merge_into(
    mut out: Vec<Value>,
    incoming: &Value,
    actor: &str,
    resolved: &[(String, String)],
) -> Option<Value> {
    let kept = out.len();
    let mut matched = vec![false; kept];
    for p in incoming["participant"].as_array().into_iter().flatten() {
        let wanted = key(p, actor, resolved);
        let slot = wanted.as_ref().and_then(|w| {
            (0..kept).find(|&j| !matched[j] && key(&out[j], actor, resolved).as_ref() == Some(w))
        });
        let target = slot.and_then(|j| out.get_mut(j));
        match (target, p.as_object()) {
            (Some(Value::Object(old)), Some(new)) => {
                for (k, v) in new {
                    old.insert(k.clone(), v.clone());
                }
            }
            _ => out.push(p.clone()),
        }
        if let Some(j) = slot {
            matched[j] = true;
        }
    }
    (!out.is_empty()).then_some(Value::Array(out))
}

/// The key of a participant: its actor's (the element named `actor`) and its `type`;
/// `None` for an actor without a reference, identifier or display (it matches nothing).
pub(super) fn key(
    participant: &Value,
    actor: &str,
    resolved: &[(String, String)],
) -> Option<String> {
    let actor = &participant[actor];
    let who = if let Some(r) = actor["reference"].as_str() {
        let r = resolved
            .iter()
            .find(|(url, _)| url == r)
            .map_or(r, |(_, local)| local.as_str());
        format!("reference {}", r.split("/_history/").next().unwrap_or(r))
    } else if let Some(v) = actor["identifier"]["value"].as_str() {
        format!(
            "identifier {}|{}|{v}",
            actor["type"].as_str().unwrap_or_default(),
            actor["identifier"]["system"].as_str().unwrap_or_default()
        )
    } else {
        format!(
            "display {}|{}",
            actor["type"].as_str().unwrap_or_default(),
            actor["display"].as_str()?
        )
    };
    Some(format!("{who} type {}", participant["type"]))
}

#[cfg(test)]
mod tests {
    use super::merge;
    use fhirgate_mappings::hl7v2::{Context, message_to_fhir, parse};
    use serde_json::{Value, json};

    /// The SIU fixture mapped (Appointment first, then Patient), `edit` applied to its text.
    fn mapped(edit: impl Fn(String) -> String) -> (Value, String) {
        let path = format!(
            "{}/../tests/fixtures/hl7v2/SIU_S12_v2.3_office_visit.hl7",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = String::from_utf8(std::fs::read(path).expect("fixture")).expect("utf-8");
        let msg = parse(edit(text).as_bytes()).expect("parse");
        let m = message_to_fhir(&msg, &Context::default()).expect("map");
        (
            m.resources[0].resource.clone(),
            m.resources[1].full_url.clone(),
        )
    }

    #[test]
    fn an_s14_updates_its_participants_and_keeps_the_ones_it_does_not_carry() {
        let (s12, patient_url) = mapped(|t| t);
        // As stored after the S12: the patient reference resolved, plus an interpreter a
        // FHIR client added and a `required` flag on the location.
        let mut stored = s12.clone();
        let list = stored["participant"].as_array_mut().expect("participants");
        assert_eq!(list.len(), 4, "patient, AIG, AIL, AIP: {list:?}");
        list[0]["actor"] = json!({"reference": "Patient/p1"});
        list[2]["required"] = json!("required");
        let interpreter =
            json!({"actor": {"reference": "Practitioner/interp"}, "status": "accepted"});
        list.push(interpreter.clone());
        // The S14: the provider (AIP-2 "D") deleted from the appointment, the rest unchanged.
        let (s14, url) = mapped(|t| {
            t.replace("SIU^S12", "SIU^S14")
                .replace("AIP|1||", "AIP|1|D|")
        });
        assert_eq!(url, patient_url);
        let resolved = vec![(patient_url, "Patient/p1".to_owned())];
        let out = merge(&stored, &s14, &resolved).expect("participants");
        let out = out.as_array().expect("array");
        assert_eq!(out.len(), 5, "{out:?}");
        assert_eq!(
            out[0]["actor"], s14["participant"][0]["actor"],
            "the message's patient, same key"
        );
        assert_eq!(out[1], s12["participant"][1]);
        let mut location = s12["participant"][2].clone();
        location["required"] = json!("required");
        assert_eq!(out[2], location, "kept its required flag");
        assert_eq!(out[3]["actor"], s12["participant"][3]["actor"]);
        assert_eq!(out[3]["status"], "declined", "AIP-2 D");
        assert_eq!(out[4], interpreter, "not in the message: kept");
    }

    #[test]
    fn a_new_resource_or_role_is_added_and_no_participants_keep_the_stored_ones() {
        let (s12, _) = mapped(|t| t);
        // AIP-4 changed (another role of the same provider): another participant.
        let (s14, _) = mapped(|t| t.replace("|D^Provider, Alex|", "|R^Referrer|"));
        let out = merge(&s12, &s14, &[]).expect("participants");
        let out = out.as_array().expect("array");
        // The patient's urn is not resolved here: it is the same urn in both, so it matches.
        assert_eq!(out.len(), 5, "{out:?}");
        assert_eq!(out[3], s12["participant"][3], "the old role kept");
        assert_eq!(out[4], s14["participant"][3], "the new role added");
        assert_eq!(out[4]["type"][0]["coding"][0]["code"], "R");
        let none = json!({"resourceType": "Appointment"});
        assert_eq!(merge(&s12, &none, &[]), Some(s12["participant"].clone()));
        assert_eq!(merge(&none, &none, &[]), None);
    }
}

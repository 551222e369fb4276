//! `Patient.telecom` merges per source field, not as one element. HL7 v2.5.1 ch. 3
//! §3.4.2 gives the patient's contact points in separate fields: PID-13 "Phone Number -
//! Home", PID-14 "Phone Number - Business" (and, from v2.7, PID-40 "Patient
//! Telecommunication Information"). Under the snapshot rule (§2.5.3) each field replaces
//! only what it stands for, so an A08 carrying PID-13 alone must not drop business numbers.
//!
//! **Rule** (ownership by `ContactPoint.use`): a field the message carries (non-empty) owns
//! the stored contact points whose `use` is
//! - the field's default use, the one the mapping gives a repetition without XTN-2
//!   (PID-13 `home`, PID-14 `work`, PID-40 none; see `fhirgate_mappings` `pid_to_patient`),
//! - or a use one of its own repetitions maps to (XTN-2 table 0201 or XTN-3 `CP` → `mobile`,
//!   e.g. a PID-13 mobile number also replaces the stored `mobile` ones; a PID-40
//!   repetition without a use owns the stored ones without a use).
//!
//! Owned stored contact points are replaced by what the message maps; the others (another
//! field's, or ones a FHIR client added with a use no carried field produces) are kept,
//! before the message's. A field sent as `""` removes the stored contact points of its
//! default use (PID-40: those without a use). A message carrying none of the three fields
//! leaves `telecom` as stored.

use fhirgate_mappings::hl7v2::Message;
use fhirgate_mappings::hl7v2::inbound::datatypes::xtn;
use serde_json::Value;

/// The PID telecom fields and the `use` the mapping gives a repetition without one.
const FIELDS: [(usize, Option<&str>); 3] = [(13, Some("home")), (14, Some("work")), (40, None)];

/// The `ContactPoint.use` values (`None`: no use) whose stored contact points the
/// message's PID replaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Owned(Vec<Option<String>>);

impl Owned {
    /// What the first PID of `msg` owns (nothing without a PID).
    pub(crate) fn of(msg: &Message) -> Self {
        let mut owned = Vec::new();
        let Some(pid) = msg.segment("PID") else {
            return Self(owned);
        };
        for (n, default) in FIELDS {
            let field = pid.field(n);
            if field.is_empty() {
                continue;
            }
            let mut uses = vec![default.map(str::to_owned)];
            if !field.is_null() {
                uses.extend(
                    field
                        .repetitions()
                        .filter_map(|r| xtn(r, default))
                        .map(|c| c["use"].as_str().map(str::to_owned)),
                );
            }
            // A field without a default use and sent as `""` owns those without a use;
            // PID-13/14 own only their default (plus the uses of their repetitions).
            for u in uses {
                if (u.is_some() || default.is_none()) && !owned.contains(&u) {
                    owned.push(u);
                }
            }
        }
        Self(owned)
    }

    /// The merged `telecom`: the `stored` resource's contact points not owned, then the
    /// `incoming` (mapped) resource's. `None` when the result is empty.
    pub(crate) fn merge(&self, stored: &Value, incoming: &Value) -> Option<Value> {
        let owns = |c: &Value| self.0.contains(&c["use"].as_str().map(str::to_owned));
        let mut out: Vec<Value> = stored["telecom"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| !owns(c))
            .cloned()
            .collect();
        out.extend(
            incoming["telecom"]
                .as_array()
                .into_iter()
                .flatten()
                .cloned(),
        );
        (!out.is_empty()).then_some(Value::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::Owned;
    use fhirgate_mappings::hl7v2::{Message, parse};
    use serde_json::{Value, json};

    const SIU: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/hl7v2/SIU_S12_v2.3_office_visit.hl7"
    ));

    /// The fixture (PID-13 a home number, a CP and an X.400 address; PID-14 a business
    /// number) with the PID fields `(n, value)` set.
    fn with_pid(fields: &[(usize, &str)]) -> Message {
        let text = String::from_utf8(SIU.to_vec()).expect("utf-8");
        let text = text
            .split('\r')
            .map(|s| {
                if !s.starts_with("PID|") {
                    return s.to_owned();
                }
                let mut f: Vec<String> = s.split('|').map(str::to_owned).collect();
                for (n, v) in fields {
                    if f.len() <= *n {
                        f.resize(n + 1, String::new());
                    }
                    f[*n] = (*v).to_owned();
                }
                f.join("|")
            })
            .collect::<Vec<_>>()
            .join("\r");
        parse(text.as_bytes()).expect("parse")
    }

    fn stored() -> Value {
        json!({"resourceType": "Patient", "telecom": [
            {"system": "phone", "value": "old-home", "use": "home"},
            {"system": "phone", "value": "old-work", "use": "work"},
            {"system": "phone", "value": "old-mobile", "use": "mobile"},
            {"system": "email", "value": "fhir@example.org"}]})
    }

    #[test]
    fn pid_13_alone_replaces_home_and_its_mobile_and_keeps_work() {
        let owned = Owned::of(&with_pid(&[(14, "")]));
        assert_eq!(
            owned,
            Owned(vec![Some("home".into()), Some("mobile".into())])
        );
        let incoming = json!({"telecom": [
            {"system": "phone", "value": "(919)007-0007", "use": "home"},
            {"system": "phone", "value": "(777)707-0707", "use": "mobile"},
            {"system": "email", "value": "007@BritishSecretService.com", "use": "home"}]});
        assert_eq!(
            owned.merge(&stored(), &incoming),
            Some(json!([
                {"system": "phone", "value": "old-work", "use": "work"},
                {"system": "email", "value": "fhir@example.org"},
                {"system": "phone", "value": "(919)007-0007", "use": "home"},
                {"system": "phone", "value": "(777)707-0707", "use": "mobile"},
                {"system": "email", "value": "007@BritishSecretService.com", "use": "home"}]))
        );
    }

    #[test]
    fn pid_14_alone_replaces_work_only() {
        let owned = Owned::of(&with_pid(&[(13, "")]));
        assert_eq!(owned, Owned(vec![Some("work".into())]));
        let incoming = json!({"telecom": [
            {"system": "phone", "value": "(919)555-0177 X007", "use": "work"}]});
        assert_eq!(
            owned.merge(&stored(), &incoming),
            Some(json!([
                {"system": "phone", "value": "old-home", "use": "home"},
                {"system": "phone", "value": "old-mobile", "use": "mobile"},
                {"system": "email", "value": "fhir@example.org"},
                {"system": "phone", "value": "(919)555-0177 X007", "use": "work"}]))
        );
    }

    #[test]
    fn a_null_field_removes_its_default_use_and_an_empty_one_keeps_it() {
        // PID-13 "" (delete the home numbers), PID-14 empty (no change).
        let owned = Owned::of(&with_pid(&[(13, "\"\""), (14, "")]));
        assert_eq!(owned, Owned(vec![Some("home".into())]));
        assert_eq!(
            owned.merge(&stored(), &json!({})),
            Some(json!([
                {"system": "phone", "value": "old-work", "use": "work"},
                {"system": "phone", "value": "old-mobile", "use": "mobile"},
                {"system": "email", "value": "fhir@example.org"}]))
        );
        // PID-40 "" owns the contact points without a use.
        let owned = Owned::of(&with_pid(&[(13, ""), (14, ""), (40, "\"\"")]));
        assert_eq!(owned, Owned(vec![None]));
        // Neither field: telecom as stored.
        let owned = Owned::of(&with_pid(&[(13, ""), (14, "")]));
        assert_eq!(owned, Owned::default());
        assert_eq!(
            owned.merge(&stored(), &json!({})),
            Some(stored()["telecom"].clone())
        );
        assert_eq!(owned.merge(&json!({}), &json!({})), None);
    }
}

//! X12 code lists as data: each a [`CodeTable`] of `(code, description)` pairs with the URI
//! FHIR codings use for it (`https://codesystem.x12.org/005010/{data element number}`, the
//! form HL7 Da Vinci guides use, e.g. 1365 for service type codes).

mod acknowledgment;
mod eligibility;
mod service_type;

pub use acknowledgment::{
    ELEMENT_ERROR, FOLLOW_UP_ACTION, GROUP_ACK, GROUP_ERROR, INTERCHANGE_NOTE, REJECT_REASON,
    SEGMENT_ERROR, SET_ACK, SET_ERROR,
};
pub use eligibility::{
    COVERAGE_LEVEL, DATE_QUALIFIER, ELIGIBILITY_OR_BENEFIT, ENTITY_IDENTIFIER, INSURANCE_TYPE,
    QUANTITY_QUALIFIER, TIME_PERIOD, YES_NO,
};
pub use service_type::SERVICE_TYPE;

/// One X12 code list (an external or internal code source of a data element).
#[derive(Debug)]
pub struct CodeTable {
    /// The data element number, e.g. `1365`.
    pub element: &'static str,
    /// The coding system URI for FHIR, `https://codesystem.x12.org/005010/{element}`.
    pub system: &'static str,
    /// `(code, description)` pairs.
    pub codes: &'static [(&'static str, &'static str)],
}

impl CodeTable {
    /// The description of `code`, if it is in the list.
    pub fn display(&self, code: &str) -> Option<&'static str> {
        self.codes.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
    }

    /// Whether `code` is in the list.
    pub fn contains(&self, code: &str) -> bool {
        self.display(code).is_some()
    }

    /// `description (code)`, or the bare code when unknown: for messages.
    pub fn describe(&self, code: &str) -> String {
        match self.display(code) {
            Some(d) => format!("{d} ({code})"),
            None => format!("code {code}"),
        }
    }

    /// A FHIR Coding for `code` (with its display when known).
    pub fn coding(&self, code: &str) -> serde_json::Value {
        let mut c = serde_json::json!({"system": self.system, "code": code});
        if let Some(d) = self.display(code) {
            c["display"] = d.into();
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_unique_codes_and_matching_systems() {
        for t in [
            &SERVICE_TYPE,
            &ELIGIBILITY_OR_BENEFIT,
            &COVERAGE_LEVEL,
            &INSURANCE_TYPE,
            &TIME_PERIOD,
            &QUANTITY_QUALIFIER,
            &DATE_QUALIFIER,
            &ENTITY_IDENTIFIER,
            &YES_NO,
            &REJECT_REASON,
            &FOLLOW_UP_ACTION,
            &INTERCHANGE_NOTE,
            &SET_ACK,
            &GROUP_ACK,
            &SEGMENT_ERROR,
            &ELEMENT_ERROR,
            &SET_ERROR,
            &GROUP_ERROR,
        ] {
            assert!(t.system.ends_with(t.element), "{}", t.system);
            for (i, (code, _)) in t.codes.iter().enumerate() {
                assert!(
                    !t.codes[..i].iter().any(|(c, _)| c == code),
                    "{} repeats {code}",
                    t.element
                );
            }
        }
        assert_eq!(
            SERVICE_TYPE.display("30"),
            Some("Health Benefit Plan Coverage")
        );
        assert_eq!(
            REJECT_REASON.display("75"),
            Some("Subscriber/Insured Not Found")
        );
        assert!(SERVICE_TYPE.codes.len() > 180);
    }
}

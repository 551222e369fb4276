//! The sandbox pharmacy's check of a received NewRx for the elements SCRIPT requires
//! (issue 7 item 3), done the way the gateway checks before sending: the NewRx is mapped
//! to FHIR and the same check runs on the result.

use fhirgate_mappings::ncpdp::{
    InboundContext, Message, Prescription, message_to_fhir, missing_new_rx_elements,
};

/// `path: reason` for every required element the NewRx `m` lacks; empty when complete.
pub(crate) fn missing_elements(m: &Message) -> Vec<String> {
    let resources = match message_to_fhir(m, &InboundContext::default()) {
        Ok(r) => r,
        Err(e) => return vec![e.to_string()],
    };
    let refs: Vec<(Option<&str>, &serde_json::Value)> =
        resources.iter().map(|r| (None, r)).collect();
    match Prescription::from_resources(&refs) {
        Ok(p) => missing_new_rx_elements(&p)
            .into_iter()
            .map(|e| format!("{}: {}", e.path, e.reason))
            .collect(),
        Err(e) => vec![e.to_string()],
    }
}

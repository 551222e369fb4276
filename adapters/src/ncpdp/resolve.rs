//! Gathers the resources a prescription references from the store into a
//! [`Prescription`]: Patient, the requester Practitioner (through a PractitionerRole with its
//! Organization and Location), Medication, Coverage (`insurance`, else the patient's active
//! Coverages) and the pharmacy Organization (`dispenseRequest.performer`).

use std::collections::HashMap;

use fhirgate_mappings::ncpdp::Prescription;
use serde_json::Value;

use super::state::Core;
use crate::AdapterError;
use crate::store_client::local_target;

/// Reads the referenced resources (each once) and builds the [`Prescription`]; references
/// that do not resolve stay empty, and [`fhirgate_mappings::ncpdp::missing_new_rx_elements`]
/// names them.
///
/// Errors: the store failed.
pub(crate) async fn prescription(
    core: &Core,
    mr: &Value,
    base: &str,
) -> Result<Prescription, AdapterError> {
    let mut found: HashMap<(String, String), Value> = HashMap::new();
    let mut wanted: Vec<&Value> = vec![
        &mr["subject"],
        &mr["requester"],
        &mr["medicationReference"],
        &mr["dispenseRequest"]["performer"],
    ];
    wanted.extend(mr["insurance"].as_array().into_iter().flatten());
    fetch_all(core, &wanted, base, &mut found).await?;
    // A PractitionerRole requester brings its Practitioner, Organization and Location.
    let role = local_ref(&mr["requester"], base).and_then(|k| found.get(&k).cloned());
    if let Some(role) = role.filter(|r| r["resourceType"] == "PractitionerRole") {
        let mut more = vec![&role["practitioner"], &role["organization"]];
        more.extend(role["location"].as_array().into_iter().flatten().take(1));
        fetch_all(core, &more, base, &mut found).await?;
    }
    // Without `insurance`, the patient's active Coverages (the mappings match them by
    // beneficiary).
    if mr["insurance"].as_array().is_none_or(|a| a.is_empty())
        && let Some(subject) = mr["subject"]["reference"].as_str()
        && local_target(subject, base).is_some()
    {
        for c in core
            .fhir
            .search(
                "Coverage",
                &[("beneficiary", subject), ("status", "active")],
                base,
            )
            .await?
        {
            if let (Some(id), Some(rt)) = (c["id"].as_str(), c["resourceType"].as_str()) {
                found.insert((rt.to_owned(), id.to_owned()), c.clone());
            }
        }
    }
    // The mappings resolve `Type/id` and absolute references by type and id.
    let mut resources: Vec<(Option<&str>, &Value)> = vec![(None, mr)];
    resources.extend(found.values().map(|v| (None, v)));
    Prescription::from_resources(&resources).map_err(|e| AdapterError::BadGateway {
        adapter: core.name.clone(),
        detail: format!("prescription: {e}"),
    })
}

fn local_ref(reference: &Value, base: &str) -> Option<(String, String)> {
    local_target(reference["reference"].as_str()?, base)
}

async fn fetch_all(
    core: &Core,
    references: &[&Value],
    base: &str,
    found: &mut HashMap<(String, String), Value>,
) -> Result<(), AdapterError> {
    let keys: Vec<(String, String)> = references
        .iter()
        .filter_map(|r| local_ref(r, base))
        .filter(|k| !found.contains_key(k))
        .collect();
    let reads = keys.iter().map(|(rt, id)| core.fhir.read(rt, id, base));
    let results = futures::future::join_all(reads).await;
    for (key, result) in keys.into_iter().zip(results) {
        if let Some(resource) = result? {
            found.insert(key, resource);
        }
    }
    Ok(())
}

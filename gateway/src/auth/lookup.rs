//! Internal reads the authorization needs, made through the route's adapter exactly like a
//! client request: the current version of a resource a write targets, and the patients a
//! `fhirUser` Practitioner cares for (`auth.user_patients: care_team`).

use std::collections::BTreeSet;

use fhirgate_adapters::interaction::{Target, Visibility};
use fhirgate_adapters::{FhirRequest, Interaction, ResponseBody};
use http::{Method, StatusCode};
use serde_json::Value;

use super::access::{Grant, Subject, admits};
use super::enforce::hidden;
use super::local_base::LocalBases;
use crate::error::GatewayError;
use crate::state::AppState;

/// Most Encounters/CareTeams read to find a practitioner's patients.
const CARE_LOOKUP_COUNT: &str = "1000";

/// Sends `target` with `query` to the first adapter routed for it, as `from`'s caller (same
/// base, request id and principal); `strict` adds `Prefer: handling=strict`, so a search
/// with a parameter the adapter does not know fails rather than ignoring it (FHIR R4
/// search.html §3.1.1.4). `None`: no route, an answer other than 200, or not JSON.
pub(super) async fn internal(
    state: &AppState,
    from: &FhirRequest,
    target: Target,
    query: Vec<(String, String)>,
    strict: bool,
) -> Result<Option<Value>, GatewayError> {
    internal_seen(state, from, target, query, strict, None).await
}

/// [`internal`] carrying the caller's `visibility` rule (a search the adapter may page over
/// the caller's visible matches only, `Visibility::honoured` tells whether it did).
pub(super) async fn internal_seen(
    state: &AppState,
    from: &FhirRequest,
    target: Target,
    query: Vec<(String, String)>,
    strict: bool,
    visibility: Option<Visibility>,
) -> Result<Option<Value>, GatewayError> {
    let Some(adapter) = state
        .route(target.resource_type.as_deref(), target.interaction)
        .and_then(|a| a.first())
    else {
        return Ok(None);
    };
    let mut request = FhirRequest::new(Method::GET, target, from.base_url.clone());
    request.query = query;
    request.request_id = from.request_id.clone();
    request.principal = from.principal.clone();
    request.visibility = visibility;
    if strict {
        request
            .headers
            .insert("prefer", http::HeaderValue::from_static("handling=strict"));
    }
    let answer = adapter.handle(request).await?;
    if answer.status != StatusCode::OK {
        return Ok(None);
    }
    let ResponseBody::Full(bytes) = answer.body else {
        return Ok(None);
    };
    Ok(serde_json::from_slice(&bytes).ok())
}

/// Before an update, patch or delete by id from a restricted caller: the current resource
/// must exist and be inside `grants`, else 404. A missing (or deleted) id answers the same
/// 404 as a withheld one: such a caller cannot create with a client-chosen id (update as
/// create, FHIR R4 §3.1.0.4.1), since 201 for a free id against 404 for a withheld one
/// would tell which ids other patients' resources use. It creates with `POST`.
pub async fn check_existing(
    state: &AppState,
    request: &FhirRequest,
    grants: &[Grant],
    bases: &LocalBases,
) -> Result<Option<Value>, GatewayError> {
    let (Some(rt), Some(id)) = (request.resource_type.clone(), request.id.clone()) else {
        return Ok(None);
    };
    let target = Target {
        interaction: Interaction::Read,
        resource_type: Some(rt.clone()),
        id: Some(id.clone()),
        version_id: None,
        operation: None,
    };
    match internal(state, request, target, Vec::new(), false).await? {
        Some(current) if admits(grants, bases, &rt, &current) => Ok(Some(current)),
        _ => Err(hidden(&rt, &id)),
    }
}

/// Before a transaction is forwarded, for a restricted caller: the resource a read or
/// vread entry (`request`) names must exist and pass the post-filter, else
/// 404 (which refuses the transaction, `bundle::authorize`). The store would fail the whole
/// transaction for a missing one but answer a withheld one inside a `transaction-response`
/// (then filtered to a 404 entry): checked here, both refuse the transaction the same way
/// before anything is forwarded. (An instance history is refused in a transaction by its
/// shape, `bundle_history`.)
pub async fn check_readable(
    state: &AppState,
    subject: &Subject,
    request: &FhirRequest,
) -> Result<(), GatewayError> {
    let rt = request.resource_type.clone().unwrap_or_default();
    let target = Target {
        interaction: request.interaction,
        resource_type: request.resource_type.clone(),
        id: request.id.clone(),
        version_id: request.version_id.clone(),
        operation: None,
    };
    let readable = match internal(state, request, target, Vec::new(), false).await? {
        Some(found) => {
            found.get("resourceType").and_then(Value::as_str) == Some(rt.as_str())
                && super::filter::visible_stored(subject, &rt, &found)
        }
        None => false,
    };
    if readable {
        Ok(())
    } else {
        Err(hidden(&rt, ""))
    }
}

/// The patients `fhir_user` cares for: subjects of Encounters with it as `participant`
/// and of CareTeams with it as `participant`. A `Patient/x` user reaches only `x`. Subjects
/// count only when relative or under one of `bases`.
pub async fn care_team_patients(
    state: &AppState,
    from: &FhirRequest,
    fhir_user: Option<&str>,
    bases: &LocalBases,
) -> Result<BTreeSet<String>, GatewayError> {
    let mut out = BTreeSet::new();
    let Some(user) = fhir_user else {
        return Ok(out);
    };
    if let Some(id) = bases.patient_id(user) {
        out.insert(id);
        return Ok(out);
    }
    if !user.starts_with("Practitioner/") {
        return Ok(out);
    }
    for (rt, param) in [("Encounter", "participant"), ("CareTeam", "participant")] {
        let target = Target {
            interaction: Interaction::SearchType,
            resource_type: Some(rt.into()),
            id: None,
            version_id: None,
            operation: None,
        };
        let query = vec![
            (param.to_owned(), user.to_owned()),
            ("_count".into(), CARE_LOOKUP_COUNT.into()),
        ];
        let Some(bundle) = internal(state, from, target, query, false).await? else {
            continue;
        };
        for entry in bundle
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let resource = &entry["resource"];
            for key in ["subject", "patient"] {
                if let Some(id) = resource
                    .get(key)
                    .and_then(|r| r.get("reference"))
                    .and_then(Value::as_str)
                    .and_then(|r| bases.patient_id(r))
                {
                    out.insert(id);
                }
            }
        }
    }
    Ok(out)
}

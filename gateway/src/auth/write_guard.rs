//! What a patient-restricted caller may change (SMART App Launch 2.x §3.1 `.u`/`.d`
//! scopes, FHIR R4 http.html §3.1.0.4 update, §3.1.0.5 patch, §3.1.0.7 delete): only a
//! resource that is theirs and names no other patient, and only into one that still names
//! no other patient. Under a `patient/` scope "theirs" means it names the patient in
//! context: a record that names no patient (`Practitioner/sandbox-prescriber`, the
//! pharmacy's `Organization`) is shared, and only `user/` or `system/` scopes change or
//! delete it (SMART App Launch 2.x §3.1: patient/ scopes cover data about that patient).
//! A Reference typed `Patient` that names no local `Patient/{id}` (a bare id, only an
//! `identifier`) names an unknown patient here too, refused like another patient's id
//! ([`crate::auth::compartment::ReferenceShape`], attack finding LOW 14 / N7).
//!
//! A JSON Patch (RFC 6902) is applied here to the version just read and its result checked
//! like an update's body. Every update, patch and delete is then pinned to the version
//! checked (`If-Match`), so the adapter applies the same operations to the same document
//! (RFC 6902 defines one result), or the same update or delete to the record checked, or
//! answers 412. Without this a patch could move another patient's id from free text
//! into `subject`, or delete `subject`, and be stored before the post-filter hid the
//! answer.

use fhirgate_adapters::{FhirRequest, Interaction};
use http::{HeaderValue, header};
use serde_json::Value;

use super::access::{Grant, admits_write};
use super::error::AuthError;
use super::local_base::LocalBases;
use crate::error::GatewayError;

/// Checks the update, patch or delete `request` on `current` (the stored resource, already
/// known visible) for `grants`. 403 when `current` or a patch's result names a patient
/// outside the grants, or (under a `patient/` grant) names no patient (absolute references name a patient only under `bases`), or a patch cannot be pinned to a version; 400/415/422 as the store
/// answers a patch that is not JSON Patch or fails (`adapters::store::patch`); 412 when the
/// client's `If-Match` does not name the version read. The request leaves pinned to that
/// version ([`pin`]).
pub fn check(
    grants: &[Grant],
    bases: &LocalBases,
    rt: &str,
    request: &mut FhirRequest,
    current: &Value,
) -> Result<(), GatewayError> {
    if !admits_write(grants, bases, rt, current) {
        return Err(forbidden(format!(
            "changing or deleting this {rt}: it names a patient outside the granted context, or no patient (a shared record, which patient/ scopes do not change)"
        )));
    }
    if request.interaction == Interaction::Patch {
        let patched = apply(&request.body, current, rt)?;
        if !admits_write(grants, bases, rt, &patched) {
            return Err(forbidden(format!(
                "this patch: the patched {rt} would name a patient or category outside the granted scopes, or no patient"
            )));
        }
    }
    pin(request, current, rt)
}

/// Pins the write to the version these checks read (`current.meta.versionId`), so the
/// adapter writes that version or answers 412, never one changed in between (which might
/// name another patient by then). A client's own `If-Match` must name that version — `*`,
/// or a list one of whose tags does (RFC 9110 §13.1.1; FHIR R4 http.html §3.1.0.6.2
/// compares versionIds, weak tags included) — else 412 here; it is then replaced by
/// exactly `W/"{versionId}"`. Without a versionId only a patch is refused (403: its result
/// was checked against one version); an update or delete goes unpinned, as before.
fn pin(request: &mut FhirRequest, current: &Value, rt: &str) -> Result<(), GatewayError> {
    let Some(version) = current.pointer("/meta/versionId").and_then(Value::as_str) else {
        return if request.interaction == Interaction::Patch {
            Err(forbidden(format!(
                "patching a {rt} without meta.versionId (a patch is checked against one version)"
            )))
        } else {
            Ok(())
        };
    };
    if let Some(field) = request.headers.get(header::IF_MATCH) {
        let field = field.to_str().unwrap_or_default();
        if !names_version(field, version) {
            return Err(GatewayError::PreconditionFailed(format!(
                "If-Match {field} does not match the current version (W/\"{version}\")"
            )));
        }
    }
    let tag = HeaderValue::from_str(&format!("W/\"{version}\"")).map_err(|_| {
        forbidden(format!(
            "writing a {rt} whose meta.versionId is not a token"
        ))
    })?;
    request.headers.insert(header::IF_MATCH, tag);
    Ok(())
}

/// Whether the `If-Match` field value `field` names `version`: `*`, or a comma-separated
/// list of entity-tags (`W/"3"`, `"3"`) one of which is it.
fn names_version(field: &str, version: &str) -> bool {
    field.trim() == "*"
        || field.split(',').any(|tag| {
            let tag = tag.trim();
            tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"') == version
        })
}

fn forbidden(why: String) -> GatewayError {
    GatewayError::Auth(AuthError::forbidden(format!(
        "the granted scopes do not allow {why}"
    )))
}

/// `body` (a JSON Patch) applied to a copy of `current`.
fn apply(body: &[u8], current: &Value, rt: &str) -> Result<Value, GatewayError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| GatewayError::BadRequest(format!("malformed JSON Patch: {e}")))?;
    if value.get("resourceType").is_some() {
        return Err(GatewayError::UnsupportedMediaType(
            "only JSON Patch (application/json-patch+json) is supported, not FHIRPath Patch".into(),
        ));
    }
    let patch: json_patch::Patch = serde_json::from_value(value).map_err(|e| {
        GatewayError::BadRequest(format!("not a JSON Patch document (RFC 6902): {e}"))
    })?;
    let mut doc = current.clone();
    json_patch::patch(&mut doc, &patch)
        .map_err(|e| GatewayError::Unprocessable(format!("JSON Patch failed: {e}")))?;
    if doc.get("resourceType") != current.get("resourceType") || doc.get("id") != current.get("id")
    {
        return Err(GatewayError::Unprocessable(format!(
            "a patch may not change the {rt}'s resourceType or id"
        )));
    }
    Ok(doc)
}

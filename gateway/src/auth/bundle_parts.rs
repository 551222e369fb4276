//! The parts of a batch or transaction Bundle the authorization reads and writes: the
//! Bundle itself, an entry's body and URL, conditional references (FHIR R4 §3.1.0.11).

use base64::Engine;
use bytes::Bytes;
use http::Method;
use serde_json::Value;

use crate::error::GatewayError;

/// Whether `resource` holds a conditional reference: a `reference` whose value is a search
/// (`Type?params`, FHIR R4 §3.1.0.11.2), anywhere in it.
pub(super) fn has_conditional_reference(resource: &Value) -> bool {
    match resource {
        Value::Object(map) => map.iter().any(|(k, v)| match v {
            Value::String(r) if k == "reference" => r.split_once('?').is_some_and(|(target, _)| {
                let rt = target
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("");
                fhirgate_adapters::interaction::is_resource_type(rt)
            }),
            other => has_conditional_reference(other),
        }),
        Value::Array(items) => items.iter().any(has_conditional_reference),
        _ => false,
    }
}

/// The Bundle of `body`; 400 when it is not JSON or its `entry` is present but not an
/// array (FHIR R4 json.html: repeating elements are arrays, never `null`).
pub(super) fn parse_bundle(body: &[u8]) -> Result<Value, GatewayError> {
    let bundle: Value = serde_json::from_slice(body)
        .map_err(|_| GatewayError::BadRequest("Bundle is not JSON".into()))?;
    match bundle.get("entry") {
        None | Some(Value::Array(_)) => Ok(bundle),
        Some(_) => Err(GatewayError::BadRequest(
            "Bundle.entry must be an array of entries (FHIR R4 json.html: repeating elements are JSON arrays)".into(),
        )),
    }
}

pub(super) fn write_bundle(bundle: &Value) -> Result<Bytes, GatewayError> {
    serde_json::to_vec(bundle)
        .map(Bytes::from)
        .map_err(|_| GatewayError::BadRequest("Bundle could not be rewritten".into()))
}

/// A PATCH entry carries its JSON Patch as a Binary (FHIR R4 §3.1.0.11.1); other entries
/// carry the resource itself.
pub(super) fn entry_body(method: &Method, resource: &Value) -> Vec<u8> {
    if *method == Method::PATCH
        && resource.get("resourceType").and_then(Value::as_str) == Some("Binary")
        && let Some(data) = resource.get("data").and_then(Value::as_str)
        && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data)
    {
        return bytes;
    }
    serde_json::to_vec(resource).unwrap_or_default()
}

/// `Observation?x`, `/Observation`, or an absolute URL under `base` → relative to the base.
pub(super) fn relative_url(url: &str, base: &str) -> Option<String> {
    if url.contains("://") {
        return url
            .strip_prefix(base)
            .map(|r| r.trim_start_matches('/').to_owned());
    }
    Some(url.trim_start_matches('/').to_owned())
}

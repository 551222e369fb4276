//! Batch and transaction Bundles (FHIR R4 §3.1.0.11): every entry is authorized as the
//! interaction it names, one by one, and entries whose search was narrowed get their
//! `request.url` rewritten. One entry refused refuses the whole Bundle (403): a partial
//! transaction would not be atomic, and a batch answer must not hint at what was skipped.

use base64::Engine;
use fhirgate_adapters::FhirRequest;
use fhirgate_adapters::interaction::parse_target;
use http::Method;
use serde_json::Value;

use super::access::Subject;
use super::error::AuthError;
use crate::error::GatewayError;
use crate::state::AppState;

fn refused(index: usize, why: &str) -> GatewayError {
    GatewayError::Auth(AuthError::forbidden(format!(
        "Bundle.entry[{index}]: {why}"
    )))
}

/// Authorizes every entry of the batch/transaction `request`, rewriting its body when an
/// entry's query was narrowed.
pub async fn authorize(
    state: &AppState,
    subject: &Subject,
    request: &mut FhirRequest,
) -> Result<(), GatewayError> {
    let mut bundle: Value = serde_json::from_slice(&request.body)
        .map_err(|_| GatewayError::BadRequest("Bundle is not JSON".into()))?;
    let mut changed = false;
    let entries = bundle.get_mut("entry").and_then(Value::as_array_mut);
    for (index, entry) in entries.into_iter().flatten().enumerate() {
        let method = entry
            .pointer("/request/method")
            .and_then(Value::as_str)
            .unwrap_or("");
        let method = match method {
            "GET" | "HEAD" => Method::GET,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            _ => {
                return Err(GatewayError::BadRequest(format!(
                    "Bundle.entry[{index}].request.method is missing or unknown"
                )));
            }
        };
        let url = entry
            .pointer("/request/url")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let relative = relative_url(&url, &request.base_url)
            .ok_or_else(|| refused(index, "request.url points outside this server"))?;
        let (path, query) = relative.split_once('?').unwrap_or((relative.as_str(), ""));
        let target = parse_target(&method, path.trim_matches('/')).map_err(|e| {
            GatewayError::BadRequest(format!("Bundle.entry[{index}]: {}", e.message))
        })?;
        if matches!(
            target.interaction,
            fhirgate_adapters::Interaction::Batch | fhirgate_adapters::Interaction::Transaction
        ) {
            return Err(refused(index, "nested batch or transaction"));
        }
        let mut sub = FhirRequest::new(method.clone(), target, request.base_url.clone());
        sub.query = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        sub.raw_query = Some(query.to_owned());
        sub.principal = request.principal.clone();
        sub.request_id = request.request_id.clone();
        if let Some(resource) = entry.get("resource") {
            sub.body = entry_body(&method, resource).into();
        }
        Box::pin(super::enforce::authorize(state, subject, &mut sub))
            .await
            .map_err(|e| match e {
                GatewayError::Auth(AuthError::InsufficientScope(why)) => refused(index, &why),
                // A read of another patient's resource inside a Bundle refuses the Bundle (403),
                // decided before anything is fetched, so nothing about the resource is revealed.
                GatewayError::NotFound(_) => {
                    refused(index, "names a resource outside the granted context")
                }
                other => other,
            })?;
        if sub.raw_query.is_none() {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(sub.query.iter())
                .finish();
            entry["request"]["url"] = Value::String(format!("{}?{query}", sub.relative_path()));
            changed = true;
        }
    }
    if changed {
        request.body = serde_json::to_vec(&bundle)
            .map_err(|_| GatewayError::BadRequest("Bundle could not be rewritten".into()))?
            .into();
    }
    Ok(())
}

/// A PATCH entry carries its JSON Patch as a Binary (FHIR R4 §3.1.0.11.1); other entries
/// carry the resource itself.
fn entry_body(method: &Method, resource: &Value) -> Vec<u8> {
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
fn relative_url(url: &str, base: &str) -> Option<String> {
    if url.contains("://") {
        return url
            .strip_prefix(base)
            .map(|r| r.trim_start_matches('/').to_owned());
    }
    Some(url.trim_start_matches('/').to_owned())
}

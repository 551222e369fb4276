//! JSON Patch (RFC 6902) on a stored resource (FHIR R4 §3.1.0.5 "patch"): the patched
//! document keeps exact decimals because it stays a `serde_json::Value` throughout.

use fhirgate_conformance::IssueCode;
use http::StatusCode;
use serde_json::Value;
use sqlx::AnyConnection;

use super::answer::Answer;
use super::ops::{Ctx, Fail, OpResult, update};
use super::storage;

fn fail(status: StatusCode, code: IssueCode, msg: impl Into<String>) -> Fail {
    Fail::Client(Answer::error(status, code, msg))
}

/// Parses a JSON Patch document; 400 when it is not one, 415-like refusal for FHIRPath
/// Patch (`Parameters`), which this store does not support.
pub(crate) fn parse_patch(body: &[u8]) -> Result<json_patch::Patch, Fail> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            IssueCode::Structure,
            format!(
                "malformed JSON Patch at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    if value.get("resourceType").is_some() {
        return Err(fail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IssueCode::NotSupported,
            "only JSON Patch (application/json-patch+json) is supported, not FHIRPath Patch",
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            format!("not a JSON Patch document (RFC 6902): {e}"),
        )
    })
}

/// Applies `patch` to `rtype/id` and stores the result as a new version. 404/410 when the
/// resource is unknown/deleted, 412 on `If-Match` mismatch, 422 when an operation fails
/// (including `test`) or the result changes `resourceType` or `id`.
pub(crate) async fn patch(
    conn: &mut AnyConnection,
    ctx: Ctx,
    rtype: &str,
    id: &str,
    patch: &json_patch::Patch,
    if_match: Option<&str>,
) -> OpResult {
    let current = storage::current(conn, ctx.backend, rtype, id, true)
        .await?
        .ok_or_else(|| {
            fail(
                StatusCode::NOT_FOUND,
                IssueCode::NotFound,
                format!("{rtype}/{id} is not known"),
            )
        })?;
    if current.deleted {
        return Err(fail(
            StatusCode::GONE,
            IssueCode::Deleted,
            format!("{rtype}/{id} was deleted"),
        ));
    }
    let mut doc: Value = serde_json::from_str(&current.body)
        .map_err(|e| Fail::Db(sqlx::Error::Decode(Box::new(e))))?;
    json_patch::patch(&mut doc, patch).map_err(|e| {
        fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            IssueCode::Processing,
            format!("JSON Patch failed: {e}"),
        )
    })?;
    if doc.get("resourceType").and_then(Value::as_str) != Some(rtype)
        || doc
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|i| i != id)
    {
        return Err(fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            IssueCode::BusinessRule,
            "a patch may not change resourceType or id",
        ));
    }
    update(conn, ctx, rtype, id, doc, if_match).await
}

//! Batch and transaction (FHIR R4 §3.1.0.11 "batch/transaction"): entries parsed with
//! [`parse_target`], a batch runs each independently, a transaction runs all in one
//! database transaction (see [`transaction`]).

mod transaction;

use base64::Engine;
use fhirgate_conformance::IssueCode;
use http::{Method, StatusCode};
use serde_json::{Value, json};

pub(crate) use transaction::run_transaction;

use super::answer::{Answer, Body, Return};
use super::bundle_json::{Assembler, entry, envelope};
use super::exec::{Op, OpBody};
use super::ops::Fail;
use super::patch::parse_patch;
use super::resource;
use super::service::{Store, header};
use crate::interaction::{Interaction, parse_target};
use crate::{AdapterError, FhirRequest};

/// Most entries one batch or transaction may carry; a larger Bundle answers 413, so one
/// request cannot fan out into an unbounded amount of work or answer.
pub const MAX_ENTRIES: usize = 1000;

/// The 413 `too-costly` answer for an entry whose answer would take the batch- or
/// transaction-response past `limit` bytes (`server.max_answer_bytes`).
pub(crate) fn too_costly(index: usize, limit: usize) -> Answer {
    let mut a = Answer::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        IssueCode::TooCostly,
        format!(
            "not processed: its answer would take the Bundle's answer past {limit} bytes \
             (server.max_answer_bytes); send it and the entries after it in another Bundle"
        ),
    );
    set_expression(&mut a, index);
    a
}

/// The 413 `too-costly` answer of a transaction whose response would pass `limit` bytes at
/// entry `index`: the whole transaction was rolled back (FHIR R4 http.html §3.1.0.11.2, a
/// transaction succeeds or fails as a whole), so nothing of it is to be resent separately.
pub(crate) fn transaction_too_costly(index: usize, limit: usize) -> Answer {
    let mut a = Answer::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        IssueCode::TooCostly,
        format!(
            "the transaction was rolled back: its answer would pass {limit} bytes here \
             (server.max_answer_bytes); split it into smaller transactions (writes sent with \
             `Prefer: return=minimal` add no resource to the answer)"
        ),
    );
    set_expression(&mut a, index);
    a
}

/// The 413 answer for a Bundle of `n` entries.
pub(crate) fn too_many_entries(n: usize) -> Answer {
    Answer::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        IssueCode::TooLong,
        format!("the Bundle has {n} entries; at most {MAX_ENTRIES} are processed in one request"),
    )
}

fn bad(index: usize, msg: impl std::fmt::Display) -> Answer {
    let mut a = Answer::error(
        StatusCode::BAD_REQUEST,
        IssueCode::Invalid,
        format!("Bundle.entry[{index}]: {msg}"),
    );
    set_expression(&mut a, index);
    a
}

/// Adds `Bundle.entry[index]` as the expression of every issue of an OperationOutcome
/// answer and names the entry in its diagnostics.
pub(crate) fn set_expression(a: &mut Answer, index: usize) {
    let Body::Json(oo) = &mut a.body else {
        return;
    };
    if let Some(Value::Array(issues)) = oo.get_mut("issue") {
        for issue in issues {
            let prefix = format!("Bundle.entry[{index}]");
            if let Some(Value::String(d)) = issue.get_mut("diagnostics")
                && !d.starts_with(&prefix)
            {
                *d = format!("{prefix}: {d}");
            }
            // A validation issue's `Observation.code` becomes `Bundle.entry[i].resource.code`.
            let inner = issue
                .pointer("/expression/0")
                .and_then(Value::as_str)
                .and_then(|e| e.find(['.', '[']).map(|at| e[at..].to_owned()));
            issue["expression"] = match inner {
                Some(rest) if rest.starts_with('.') => json!([format!("{prefix}.resource{rest}")]),
                _ => json!([prefix]),
            };
        }
    }
}

/// Parses `Bundle.entry[index]` into an [`Op`] and its `fullUrl`.
pub(crate) fn entry_op(e: &Value, index: usize) -> Result<(Op, Option<String>), Answer> {
    let request = e
        .get("request")
        .ok_or_else(|| bad(index, "request is missing"))?;
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(index, "request.method is missing"))?;
    let url = request
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(index, "request.url is missing"))?;
    // Bundle.entry.request.method is a code of http-verb (R4): exactly these, upper case.
    let method = match method {
        "GET" => Method::GET,
        "HEAD" => Method::HEAD,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "DELETE" => Method::DELETE,
        "PATCH" => Method::PATCH,
        other => {
            return Err(bad(
                index,
                format!(
                    "request.method '{}' is not an HTTP verb of FHIR (GET, HEAD, POST, PUT, DELETE, PATCH)",
                    crate::form::clip(other)
                ),
            ));
        }
    };
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    // Strictly decoded (RFC 3986 §2.5): octets that are not UTF-8 are the client's error,
    // never a search for U+FFFD or an ignored parameter.
    let query = crate::form::parse(query.as_bytes())
        .map_err(|e| bad(index, format!("request.url: {e}")))?;
    if let Some(criteria) = request.get("ifNoneExist").and_then(Value::as_str) {
        let criteria = criteria.split_once('?').map_or(criteria, |(_, q)| q);
        crate::form::parse(criteria.as_bytes())
            .map_err(|e| bad(index, format!("request.ifNoneExist: {e}")))?;
    }
    let target = parse_target(&method, path.trim_matches('/'))
        .map_err(|p| bad(index, format!("request.url: {}", p.message)))?;
    if matches!(
        target.interaction,
        Interaction::Batch | Interaction::Transaction
    ) {
        return Err(bad(index, "nested batch/transaction is not allowed"));
    }
    let body = match target.interaction {
        Interaction::Create | Interaction::Update => {
            let r = e
                .get("resource")
                .cloned()
                .ok_or_else(|| bad(index, "resource is missing"))?;
            let r = resource::check_type(r, target.resource_type.as_deref()).map_err(|mut a| {
                set_expression(&mut a, index);
                a
            })?;
            OpBody::Resource(r)
        }
        Interaction::Patch => OpBody::Patch(entry_patch(e, index)?),
        _ => OpBody::None,
    };
    let text = |k: &str| request.get(k).and_then(Value::as_str).map(str::to_owned);
    let op = Op {
        target,
        query,
        body,
        if_match: text("ifMatch"),
        if_none_match: text("ifNoneMatch"),
        if_none_exist: text("ifNoneExist"),
        strict: false,
    };
    Ok((
        op,
        e.get("fullUrl").and_then(Value::as_str).map(str::to_owned),
    ))
}

/// A JSON Patch carried in a Bundle: a `Binary` with base64 `data` (FHIR R4 §3.1.0.5).
fn entry_patch(e: &Value, index: usize) -> Result<json_patch::Patch, Answer> {
    let data = e
        .get("resource")
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Binary"))
        .and_then(|r| r.get("data"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad(
                index,
                "a PATCH entry carries a Binary with the JSON Patch in data",
            )
        })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| bad(index, "Binary.data is not base64"))?;
    parse_patch(&bytes).map_err(|f| match f {
        Fail::Client(mut a) => {
            set_expression(&mut a, index);
            a
        }
        Fail::Db(_) => bad(index, "unreadable patch"),
    })
}

/// `Bundle.entry.response` (+ resource or outcome) for an entry's answer.
pub(crate) fn response_entry(a: &Answer, full_url: Option<&str>, ret: Return) -> String {
    let reason = a.status.canonical_reason().unwrap_or("");
    let mut response = json!({"status": format!("{} {reason}", a.status.as_u16()).trim_end()});
    if let Some(loc) = &a.location {
        response["location"] = json!(loc);
    }
    if let Some(v) = a.version {
        response["etag"] = json!(format!("W/\"{v}\""));
    }
    if let Some((_, lu)) = &a.last_modified {
        response["lastModified"] = json!(lu);
    }
    let text = match &a.body {
        Body::None => None,
        Body::Json(v) => Some(v.to_string()),
        Body::Raw(s) => Some(s.clone()),
    };
    if !a.is_success() {
        if let Some(t) = text
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
        {
            response["outcome"] = t;
        }
        return entry(None, None, json!({"response": response}));
    }
    let keep = a.location.is_none() || ret == Return::Representation;
    let full = full_url.filter(|_| a.location.is_some());
    entry(
        full,
        text.as_deref().filter(|_| keep),
        json!({"response": response}),
    )
}

/// Answers `POST [base]` with a batch or transaction Bundle.
pub(crate) async fn process(store: &Store, req: &FhirRequest) -> Result<Answer, AdapterError> {
    let bundle = match resource::parse(&req.body, Some("Bundle")) {
        Ok(b) => b,
        Err(a) => return Ok(a),
    };
    let ret = Return::from_prefer(header(req, "prefer").as_deref());
    if bundle.get("entry").is_some_and(|e| !e.is_array()) {
        return Ok(Answer::error(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            "Bundle.entry must be an array of entries (FHIR R4 json.html: repeating elements are JSON arrays)",
        ));
    }
    match bundle.get("type").and_then(Value::as_str) {
        Some("transaction") => run_transaction(store, &bundle, &req.base_url, ret).await,
        Some("batch") => batch(store, &bundle, &req.base_url, ret).await,
        _ => Ok(Answer::error(
            StatusCode::BAD_REQUEST,
            IssueCode::Invalid,
            "Bundle.type must be batch or transaction",
        )),
    }
}

/// A batch: every entry on its own, each with its own `response.status`. The answer is
/// written as it grows and bounded by `server.max_answer_bytes`: an entry whose answer
/// would pass the bound, and every entry after it, is not processed and answered 413
/// `too-costly` in its place (FHIR R4 §3.1.0.11.1: each entry has its own status). A write
/// that already ran keeps its answer, since it cannot be undone.
async fn batch(
    store: &Store,
    bundle: &Value,
    base: &str,
    ret: Return,
) -> Result<Answer, AdapterError> {
    let empty = Vec::new();
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    if entries.len() > MAX_ENTRIES {
        return Ok(too_many_entries(entries.len()));
    }
    let limit = store.ctx.max_answer_bytes;
    let mut out = Assembler::new(&envelope("batch-response"), 0);
    let mut exhausted = false;
    for (i, e) in entries.iter().enumerate() {
        let mut text = None;
        if !exhausted {
            let (a, wrote) = match entry_op(e, i) {
                Err(a) => (a, false),
                Ok((op, _)) => {
                    let wrote = op.is_write();
                    (store.run_op(op, base).await?, wrote)
                }
            };
            let full = a.location.as_deref().map(|l| {
                let path: Vec<&str> = l.split('/').take(2).collect();
                format!("{base}/{}", path.join("/"))
            });
            let answered = response_entry(&a, full.as_deref(), ret);
            exhausted = out.len() + answered.len() > limit;
            if !exhausted || wrote {
                text = Some(answered);
            }
        }
        let text = text.unwrap_or_else(|| response_entry(&too_costly(i, limit), None, ret));
        out.push(&text);
    }
    Ok(Answer::new(StatusCode::OK, Body::Raw(out.finish())))
}

#[cfg(test)]
mod tests {
    use super::entry_op;
    use serde_json::{Value, json};

    fn diagnostics(entry: &Value) -> String {
        let Err(a) = entry_op(entry, 0) else {
            panic!("{entry} was accepted");
        };
        assert_eq!(a.status, http::StatusCode::BAD_REQUEST, "{entry}");
        let super::Body::Json(oo) = &a.body else {
            panic!("no OperationOutcome");
        };
        oo["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    #[test]
    fn malformed_entries_are_refused_without_echoing_long_input() {
        let get = |method: &str, url: &str| json!({"request": {"method": method, "url": url}});
        assert_eq!(
            diagnostics(&get("get", "Patient/a")),
            "Bundle.entry[0]: request.method 'get' is not an HTTP verb of FHIR (GET, HEAD, POST, PUT, DELETE, PATCH)"
        );
        assert_eq!(
            diagnostics(&get("GET", "Patient?na%ffme=x")),
            "Bundle.entry[0]: request.url: the name of query parameter 1 is not valid UTF-8 once percent-decoded (RFC 3986 §2.5)"
        );
        assert_eq!(
            diagnostics(&get("GET", "Observation?code=%ff%fe")),
            "Bundle.entry[0]: request.url: the value of query parameter 1 (code) is not valid UTF-8 once percent-decoded (RFC 3986 §2.5)"
        );
        let long = diagnostics(&get("GET", &format!("Patient/{}", "a".repeat(100_000))));
        assert!(long.len() < 300, "{} bytes", long.len());
        assert_eq!(
            diagnostics(&json!({})),
            "Bundle.entry[0]: request is missing"
        );
        assert!(entry_op(&get("GET", "Patient?name=%C3%A9"), 0).is_ok());
    }
}

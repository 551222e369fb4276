//! FHIR RESTful interactions (FHIR R4 §3.1.0 "RESTful API"): parsing a request path into one,
//! and the request/response shapes adapters exchange with the gateway.

use http::{Method, StatusCode};

mod request;
mod resource_types;
mod visibility;
pub use request::{CollectError, FhirRequest, FhirResponse, Principal, ResponseBody};
pub use resource_types::{R4_RESOURCE_TYPES, is_resource_type};
pub use visibility::Visibility;

/// The request headers the FHIR REST API defines (FHIR R4 §3.1.0.1.5 and §3.1.0.8–10),
/// lower-case: the only client headers the gateway passes to adapters and upstreams.
pub const FHIR_REQUEST_HEADERS: [&str; 7] = [
    "accept",
    "content-type",
    "if-match",
    "if-none-match",
    "if-none-exist",
    "if-modified-since",
    "prefer",
];

/// One FHIR R4 interaction, named as in the `type-restful-interaction` and
/// `system-restful-interaction` value sets, plus `operation` and `capabilities`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interaction {
    /// `GET [base]/[type]/[id]`
    Read,
    /// `GET [base]/[type]/[id]/_history/[vid]`
    Vread,
    /// `PUT [base]/[type]/[id]`, or conditional `PUT [base]/[type]?search`
    Update,
    /// `PATCH [base]/[type]/[id]` (JSON Patch), or conditional `PATCH [base]/[type]?search`
    Patch,
    /// `DELETE [base]/[type]/[id]`, or conditional `DELETE [base]/[type]?search`
    Delete,
    /// `GET [base]/[type]/[id]/_history`
    HistoryInstance,
    /// `GET [base]/[type]/_history`
    HistoryType,
    /// `GET [base]/_history`
    HistorySystem,
    /// `POST [base]/[type]`
    Create,
    /// `GET [base]/[type]?…` or `POST [base]/[type]/_search`
    SearchType,
    /// `GET [base]?…` or `POST [base]/_search`
    SearchSystem,
    /// `POST [base]` with a Bundle of type `batch`
    Batch,
    /// `POST [base]` with a Bundle of type `transaction`
    Transaction,
    /// `GET [base]/metadata`
    Capabilities,
    /// `[base]/$op`, `[base]/[type]/$op` or `[base]/[type]/[id]/$op`
    Operation,
}

impl Interaction {
    /// The interaction code as written in a CapabilityStatement (`search-type`, `history-instance`…).
    pub fn code(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Vread => "vread",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::HistoryInstance => "history-instance",
            Self::HistoryType => "history-type",
            Self::HistorySystem => "history-system",
            Self::Create => "create",
            Self::SearchType => "search-type",
            Self::SearchSystem => "search-system",
            Self::Batch => "batch",
            Self::Transaction => "transaction",
            Self::Capabilities => "capabilities",
            Self::Operation => "operation",
        }
    }

    /// Parses an interaction code (the inverse of [`Interaction::code`]).
    pub fn from_code(code: &str) -> Option<Self> {
        ALL.iter().copied().find(|i| i.code() == code)
    }

    /// Whether the interaction changes data.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Self::Update
                | Self::Patch
                | Self::Delete
                | Self::Create
                | Self::Batch
                | Self::Transaction
        )
    }
}

/// Every interaction, in CapabilityStatement order.
pub const ALL: [Interaction; 15] = [
    Interaction::Read,
    Interaction::Vread,
    Interaction::Update,
    Interaction::Patch,
    Interaction::Delete,
    Interaction::HistoryInstance,
    Interaction::HistoryType,
    Interaction::Create,
    Interaction::SearchType,
    Interaction::HistorySystem,
    Interaction::SearchSystem,
    Interaction::Batch,
    Interaction::Transaction,
    Interaction::Capabilities,
    Interaction::Operation,
];

/// The parts of a FHIR REST path, relative to the base (`Patient/1/_history/2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The interaction the method and path name.
    pub interaction: Interaction,
    /// Resource type, when the path names one.
    pub resource_type: Option<String>,
    /// Logical id, when the path names one.
    pub id: Option<String>,
    /// Version id for vread.
    pub version_id: Option<String>,
    /// Operation name without `$`.
    pub operation: Option<String>,
}

/// Why a path names no interaction: 404 (unknown type or path), 405 (method) or 400 (bad id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// HTTP status to answer.
    pub status: StatusCode,
    /// Human-readable reason (no PHI: paths hold ids only).
    pub message: String,
}

/// The operation name of a `$name` path segment, if it is one.
fn op(segment: &str) -> Option<&str> {
    segment.strip_prefix('$').filter(|o| {
        !o.is_empty()
            && o.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn err(status: StatusCode, message: impl Into<String>) -> PathError {
    PathError {
        status,
        message: message.into(),
    }
}

/// Whether `id` is a valid FHIR logical id: `[A-Za-z0-9\-\.]{1,64}` (FHIR R4 §2.24.0.1 "id").
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Parses `method` and `path` (relative to the FHIR base, without leading `/` or query)
/// into a [`Target`]. `POST ""` yields [`Interaction::Batch`]; callers that read the body
/// turn it into [`Interaction::Transaction`] when `Bundle.type` says so.
///
/// Errors: unknown resource type or path → 404; method not defined for the path → 405;
/// malformed id → 400.
pub fn parse_target(method: &Method, path: &str) -> Result<Target, PathError> {
    let segments: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    };
    let target =
        |interaction, rt: Option<&str>, id: Option<&str>, vid: Option<&str>, op: Option<&str>| {
            Target {
                interaction,
                resource_type: rt.map(str::to_owned),
                id: id.map(str::to_owned),
                version_id: vid.map(str::to_owned),
                operation: op.map(|o| o.trim_start_matches('$').to_owned()),
            }
        };
    let method_not_allowed = || {
        err(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{} is not defined for /{}",
                crate::form::clip(method.as_str()),
                crate::form::clip(path)
            ),
        )
    };
    let check_id = |id: &str| {
        if is_valid_id(id) {
            Ok(())
        } else {
            Err(err(
                StatusCode::BAD_REQUEST,
                format!(
                    "'{}' is not a valid FHIR id ([A-Za-z0-9-.]{{1,64}})",
                    crate::form::clip(id)
                ),
            ))
        }
    };
    match segments.as_slice() {
        [] => match *method {
            Method::GET => Ok(target(Interaction::SearchSystem, None, None, None, None)),
            Method::POST => Ok(target(Interaction::Batch, None, None, None, None)),
            _ => Err(method_not_allowed()),
        },
        ["metadata"] => match *method {
            Method::GET => Ok(target(Interaction::Capabilities, None, None, None, None)),
            _ => Err(method_not_allowed()),
        },
        ["_history"] => match *method {
            Method::GET => Ok(target(Interaction::HistorySystem, None, None, None, None)),
            _ => Err(method_not_allowed()),
        },
        ["_search"] => match *method {
            Method::POST => Ok(target(Interaction::SearchSystem, None, None, None, None)),
            _ => Err(method_not_allowed()),
        },
        [o] if op(o).is_some() => Ok(target(Interaction::Operation, None, None, None, op(o))),
        [rt, rest @ ..] if !is_resource_type(rt) => {
            let _ = rest;
            Err(err(
                StatusCode::NOT_FOUND,
                format!("'{}' is not an R4 resource type", crate::form::clip(rt)),
            ))
        }
        [rt] => match *method {
            Method::GET => Ok(target(Interaction::SearchType, Some(rt), None, None, None)),
            Method::POST => Ok(target(Interaction::Create, Some(rt), None, None, None)),
            Method::PUT => Ok(target(Interaction::Update, Some(rt), None, None, None)),
            Method::PATCH => Ok(target(Interaction::Patch, Some(rt), None, None, None)),
            Method::DELETE => Ok(target(Interaction::Delete, Some(rt), None, None, None)),
            _ => Err(method_not_allowed()),
        },
        [rt, "_search"] => match *method {
            Method::POST => Ok(target(Interaction::SearchType, Some(rt), None, None, None)),
            _ => Err(method_not_allowed()),
        },
        [rt, "_history"] => match *method {
            Method::GET => Ok(target(Interaction::HistoryType, Some(rt), None, None, None)),
            _ => Err(method_not_allowed()),
        },
        [rt, o] if op(o).is_some() => {
            Ok(target(Interaction::Operation, Some(rt), None, None, op(o)))
        }
        [rt, id] => {
            check_id(id)?;
            match *method {
                Method::GET => Ok(target(Interaction::Read, Some(rt), Some(id), None, None)),
                Method::PUT => Ok(target(Interaction::Update, Some(rt), Some(id), None, None)),
                Method::PATCH => Ok(target(Interaction::Patch, Some(rt), Some(id), None, None)),
                Method::DELETE => Ok(target(Interaction::Delete, Some(rt), Some(id), None, None)),
                _ => Err(method_not_allowed()),
            }
        }
        [rt, id, "_history"] => {
            check_id(id)?;
            match *method {
                Method::GET => Ok(target(
                    Interaction::HistoryInstance,
                    Some(rt),
                    Some(id),
                    None,
                    None,
                )),
                _ => Err(method_not_allowed()),
            }
        }
        [rt, id, o] if op(o).is_some() => {
            check_id(id)?;
            Ok(target(
                Interaction::Operation,
                Some(rt),
                Some(id),
                None,
                op(o),
            ))
        }
        [rt, id, "_history", vid] => {
            check_id(id)?;
            check_id(vid)?;
            match *method {
                Method::GET => Ok(target(
                    Interaction::Vread,
                    Some(rt),
                    Some(id),
                    Some(vid),
                    None,
                )),
                _ => Err(method_not_allowed()),
            }
        }
        _ => Err(err(
            StatusCode::NOT_FOUND,
            format!("/{} names no FHIR interaction", crate::form::clip(path)),
        )),
    }
}

#[cfg(test)]
mod tests;

//! Authorizing one FHIR interaction before it reaches an adapter: interaction → permission
//! (SMART App Launch 2.x §3.1.2), scope grants, compartment narrowing, and checks of the
//! resources a write sends.
//!
//! Answers, consistently: a request the scopes do not allow, or one naming another patient
//! in its query or body, is **403** (`insufficient_scope`); a resource that exists but lies
//! outside the caller's reach is **404**, exactly as if it did not exist, so ids of other
//! patients' data cannot be probed.
//!
//! Operations (decided here, deny by default; the table is [`OPERATIONS`]):
//! `Patient/[id]/$everything` → `r` on Patient for that patient, the answer filtered per
//! type; `Patient/[id]/$ingest` → `c` on Observation for that patient, and that patient as
//! the launch context or `r` on it (its existence is checked: see `ingest_subject`);
//! `CoverageEligibilityRequest/$submit` → `c` on CoverageEligibilityRequest for the body's
//! patient. Every other operation → 403 here; the edge answers it 404 `not-supported`
//! before scopes are looked at (`edge::operation`), since no route can serve it.

use fhirgate_adapters::{FhirRequest, Interaction};
use serde_json::Value;

use super::access::{Grant, Subject, admits_write, patient_union};
use super::bundle;
use super::error::AuthError;
use super::local_base::LocalBases;
use super::lookup;
use super::narrow::narrow;
use super::scope::Permission;
use crate::error::GatewayError;
use crate::state::AppState;

/// The permission an interaction needs (SMART App Launch 2.x §3.1.2).
pub fn permission(interaction: Interaction) -> Option<Permission> {
    Some(match interaction {
        Interaction::Read | Interaction::Vread | Interaction::HistoryInstance => Permission::Read,
        Interaction::SearchType
        | Interaction::SearchSystem
        | Interaction::HistoryType
        | Interaction::HistorySystem => Permission::Search,
        Interaction::Create => Permission::Create,
        Interaction::Update | Interaction::Patch => Permission::Update,
        Interaction::Delete => Permission::Delete,
        Interaction::Batch
        | Interaction::Transaction
        | Interaction::Capabilities
        | Interaction::Operation => return None,
    })
}

fn denied(what: impl std::fmt::Display) -> GatewayError {
    GatewayError::Auth(AuthError::forbidden(format!(
        "the granted scopes do not allow {what}"
    )))
}

/// 404 for a resource outside the caller's reach: the same answer as a missing one (the
/// post-filter gives restricted callers this same answer for every 404).
pub fn hidden(resource_type: &str, id: &str) -> GatewayError {
    let _ = id;
    let _ = resource_type;
    GatewayError::NotFound("resource not found".into())
}

/// Authorizes `request` for `subject`, narrowing its query where needed (then `raw_query`
/// becomes `None`) and rewriting batch/transaction entries the same way.
pub async fn authorize(
    state: &AppState,
    subject: &Subject,
    request: &mut FhirRequest,
) -> Result<(), GatewayError> {
    match request.interaction {
        Interaction::Capabilities => Ok(()),
        Interaction::Batch | Interaction::Transaction => {
            bundle::authorize(state, subject, request).await
        }
        Interaction::Operation => operation(subject, request),
        Interaction::SearchSystem | Interaction::HistorySystem => {
            if subject.sees_everything() {
                Ok(())
            } else {
                Err(denied(
                    "system-level search or history (needs r and s on * for every patient)",
                ))
            }
        }
        interaction => {
            let rt = request.resource_type.clone().unwrap_or_default();
            let Some(perm) = permission(interaction) else {
                return Err(denied(interaction.code()));
            };
            let grants = subject.grants(&rt, perm);
            if grants.is_empty() {
                return Err(denied(format_args!("{} on {rt}", interaction.code())));
            }
            if let (Some(id), Some(set)) = (request.id.as_deref(), patient_union(&grants))
                && rt == "Patient"
                && !set.contains(id)
            {
                return Err(hidden(&rt, id));
            }
            match interaction {
                Interaction::SearchType => {
                    check_search_types(subject, &request.query)?;
                    narrow_query(request, &rt, &grants, &subject.local_bases)
                }
                // A type's history pages through every patient's changes and cannot be
                // narrowed; filtered afterwards, its empty pages and `next` links would still
                // show other patients' activity. Restricted callers read a resource's own
                // history or search instead (deny by default).
                Interaction::HistoryType if !grants.iter().any(Grant::is_unrestricted) => {
                    Err(denied(format_args!(
                        "history-type on {rt}: it spans records outside the granted context; read [type]/[id]/_history or search"
                    )))
                }
                Interaction::Create => {
                    super::conditional_write::create::resolve(state, subject, request, &rt).await?;
                    check_body(&grants, &subject.local_bases, &rt, &request.body)
                }
                Interaction::Update | Interaction::Patch | Interaction::Delete => {
                    let restricted = !grants.iter().any(Grant::is_unrestricted);
                    let current = if request.id.is_none() {
                        narrow_query(request, &rt, &grants, &subject.local_bases)?;
                        if restricted {
                            // Resolved here, never by the store (`conditional_write`).
                            super::conditional_write::resolve(state, subject, request, &grants)
                                .await?
                        } else {
                            None
                        }
                    } else if restricted {
                        lookup::check_existing(state, request, &grants, &subject.local_bases)
                            .await?
                    } else {
                        None
                    };
                    if let Some(current) = current {
                        super::write_guard::check(
                            &grants,
                            &subject.local_bases,
                            &rt,
                            request,
                            &current,
                        )?;
                    }
                    // A patch's result was checked with the version it is pinned to.
                    match interaction {
                        Interaction::Update => {
                            check_body(&grants, &subject.local_bases, &rt, &request.body)
                        }
                        _ => Ok(()),
                    }
                }
                _ => Ok(()),
            }
        }
    }
}

fn narrow_query(
    request: &mut FhirRequest,
    rt: &str,
    grants: &[Grant],
    bases: &LocalBases,
) -> Result<(), GatewayError> {
    if narrow(rt, &mut request.query, grants, bases)? {
        request.raw_query = None;
    }
    Ok(())
}

/// `_revinclude` and `_has` read other types: the caller needs `s` on them.
fn check_search_types(subject: &Subject, query: &[(String, String)]) -> Result<(), GatewayError> {
    for (key, value) in query {
        let named = if key == "_revinclude" || key.starts_with("_revinclude:") {
            value.split(':').next()
        } else if let Some(rest) = key.strip_prefix("_has:") {
            rest.split(':').next()
        } else {
            continue;
        };
        let rt = named.unwrap_or("");
        if rt != "*" && !fhirgate_adapters::interaction::is_resource_type(rt)
            || subject.grants(rt, Permission::Search).is_empty()
        {
            return Err(denied(format_args!("{key} on {rt}")));
        }
    }
    Ok(())
}

/// A resource a write sends must be inside a grant (its anchor naming a reached patient,
/// every other patient it names reached too, its granular restriction matched; under a
/// `patient/` scope it must name the patient in context: [`super::access::admits_write`]).
pub fn check_body(
    grants: &[Grant],
    bases: &LocalBases,
    rt: &str,
    body: &[u8],
) -> Result<(), GatewayError> {
    if grants.iter().any(Grant::is_unrestricted) {
        return Ok(());
    }
    let resource: Value = serde_json::from_slice(body)
        .map_err(|_| GatewayError::BadRequest("body is not a JSON resource".into()))?;
    if admits_write(grants, bases, rt, &resource) {
        Ok(())
    } else {
        Err(denied(format_args!(
            "writing this {rt} (it names a patient or category outside the granted scopes, or no patient: a shared record, which patient/ scopes do not write)"
        )))
    }
}

/// An operation the gateway authorizes (FHIR R4 "Extended Operations on the RESTful API",
/// operations.html): where it is invoked, with which methods, and the grant it needs.
#[derive(Debug)]
pub struct OperationDef {
    /// The resource type it is invoked on.
    pub resource_type: &'static str,
    /// Its name, without `$`.
    pub name: &'static str,
    /// Invoked on an instance (`[type]/[id]/$name`) rather than on the type.
    pub instance: bool,
    /// The methods it takes (GET only where it changes nothing), for `Allow`.
    pub methods: &'static [&'static str],
    /// Served by the gateway itself (`$ingest`) rather than by the route's adapter.
    pub own: bool,
    grant_type: &'static str,
    permission: Permission,
}

/// Every operation the gateway authorizes; any other is refused for every caller.
pub const OPERATIONS: [OperationDef; 3] = [
    OperationDef {
        resource_type: "Patient",
        name: "everything",
        instance: true,
        methods: &["GET", "POST"],
        own: false,
        grant_type: "Patient",
        permission: Permission::Read,
    },
    OperationDef {
        resource_type: "Patient",
        name: "ingest",
        instance: true,
        methods: &["POST"],
        own: true,
        grant_type: "Observation",
        permission: Permission::Create,
    },
    OperationDef {
        resource_type: "CoverageEligibilityRequest",
        name: "submit",
        instance: false,
        methods: &["POST"],
        own: false,
        grant_type: "CoverageEligibilityRequest",
        permission: Permission::Create,
    },
];

/// The operation `$name` on `resource_type` (`None` = system level), on an instance or
/// on the type, when [`OPERATIONS`] defines it there.
pub fn operation_def(
    resource_type: Option<&str>,
    name: &str,
    instance: bool,
) -> Option<&'static OperationDef> {
    OPERATIONS.iter().find(|d| {
        Some(d.resource_type) == resource_type && d.name == name && d.instance == instance
    })
}

fn operation(subject: &Subject, request: &FhirRequest) -> Result<(), GatewayError> {
    let rt = request.resource_type.as_deref();
    let op = request.operation.as_deref().unwrap_or("");
    let id = request.id.as_deref();
    let Some(def) = operation_def(rt, op, id.is_some()) else {
        return Err(denied(format_args!("operation ${op} here")));
    };
    let (grant_type, perm) = (def.grant_type, def.permission);
    let grants = subject.grants(grant_type, perm);
    if grants.is_empty() {
        return Err(denied(format_args!("${op}")));
    }
    if let (Some(id), Some(set)) = (id, patient_union(&grants))
        && !set.contains(id)
    {
        return Err(hidden("Patient", id));
    }
    if op == "submit" {
        check_body(&grants, &subject.local_bases, grant_type, &request.body)?;
    }
    if op == "ingest" {
        ingest_subject(subject, id.unwrap_or(""))?;
    }
    Ok(())
}

/// `$ingest` checks that its subject exists (404 when it does not), which tells whether a
/// Patient exists: only to a caller entitled to know. That is a caller whose launch context
/// is that patient (SMART App Launch 2.x §2.0.10: the authorization server chose it), or one
/// that may read it (`r` on Patient reaching it, without a granular restriction the answer
/// could bypass). Any other caller (e.g. `system/Observation.c` alone) is refused with the
/// same 403 whether or not the patient exists, before anything is read.
fn ingest_subject(subject: &Subject, id: &str) -> Result<(), GatewayError> {
    if subject.identity.principal.patient.as_deref() == Some(id) {
        return Ok(());
    }
    let reads = subject
        .grants("Patient", Permission::Read)
        .into_iter()
        .filter(|g| g.constraint.is_empty())
        .any(|g| match &g.reach {
            super::access::Reach::All => true,
            super::access::Reach::Patients(set) => set.contains(id),
        });
    if reads {
        Ok(())
    } else {
        Err(GatewayError::Auth(AuthError::forbidden(
            "$ingest needs read access to the Patient it names (r on Patient, e.g. system/Patient.r), or that patient as the launch context: whether the patient exists is checked",
        )))
    }
}

//! The scope check a request's head already decides (attack finding: a token without write
//! scope held the buffered-body budget while it trickled a body the edge read before
//! checking scopes). For a create, update, patch or `POST [type]/_search`, the method and
//! URL name the interaction and the resource type, so a token none of whose scopes grants
//! that permission on that type (SMART App Launch 2.x §3.1.2) is refused 403 before its body
//! is read or reserved (the edge asks it in `edge::request::build`, after the checks of the
//! head that answer 400 for every caller). The full check ([`crate::auth::protect`]) still
//! runs for every request that passes: this one only refuses what it would refuse too, with
//! the same answer.

use axum::http::Method;
use fhirgate_adapters::Interaction;
use fhirgate_adapters::interaction::parse_target;

use crate::auth::scope::{Context, Permission};
use crate::auth::{AuthError, Identity};
use crate::error::GatewayError;

/// The 403 (`insufficient_scope`) for `method` on `path` (below `/fhir`, no slashes at
/// either end) when no scope of `identity` grants the permission it needs on its type;
/// `None` when the scopes may allow it or the head alone does not decide (batch,
/// transaction, operations, system level, a path that names nothing).
pub fn head_denial(identity: &Identity, method: &Method, path: &str) -> Option<GatewayError> {
    let target = parse_target(method, path).ok()?;
    // The permissions of SMART App Launch 2.x §3.1.2, for the interactions that carry a body.
    let permission = match target.interaction {
        Interaction::Create => Permission::Create,
        Interaction::Update | Interaction::Patch => Permission::Update,
        Interaction::SearchType => Permission::Search,
        _ => return None,
    };
    let resource_type = target.resource_type?;
    // As `Subject::grants`: a `patient/` scope grants nothing without a patient context.
    let has_patient = identity.principal.patient.is_some();
    let granted = identity.scopes.resources.iter().any(|scope| {
        scope.grants(&resource_type, permission)
            && (scope.context != Context::Patient || has_patient)
    });
    if granted {
        return None;
    }
    Some(GatewayError::Auth(AuthError::forbidden(format!(
        "the granted scopes do not allow {} on {resource_type}",
        target.interaction.code()
    ))))
}

//! Operations (`$name`, FHIR R4 operations.html) the gateway does not serve, or methods an
//! operation does not take, answered once the caller is authenticated and before scopes
//! are looked at: an unknown operation is 404 `not-supported` (not a 403 that would send
//! the caller after scopes no token can have), a known one with another method is 405 with
//! `Allow` (RFC 9110 §15.5.6).
//!
//! Nothing about patient data can leak: the answer depends only on the method, the
//! resource type, the operation's name and whether an id is present (never on the id's
//! value or on stored data), which is what the server supports, not what it holds.

use axum::http::Method;
use fhirgate_adapters::Interaction;
use fhirgate_adapters::interaction::parse_target;

use crate::auth::operation_def;
use crate::error::GatewayError;
use crate::state::AppState;

/// Checks an operation request (`path` below `/fhir`, no slashes at the ends); any other
/// request, or a path that names no interaction, passes (the request builder answers it).
pub fn check(state: &AppState, method: &Method, path: &str) -> Result<(), GatewayError> {
    let Ok(target) = parse_target(method, path) else {
        return Ok(());
    };
    if target.interaction != Interaction::Operation {
        return Ok(());
    }
    let name = target.operation.as_deref().unwrap_or("");
    let resource_type = target.resource_type.as_deref();
    let instance = target.id.is_some();
    let level = match (resource_type, instance) {
        (Some(rt), true) => format!("{rt} instances"),
        (Some(rt), false) => rt.to_owned(),
        (None, _) => "the system level".to_owned(),
    };
    let Some(def) =
        operation_def(resource_type, name, instance).filter(|d| state.serves_operation(d))
    else {
        return Err(GatewayError::OperationNotSupported(format!(
            "operation ${name} is not supported on {level}"
        )));
    };
    if !def.methods.contains(&method.as_str()) {
        return Err(GatewayError::MethodNotAllowed {
            message: format!("${name} takes {}, not {method}", def.methods.join(" or ")),
            allow: def.methods.join(", "),
        });
    }
    Ok(())
}

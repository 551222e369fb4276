//! The FHIR REST edge under `/fhir`: one handler that parses the interaction, picks the
//! route's adapter(s) and turns the adapter's answer into the HTTP response.

mod base;
mod entity_tags;
mod json_keys;
pub(crate) mod modifier;
pub(crate) mod negotiate;
pub(crate) mod operation;
pub(crate) mod query;
mod request;
mod response;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use fhirgate_adapters::{FhirRequest, FhirResponse, Interaction};

pub use base::public_base;
pub use entity_tags::{
    check as check_entity_tags, check_entry as check_entry_entity_tags, weak_match,
};

use crate::error::GatewayError;
use crate::observe::{EdgeLabels, RequestId};
use crate::state::AppState;

/// Handles every request under `/fhir`.
pub async fn handle(State(state): State<Arc<AppState>>, request: Request<Body>) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let client_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let path = request
        .uri()
        .path()
        .trim_start_matches("/fhir")
        .trim_matches('/')
        .to_owned();
    // Every FHIR call but `metadata` needs a valid token (SMART App Launch 2.x), checked
    // before the body is read or the path is resolved, so nothing is revealed to anonymous
    // callers.
    let identity = if path == "metadata" {
        None
    } else {
        // The identify layer already validated the token for the policy layers; reuse it.
        let validated = request
            .extensions()
            .get::<Arc<crate::auth::Identity>>()
            .cloned();
        let identity = match validated {
            Some(identity) => Ok(identity),
            None => state.auth.authenticate(request.headers()).await,
        };
        match identity {
            Ok(identity) => Some(identity),
            Err(e) => {
                let mut response = GatewayError::from(e).into_response();
                response.extensions_mut().insert(EdgeLabels::default());
                return response;
            }
        }
    };
    let principal = identity.as_ref().map(|i| i.principal.clone());
    // An operation no route serves (404) or a method it does not take (405) is answered
    // before its body is read or scopes are checked: it says what is supported, nothing held.
    if identity.is_some()
        && let Err(e) = operation::check(&state, request.method(), &path)
    {
        let mut response = e.into_response();
        response.extensions_mut().insert(EdgeLabels::default());
        if let Some(principal) = principal {
            response.extensions_mut().insert(principal);
        }
        return response;
    }
    // `$ingest` streams its body under its own limit (`ingest.max_bytes`) instead of the
    // edge's buffered read within `server.body_limit`.
    if let Some(identity) = identity
        .clone()
        .filter(|_| crate::ingest::is_ingest(request.method(), &path))
    {
        let (result, labels) =
            crate::ingest::handle(&state, identity, request, &path, request_id, client_ip).await;
        let mut response = match result {
            Ok(answer) => response::into_http(answer),
            Err(e) => e.into_response(),
        };
        response.extensions_mut().insert(labels);
        if let Some(principal) = principal {
            response.extensions_mut().insert(principal);
        }
        return response;
    }
    let caller = identity.as_deref();
    let built = request::build(
        &state.config.server,
        request,
        &path,
        caller,
        request_id,
        client_ip,
    )
    .await;
    let (result, labels) = match built {
        Ok(fhir) => {
            let labels = EdgeLabels::of(&fhir);
            let result = match identity {
                Some(identity) => {
                    crate::auth::protect(&state, identity, fhir, |f| dispatch(&state, f)).await
                }
                None => dispatch(&state, fhir).await,
            };
            (result, labels)
        }
        Err(e) => (Err(e), EdgeLabels::default()),
    };
    let mut response = match result {
        Ok(answer) => response::into_http(answer),
        Err(e) => e.into_response(),
    };
    response.extensions_mut().insert(labels);
    // The validated caller, for the audit record (outer layers read response extensions).
    if let Some(principal) = principal {
        response.extensions_mut().insert(principal);
    }
    response
}

/// Sends the request to the adapter(s) its route names. Writes go to every adapter of the
/// route in order, the first one's answer being the client's; the others get the request
/// only when the first succeeded.
async fn dispatch(state: &AppState, request: FhirRequest) -> Result<FhirResponse, GatewayError> {
    if request.interaction == Interaction::Capabilities {
        return Ok(state.capability.response(&request.base_url));
    }
    let resource_type = request.resource_type.as_deref();
    let route = state
        .route(resource_type, request.interaction)
        .ok_or_else(|| {
            GatewayError::NotFound(format!(
                "no route serves {} on {}",
                request.interaction.code(),
                resource_type.unwrap_or("the system level")
            ))
        })?;
    let mut adapters = route.iter();
    let Some(primary) = adapters.next() else {
        return Err(GatewayError::NotFound("route names no adapter".into()));
    };
    if !request.interaction.is_write() || route.len() == 1 {
        return Ok(primary.handle(request).await?);
    }
    let answer = primary.handle(request.clone()).await?;
    if answer.status.is_success() {
        // Secondaries learn the id and version the primary assigned (its `Location`).
        let mut request = request;
        request
            .headers
            .remove(fhirgate_adapters::hl7v2::PRIMARY_LOCATION);
        if let Some(location) = answer.headers.get(axum::http::header::LOCATION) {
            request
                .headers
                .insert(fhirgate_adapters::hl7v2::PRIMARY_LOCATION, location.clone());
        }
        for secondary in adapters {
            match secondary.handle(request.clone()).await {
                Ok(r) if r.status.is_success() => {}
                Ok(r) => {
                    tracing::warn!(adapter = %secondary.name(), status = r.status.as_u16(), "secondary write refused")
                }
                Err(e) => {
                    tracing::warn!(adapter = %secondary.name(), error = %e, "secondary write failed")
                }
            }
        }
    }
    Ok(answer)
}

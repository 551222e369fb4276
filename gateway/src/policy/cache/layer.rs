//! The cache middleware. GET read, vread, search and `metadata`/`smart-configuration` are
//! answered from the cache when a fresh entry exists for the same normalized request and
//! the same effective access; `If-None-Match` matching the entry's ETag answers 304. A
//! request whose caller has credentials the policy layers could not resolve to a
//! principal is never cached. Successful writes invalidate what they touched.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fhirgate_adapters::Interaction;
use fhirgate_adapters::interaction::parse_target;
use http_body_util::{BodyExt, LengthLimitError};

use super::key::{self, Access, Touched};
use super::{Entry, ResponseCache};
use crate::edge::{check_entity_tags, public_base};
use crate::error::GatewayError;
use crate::policy::principal::Caller;
use crate::state::AppState;

/// What the cache does with a request.
enum Plan {
    /// Not the cache's business.
    Pass,
    /// A cacheable read.
    Read {
        resource_type: Option<String>,
        id: Option<String>,
        search: bool,
        public: bool,
    },
    /// A write: invalidate on success.
    Write(Vec<Touched>),
    /// A batch/transaction: the body says what it writes.
    Bundle,
}

fn plan(method: &Method, path: &str) -> Plan {
    let Some(rest) = path.strip_prefix("/fhir") else {
        // Inbound pharmacy messages write prescriptions and dispenses.
        return if path.starts_with("/ncpdp/") && method != Method::GET {
            Plan::Write(vec![Touched::All])
        } else {
            Plan::Pass
        };
    };
    let rest = rest.trim_matches('/');
    if rest == ".well-known/smart-configuration" && method == Method::GET {
        return Plan::Read {
            resource_type: None,
            id: None,
            search: false,
            public: true,
        };
    }
    let Ok(target) = parse_target(method, rest) else {
        return Plan::Pass;
    };
    let rt = target.resource_type.clone();
    match target.interaction {
        Interaction::Capabilities => Plan::Read {
            resource_type: Some("CapabilityStatement".into()),
            id: None,
            search: false,
            public: true,
        },
        Interaction::Read | Interaction::Vread if method == Method::GET => Plan::Read {
            resource_type: rt,
            id: target.id,
            search: false,
            public: false,
        },
        Interaction::SearchType | Interaction::SearchSystem if method == Method::GET => {
            Plan::Read {
                resource_type: rt,
                id: None,
                search: true,
                public: false,
            }
        }
        Interaction::Create | Interaction::Update | Interaction::Patch | Interaction::Delete => {
            match rt {
                Some(rt) => Plan::Write(vec![Touched::Type(rt, target.id)]),
                None => Plan::Write(vec![Touched::All]),
            }
        }
        Interaction::Batch | Interaction::Transaction => Plan::Bundle,
        Interaction::Operation if method != Method::GET => Plan::Write(vec![Touched::All]),
        _ => Plan::Pass,
    }
}

/// The middleware (`axum::middleware::from_fn_with_state`).
pub async fn cache(
    State(state): State<Arc<AppState>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let Some(cache) = state.policy.cache.clone() else {
        return next.run(request).await;
    };
    let mut plan = plan(request.method(), request.uri().path());
    if matches!(plan, Plan::Bundle) && Caller::of(&request).principal.is_none() {
        // No validated caller: the edge refuses it (401) before reading its body, so it is
        // not read here either; should the edge still run it, everything is invalidated.
        plan = Plan::Write(vec![Touched::All]);
    }
    match plan {
        Plan::Pass => next.run(request).await,
        Plan::Write(touched) => {
            let response = next.run(request).await;
            if response.status().is_success() {
                cache.invalidate(&touched).await;
            }
            response
        }
        Plan::Bundle => {
            let (parts, body) = request.into_parts();
            let limit =
                usize::try_from(state.config.server.body_limit.as_u64()).unwrap_or(usize::MAX);
            // A declared length over the limit is refused unread, as the edge does.
            if axum::body::HttpBody::size_hint(&body).lower() > limit as u64 {
                return GatewayError::PayloadTooLarge {
                    limit: state.config.server.body_limit.as_u64(),
                }
                .into_response();
            }
            let bytes = match http_body_util::Limited::new(body, limit).collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return GatewayError::PayloadTooLarge {
                        limit: state.config.server.body_limit.as_u64(),
                    }
                    .into_response();
                }
                Err(e) => {
                    return GatewayError::BadRequest(format!(
                        "request body could not be read: {e}"
                    ))
                    .into_response();
                }
            };
            let touched = key::bundle_writes(&bytes).unwrap_or_else(|| vec![Touched::All]);
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            if response.status().is_success() {
                cache.invalidate(&touched).await;
            }
            response
        }
        Plan::Read {
            resource_type,
            id,
            search,
            public,
        } => {
            read(
                &state,
                &cache,
                request,
                next,
                resource_type,
                id,
                search,
                public,
            )
            .await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn read(
    state: &AppState,
    cache: &ResponseCache,
    request: Request<Body>,
    next: Next,
    resource_type: Option<String>,
    id: Option<String>,
    search: bool,
    public: bool,
) -> Response {
    let ttl = cache.config.ttl(resource_type.as_deref());
    let asked = key::directives(request.headers());
    let caller = Caller::of(&request);
    let access = match (&caller.principal, public, caller.has_credentials) {
        (_, true, _) => Access::Public,
        (Some(p), false, _) => Access::of(p),
        (None, false, false) => Access::Anonymous,
        // Credentials we could not resolve: the access is unknown, so never share.
        (None, false, true) => return next.run(request).await,
    };
    // A malformed If-None-Match (or If-Match) is the edge's 400 (LOW N6), never a hit's
    // 200 or 304: such a request goes past the cache.
    if ttl == 0
        || asked.no_store
        || request.headers().contains_key(header::IF_MODIFIED_SINCE)
        || check_entity_tags(request.headers()).is_err()
    {
        return next.run(request).await;
    }
    let base = public_base(&state.config.server, request.headers()).unwrap_or_default();
    let cache_key = key::cache_key(
        &base,
        request.uri().path(),
        request.uri().query(),
        request.headers(),
        &access,
    );
    if !asked.no_cache
        && let Some(hit) = cache.get(&cache_key).await
    {
        return from_entry(&hit, request.headers());
    }
    let generation = cache.generation();
    let response = next.run(request).await;
    let said = key::directives(response.headers());
    let exact = axum::body::HttpBody::size_hint(response.body()).exact();
    let refused = response.status() != StatusCode::OK
        || said.no_store
        || said.no_cache
        || (said.private && access == Access::Public);
    let storable = !refused && exact.is_some_and(|n| n <= cache.config.max_entry_bytes.as_u64());
    if !storable {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await else {
        return Response::from_parts(parts, Body::empty());
    };
    let bytes = collected.to_bytes();
    let entry = Entry {
        status: parts.status,
        headers: parts.headers.clone(),
        body: bytes.clone(),
        resource_type,
        id,
        search,
        stored: Instant::now(),
        ttl: std::time::Duration::from_secs(ttl),
    };
    cache.put(cache_key, entry, generation).await;
    Response::from_parts(parts, Body::from(bytes))
}

/// A response from a cached entry: 304 when `If-None-Match` matches its ETag, else the
/// stored answer with `Age` (RFC 9111 §5.1).
fn from_entry(entry: &Entry, request_headers: &axum::http::HeaderMap) -> Response {
    let age = HeaderValue::from(entry.stored.elapsed().as_secs());
    let etag = entry
        .headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok());
    if let Some(etag) = etag
        && key::none_match(request_headers, etag)
    {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        for name in [header::ETAG, header::LAST_MODIFIED, header::CACHE_CONTROL] {
            if let Some(v) = entry.headers.get(&name) {
                r.headers_mut().insert(name, v.clone());
            }
        }
        r.headers_mut().insert(header::AGE, age);
        return r;
    }
    let mut r = Response::new(Body::from(entry.body.clone()));
    *r.status_mut() = entry.status;
    *r.headers_mut() = entry.headers.clone();
    r.headers_mut().insert(header::AGE, age);
    r
}

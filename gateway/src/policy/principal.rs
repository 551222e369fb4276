//! Who is calling, as the policy layers see it: the validated [`Principal`] the
//! authentication step puts in the request extensions, else the peer IP.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use fhirgate_adapters::interaction::Principal;

/// The caller of one request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The validated token's identity, when authentication ran and succeeded.
    pub principal: Option<Principal>,
    /// The peer address (the TCP peer; `X-Forwarded-For` is not trusted here).
    pub ip: Option<IpAddr>,
    /// Whether the request carries an `Authorization` header at all.
    pub has_credentials: bool,
}

impl Caller {
    /// Reads the caller from `request`'s extensions and headers.
    pub fn of<B>(request: &Request<B>) -> Self {
        Self {
            principal: request.extensions().get::<Principal>().cloned(),
            ip: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
            has_credentials: request.headers().contains_key(header::AUTHORIZATION),
        }
    }

    /// The rate-limit key: `client:<client_id>` for a validated token (the client is
    /// `client_id`, else `azp`, else `sub`, as the authentication step resolved it),
    /// `ip:<addr>` otherwise.
    pub fn limit_key(&self) -> String {
        match &self.principal {
            Some(p) if !p.client_id.is_empty() => format!("client:{}", p.client_id),
            _ => format!("ip:{}", self.ip.map(|i| i.to_string()).unwrap_or_default()),
        }
    }
}

/// Middleware: when the request carries a bearer token that validates, puts its
/// [`Principal`] into the request extensions for the rate limit, audit and cache layers,
/// and the validated identity itself for the edge, which then does not validate again.
/// A missing or bad token changes nothing here: the edge answers 401/403 itself.
pub async fn identify(
    axum::extract::State(state): axum::extract::State<std::sync::Arc<crate::state::AppState>>,
    mut request: Request<axum::body::Body>,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request.headers().contains_key(header::AUTHORIZATION)
        && let Ok(identity) = state.auth.authenticate(request.headers()).await
    {
        request.extensions_mut().insert(identity.principal.clone());
        request.extensions_mut().insert(identity);
    }
    next.run(request).await
}

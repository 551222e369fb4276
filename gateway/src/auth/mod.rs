//! SMART-on-FHIR authorization for the FHIR edge (SMART App Launch 2.x, SMART Backend
//! Services, RFC 6750, RFC 7519, RFC 7662): token validation, scopes, the patient
//! compartment, the response post-filter, discovery and the sandbox authorization server.
//!
//! Flow per `/fhir` request (except `metadata` and `.well-known/smart-configuration`):
//! [`Auth::authenticate`] (401) → [`protect`]: [`enforce::authorize`] (403/404, narrowing)
//! → the adapter (a search the filter may thin out carries the filter's rule, so the store
//! pages over what the caller sees: [`filter::rule`]) → [`filter::filter`] (withholds
//! anything outside the grants) → for an instance history, [`history`] (its deletions and
//! paging); for a search the adapter paged over everything, [`search_pages`].
//! A batch goes through [`bundle::batch`] instead: each entry authorized on its own, the refused
//! ones answered in place, the merged `batch-response` filtered the same way.

mod access;
mod bundle;
mod bundle_history;
mod bundle_limit;
mod bundle_merge;
mod bundle_parts;
mod bundle_search;
mod bundle_stored;
mod compartment;
mod conditional;
mod conditional_write;
pub mod config;
pub mod discovery;
mod enforce;
pub mod error;
mod filter;
mod history;
mod history_deletes;
mod history_pages;
mod identity;
mod introspect;
pub mod jwks;
pub mod local_base;
mod lookup;
mod narrow;
mod page_links;
pub mod sandbox;
pub mod scope;
mod search_pages;
pub mod validate;
mod write_guard;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use fhirgate_adapters::{FhirRequest, FhirResponse, Interaction};

pub use access::{Reach, Subject};
pub use config::AuthConfig;
pub use enforce::{OPERATIONS, OperationDef, operation_def};
pub use error::AuthError;
pub use identity::{Identity, relative_reference};

use crate::error::GatewayError;
use crate::state::AppState;
use config::UserPatients;
use jwks::{IssuerKeys, KeySet, Source};
use sandbox::{Sandbox, SandboxKey};
use validate::{TrustedIssuer, Validator};

/// Timeout for JWKS, discovery and introspection calls.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why authorization could not be set up at startup.
#[derive(Debug, thiserror::Error)]
pub enum AuthBuildError {
    /// The sandbox key could not be loaded or created.
    #[error(transparent)]
    Key(#[from] sandbox::keys::KeyError),
    /// A sandbox client's JWKS could not be read.
    #[error("{0}")]
    Client(String),
}

/// The built authorization: validator, user policy, and the sandbox when enabled.
pub struct Auth {
    /// Token validation for every trusted issuer.
    pub validator: Validator,
    /// The sandbox authorization server, when enabled and its key is loaded.
    pub sandbox: Option<Arc<Sandbox>>,
    user_patients: UserPatients,
    /// `fhirUser` → the patients it cares for (`care_team` policy), kept for
    /// [`CARE_TEAM_TTL`]: a new Encounter or CareTeam takes effect within that time.
    care_team: moka::sync::Cache<String, Arc<std::collections::BTreeSet<String>>>,
}

/// How long a practitioner's patient list is reused.
pub const CARE_TEAM_TTL: Duration = Duration::from_secs(60);

fn care_team_cache() -> moka::sync::Cache<String, Arc<std::collections::BTreeSet<String>>> {
    moka::sync::Cache::builder()
        .max_capacity(10_000)
        .time_to_live(CARE_TEAM_TTL)
        .build()
}

impl Auth {
    /// Builds from config. `sandbox_key` is the loaded sandbox key (see [`Auth::build`]);
    /// without it the sandbox is off and its tokens are not trusted.
    pub fn new(
        config: &AuthConfig,
        sandbox_key: Option<Arc<SandboxKey>>,
    ) -> Result<Self, AuthBuildError> {
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        let refetch = Duration::from_secs(config.jwks_refetch_seconds.max(1));
        let max_age = Duration::from_secs(config.jwks_cache_seconds.max(1));
        let mut issuers: Vec<Arc<TrustedIssuer>> = config
            .issuers
            .iter()
            .map(|i| {
                let source = Source::Remote {
                    issuer: i.issuer.clone(),
                    jwks_uri: i.jwks_uri.clone(),
                };
                Arc::new(TrustedIssuer {
                    issuer: i.issuer.clone(),
                    algorithms: i.algorithms.iter().filter_map(|a| a.parse().ok()).collect(),
                    keys: IssuerKeys::new(source, http.clone(), refetch, max_age),
                    introspector: i.introspection.clone().map(|c| {
                        introspect::Introspector::new(
                            c,
                            http.clone(),
                            Duration::from_secs(config.introspection_cache_seconds),
                        )
                    }),
                })
            })
            .collect();
        let mut sandbox = None;
        if let (true, Some(key)) = (config.sandbox.enabled, sandbox_key) {
            let s = Sandbox::build(config, key.clone()).map_err(AuthBuildError::Client)?;
            issuers.push(Arc::new(TrustedIssuer {
                issuer: s.issuer().to_owned(),
                algorithms: vec![jsonwebtoken::Algorithm::ES384],
                keys: IssuerKeys::new(
                    Source::Static(KeySet::from_json(&key.jwks())),
                    http.clone(),
                    refetch,
                    max_age,
                ),
                introspector: None,
            }));
            sandbox = Some(Arc::new(s));
        }
        Ok(Self {
            validator: Validator::new(issuers, config.audiences.clone(), config.leeway_seconds),
            sandbox,
            user_patients: config.user_patients,
            care_team: care_team_cache(),
        })
    }

    /// Builds from config, loading (or creating) the sandbox key in `data_dir` when the
    /// sandbox is enabled.
    pub fn build(config: &AuthConfig, data_dir: &std::path::Path) -> Result<Self, AuthBuildError> {
        let key = if config.sandbox.enabled {
            Some(Arc::new(SandboxKey::load_or_create(data_dir)?))
        } else {
            None
        };
        Self::new(config, key)
    }

    /// Validates the request's bearer token (RFC 6750 §2.1).
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Arc<Identity>, AuthError> {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => return Err(AuthError::Missing),
            (Some(value), None) => value,
            // RFC 6750 §2: exactly one method, one credential.
            (Some(_), Some(_)) => {
                return Err(AuthError::invalid(
                    "more than one Authorization header; send exactly one bearer token",
                ));
            }
        };
        let value = value
            .to_str()
            .map_err(|_| AuthError::invalid("malformed Authorization header"))?;
        let (scheme, token) = value
            .split_once(' ')
            .ok_or(AuthError::invalid("malformed Authorization header"))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Missing);
        }
        self.validator.validate(token.trim()).await
    }
}

/// Authorizes `request` for `identity`, runs `next` (the adapter dispatch) and filters its
/// answer. The principal reaches the adapter in `FhirRequest::principal`.
pub async fn protect<F, Fut>(
    state: &AppState,
    identity: Arc<Identity>,
    mut request: FhirRequest,
    next: F,
) -> Result<FhirResponse, GatewayError>
where
    F: FnOnce(FhirRequest) -> Fut,
    Fut: Future<Output = Result<FhirResponse, GatewayError>>,
{
    request.principal = Some(identity.principal.clone());
    let subject = subject_of(state, identity, &request).await?;
    if request.interaction == Interaction::Batch {
        // Entry by entry (FHIR R4 §3.1.0.11.1): refused entries are answered in place,
        // the others forwarded; the merged answer is filtered there.
        return bundle::batch(state, &subject, request, next).await;
    }
    enforce::authorize(state, &subject, &mut request).await?;
    if subject.sees_everything() {
        return next(request).await;
    }
    let interaction = request.interaction;
    if interaction == Interaction::HistoryInstance {
        // Filtered, its deletions and paging fixed, in one place for REST and batch.
        return history::answer(state, &subject, request, next).await;
    }
    let searched = match interaction {
        Interaction::SearchType => request.resource_type.clone(),
        _ => None,
    };
    // A search the post-filter may thin out: the adapter is asked to page over what the
    // caller sees (the store does); if it did not, the links are fixed afterwards.
    request.visibility = searched
        .as_deref()
        .and_then(|rt| filter::rule(&subject, rt));
    let if_none_match = conditional::take(&mut request);
    let again = request.visibility.is_some().then(|| request.clone());
    let read = (interaction == Interaction::Read).then(|| request.clone());
    let answer = next(request).await?;
    if let Some(read) = read
        && answer.status == http::StatusCode::GONE
        && history_deletes::gone_shown(state, &subject, &read, &answer.headers).await?
    {
        // The caller's own resource, deleted: 410 as for anyone (FHIR R4 §3.1.0.2).
        return Ok(answer);
    }
    let mut answer = if matches!(
        interaction,
        Interaction::Read
            | Interaction::Vread
            | Interaction::Create
            | Interaction::Update
            | Interaction::Patch
    ) {
        // One stored resource: a Bundle of any type is judged whole.
        filter::filter_resource(&subject, answer).await?
    } else {
        filter::filter(&subject, answer, searched.as_deref()).await?
    };
    if !answer.status.is_success() {
        // An error the adapter answered reaches the caller as it is, as for any other caller.
        return Ok(answer);
    }
    if let Some(search) = again
        && search.visibility.as_ref().is_some_and(|v| !v.honoured())
    {
        // The adapter paged over every match: no empty page, no link to one.
        answer = search_pages::relink(state, &subject, &search, answer).await?;
    }
    conditional::finish(interaction, if_none_match, answer)
}

/// Authorizes `request` for `identity` as [`protect`] does, but leaves the answer to the
/// caller, unfiltered: only for answers that carry no resource, so nothing could need
/// filtering. Used by `$ingest`, whose batch-response (statuses, the `Location`s of the
/// path patient's own Observations, OperationOutcomes) is streamed and must not be
/// buffered by [`filter::filter`]. Returns the request with its principal set.
pub async fn authorize_unfiltered(
    state: &AppState,
    identity: Arc<Identity>,
    mut request: FhirRequest,
) -> Result<FhirRequest, GatewayError> {
    request.principal = Some(identity.principal.clone());
    let subject = subject_of(state, identity, &request).await?;
    enforce::authorize(state, &subject, &mut request).await?;
    Ok(request)
}

/// The caller's [`Subject`]: its identity and, for `user/` scopes under the `care_team`
/// policy, the patients it may reach.
async fn subject_of(
    state: &AppState,
    identity: Arc<Identity>,
    request: &FhirRequest,
) -> Result<Subject, GatewayError> {
    let local_bases = local_bases(state, request);
    let user_reach = match state.auth.user_patients {
        UserPatients::CareTeam if identity.scopes.has_context(scope::Context::User) => {
            let user = identity.principal.fhir_user.clone().unwrap_or_default();
            match state.auth.care_team.get(&user) {
                Some(set) => Reach::Patients(set),
                None => {
                    let set = lookup::care_team_patients(
                        state,
                        request,
                        Some(&user).filter(|u| !u.is_empty()).map(String::as_str),
                        &local_bases,
                    )
                    .await?;
                    let set = Arc::new(set);
                    state.auth.care_team.insert(user, set.clone());
                    Reach::Patients(set)
                }
            }
        }
        _ => Reach::All,
    };
    Ok(Subject {
        identity,
        user_reach,
        local_bases,
    })
}

/// The bases under which an absolute reference names a local resource: the request's
/// public base and those of the upstream FHIR adapters ([`AppState::upstream_bases`]).
fn local_bases(state: &AppState, request: &FhirRequest) -> local_base::LocalBases {
    state.upstream_bases.for_request(&request.base_url)
}

/// The `base_url` of every upstream FHIR adapter in `config`: their resources reference
/// that server's own patients, served here as ours.
pub fn upstream_bases(config: &crate::config::Config) -> local_base::LocalBases {
    local_base::LocalBases::new(config.adapters.values().filter_map(|a| match a {
        fhirgate_adapters::AdapterConfig::Fhir(c) => Some(c.base_url.as_str()),
        _ => None,
    }))
}

impl Auth {
    /// An `Auth` that trusts no issuer (every token is refused).
    pub fn deny_all() -> Self {
        Self {
            validator: Validator::new(Vec::new(), Vec::new(), 0),
            sandbox: None,
            user_patients: UserPatients::All,
            care_team: care_team_cache(),
        }
    }
}

#[cfg(test)]
mod tests;

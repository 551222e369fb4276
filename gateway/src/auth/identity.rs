//! The identity a verified token carries: claims → [`Principal`] and parsed [`Scopes`].

use std::collections::HashSet;

use fhirgate_adapters::interaction::{Principal, is_valid_id};
use serde_json::{Map, Value};

use super::error::AuthError;
use super::scope::Scopes;

/// A verified access token.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Who is calling (passed to adapters and the audit record).
    pub principal: Principal,
    /// The granted scopes, parsed.
    pub scopes: Scopes,
    /// The issuer that vouched for the token.
    pub issuer: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

impl Identity {
    /// Builds the identity from verified claims (a JWT payload or an RFC 7662 answer).
    ///
    /// Rules (SMART App Launch 2.x §3, §4): `scope` is a space-separated string; `patient`
    /// must be a valid FHIR id; `fhirUser` must end in `Type/id` and is kept as `Type/id`;
    /// the client is `client_id`, else `azp`, else `sub`.
    pub fn from_claims(
        claims: &Map<String, Value>,
        issuer: &str,
        exp: u64,
    ) -> Result<Self, AuthError> {
        let text = |k: &str| claims.get(k).and_then(Value::as_str);
        let scope = text("scope").ok_or(AuthError::invalid("token carries no scope claim"))?;
        let patient = match claims.get("patient") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if is_valid_id(p) => Some(p.clone()),
            Some(_) => return Err(AuthError::invalid("patient claim is not a FHIR id")),
        };
        let fhir_user = match text("fhirUser") {
            None => None,
            Some(u) => Some(
                relative_reference(u)
                    .ok_or(AuthError::invalid("fhirUser claim is not a FHIR reference"))?,
            ),
        };
        let client_id = text("client_id")
            .or_else(|| text("azp"))
            .or_else(|| text("sub"))
            .unwrap_or("")
            .to_owned();
        let mut seen = HashSet::new();
        let scopes_list: Vec<String> = scope
            .split_ascii_whitespace()
            .filter(|s| seen.insert(*s))
            .map(str::to_owned)
            .collect();
        Ok(Self {
            principal: Principal {
                client_id,
                fhir_user,
                patient,
                scopes: scopes_list,
            },
            scopes: Scopes::parse(scope),
            issuer: issuer.to_owned(),
            exp,
        })
    }
}

/// `Practitioner/1`, `https://x/fhir/Practitioner/1` or `Practitioner/1/_history/2` →
/// `Practitioner/1`; `None` when it is not a reference to a known type with a valid id.
pub fn relative_reference(reference: &str) -> Option<String> {
    let trimmed = match reference.find("/_history/") {
        Some(i) => &reference[..i],
        None => reference,
    };
    let mut parts = trimmed.rsplitn(3, '/');
    let id = parts.next()?;
    let rt = parts.next()?;
    (fhirgate_adapters::interaction::is_resource_type(rt) && is_valid_id(id))
        .then(|| format!("{rt}/{id}"))
}

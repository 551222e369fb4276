//! Conditional create (`If-None-Exist`, FHIR R4 http.html §3.1.0.8) checked and, for
//! callers restricted to some patients, resolved by the gateway.
//!
//! The criteria are a search: they need `s` on the type and are verified and narrowed like
//! one (`narrow`), so naming another patient answers 403. Narrowing bounds a search only on
//! types of the Patient compartment; on any other type (Device, Task, Medication …) the
//! store would match every patient's resources, answer 200 for a match the post-filter then
//! turns into 404, and 201 when nothing matches: an oracle for other patients' data (and in
//! a transaction a 404 entry inside a committed `transaction-response`).
//!
//! So for a restricted caller the condition counts only the matches that caller may see,
//! as the compartment narrowing already makes it count on compartment types: a match the
//! caller cannot see is treated as no match, and the create proceeds. The answers are then
//! exactly those of a server holding only what the caller sees:
//!
//! | matches the caller sees | If-None-Exist sent to the store | answer                   |
//! |-------------------------|---------------------------------|--------------------------|
//! | 1                       | `_id={that one}`                | 200 with it, nothing new |
//! | ≥ 2                     | the criteria as sent            | 412 (store)              |
//! | 0, none hidden          | the (narrowed) condition        | 201                      |
//! | 0, some hidden          | none (a plain create)           | 201                      |
//!
//! With two or more visible matches the caller's criteria go to the store untouched: they
//! match at least those (narrowing only adds restrictions), so the store answers its 412
//! `multiple-matches`, whose text quotes the criteria, exactly as to an unrestricted caller.
//! A rewritten `_id={those}` would have shown in that text the gateway's internal query and
//! the ids it found (attack finding LOW 16).
//!
//! In the first three rows the store still decides atomically with the write (two
//! concurrent creates of the caller do not both create; in the fourth they could). Left
//! open: a matching resource of another patient stored between this check and the store's
//! own (third row), or the only one left when the caller's own matches are deleted
//! meanwhile (second row), is still the store's match, which the post-filter answers 404
//! (in a transaction, a 404 entry of a committed response). Creating next to a hidden match
//! can duplicate a business identifier another patient's resource uses; refusing instead
//! would tell the caller that such a resource exists, which is what the condition must not.
//! More than a page of matches (100) with fewer than two visible is read again over what
//! the caller sees (`super::matches`), so it answers as above; only where the adapter
//! cannot do that (another FHIR server behind the `fhir` adapter) does it answer 400
//! (make the condition more specific), as a conditional update does.

use fhirgate_adapters::FhirRequest;
use http::{HeaderName, HeaderValue};

use super::super::access::{Grant, Subject};
use super::super::error::AuthError;
use super::super::narrow::narrow;
use super::super::scope::Permission;
use crate::error::GatewayError;
use crate::state::AppState;

/// Checks, narrows and (for a restricted caller) resolves the `If-None-Exist` of the create
/// `request` on `rt` per the module table, rewriting or removing the header. Errors: 403
/// without `s` on `rt` or when the criteria name a patient out of reach; 400 when they are
/// not a valid search or match too many resources.
pub async fn resolve(
    state: &AppState,
    subject: &Subject,
    request: &mut FhirRequest,
    rt: &str,
) -> Result<(), GatewayError> {
    let name = HeaderName::from_static("if-none-exist");
    let Some(value) = request.headers.get(&name) else {
        return Ok(());
    };
    let text = value
        .to_str()
        .map_err(|_| GatewayError::BadRequest("If-None-Exist is not text".into()))?;
    let text = text.split_once('?').map_or(text, |(_, q)| q);
    let mut query = crate::edge::query::parse(text.as_bytes())?;
    let grants = subject.grants(rt, Permission::Search);
    if grants.is_empty() {
        return Err(GatewayError::Auth(AuthError::forbidden(format!(
            "the granted scopes do not allow a conditional create (search) on {rt}"
        ))));
    }
    let narrowed = narrow(rt, &mut query, &grants, &subject.local_bases)?;
    if grants.iter().any(Grant::is_unrestricted) {
        return Ok(());
    }
    let found = super::matches(state, subject, &grants, request, rt, &query).await?;
    if found.more && found.visible.len() < 2 {
        return Err(super::too_broad(rt));
    }
    let criteria = match found.visible.as_slice() {
        [] if found.hidden => {
            request.headers.remove(&name);
            return Ok(());
        }
        [] if !narrowed => return Ok(()),
        [] => query,
        [(id, _, _)] => vec![("_id".to_owned(), id.clone())],
        // The store's own 412 over the criteria as sent (module docs).
        _ => return Ok(()),
    };
    let rewritten = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(criteria.iter())
        .finish();
    let value = HeaderValue::from_str(&rewritten)
        .map_err(|_| GatewayError::BadRequest("If-None-Exist could not be narrowed".into()))?;
    request.headers.insert(name, value);
    Ok(())
}

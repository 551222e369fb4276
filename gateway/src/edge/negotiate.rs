//! Content negotiation (FHIR R4 §3.1.0.1.10 "Content Types and encodings"): JSON only.
//!
//! `_format` wins over `Accept`. XML, Turtle or any other resource format answers 406; a
//! request body in another format answers 415. The other media types an interaction
//! defines are accepted where it defines them: JSON Patch for `patch`, form encoding for
//! `POST _search`, and the source formats for `$ingest`.

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use fhirgate_adapters::Interaction;

use crate::error::GatewayError;

/// The JSON media types FHIR R4 defines for resources (plus the DSTU2 alias still sent by clients).
const FHIR_JSON_TYPES: [&str; 3] = [
    "application/fhir+json",
    "application/json",
    "application/json+fhir",
];

/// What kind of body the request carries, after its Content-Type was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    Empty,
    /// A FHIR JSON resource or Bundle.
    Json,
    /// `application/json-patch+json` (RFC 6902).
    JsonPatch,
    /// `application/x-www-form-urlencoded` (`POST _search`).
    Form,
    /// A source format an operation defines (e.g. HealthKit XML for `$ingest`).
    Source,
}

/// A media type split into lower-cased `type/subtype` and its parameters.
fn parse_media(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            )
        })
        .collect();
    (essence, params)
}

fn fhir_version_ok(params: &[(String, String)]) -> bool {
    params
        .iter()
        .filter(|(k, _)| k == "fhirversion")
        .all(|(_, v)| v == "4.0" || v.starts_with("4.0."))
}

/// Checks `_format` (when given) or else `Accept`. Err: 406 naming what was asked.
pub fn check_accept(format: Option<&str>, headers: &HeaderMap) -> Result<(), GatewayError> {
    if let Some(format) = format {
        let (essence, params) = parse_media(format);
        let ok = (essence == "json" || FHIR_JSON_TYPES.contains(&essence.as_str()))
            && fhir_version_ok(&params);
        return if ok {
            Ok(())
        } else {
            Err(GatewayError::NotAcceptable(format!(
                "_format={format} is not supported: fhirgate serves FHIR R4 JSON only (_format=json)"
            )))
        };
    }
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    if accept.trim().is_empty() {
        return Ok(());
    }
    let acceptable = accept.split(',').any(|range| {
        let (essence, params) = parse_media(range);
        let q_zero = params
            .iter()
            .any(|(k, v)| k == "q" && v.parse::<f32>().map(|q| q <= 0.0).unwrap_or(false));
        let type_ok = FHIR_JSON_TYPES.contains(&essence.as_str())
            || essence == "*/*"
            || essence == "application/*";
        type_ok && !q_zero && fhir_version_ok(&params)
    });
    if acceptable {
        Ok(())
    } else {
        Err(GatewayError::NotAcceptable(format!(
            "Accept: {accept} is not supported: fhirgate serves application/fhir+json (FHIR R4 4.0) only"
        )))
    }
}

/// Checks the request body's Content-Type against what `interaction` (and `operation`)
/// define. An empty body needs no Content-Type. Err: 415.
pub fn check_content_type(
    interaction: Interaction,
    operation: Option<&str>,
    is_post_search: bool,
    headers: &HeaderMap,
    body_len: usize,
) -> Result<BodyKind, GatewayError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let Some(content_type) = content_type else {
        return if body_len == 0 {
            Ok(BodyKind::Empty)
        } else {
            Err(GatewayError::UnsupportedMediaType(
                "a request body needs a Content-Type: application/fhir+json".into(),
            ))
        };
    };
    let (essence, params) = parse_media(content_type);
    let charset_ok = params
        .iter()
        .filter(|(k, _)| k == "charset")
        .all(|(_, v)| v.eq_ignore_ascii_case("utf-8"));
    let json = FHIR_JSON_TYPES.contains(&essence.as_str()) && fhir_version_ok(&params);
    let kind = match interaction {
        _ if is_post_search && essence == "application/x-www-form-urlencoded" => {
            Some(BodyKind::Form)
        }
        _ if is_post_search && body_len == 0 => Some(BodyKind::Empty),
        _ if is_post_search => None,
        Interaction::Patch if essence == "application/json-patch+json" => Some(BodyKind::JsonPatch),
        Interaction::Operation if operation == Some("ingest") && is_ingest_source(&essence) => {
            Some(BodyKind::Source)
        }
        _ if json => Some(BodyKind::Json),
        _ if body_len == 0 => Some(BodyKind::Empty),
        _ => None,
    };
    match kind {
        Some(kind) if charset_ok => Ok(kind),
        _ => Err(GatewayError::UnsupportedMediaType(format!(
            "Content-Type: {content_type} is not accepted for {}: use {}",
            interaction.code(),
            expected(interaction, is_post_search)
        ))),
    }
}

fn is_ingest_source(essence: &str) -> bool {
    matches!(
        essence,
        "application/json" | "application/xml" | "text/xml" | "application/x-ndjson"
    )
}

fn expected(interaction: Interaction, is_post_search: bool) -> &'static str {
    match interaction {
        _ if is_post_search => "application/x-www-form-urlencoded",
        Interaction::Patch => "application/json-patch+json",
        _ => "application/fhir+json; charset=utf-8",
    }
}

#[cfg(test)]
mod tests;

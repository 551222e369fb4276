use axum::http::{HeaderMap, HeaderValue};

use super::*;

fn headers(name: &'static str, value: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(name, HeaderValue::from_static(value));
    h
}

fn status(r: Result<(), GatewayError>) -> Option<u16> {
    r.err().map(|e| e.status_and_code().0.as_u16())
}

#[test]
fn json_accepts_pass_and_xml_is_406() {
    assert_eq!(status(check_accept(None, &HeaderMap::new())), None);
    assert_eq!(
        status(check_accept(
            None,
            &headers("accept", "application/fhir+json")
        )),
        None
    );
    assert_eq!(status(check_accept(None, &headers("accept", "*/*"))), None);
    assert_eq!(
        status(check_accept(
            None,
            &headers("accept", "application/fhir+json; fhirVersion=4.0")
        )),
        None
    );
    assert_eq!(
        status(check_accept(
            None,
            &headers("accept", "application/fhir+xml")
        )),
        Some(406)
    );
    assert_eq!(
        status(check_accept(
            None,
            &headers("accept", "text/html, application/xml;q=0.9")
        )),
        Some(406)
    );
    assert_eq!(
        status(check_accept(
            None,
            &headers("accept", "application/json;q=0")
        )),
        Some(406)
    );
    assert_eq!(
        status(check_accept(
            None,
            &headers("accept", "application/fhir+json; fhirVersion=3.0")
        )),
        Some(406)
    );
}

#[test]
fn format_parameter_wins_over_accept() {
    let xml = headers("accept", "application/fhir+xml");
    assert_eq!(status(check_accept(Some("json"), &xml)), None);
    assert_eq!(
        status(check_accept(Some("xml"), &HeaderMap::new())),
        Some(406)
    );
    assert_eq!(
        status(check_accept(
            Some("application/fhir+xml"),
            &HeaderMap::new()
        )),
        Some(406)
    );
    assert_eq!(
        status(check_accept(Some("ttl"), &HeaderMap::new())),
        Some(406)
    );
}

fn kind(
    interaction: Interaction,
    op: Option<&str>,
    post_search: bool,
    ct: Option<&'static str>,
    len: usize,
) -> Result<BodyKind, u16> {
    let h = ct.map(|c| headers("content-type", c)).unwrap_or_default();
    check_content_type(interaction, op, post_search, &h, len)
        .map_err(|e| e.status_and_code().0.as_u16())
}

#[test]
fn content_types_follow_the_interaction() {
    assert_eq!(
        kind(
            Interaction::Create,
            None,
            false,
            Some("application/fhir+json"),
            2
        ),
        Ok(BodyKind::Json)
    );
    assert_eq!(
        kind(
            Interaction::Create,
            None,
            false,
            Some("application/fhir+json; charset=UTF-8"),
            2
        ),
        Ok(BodyKind::Json)
    );
    assert_eq!(
        kind(
            Interaction::Create,
            None,
            false,
            Some("application/fhir+xml"),
            2
        ),
        Err(415)
    );
    assert_eq!(
        kind(
            Interaction::Create,
            None,
            false,
            Some("application/json; charset=latin1"),
            2
        ),
        Err(415)
    );
    assert_eq!(kind(Interaction::Create, None, false, None, 2), Err(415));
    assert_eq!(
        kind(Interaction::Read, None, false, None, 0),
        Ok(BodyKind::Empty)
    );
    assert_eq!(
        kind(
            Interaction::Patch,
            None,
            false,
            Some("application/json-patch+json"),
            2
        ),
        Ok(BodyKind::JsonPatch)
    );
    assert_eq!(
        kind(
            Interaction::Update,
            None,
            false,
            Some("application/json-patch+json"),
            2
        ),
        Err(415)
    );
    assert_eq!(
        kind(
            Interaction::SearchType,
            None,
            true,
            Some("application/x-www-form-urlencoded"),
            5
        ),
        Ok(BodyKind::Form)
    );
    assert_eq!(
        kind(
            Interaction::SearchType,
            None,
            true,
            Some("application/fhir+json"),
            5
        ),
        Err(415)
    );
    assert_eq!(
        kind(
            Interaction::Operation,
            Some("ingest"),
            false,
            Some("application/xml"),
            5
        ),
        Ok(BodyKind::Source)
    );
    assert_eq!(
        kind(
            Interaction::Operation,
            Some("everything"),
            false,
            Some("application/xml"),
            5
        ),
        Err(415)
    );
}

//! The gateway's own CapabilityStatement (FHIR R4 §3.1.0.11 "capabilities" interaction).
//!
//! Lists only what the configured routes actually serve, with `fhirVersion` 4.0.1 and
//! `format` json; the SMART `oauth-uris` extension (SMART App Launch 2.x §"Conformance")
//! is added when an authorization server is configured.

use std::str::FromStr;

use fhir_sdk::DateTime;
use fhir_sdk::r4b::codes::{
    CapabilityStatementKind, FHIRVersion, PublicationStatus, ResourceType, RestfulCapabilityMode,
    SearchParamType,
};
use fhir_sdk::r4b::resources::{
    CapabilityStatement, CapabilityStatementImplementation, CapabilityStatementRest,
    CapabilityStatementRestInteraction, CapabilityStatementRestResource,
    CapabilityStatementRestResourceInteraction, CapabilityStatementRestResourceOperation,
    CapabilityStatementRestResourceSearchParam, CapabilityStatementSoftware,
};
use serde_json::{Value, json};

/// What one resource type supports through the gateway.
#[derive(Debug, Clone, Default)]
pub struct ResourceCapability {
    /// FHIR resource type name, e.g. `Observation`.
    pub resource_type: String,
    /// Type-level restful interaction codes (`read`, `vread`, `update`, `patch`, `delete`,
    /// `history-instance`, `history-type`, `create`, `search-type`).
    pub interactions: Vec<String>,
    /// Search parameters as `(name, type)` pairs, type being a `search-param-type` code.
    pub search_params: Vec<(String, String)>,
    /// Names of `_include` values supported, e.g. `Observation:subject`.
    pub search_include: Vec<String>,
    /// Names of `_revinclude` values supported.
    pub search_rev_include: Vec<String>,
    /// Operation names without `$`, e.g. `ingest`.
    pub operations: Vec<String>,
    /// Whether conditional create (`If-None-Exist`) is supported.
    pub conditional_create: bool,
    /// Whether conditional update is supported.
    pub conditional_update: bool,
    /// Whether update may create a resource with a client-chosen id.
    pub update_create: bool,
}

/// SMART authorization endpoints advertised in `rest.security` (absolute URLs).
#[derive(Debug, Clone)]
pub struct SmartUris {
    /// OAuth2 authorization endpoint.
    pub authorize: Option<String>,
    /// OAuth2 token endpoint.
    pub token: String,
    /// RFC 7662 introspection endpoint.
    pub introspect: Option<String>,
}

/// Everything the CapabilityStatement is built from.
#[derive(Debug, Clone)]
pub struct CapabilityInput {
    /// Public base URL of the FHIR API, e.g. `http://127.0.0.1:8080/fhir` (no trailing slash).
    pub base_url: String,
    /// Software name (`software.name`).
    pub software_name: String,
    /// Software version (`software.version`).
    pub software_version: String,
    /// Publication date, RFC 3339 (`date`).
    pub date: String,
    /// Per resource type capabilities, in the order to list them.
    pub resources: Vec<ResourceCapability>,
    /// System-level interaction codes: `transaction`, `batch`, `search-system`, `history-system`.
    pub system_interactions: Vec<String>,
    /// SMART endpoints, when the gateway requires SMART tokens.
    pub smart: Option<SmartUris>,
}

/// Builds the CapabilityStatement as JSON. Resource types unknown to FHIR are left out.
pub fn capability_statement(input: &CapabilityInput) -> Value {
    let resources = input
        .resources
        .iter()
        .filter_map(|r| resource_entry(r).map(Some))
        .collect::<Vec<_>>();
    let system = input
        .system_interactions
        .iter()
        .filter_map(|code| {
            CapabilityStatementRestInteraction::builder()
                .code(code.clone())
                .build()
                .ok()
                .map(Some)
        })
        .collect::<Vec<_>>();
    let rest = CapabilityStatementRest::builder()
        .mode(RestfulCapabilityMode::Server)
        .resource(resources)
        .interaction(system)
        .build();
    let date = DateTime::from_str(&input.date).ok();
    let implementation = CapabilityStatementImplementation::builder()
        .description("fhirgate FHIR R4 gateway".to_owned())
        .url(input.base_url.clone())
        .build();
    let software = CapabilityStatementSoftware::builder()
        .name(input.software_name.clone())
        .version(input.software_version.clone())
        .build();
    let statement = match (rest, date, implementation, software) {
        (Ok(rest), Some(date), Ok(implementation), Ok(software)) => CapabilityStatement::builder()
            .status(PublicationStatus::Active)
            .date(date)
            .kind(CapabilityStatementKind::Instance)
            .software(software)
            .implementation(implementation)
            .fhir_version(FHIRVersion::N401)
            .format(vec![Some("json".to_owned())])
            .patch_format(vec![Some("application/json-patch+json".to_owned())])
            .rest(vec![Some(rest)])
            .build()
            .ok(),
        _ => None,
    };
    let mut value = statement
        .and_then(|s| serde_json::to_value(&s).ok())
        .unwrap_or_else(|| json!({"resourceType": "CapabilityStatement"}));
    if let Some(smart) = &input.smart {
        value["rest"][0]["security"] = smart_security(smart);
    }
    value
}

fn resource_entry(r: &ResourceCapability) -> Option<CapabilityStatementRestResource> {
    let resource_type = ResourceType::from_str(&r.resource_type).ok()?;
    let interactions = r
        .interactions
        .iter()
        .filter_map(|code| {
            CapabilityStatementRestResourceInteraction::builder()
                .code(code.clone())
                .build()
                .ok()
                .map(Some)
        })
        .collect();
    let search_params = r
        .search_params
        .iter()
        .filter_map(|(name, kind)| {
            let kind = SearchParamType::from_str(kind).ok()?;
            CapabilityStatementRestResourceSearchParam::builder()
                .name(name.clone())
                .r#type(kind)
                .build()
                .ok()
                .map(Some)
        })
        .collect();
    let operations = r
        .operations
        .iter()
        .filter_map(|name| {
            CapabilityStatementRestResourceOperation::builder()
                .name(name.clone())
                .definition(operation_definition(name))
                .build()
                .ok()
                .map(Some)
        })
        .collect();
    CapabilityStatementRestResource::builder()
        .r#type(resource_type)
        .interaction(interactions)
        .search_param(search_params)
        .search_include(r.search_include.iter().cloned().map(Some).collect())
        .search_rev_include(r.search_rev_include.iter().cloned().map(Some).collect())
        .operation(operations)
        .conditional_create(r.conditional_create)
        .conditional_update(r.conditional_update)
        .update_create(r.update_create)
        .build()
        .ok()
}

/// The canonical URL of the OperationDefinition of `$name`: the base specification's for
/// the operations it defines (FHIR R4 operationslist.html), fhirgate's own otherwise.
fn operation_definition(name: &str) -> String {
    match name {
        "everything" => "http://hl7.org/fhir/OperationDefinition/Patient-everything".into(),
        _ => format!("http://fhirgate.dev/OperationDefinition/{name}"),
    }
}

/// `rest.security` with the SMART service code and the `oauth-uris` extension.
fn smart_security(smart: &SmartUris) -> Value {
    let mut uris = vec![json!({"url": "token", "valueUri": smart.token})];
    if let Some(a) = &smart.authorize {
        uris.push(json!({"url": "authorize", "valueUri": a}));
    }
    if let Some(i) = &smart.introspect {
        uris.push(json!({"url": "introspect", "valueUri": i}));
    }
    json!({
        "extension": [{
            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
            "extension": uris
        }],
        "service": [{
            "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                "code": "SMART-on-FHIR"
            }]
        }],
        "description": "SMART App Launch 2.x and Backend Services bearer tokens"
    })
}

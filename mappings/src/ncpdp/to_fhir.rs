//! SCRIPT → FHIR R4 resources.

use serde_json::Value;

use super::model::Message;
use super::prescription::InboundContext;
use crate::MappingError;

/// Message → FHIR resources.
pub fn message_to_fhir(m: &Message, ctx: &InboundContext) -> Result<Vec<Value>, MappingError> {
    let _ = (m, ctx);
    Err(MappingError::invalid("ncpdp", "not implemented yet"))
}

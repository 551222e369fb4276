//! Strict decoding of `application/x-www-form-urlencoded` text (a URL query, a `POST
//! _search` body) into name/value pairs: [`fhirgate_adapters::form::parse`], whose error
//! (octets that are not UTF-8 once percent-decoded, RFC 3986 §2.5) is the client's, 400
//! with an `invalid` OperationOutcome, before anything else runs.

use crate::error::GatewayError;

/// The pairs of `input` in order (`+` is a space; empty pieces between `&` are skipped, a
/// piece without `=` is a name with an empty value). Err (400): a name or value whose
/// percent-decoded octets are not UTF-8; the message names the parameter by position (and
/// by name when only the value is bad), never echoing the undecodable octets.
pub fn parse(input: &[u8]) -> Result<Vec<(String, String)>, GatewayError> {
    fhirgate_adapters::form::parse(input).map_err(|e| GatewayError::BadRequest(e.0))
}

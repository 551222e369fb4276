//! The small messages: Status, Error, Verify, and the answers built from a received
//! message (RxFill, RxRenewalResponse, RxChangeResponse).

use super::header::Header;
use super::model::{FillStatus, Message, Response};
use crate::MappingError;

/// Status.
pub fn status(h: &Header, code: &str, description: Option<&str>) -> String {
    let _ = (h, code, description);
    String::new()
}

/// Error.
pub fn error(h: &Header, code: &str, description_code: Option<&str>, description: &str) -> String {
    let _ = (h, code, description_code, description);
    String::new()
}

/// Verify.
pub fn verify(h: &Header) -> String {
    let _ = h;
    String::new()
}

/// RxFill answering a NewRx.
pub fn rx_fill(new_rx: &Message, h: &Header, fill: &FillStatus) -> Result<String, MappingError> {
    let _ = (new_rx, h, fill);
    Err(MappingError::invalid("ncpdp", "not implemented yet"))
}

/// RxRenewalResponse.
pub fn rx_renewal_response(
    request: &Message,
    h: &Header,
    response: &Response,
) -> Result<String, MappingError> {
    let _ = (request, h, response);
    Err(MappingError::invalid("ncpdp", "not implemented yet"))
}

/// RxChangeResponse.
pub fn rx_change_response(
    request: &Message,
    h: &Header,
    response: &Response,
) -> Result<String, MappingError> {
    let _ = (request, h, response);
    Err(MappingError::invalid("ncpdp", "not implemented yet"))
}

//! The CAQH CORE Phase II connectivity envelope (CORE 270 Connectivity Rule v2.2.0 §4):
//! the real-time metadata fields around an X12 payload, in either standard envelope —
//! HTTP MIME multipart ([`mime`]) or SOAP 1.2 + WSDL ([`soap`]).

pub mod mime;
pub mod soap;

/// CORE `PayloadType` of a real-time 270.
pub const PAYLOAD_TYPE_270: &str = "X12_270_Request_005010X279A1";
/// CORE `PayloadType` of a real-time 271.
pub const PAYLOAD_TYPE_271: &str = "X12_271_Response_005010X279A1";
/// CORE `PayloadType` of a 999 acknowledgment.
pub const PAYLOAD_TYPE_999: &str = "X12_999_Response_005010X231A1";
/// CORE `PayloadType` of a TA1 (as the rule spells it).
pub const PAYLOAD_TYPE_TA1: &str = "X12_TA1_Response_00501X231A1";
/// CORE `CORERuleVersion` of the Phase II rule with 005010 payloads.
pub const RULE_VERSION: &str = "2.2.0";
/// CORE `ProcessingMode` of a real-time exchange.
pub const REAL_TIME: &str = "RealTime";

/// One CORE message: its metadata fields in order (`PayloadType`, `ProcessingMode`,
/// `PayloadID`, `TimeStamp`, `SenderID`, `ReceiverID`, `CORERuleVersion`, credentials,
/// `ErrorCode`, `ErrorMessage`…) and the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoreMessage {
    /// Metadata fields, name and value, in order.
    pub fields: Vec<(String, String)>,
    /// The `Payload` (X12 text).
    pub payload: Vec<u8>,
}

impl CoreMessage {
    /// The value of field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A real-time request or response with the CORE fields in the rule's order.
    pub fn real_time(
        payload_type: &str,
        payload_id: &str,
        timestamp: &str,
        sender_id: &str,
        receiver_id: &str,
        payload: Vec<u8>,
    ) -> Self {
        let fields = [
            ("PayloadType", payload_type),
            ("ProcessingMode", REAL_TIME),
            ("PayloadID", payload_id),
            ("TimeStamp", timestamp),
            ("SenderID", sender_id),
            ("ReceiverID", receiver_id),
            ("CORERuleVersion", RULE_VERSION),
        ];
        Self {
            fields: fields
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            payload,
        }
    }

    /// Adds (or replaces) field `name`.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(f) => f.1 = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
    }
}

//! The envelope `Header` fhirgate writes on every SCRIPT 2017071 message it builds.

use super::model::Message;

/// Envelope header fields we write (SCRIPT 2017071 `Message/Header`: `To`, `From`,
/// `MessageID`, `RelatesToMessageID`, `SentTime`, `RxReferenceNumber`,
/// `PrescriberOrderNumber`, in that order).
///
/// `To`/`From` carry a `Qualifier` attribute: when `to_qualifier`/`from_qualifier` are
/// `None` the writer picks it from the direction of the message: `P` (pharmacy, NCPDP ID)
/// for the pharmacy side and `C` (clinic / prescriber system) for the prescriber side; for
/// Status, Error and Verify, whose direction depends on what they answer, `ZZZ` (mutually
/// defined). Build one with struct-update syntax over [`Header::default`] or with
/// [`Header::reply_to`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// `MessageID`: unique per message, kept through every retry of the same message.
    pub message_id: String,
    /// `RelatesToMessageID`: the MessageID this message answers (responses, RxFill, …).
    pub relates_to_message_id: Option<String>,
    /// `SentTime`: RFC 3339 in UTC, e.g. `2026-01-15T09:30:00Z` (written as given).
    pub sent_time: String,
    /// `To`: on prescriber → pharmacy messages the pharmacy's NCPDP ID (7 digits); on
    /// pharmacy → prescriber messages the prescriber system's id.
    pub to_ncpdp_id: String,
    /// `From`: the sender's id (fhirgate's prescriber-system id, or the pharmacy's NCPDP ID
    /// when the sandbox pharmacy writes).
    pub from_id: String,
    /// `PrescriberOrderNumber`: the prescriber's order number (we use the
    /// MedicationRequest's identifier or id).
    pub prescriber_order_number: Option<String>,
    /// `RxReferenceNumber`: the pharmacy's prescription number, when known.
    pub rx_reference_number: Option<String>,
    /// `To/@Qualifier`; `None` picks it from the message direction (see above).
    pub to_qualifier: Option<String>,
    /// `From/@Qualifier`; `None` picks it from the message direction (see above).
    pub from_qualifier: Option<String>,
}

impl Header {
    /// A header answering `m`: `To` = `m`'s `From` (and qualifier), `From` = `m`'s `To`,
    /// `RelatesToMessageID` = `m`'s `MessageID`, and the order and Rx reference numbers
    /// copied, with the new `message_id` and `sent_time` (RFC 3339 UTC).
    pub fn reply_to(
        m: &Message,
        message_id: impl Into<String>,
        sent_time: impl Into<String>,
    ) -> Self {
        let h = &m.header;
        Header {
            message_id: message_id.into(),
            relates_to_message_id: Some(h.message_id.clone()),
            sent_time: sent_time.into(),
            to_ncpdp_id: h.from.clone().unwrap_or_default(),
            from_id: h.to.clone().unwrap_or_default(),
            prescriber_order_number: h.prescriber_order_number.clone(),
            rx_reference_number: h.rx_reference_number.clone(),
            to_qualifier: h.from_qualifier.clone(),
            from_qualifier: h.to_qualifier.clone(),
        }
    }
}

/// Who sends a message, which decides the default `To`/`From` qualifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// NewRx, CancelRx, RxRenewalResponse, RxChangeResponse.
    ToPharmacy,
    /// RxFill, CancelRxResponse, RxRenewalRequest, RxChangeRequest.
    ToPrescriber,
    /// Status, Error, Verify.
    Either,
}

impl Direction {
    /// The default (`To`, `From`) qualifiers.
    pub(crate) fn qualifiers(self) -> (&'static str, &'static str) {
        match self {
            Direction::ToPharmacy => ("P", "C"),
            Direction::ToPrescriber => ("C", "P"),
            Direction::Either => ("ZZZ", "ZZZ"),
        }
    }
}

//! The small messages — Status, Error, Verify — and the answers built from a received
//! message: RxFill (the sandbox pharmacy answering a NewRx), RxRenewalResponse and
//! RxChangeResponse (the prescriber's decision).

use super::header::Header;
use super::model::{Body, FillStatus, Message, Response, RxTransaction, StatusBody};
use super::write::write_message;
use crate::MappingError;

/// SCRIPT `Status` (e.g. code `010`: received and queued; `000`: transaction successful)
/// under `h` (usually [`Header::reply_to`] the message it acknowledges).
pub fn status(h: &Header, code: &str, description: Option<&str>) -> String {
    let body = StatusBody {
        code: code.to_owned(),
        description_code: None,
        description: description.map(str::to_owned),
    };
    write_message(h, &Body::Status(body))
}

/// SCRIPT `Error`: `code` (`900` transaction rejected, `601` receiver unable to process,
/// `600` communication problem – try again later, `602` …), `DescriptionCode` (e.g. `008`
/// missing data, `090` …) and a `Description` that must not carry patient data.
pub fn error(h: &Header, code: &str, description_code: Option<&str>, description: &str) -> String {
    let body = StatusBody {
        code: code.to_owned(),
        description_code: description_code.map(str::to_owned),
        description: Some(description.to_owned()),
    };
    write_message(h, &Body::Error(body))
}

/// SCRIPT `Verify` (`VerifyStatus` code `010`): the receiving application processed the
/// message `h.relates_to_message_id`.
pub fn verify(h: &Header) -> String {
    let body = StatusBody {
        code: "010".to_owned(),
        description_code: None,
        description: Some("Verified".to_owned()),
    };
    write_message(h, &Body::Verify(body))
}

fn expect<'a>(m: &'a Message, name: &str) -> Result<&'a RxTransaction, MappingError> {
    match m.body.transaction() {
        Some(t) if m.body.name() == name => Ok(t),
        _ => Err(MappingError::invalid(
            "ncpdp",
            format!("expected a {name} to answer, got {}", m.body.name()),
        )),
    }
}

/// An RxFill answering the parsed NewRx `new_rx` (for the sandbox pharmacy): the NewRx's
/// Patient, Pharmacy, Prescriber and MedicationPrescribed repeated, `FillStatus` = `fill`,
/// and for `Dispensed`/`PartiallyDispensed` a `MedicationDispensed` equal to what was
/// prescribed with `LastFillDate` = the date of `h.sent_time`. `h` is usually
/// [`Header::reply_to`]`(new_rx, …)`.
///
/// Errors: [`MappingError::Invalid`] when `new_rx` is not a NewRx.
pub fn rx_fill(new_rx: &Message, h: &Header, fill: &FillStatus) -> Result<String, MappingError> {
    let t = expect(new_rx, "NewRx")?;
    let dispensed = matches!(
        fill,
        FillStatus::Dispensed { .. } | FillStatus::PartiallyDispensed { .. }
    );
    let medication_dispensed =
        t.medication_prescribed
            .clone()
            .filter(|_| dispensed)
            .map(|mut m| {
                m.last_fill_date = h.sent_time.get(..10).map(str::to_owned);
                m
            });
    let out = RxTransaction {
        fill_status: Some(fill.clone()),
        patient: t.patient.clone(),
        pharmacy: t.pharmacy.clone(),
        prescriber: t.prescriber.clone(),
        medication_prescribed: t.medication_prescribed.clone(),
        medication_dispensed,
        ..RxTransaction::default()
    };
    Ok(write_message(h, &Body::RxFill(Box::new(out))))
}

fn answer(request: &RxTransaction, response: &Response) -> RxTransaction {
    RxTransaction {
        request_reference_number: request.request_reference_number.clone(),
        response: Some(response.clone()),
        patient: request.patient.clone(),
        pharmacy: request.pharmacy.clone(),
        prescriber: request.prescriber.clone(),
        medication_prescribed: request.medication_prescribed.clone(),
        ..RxTransaction::default()
    }
}

/// The prescriber's decision on a parsed RxRenewalRequest → RxRenewalResponse: the
/// request's `RequestReferenceNumber`, Patient, Pharmacy, Prescriber and
/// MedicationPrescribed repeated with `Response` = `response`.
///
/// Errors: [`MappingError::Invalid`] when `request` is not an RxRenewalRequest.
pub fn rx_renewal_response(
    request: &Message,
    h: &Header,
    response: &Response,
) -> Result<String, MappingError> {
    let t = expect(request, "RxRenewalRequest")?;
    Ok(write_message(
        h,
        &Body::RxRenewalResponse(Box::new(answer(t, response))),
    ))
}

/// The prescriber's decision on a parsed RxChangeRequest → RxChangeResponse. When approved,
/// `MedicationPrescribed` is the first `MedicationRequested` (the change the pharmacy
/// proposed), else the original prescription.
///
/// Errors: [`MappingError::Invalid`] when `request` is not an RxChangeRequest.
pub fn rx_change_response(
    request: &Message,
    h: &Header,
    response: &Response,
) -> Result<String, MappingError> {
    let t = expect(request, "RxChangeRequest")?;
    let mut out = answer(t, response);
    if matches!(
        response,
        Response::Approved { .. } | Response::ApprovedWithChanges { .. }
    ) && let Some(m) = t.medication_requested.first()
    {
        out.medication_prescribed = Some(m.clone());
    }
    Ok(write_message(h, &Body::RxChangeResponse(Box::new(out))))
}

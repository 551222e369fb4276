//! SCRIPT XML → [`Message`]: any transaction of SCRIPT 2017071, order-insensitive and
//! lenient about optional elements; strict about the root, the version and `MessageID`.

use super::model::*;
use super::xml::{self, Element};
use crate::MappingError;

/// The SCRIPT namespace.
pub const NAMESPACE: &str = "http://www.ncpdp.org/schema/SCRIPT";

/// Versions read as 2017071: the short form and the `TransactionVersion` release form.
const V2017071: &[&str] = &["2017071", "20170715"];

fn invalid(detail: impl Into<String>) -> MappingError {
    MappingError::invalid("ncpdp", detail)
}

/// Parses any SCRIPT 2017071 message (NewRx, CancelRx, CancelRxResponse, RxRenewalRequest,
/// RxRenewalResponse, RxChangeRequest, RxChangeResponse, RxFill, Status, Error, Verify).
///
/// The version comes from the root's `version` attribute (as the open-source fixtures write
/// it) or `TransactionVersion` (as SCRIPT 2017071 envelopes write it, `20170715`). A root
/// with neither (e.g. the namespace-less REMS NewRx) is read as 2017071 with
/// `version_declared: false`. The namespace may be absent or
/// `http://www.ncpdp.org/schema/SCRIPT`.
///
/// Errors: [`MappingError::Xml`] for malformed or truncated XML;
/// [`MappingError::UnsupportedVersion`] naming any other version (e.g. `2023011`);
/// [`MappingError::Invalid`] for a root other than `Message`, another namespace, a missing
/// `Header/MessageID` or `Body`, or an unknown transaction.
pub fn parse_message(bytes: &[u8]) -> Result<Message, MappingError> {
    let root = xml::parse(bytes)?;
    if root.name != "Message" {
        return Err(invalid(format!(
            "the root element is {}, not Message",
            root.name
        )));
    }
    if let Some(ns) = root.attr("xmlns").filter(|ns| *ns != NAMESPACE) {
        return Err(invalid(format!(
            "namespace {ns:?} is not the SCRIPT namespace {NAMESPACE}"
        )));
    }
    let declared = root
        .attr("version")
        .or_else(|| root.attr("Version"))
        .or_else(|| root.attr("TransactionVersion"));
    if let Some(v) = declared.filter(|v| !V2017071.contains(&v.trim())) {
        return Err(MappingError::UnsupportedVersion {
            format: "ncpdp",
            version: v.trim().to_owned(),
            supported: "NCPDP SCRIPT 2017071",
        });
    }
    let header = root
        .child("Header")
        .ok_or_else(|| invalid("Message has no Header"))?;
    let header = parse_header(header)?;
    let body = root
        .child("Body")
        .and_then(|b| b.children.first())
        .ok_or_else(|| invalid("Message has no Body transaction"))?;
    Ok(Message {
        header,
        body: parse_body(body)?,
        version: "2017071".to_owned(),
        version_declared: declared.is_some(),
    })
}

fn parse_header(h: &Element) -> Result<ParsedHeader, MappingError> {
    let message_id = h
        .text_at(&["MessageID"])
        .ok_or_else(|| invalid("Header has no MessageID"))?;
    Ok(ParsedHeader {
        message_id,
        relates_to_message_id: h.text_at(&["RelatesToMessageID"]),
        from: h.text_at(&["From"]),
        from_qualifier: h
            .child("From")
            .and_then(|e| e.attr("Qualifier"))
            .map(str::to_owned),
        to: h.text_at(&["To"]),
        to_qualifier: h
            .child("To")
            .and_then(|e| e.attr("Qualifier"))
            .map(str::to_owned),
        sent_time: h.text_at(&["SentTime"]),
        prescriber_order_number: h.text_at(&["PrescriberOrderNumber"]),
        rx_reference_number: h.text_at(&["RxReferenceNumber"]),
    })
}

fn status_body(e: &Element) -> Result<StatusBody, MappingError> {
    Ok(StatusBody {
        code: e
            .text_at(&["Code"])
            .ok_or_else(|| invalid(format!("{} has no Code", e.name)))?,
        description_code: e.text_at(&["DescriptionCode"]),
        description: e.text_at(&["Description"]),
    })
}

fn parse_body(b: &Element) -> Result<Body, MappingError> {
    let tx = || Box::new(transaction(b));
    Ok(match b.name.as_str() {
        "NewRx" => Body::NewRx(tx()),
        "CancelRx" => Body::CancelRx(tx()),
        "CancelRxResponse" => Body::CancelRxResponse(tx()),
        "RxRenewalRequest" => Body::RxRenewalRequest(tx()),
        "RxRenewalResponse" => Body::RxRenewalResponse(tx()),
        "RxChangeRequest" => Body::RxChangeRequest(tx()),
        "RxChangeResponse" => Body::RxChangeResponse(tx()),
        "RxFill" => Body::RxFill(tx()),
        "Status" => Body::Status(status_body(b)?),
        "Error" => Body::Error(status_body(b)?),
        "Verify" => Body::Verify(status_body(b.child("VerifyStatus").unwrap_or(b))?),
        other => return Err(invalid(format!("unsupported SCRIPT transaction {other}"))),
    })
}

fn transaction(b: &Element) -> RxTransaction {
    RxTransaction {
        request_reference_number: b.text_at(&["RequestReferenceNumber"]),
        message_request_code: b
            .text_at(&["MessageRequestCode"])
            .or_else(|| b.text_at(&["MessageRequestCode", "Code"])),
        response: b.child("Response").and_then(response),
        fill_status: b.child("FillStatus").and_then(fill_status),
        benefits_coordination: b
            .children_named("BenefitsCoordination")
            .map(benefits)
            .collect(),
        patient: b.at(&["Patient", "HumanPatient"]).map(patient),
        pharmacy: b.child("Pharmacy").map(pharmacy),
        prescriber: b
            .child("Prescriber")
            .and_then(|p| p.children.first())
            .map(prescriber),
        medication_prescribed: b.child("MedicationPrescribed").map(medication),
        medication_dispensed: b.child("MedicationDispensed").map(medication),
        medication_requested: b
            .children_named("MedicationRequested")
            .map(medication)
            .collect(),
    }
}

fn response(r: &Element) -> Option<Response> {
    let d = r.children.first()?;
    let note = d.text_at(&["Note"]);
    Some(match d.name.as_str() {
        "Approved" => Response::Approved { note },
        "ApprovedWithChanges" => Response::ApprovedWithChanges { note },
        // SCRIPT 10.6's DeniedNewPrescriptionToFollow is 2017071's Replace.
        "Replace" | "DeniedNewPrescriptionToFollow" => Response::Replace { note },
        "Denied" => Response::Denied {
            reason_code: d
                .text_at(&["ReasonCode"])
                .or_else(|| d.text_at(&["DenialReasonCode"])),
            reason: d.text_at(&["DenialReason"]).or(note),
        },
        _ => return None,
    })
}

fn fill_status(f: &Element) -> Option<FillStatus> {
    let d = f.children.first()?;
    let note = d.text_at(&["Note"]);
    Some(match d.name.as_str() {
        "Dispensed" => FillStatus::Dispensed { note },
        "PartiallyDispensed" => FillStatus::PartiallyDispensed { note },
        "NotDispensed" => FillStatus::NotDispensed { note },
        "Transferred" => FillStatus::Transferred { note },
        _ => return None,
    })
}

fn benefits(b: &Element) -> BenefitsCoordination {
    BenefitsCoordination {
        payer_id: b.text_at(&["PayerIdentification", "PayerID"]),
        payer_name: b.text_at(&["PayerName"]),
        cardholder_id: b.text_at(&["CardholderID"]),
        group_id: b.text_at(&["GroupID"]),
    }
}

fn name(e: Option<&Element>) -> Name {
    let Some(n) = e else { return Name::default() };
    Name {
        last: n.text_at(&["LastName"]),
        first: n.text_at(&["FirstName"]),
        middle: n.text_at(&["MiddleName"]),
        suffix: n.text_at(&["Suffix"]),
        prefix: n.text_at(&["Prefix"]),
    }
}

fn address(a: &Element) -> Address {
    Address {
        lines: ["AddressLine1", "AddressLine2"]
            .iter()
            .filter_map(|l| a.text_at(&[l]))
            .collect(),
        city: a.text_at(&["City"]),
        state: a.text_at(&["StateProvince"]),
        postal_code: a.text_at(&["PostalCode"]),
        country: a
            .text_at(&["CountryCode"])
            .or_else(|| a.text_at(&["Country"])),
    }
}

fn communication(e: &Element) -> Communication {
    let Some(c) = e.child("CommunicationNumbers") else {
        return Communication::default();
    };
    Communication {
        phone: c.text_at(&["PrimaryTelephone", "Number"]),
        fax: c.text_at(&["Fax", "Number"]),
        email: c.text_at(&["ElectronicMail"]),
    }
}

fn patient(p: &Element) -> PatientData {
    PatientData {
        medical_record_number: p
            .text_at(&["Identification", "MedicalRecordIdentificationNumberEHR"]),
        name: name(p.child("Name")),
        gender: p.text_at(&["Gender"]),
        birth_date: p
            .text_at(&["DateOfBirth", "Date"])
            .or_else(|| p.text_at(&["DateOfBirth", "DateTime"])),
        address: p.child("Address").map(address),
        communication: communication(p),
    }
}

fn pharmacy(p: &Element) -> PharmacyData {
    PharmacyData {
        ncpdp_id: p.text_at(&["Identification", "NCPDPID"]),
        npi: p.text_at(&["Identification", "NPI"]),
        business_name: p.text_at(&["BusinessName"]),
        address: p.child("Address").map(address),
        communication: communication(p),
    }
}

fn prescriber(p: &Element) -> PrescriberData {
    PrescriberData {
        npi: p.text_at(&["Identification", "NPI"]),
        dea_number: p.text_at(&["Identification", "DEANumber"]),
        state_license_number: p.text_at(&["Identification", "StateLicenseNumber"]),
        practice_location: p.text_at(&["PracticeLocation", "BusinessName"]),
        name: name(p.child("Name")),
        address: p.child("Address").map(address),
        communication: communication(p),
    }
}

/// `Code` + `Qualifier` as children (2017071) or `Qualifier` as an attribute (as the
/// cosyte fixtures write `ProductCode`).
fn qualified(e: &Element) -> Option<QualifiedCode> {
    let (code, qualifier) = match e.text_at(&["Code"]) {
        Some(code) => (code, e.text_at(&["Qualifier"])),
        None => (e.text.clone(), None),
    };
    let qualifier = qualifier.or_else(|| e.attr("Qualifier").map(str::to_owned));
    (!code.is_empty()).then_some(QualifiedCode { code, qualifier })
}

fn date(e: &Element, name: &str) -> Option<String> {
    e.text_at(&[name, "Date"])
        .or_else(|| e.text_at(&[name, "DateTime"]))
}

fn medication(m: &Element) -> MedicationData {
    let coded = m.child("DrugCoded");
    let coded_at = |path: &[&str]| coded.and_then(|c| c.text_at(path));
    MedicationData {
        drug_description: m.text_at(&["DrugDescription"]),
        product_code: coded
            .and_then(|c| c.child("ProductCode"))
            .and_then(qualified),
        strength: coded.and_then(|c| c.child("Strength")).map(|s| Strength {
            value: s.text_at(&["StrengthValue"]),
            form_code: s.text_at(&["StrengthForm", "Code"]),
            unit_code: s.text_at(&["StrengthUnitOfMeasure", "Code"]),
        }),
        drug_db_code: coded
            .and_then(|c| c.child("DrugDBCode"))
            .and_then(qualified),
        dea_schedule: coded_at(&["DEASchedule", "Code"]),
        quantity: m.child("Quantity").and_then(|q| {
            Some(QuantityData {
                value: q.text_at(&["Value"])?,
                code_list_qualifier: q.text_at(&["CodeListQualifier"]),
                unit_code: q.text_at(&["QuantityUnitOfMeasure", "Code"]),
            })
        }),
        days_supply: m.text_at(&["DaysSupply"]),
        written_date: date(m, "WrittenDate"),
        last_fill_date: date(m, "LastFillDate"),
        substitutions: m.text_at(&["Substitutions"]),
        number_of_refills: m.text_at(&["NumberOfRefills"]),
        note: m.text_at(&["Note"]),
        sig: m.child("Sig").map(super::sig::parse_sig),
    }
}

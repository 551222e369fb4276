//! [`Body`] under a [`Header`] → SCRIPT 2017071 XML, elements in the order of the 2017071
//! structures (as public 2017071 messages show it). Values are escaped; absent optional
//! elements are left out. The envelope carries the 2017071 version attributes
//! (`TransactionVersion="20170715"`, …) and the SCRIPT namespace.

use super::header::{Direction, Header};
use super::model::*;
use super::sig::write_sig;
use super::xml::Writer;

/// The 2017071 release, as the envelope's version attributes write it.
const RELEASE: &str = "20170715";

/// Serialises `body` under `h` as one SCRIPT 2017071 `Message` (well-formed XML, UTF-8,
/// starting with the XML declaration).
pub fn write_message(h: &Header, body: &Body) -> String {
    let mut w = Writer::new();
    w.open_with(
        "Message",
        &[
            ("xmlns", super::parse::NAMESPACE),
            ("DatatypesVersion", RELEASE),
            ("TransportVersion", RELEASE),
            ("TransactionDomain", "SCRIPT"),
            ("TransactionVersion", RELEASE),
            ("StructuresVersion", RELEASE),
            ("ECLVersion", RELEASE),
        ],
    );
    write_header(&mut w, h, direction(body));
    w.open("Body");
    match body {
        Body::Status(s) => write_status(&mut w, "Status", s),
        Body::Error(s) => write_status(&mut w, "Error", s),
        Body::Verify(s) => {
            w.open("Verify");
            write_status(&mut w, "VerifyStatus", s);
            w.close("Verify");
        }
        other => {
            if let Some(t) = other.transaction() {
                write_transaction(&mut w, other.name(), t);
            }
        }
    }
    w.close("Body");
    w.close("Message");
    w.finish()
}

fn direction(body: &Body) -> Direction {
    match body {
        Body::NewRx(_)
        | Body::CancelRx(_)
        | Body::RxRenewalResponse(_)
        | Body::RxChangeResponse(_) => Direction::ToPharmacy,
        Body::RxFill(_)
        | Body::CancelRxResponse(_)
        | Body::RxRenewalRequest(_)
        | Body::RxChangeRequest(_) => Direction::ToPrescriber,
        Body::Status(_) | Body::Error(_) | Body::Verify(_) => Direction::Either,
    }
}

fn write_header(w: &mut Writer, h: &Header, d: Direction) {
    let (to_q, from_q) = d.qualifiers();
    w.open("Header");
    w.text_with(
        "To",
        &[("Qualifier", h.to_qualifier.as_deref().unwrap_or(to_q))],
        &h.to_ncpdp_id,
    );
    w.text_with(
        "From",
        &[("Qualifier", h.from_qualifier.as_deref().unwrap_or(from_q))],
        &h.from_id,
    );
    w.text_with("MessageID", &[], &h.message_id);
    w.leaf("RelatesToMessageID", h.relates_to_message_id.as_deref());
    w.text_with("SentTime", &[], &h.sent_time);
    w.open("SenderSoftware");
    w.leaf("SenderSoftwareDeveloper", Some("fhirgate"));
    w.leaf("SenderSoftwareProduct", Some("fhirgate"));
    w.leaf(
        "SenderSoftwareVersionRelease",
        Some(env!("CARGO_PKG_VERSION")),
    );
    w.close("SenderSoftware");
    w.leaf("RxReferenceNumber", h.rx_reference_number.as_deref());
    w.leaf(
        "PrescriberOrderNumber",
        h.prescriber_order_number.as_deref(),
    );
    w.close("Header");
}

fn write_status(w: &mut Writer, name: &str, s: &StatusBody) {
    w.open(name);
    w.text_with("Code", &[], &s.code);
    w.leaf("DescriptionCode", s.description_code.as_deref());
    w.leaf("Description", s.description.as_deref());
    w.close(name);
}

fn write_transaction(w: &mut Writer, name: &str, t: &RxTransaction) {
    w.open(name);
    w.leaf(
        "RequestReferenceNumber",
        t.request_reference_number.as_deref(),
    );
    w.leaf("MessageRequestCode", t.message_request_code.as_deref());
    if let Some(r) = &t.response {
        w.open("Response");
        w.open(r.name());
        match r {
            Response::Approved { note }
            | Response::ApprovedWithChanges { note }
            | Response::Replace { note } => {
                w.leaf("Note", note.as_deref());
            }
            Response::Denied {
                reason_code,
                reason,
            } => {
                w.leaf("ReasonCode", reason_code.as_deref());
                w.leaf("DenialReason", reason.as_deref());
            }
        }
        w.close(r.name());
        w.close("Response");
    }
    if let Some(f) = &t.fill_status {
        w.open("FillStatus");
        w.open(f.name());
        w.leaf("Note", f.note());
        w.close(f.name());
        w.close("FillStatus");
    }
    for b in &t.benefits_coordination {
        w.open("BenefitsCoordination");
        w.wrapped("PayerIdentification", "PayerID", b.payer_id.as_deref());
        w.leaf("PayerName", b.payer_name.as_deref());
        w.leaf("CardholderID", b.cardholder_id.as_deref());
        w.leaf("GroupID", b.group_id.as_deref());
        w.close("BenefitsCoordination");
    }
    if let Some(p) = &t.patient {
        write_patient(w, p);
    }
    if let Some(p) = &t.pharmacy {
        write_pharmacy(w, p);
    }
    if let Some(p) = &t.prescriber {
        write_prescriber(w, p);
    }
    if let Some(m) = &t.medication_prescribed {
        write_medication(w, "MedicationPrescribed", m);
    }
    if let Some(m) = &t.medication_dispensed {
        write_medication(w, "MedicationDispensed", m);
    }
    for m in &t.medication_requested {
        write_medication(w, "MedicationRequested", m);
    }
    w.close(name);
}

fn write_name(w: &mut Writer, n: &Name) {
    w.open("Name");
    w.leaf("LastName", n.last.as_deref());
    w.leaf("FirstName", n.first.as_deref());
    w.leaf("MiddleName", n.middle.as_deref());
    w.leaf("Suffix", n.suffix.as_deref());
    w.leaf("Prefix", n.prefix.as_deref());
    w.close("Name");
}

fn write_address(w: &mut Writer, a: &Option<Address>) {
    let Some(a) = a else { return };
    w.open("Address");
    w.leaf("AddressLine1", a.lines.first().map(String::as_str));
    w.leaf("AddressLine2", a.lines.get(1).map(String::as_str));
    w.leaf("City", a.city.as_deref());
    w.leaf("StateProvince", a.state.as_deref());
    w.leaf("PostalCode", a.postal_code.as_deref());
    w.leaf("CountryCode", a.country.as_deref());
    w.close("Address");
}

fn write_communication(w: &mut Writer, c: &Communication) {
    if c.phone.is_none() && c.fax.is_none() && c.email.is_none() {
        return;
    }
    w.open("CommunicationNumbers");
    w.wrapped("PrimaryTelephone", "Number", c.phone.as_deref());
    w.leaf("ElectronicMail", c.email.as_deref());
    w.wrapped("Fax", "Number", c.fax.as_deref());
    w.close("CommunicationNumbers");
}

fn write_patient(w: &mut Writer, p: &PatientData) {
    w.open("Patient");
    w.open("HumanPatient");
    w.wrapped(
        "Identification",
        "MedicalRecordIdentificationNumberEHR",
        p.medical_record_number.as_deref(),
    );
    write_name(w, &p.name);
    w.leaf("Gender", p.gender.as_deref());
    w.wrapped("DateOfBirth", "Date", p.birth_date.as_deref());
    write_address(w, &p.address);
    write_communication(w, &p.communication);
    w.close("HumanPatient");
    w.close("Patient");
}

fn write_pharmacy(w: &mut Writer, p: &PharmacyData) {
    w.open("Pharmacy");
    if p.ncpdp_id.is_some() || p.npi.is_some() {
        w.open("Identification");
        w.leaf("NCPDPID", p.ncpdp_id.as_deref());
        w.leaf("NPI", p.npi.as_deref());
        w.close("Identification");
    }
    w.leaf("BusinessName", p.business_name.as_deref());
    write_address(w, &p.address);
    write_communication(w, &p.communication);
    w.close("Pharmacy");
}

fn write_prescriber(w: &mut Writer, p: &PrescriberData) {
    w.open("Prescriber");
    w.open("NonVeterinarian");
    if p.npi.is_some() || p.dea_number.is_some() || p.state_license_number.is_some() {
        w.open("Identification");
        w.leaf("StateLicenseNumber", p.state_license_number.as_deref());
        w.leaf("DEANumber", p.dea_number.as_deref());
        w.leaf("NPI", p.npi.as_deref());
        w.close("Identification");
    }
    w.wrapped(
        "PracticeLocation",
        "BusinessName",
        p.practice_location.as_deref(),
    );
    write_name(w, &p.name);
    write_address(w, &p.address);
    write_communication(w, &p.communication);
    w.close("NonVeterinarian");
    w.close("Prescriber");
}

fn write_code(w: &mut Writer, name: &str, c: &Option<QualifiedCode>) {
    let Some(c) = c else { return };
    w.open(name);
    w.leaf("Code", Some(&c.code));
    w.leaf("Qualifier", c.qualifier.as_deref());
    w.close(name);
}

fn write_medication(w: &mut Writer, name: &str, m: &MedicationData) {
    w.open(name);
    w.leaf("DrugDescription", m.drug_description.as_deref());
    let coded = m.product_code.is_some()
        || m.strength.is_some()
        || m.drug_db_code.is_some()
        || m.dea_schedule.is_some();
    if coded {
        w.open("DrugCoded");
        write_code(w, "ProductCode", &m.product_code);
        if let Some(s) = &m.strength {
            w.open("Strength");
            w.leaf("StrengthValue", s.value.as_deref());
            w.wrapped("StrengthForm", "Code", s.form_code.as_deref());
            w.wrapped("StrengthUnitOfMeasure", "Code", s.unit_code.as_deref());
            w.close("Strength");
        }
        write_code(w, "DrugDBCode", &m.drug_db_code);
        w.wrapped("DEASchedule", "Code", m.dea_schedule.as_deref());
        w.close("DrugCoded");
    }
    if let Some(q) = &m.quantity {
        w.open("Quantity");
        w.leaf("Value", Some(&q.value));
        w.leaf("CodeListQualifier", q.code_list_qualifier.as_deref());
        w.wrapped("QuantityUnitOfMeasure", "Code", q.unit_code.as_deref());
        w.close("Quantity");
    }
    w.leaf("DaysSupply", m.days_supply.as_deref());
    if let Some(d) = m.written_date.as_deref() {
        let inner = if d.contains('T') { "DateTime" } else { "Date" };
        w.wrapped("WrittenDate", inner, Some(d));
    }
    w.wrapped("LastFillDate", "Date", m.last_fill_date.as_deref());
    w.leaf("Substitutions", m.substitutions.as_deref());
    w.leaf("NumberOfRefills", m.number_of_refills.as_deref());
    w.leaf("Note", m.note.as_deref());
    if let Some(s) = &m.sig {
        write_sig(w, s);
    }
    w.close(name);
}

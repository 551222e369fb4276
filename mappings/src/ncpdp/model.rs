//! The parsed shape of a SCRIPT 2017071 `Message`: what [`super::parse_message`] returns and
//! what the writers serialise. Element names follow SCRIPT (`HumanPatient`, `DrugCoded`,
//! `QuantityUnitOfMeasure`, …); every value is kept as the text the message carries (no
//! number parsing, so `30.000` stays `30.000`).

/// One SCRIPT message: the envelope `Header`, the `Body` transaction and the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `Message/Header`.
    pub header: ParsedHeader,
    /// `Message/Body/*`.
    pub body: Body,
    /// Always `2017071` (other versions are refused by [`super::parse_message`]).
    pub version: String,
    /// `false` when the message declares no version at all (no `version` nor
    /// `TransactionVersion` attribute); it is then read as 2017071.
    pub version_declared: bool,
}

/// `Message/Header` as received. Absent elements are `None` (the synthetic fixtures omit
/// several elements SCRIPT requires, so parsing does not insist on them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedHeader {
    /// `MessageID` (required: a message without one is refused).
    pub message_id: String,
    /// `RelatesToMessageID`: the MessageID this message answers.
    pub relates_to_message_id: Option<String>,
    /// `From` text (e.g. the pharmacy's NCPDP ID).
    pub from: Option<String>,
    /// `From/@Qualifier` (`P` pharmacy, `C` clinic/prescriber system, `D`, `ZZZ`, …).
    pub from_qualifier: Option<String>,
    /// `To` text.
    pub to: Option<String>,
    /// `To/@Qualifier`.
    pub to_qualifier: Option<String>,
    /// `SentTime` as written (RFC 3339 / `xs:dateTime`).
    pub sent_time: Option<String>,
    /// `PrescriberOrderNumber`: the prescriber system's order number (our MedicationRequest
    /// identifier when we wrote the NewRx).
    pub prescriber_order_number: Option<String>,
    /// `RxReferenceNumber`: the pharmacy's prescription number.
    pub rx_reference_number: Option<String>,
}

/// The transaction in `Message/Body`, named as SCRIPT names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `NewRx`: a new prescription (prescriber → pharmacy).
    NewRx(Box<RxTransaction>),
    /// `CancelRx`: cancel a prescription sent before (prescriber → pharmacy).
    CancelRx(Box<RxTransaction>),
    /// `CancelRxResponse`: the pharmacy's answer to a CancelRx (`response` is set).
    CancelRxResponse(Box<RxTransaction>),
    /// `RxRenewalRequest`: the pharmacy asks the prescriber to renew.
    RxRenewalRequest(Box<RxTransaction>),
    /// `RxRenewalResponse`: the prescriber's decision (`response` is set).
    RxRenewalResponse(Box<RxTransaction>),
    /// `RxChangeRequest`: the pharmacy asks for a change (`message_request_code`,
    /// `medication_requested`).
    RxChangeRequest(Box<RxTransaction>),
    /// `RxChangeResponse`: the prescriber's decision (`response` is set).
    RxChangeResponse(Box<RxTransaction>),
    /// `RxFill`: the pharmacy reports a fill (`fill_status`, `medication_dispensed`).
    RxFill(Box<RxTransaction>),
    /// `Status`: the receiver got the message (`010`, `000`, …).
    Status(StatusBody),
    /// `Error`: the receiver could not process the message (`900`, `601`, `600`, …).
    Error(StatusBody),
    /// `Verify` (`VerifyStatus`): the receiver confirms it processed the message.
    Verify(StatusBody),
}

impl Body {
    /// The SCRIPT element name of this transaction, e.g. `NewRx`.
    pub fn name(&self) -> &'static str {
        match self {
            Body::NewRx(_) => "NewRx",
            Body::CancelRx(_) => "CancelRx",
            Body::CancelRxResponse(_) => "CancelRxResponse",
            Body::RxRenewalRequest(_) => "RxRenewalRequest",
            Body::RxRenewalResponse(_) => "RxRenewalResponse",
            Body::RxChangeRequest(_) => "RxChangeRequest",
            Body::RxChangeResponse(_) => "RxChangeResponse",
            Body::RxFill(_) => "RxFill",
            Body::Status(_) => "Status",
            Body::Error(_) => "Error",
            Body::Verify(_) => "Verify",
        }
    }

    /// The prescription transaction, for every variant but Status, Error and Verify.
    pub fn transaction(&self) -> Option<&RxTransaction> {
        match self {
            Body::NewRx(t)
            | Body::CancelRx(t)
            | Body::CancelRxResponse(t)
            | Body::RxRenewalRequest(t)
            | Body::RxRenewalResponse(t)
            | Body::RxChangeRequest(t)
            | Body::RxChangeResponse(t)
            | Body::RxFill(t) => Some(t),
            Body::Status(_) | Body::Error(_) | Body::Verify(_) => None,
        }
    }
}

/// The body of `Status`, `Error` and `Verify/VerifyStatus`: `Code`, `DescriptionCode`,
/// `Description`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusBody {
    /// `Code`, e.g. `010` (Status), `900` (Error).
    pub code: String,
    /// `DescriptionCode`, e.g. `090`.
    pub description_code: Option<String>,
    /// `Description`: free text.
    pub description: Option<String>,
}

/// The content shared by the prescription transactions (NewRx, CancelRx, RxFill, the
/// renewal and change messages and their responses). Elements a transaction does not use
/// stay empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RxTransaction {
    /// `RequestReferenceNumber` (CancelRx, renewal and change messages).
    pub request_reference_number: Option<String>,
    /// `MessageRequestCode` of an RxChangeRequest (`G` generic, `T` therapeutic, `P` prior
    /// authorization, `S` script clarification, `D` drug use evaluation, `OS` out of stock, …).
    pub message_request_code: Option<String>,
    /// `Response` of CancelRxResponse, RxRenewalResponse and RxChangeResponse.
    pub response: Option<Response>,
    /// `FillStatus` of RxFill.
    pub fill_status: Option<FillStatus>,
    /// `BenefitsCoordination` (0..n).
    pub benefits_coordination: Vec<BenefitsCoordination>,
    /// `Patient/HumanPatient`.
    pub patient: Option<PatientData>,
    /// `Pharmacy`.
    pub pharmacy: Option<PharmacyData>,
    /// `Prescriber/NonVeterinarian`.
    pub prescriber: Option<PrescriberData>,
    /// `MedicationPrescribed`.
    pub medication_prescribed: Option<MedicationData>,
    /// `MedicationDispensed` (RxFill, renewal and change requests).
    pub medication_dispensed: Option<MedicationData>,
    /// `MedicationRequested` (RxChangeRequest: the alternatives the pharmacy proposes).
    pub medication_requested: Vec<MedicationData>,
}

/// `Response` of a response transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `Approved` (with its optional `Note`).
    Approved {
        /// `Note`.
        note: Option<String>,
    },
    /// `ApprovedWithChanges` (renewal, change).
    ApprovedWithChanges {
        /// `Note`.
        note: Option<String>,
    },
    /// `Denied`: `ReasonCode` (e.g. `AA` patient unknown to the prescriber, `AP` request
    /// already responded to) and `DenialReason` text.
    Denied {
        /// `ReasonCode`.
        reason_code: Option<String>,
        /// `DenialReason`.
        reason: Option<String>,
    },
    /// `Replace`: a new prescription follows.
    Replace {
        /// `Note`.
        note: Option<String>,
    },
}

impl Response {
    /// The SCRIPT element name: `Approved`, `ApprovedWithChanges`, `Denied`, `Replace`.
    pub fn name(&self) -> &'static str {
        match self {
            Response::Approved { .. } => "Approved",
            Response::ApprovedWithChanges { .. } => "ApprovedWithChanges",
            Response::Denied { .. } => "Denied",
            Response::Replace { .. } => "Replace",
        }
    }
}

/// `FillStatus` of an RxFill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FillStatus {
    /// `Dispensed`.
    Dispensed {
        /// `Note`.
        note: Option<String>,
    },
    /// `PartiallyDispensed`.
    PartiallyDispensed {
        /// `Note`.
        note: Option<String>,
    },
    /// `NotDispensed`.
    NotDispensed {
        /// `Note`.
        note: Option<String>,
    },
    /// `Transferred` to another pharmacy.
    Transferred {
        /// `Note`.
        note: Option<String>,
    },
}

impl FillStatus {
    /// The SCRIPT element name, e.g. `Dispensed`.
    pub fn name(&self) -> &'static str {
        match self {
            FillStatus::Dispensed { .. } => "Dispensed",
            FillStatus::PartiallyDispensed { .. } => "PartiallyDispensed",
            FillStatus::NotDispensed { .. } => "NotDispensed",
            FillStatus::Transferred { .. } => "Transferred",
        }
    }

    /// The `Note` of whichever status this is.
    pub fn note(&self) -> Option<&str> {
        match self {
            FillStatus::Dispensed { note }
            | FillStatus::PartiallyDispensed { note }
            | FillStatus::NotDispensed { note }
            | FillStatus::Transferred { note } => note.as_deref(),
        }
    }
}

/// `Name`: `LastName`, `FirstName`, `MiddleName`, `Suffix`, `Prefix`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Name {
    /// `LastName` (required by SCRIPT).
    pub last: Option<String>,
    /// `FirstName`.
    pub first: Option<String>,
    /// `MiddleName`.
    pub middle: Option<String>,
    /// `Suffix`.
    pub suffix: Option<String>,
    /// `Prefix`.
    pub prefix: Option<String>,
}

/// `Address`: `AddressLine1`, `AddressLine2`, `City`, `StateProvince` (2-letter USPS
/// code), `PostalCode`, `CountryCode` (`Country` accepted on input).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// `AddressLine1`, `AddressLine2` (at most two).
    pub lines: Vec<String>,
    /// `City`.
    pub city: Option<String>,
    /// `StateProvince`.
    pub state: Option<String>,
    /// `PostalCode`.
    pub postal_code: Option<String>,
    /// `CountryCode`.
    pub country: Option<String>,
}

/// `CommunicationNumbers`: `PrimaryTelephone/Number`, `Fax/Number`, `ElectronicMail`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Communication {
    /// `PrimaryTelephone/Number`.
    pub phone: Option<String>,
    /// `Fax/Number`.
    pub fax: Option<String>,
    /// `ElectronicMail`.
    pub email: Option<String>,
}

/// `Patient/HumanPatient`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientData {
    /// `Identification/MedicalRecordIdentificationNumberEHR` (the prescriber system's id).
    pub medical_record_number: Option<String>,
    /// `Name`.
    pub name: Name,
    /// `Gender`: `M`, `F` or `U`.
    pub gender: Option<String>,
    /// `DateOfBirth/Date` (`YYYY-MM-DD`).
    pub birth_date: Option<String>,
    /// `Address`.
    pub address: Option<Address>,
    /// `CommunicationNumbers`.
    pub communication: Communication,
}

/// `Pharmacy`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PharmacyData {
    /// `Identification/NCPDPID` (7 digits).
    pub ncpdp_id: Option<String>,
    /// `Identification/NPI`.
    pub npi: Option<String>,
    /// `BusinessName`.
    pub business_name: Option<String>,
    /// `Address`.
    pub address: Option<Address>,
    /// `CommunicationNumbers`.
    pub communication: Communication,
}

/// `Prescriber/NonVeterinarian`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrescriberData {
    /// `Identification/NPI`.
    pub npi: Option<String>,
    /// `Identification/DEANumber`.
    pub dea_number: Option<String>,
    /// `Identification/StateLicenseNumber`.
    pub state_license_number: Option<String>,
    /// `PracticeLocation/BusinessName` (the prescriber's Organization or Location).
    pub practice_location: Option<String>,
    /// `Name`.
    pub name: Name,
    /// `Address`.
    pub address: Option<Address>,
    /// `CommunicationNumbers`.
    pub communication: Communication,
}

/// `BenefitsCoordination`: the patient's pharmacy benefit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenefitsCoordination {
    /// `PayerIdentification/PayerID`.
    pub payer_id: Option<String>,
    /// `PayerName`.
    pub payer_name: Option<String>,
    /// `CardholderID` (FHIR `Coverage.subscriberId`).
    pub cardholder_id: Option<String>,
    /// `GroupID`.
    pub group_id: Option<String>,
}

/// A code with its qualifier, e.g. `ProductCode` (`Code` + `Qualifier` `ND`) or
/// `DrugDBCode` (`Code` + `Qualifier` `SCD`/`SBD`/…).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QualifiedCode {
    /// `Code`.
    pub code: String,
    /// `Qualifier`.
    pub qualifier: Option<String>,
}

/// `Quantity`: `Value`, `CodeListQualifier` (`38` original quantity, …) and
/// `QuantityUnitOfMeasure/Code` (NCI Thesaurus, see [`super::codes::QUANTITY_UNITS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuantityData {
    /// `Value` as written (a decimal).
    pub value: String,
    /// `CodeListQualifier`.
    pub code_list_qualifier: Option<String>,
    /// `QuantityUnitOfMeasure/Code`, e.g. `C48542`.
    pub unit_code: Option<String>,
}

/// `DrugCoded/Strength`: `StrengthValue`, `StrengthForm/Code`, `StrengthUnitOfMeasure/Code`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strength {
    /// `StrengthValue`, e.g. `500`.
    pub value: Option<String>,
    /// `StrengthForm/Code` (NCI dose form, e.g. `C48542` tablet).
    pub form_code: Option<String>,
    /// `StrengthUnitOfMeasure/Code` (NCI, e.g. `C28253` mg).
    pub unit_code: Option<String>,
}

/// `MedicationPrescribed`, `MedicationDispensed` or `MedicationRequested`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MedicationData {
    /// `DrugDescription` (required by SCRIPT).
    pub drug_description: Option<String>,
    /// `DrugCoded/ProductCode` (NDC when qualifier `ND`).
    pub product_code: Option<QualifiedCode>,
    /// `DrugCoded/Strength`.
    pub strength: Option<Strength>,
    /// `DrugCoded/DrugDBCode` (RxNorm RxCUI with qualifier `SCD`, `SBD`, `GPK`, `BPK`, …).
    pub drug_db_code: Option<QualifiedCode>,
    /// `DrugCoded/DEASchedule/Code` (NCI: `C48675` CII … `C48679` CV, `C38046` none).
    pub dea_schedule: Option<String>,
    /// `Quantity`.
    pub quantity: Option<QuantityData>,
    /// `DaysSupply` (days).
    pub days_supply: Option<String>,
    /// `WrittenDate/Date` or `WrittenDate/DateTime`.
    pub written_date: Option<String>,
    /// `LastFillDate/Date` (RxFill, renewal).
    pub last_fill_date: Option<String>,
    /// `Substitutions`: `0` substitution allowed, `1` not allowed (brand medically necessary).
    pub substitutions: Option<String>,
    /// `NumberOfRefills`: refills authorised beyond the original dispensing (see
    /// [`super::codes`] on the off-by-one).
    pub number_of_refills: Option<String>,
    /// `Note`: free text to the pharmacist.
    pub note: Option<String>,
    /// `Sig`.
    pub sig: Option<Sig>,
}

/// `Sig`: `SigText` plus the structured `Instruction`s, when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sig {
    /// `SigText`: the directions as one string (always carried).
    pub text: Option<String>,
    /// `Instruction` (0..n).
    pub instructions: Vec<SigInstruction>,
}

/// A coded Sig element: `Text`, `Code`, `Qualifier` (e.g. `SNOMED`, `NCI`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigCode {
    /// `Text`.
    pub text: Option<String>,
    /// `Code`.
    pub code: Option<String>,
    /// `Qualifier`.
    pub qualifier: Option<String>,
}

/// One `Sig/Instruction`. Frequency and duration are numeric only when the message gives
/// `FrequencyNumericValue`/`DurationNumericValue`; free-text timing is kept as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SigInstruction {
    /// `DoseAdministration/DoseDeliveryMethod` (e.g. SNOMED `419652001` Take).
    pub dose_delivery_method: Option<SigCode>,
    /// `DoseAdministration/Dosage/DoseQuantity` (`Dose` accepted on input).
    pub dose_quantity: Option<String>,
    /// `DoseAdministration/Dosage/DoseUnitOfMeasure` (NCI).
    pub dose_unit: Option<SigCode>,
    /// `DoseAdministration/RouteOfAdministration` (SNOMED).
    pub route: Option<SigCode>,
    /// `DoseAdministration/SiteOfAdministration` (SNOMED).
    pub site: Option<SigCode>,
    /// `TimingAndDuration/Frequency/FrequencyNumericValue`: times per `frequency_unit`.
    pub frequency: Option<String>,
    /// `TimingAndDuration/Frequency/FrequencyUnits` (SNOMED `258703001` day, …).
    pub frequency_unit: Option<SigCode>,
    /// `TimingAndDuration/Interval/IntervalNumericValue`: every N `interval_unit`.
    pub interval: Option<String>,
    /// `TimingAndDuration/Interval/IntervalUnits`.
    pub interval_unit: Option<SigCode>,
    /// `AdministrationTiming/Text` (e.g. `twice daily`, `before bedtime`).
    pub timing_text: Option<String>,
    /// `Duration/DurationNumericValue`.
    pub duration: Option<String>,
    /// `Duration/DurationText` (unit, e.g. SNOMED `258703001` day) or `Duration/Text`.
    pub duration_unit: Option<SigCode>,
    /// `Indication/Text` (or `IndicationPrecursor`/`IndicationText`).
    pub indication: Option<String>,
    /// `AsNeeded` / `Indication/PRNIndicator`-style "as needed" flag.
    pub as_needed: bool,
}

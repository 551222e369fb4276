//! Code tables, as data: HL7 v2 tables ⇄ FHIR R4 value sets and code systems, and v2 coding
//! system names (table 0396) ⇄ FHIR system URIs.
//!
//! Sources: the HL7 v2-to-FHIR IG concept maps (tables 0001, 0002, 0004, 0078, 0085, 0190,
//! 0200, 0201, 0202, 0278, 0396) and the FHIR R4 code systems they name.

/// FHIR system of HL7 v2 table `nnnn`: `http://terminology.hl7.org/CodeSystem/v2-nnnn`.
pub fn v2_table(table: &str) -> String {
    format!("http://terminology.hl7.org/CodeSystem/v2-{table}")
}

/// Prefix of the system fhirgate gives a local or unknown v2 coding system name (table 0396
/// `L`, `99zzz`, or a name it does not know): `urn:fhirgate:hl7v2:coding-system:NAME`.
pub const LOCAL_CODING_SYSTEM: &str = "urn:fhirgate:hl7v2:coding-system:";

/// v2 coding system names (table 0396) with a FHIR system URI.
const CODING_SYSTEMS: &[(&str, &str)] = &[
    ("LN", "http://loinc.org"),
    ("SCT", "http://snomed.info/sct"),
    ("SNM", "http://snomed.info/sct"),
    ("UCUM", "http://unitsofmeasure.org"),
    ("NDC", "http://hl7.org/fhir/sid/ndc"),
    ("RXNORM", "http://www.nlm.nih.gov/research/umls/rxnorm"),
    ("CVX", "http://hl7.org/fhir/sid/cvx"),
    ("I10", "http://hl7.org/fhir/sid/icd-10"),
    ("I10C", "http://hl7.org/fhir/sid/icd-10-cm"),
    ("I9C", "http://hl7.org/fhir/sid/icd-9-cm"),
    ("C4", "http://www.ama-assn.org/go/cpt"),
    ("CPT4", "http://www.ama-assn.org/go/cpt"),
    ("ISO3166_1", "urn:iso:std:iso:3166"),
    ("ISO+", "urn:fhirgate:hl7v2:coding-system:ISO+"),
    ("CDCREC", "urn:oid:2.16.840.1.113883.6.238"),
    ("NUBC", "http://www.nubc.org/patient-discharge"),
];

/// The FHIR system for a v2 coding system name: known names, `HL7nnnn` → the v2 table
/// system, a URI as is, anything else → [`LOCAL_CODING_SYSTEM`] + name. Empty → `None`.
pub fn system_of(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    if name.contains(':') {
        // Already a URI (some senders, and fhirgate for systems without a v2 name).
        return Some(name.to_owned());
    }
    if let Some((_, uri)) = CODING_SYSTEMS.iter().find(|(n, _)| *n == name) {
        return Some((*uri).to_owned());
    }
    if let Some(t) = name.strip_prefix("HL7")
        && t.len() == 4
        && t.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(v2_table(t));
    }
    Some(format!("{LOCAL_CODING_SYSTEM}{name}"))
}

/// The v2 coding system name for a FHIR system URI (inverse of [`system_of`]); an unknown
/// URI is written as is.
pub fn name_of(system: &str) -> String {
    if let Some((n, _)) = CODING_SYSTEMS.iter().find(|(_, u)| *u == system) {
        return (*n).to_owned();
    }
    if let Some(t) = system.strip_prefix("http://terminology.hl7.org/CodeSystem/v2-") {
        return format!("HL7{t}");
    }
    if let Some(n) = system.strip_prefix(LOCAL_CODING_SYSTEM) {
        return n.to_owned();
    }
    system.to_owned()
}

/// Looks `key` up in a two-column table.
pub fn lookup<'a>(table: &[(&str, &'a str)], key: &str) -> Option<&'a str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// Looks `value` up in the second column of a two-column table (the reverse direction).
pub fn reverse<'a>(table: &[(&'a str, &str)], value: &str) -> Option<&'a str> {
    table.iter().find(|(_, v)| *v == value).map(|(k, _)| *k)
}

/// Table 0001 administrative sex → `Patient.gender`.
pub const SEX: &[(&str, &str)] = &[
    ("M", "male"),
    ("F", "female"),
    ("O", "other"),
    ("A", "other"),
    ("N", "other"),
    ("U", "unknown"),
];

/// Table 0002 marital status codes that are also v3-MaritalStatus codes.
pub const MARITAL_V3: &[&str] = &["A", "D", "I", "L", "M", "P", "S", "T", "U", "W"];
/// Table 0002 codes outside v3-MaritalStatus (kept with the v2-0002 system).
pub const MARITAL_V2: &[&str] = &["B", "C", "E", "G", "N", "O", "R"];

/// Table 0200 name type → `HumanName.use`.
pub const NAME_USE: &[(&str, &str)] = &[
    ("L", "official"),
    ("D", "usual"),
    ("M", "maiden"),
    ("N", "nickname"),
    ("A", "usual"),
    ("S", "anonymous"),
    ("T", "temp"),
    ("BAD", "old"),
];

/// Table 0190 address type → `Address.use` (`M` mailing → `type` postal instead).
pub const ADDRESS_USE: &[(&str, &str)] = &[
    ("H", "home"),
    ("B", "work"),
    ("O", "work"),
    ("C", "temp"),
    ("BA", "old"),
    ("P", "home"),
];

/// Table 0201 telecommunication use → `ContactPoint.use`.
pub const TELECOM_USE: &[(&str, &str)] = &[
    ("PRN", "home"),
    ("ORN", "home"),
    ("VHN", "temp"),
    ("WPN", "work"),
    ("PRS", "mobile"),
];

/// Table 0202 telecommunication equipment type → `ContactPoint.system`.
pub const TELECOM_SYSTEM: &[(&str, &str)] = &[
    ("PH", "phone"),
    ("CP", "phone"),
    ("FX", "fax"),
    ("BP", "pager"),
    ("Internet", "email"),
    ("X.400", "email"),
    ("MD", "other"),
    ("TDD", "other"),
    ("TTY", "other"),
];

/// Table 0004 patient class → `Encounter.class` (v3 ActCode).
pub const PATIENT_CLASS: &[(&str, &str)] = &[
    ("E", "EMER"),
    ("I", "IMP"),
    ("O", "AMB"),
    ("P", "PRENC"),
    ("R", "AMB"),
    ("B", "IMP"),
];

/// `Encounter.class` (v3 ActCode) → table 0004 on output; `VR` (virtual) is sent as `O`
/// (table 0004 has no virtual class) with the virtual marker beside it.
pub const CLASS_TO_V2: &[(&str, &str)] = &[
    ("EMER", "E"),
    ("IMP", "I"),
    ("ACUTE", "I"),
    ("NONAC", "I"),
    ("AMB", "O"),
    ("VR", "O"),
    ("HH", "O"),
    ("FLD", "O"),
    ("SS", "O"),
    ("OBSENC", "O"),
    ("PRENC", "P"),
];

/// Table 0078 abnormal flags that are also v3 ObservationInterpretation codes.
pub const INTERPRETATION_V3: &[&str] = &[
    "<", ">", "A", "AA", "AC", "B", "CAR", "D", "DET", "E", "EX", "EXP", "H", "HH", "HU", "HX",
    "I", "IE", "IND", "L", "LL", "LU", "LX", "MS", "N", "NCL", "ND", "NEG", "NR", "NS", "POS",
    "QCF", "R", "RR", "S", "SDD", "SYN-R", "SYN-S", "TOX", "U", "UNE", "VS", "W", "WR",
];

/// Table 0085 observation result status → `Observation.status`.
pub const RESULT_STATUS: &[(&str, &str)] = &[
    ("C", "corrected"),
    ("D", "entered-in-error"),
    ("F", "final"),
    ("I", "registered"),
    ("N", "cancelled"),
    ("O", "registered"),
    ("P", "preliminary"),
    ("R", "preliminary"),
    ("S", "preliminary"),
    ("U", "final"),
    ("W", "entered-in-error"),
    ("X", "cancelled"),
];

/// Table 0278 filler status code → `Appointment.status`.
pub const FILLER_STATUS: &[(&str, &str)] = &[
    ("Pending", "pending"),
    ("Waitlist", "waitlist"),
    ("Booked", "booked"),
    ("Started", "arrived"),
    ("Complete", "fulfilled"),
    ("Cancelled", "cancelled"),
    ("Dc", "cancelled"),
    ("Deleted", "entered-in-error"),
    ("Overbook", "booked"),
    ("Noshow", "noshow"),
];

/// `Appointment.status` → table 0278 on output.
pub const STATUS_TO_FILLER: &[(&str, &str)] = &[
    ("proposed", "Pending"),
    ("pending", "Pending"),
    ("booked", "Booked"),
    ("arrived", "Started"),
    ("checked-in", "Started"),
    ("fulfilled", "Complete"),
    ("cancelled", "Cancelled"),
    ("noshow", "Noshow"),
    ("entered-in-error", "Deleted"),
    ("waitlist", "Waitlist"),
];

/// Table 0276 appointment reason codes (the FHIR `appointmentType` value set v2-0276).
pub const APPOINTMENT_REASON: &[&str] = &["CHECKUP", "EMERGENCY", "FOLLOWUP", "ROUTINE", "WALKIN"];

/// `Appointment.participant.actor` reference type → AIx segment on output.
pub const V3_PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

/// v3 ActCode, the system of `Encounter.class`.
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// v3 ObservationInterpretation.
pub const INTERPRETATION: &str =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";

/// v3 MaritalStatus.
pub const MARITAL: &str = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus";

/// Table 0203 identifier type (`Identifier.type`).
pub fn identifier_type_system() -> String {
    v2_table("0203")
}

//! Code systems and code tables (as data) used by the SCRIPT ⇄ FHIR mappings.
//!
//! **Refills.** SCRIPT 2017071 `NumberOfRefills` is the number of refills authorised
//! beyond the original dispensing (0 = the original fill only). FHIR R4
//! `MedicationRequest.dispenseRequest.numberOfRepeatsAllowed` is "the number of times, in
//! addition to the original dispense, … that the patient can receive the prescribed
//! medication" (R4 §MedicationRequest; "3 repeats" = 4 dispenses). Both exclude the
//! original fill, so the value maps unchanged. The off-by-one the issue warns about lies
//! between either of them and a count of *fills* (total dispenses = refills + 1), which
//! neither element is. An absent `numberOfRepeatsAllowed` is written as `0` (no refills).

use serde_json::Value;

/// RxNorm (`DrugDBCode` with qualifiers `SCD`, `SBD`, `GPK`, `BPK`, `SCDF`, …).
pub const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
/// NDC (`ProductCode` qualifier `ND`).
pub const NDC: &str = "http://hl7.org/fhir/sid/ndc";
/// US NPI (prescriber, pharmacy).
pub const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
/// DEA number (prescriber).
pub const DEA: &str = "http://terminology.hl7.org/NamingSystem/USDEANumber";
/// The pharmacy's NCPDP Provider ID.
pub const NCPDP_ID: &str =
    "http://terminology.hl7.org/NamingSystem/NCPDPProviderIdentificationNumber";
/// NCI codes (QuantityUnitOfMeasure, DoseUnitOfMeasure, StrengthForm, DEASchedule) are
/// written with this system, the R4-era URI used for NCI codes; on input the current
/// HL7 Terminology URI [`NCI_THESAURUS`] is accepted too.
pub const NCI: &str = "http://ncimeta.nci.nih.gov";
/// The HL7 Terminology (THO) URI of the NCI Thesaurus, accepted on input.
pub const NCI_THESAURUS: &str = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl";
/// SNOMED CT (Sig route, site, dose delivery method, units of time).
pub const SNOMED: &str = "http://snomed.info/sct";
/// UCUM.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// fhirgate's code system for SCRIPT response codes in `Task.businessStatus`
/// (`Status`/`Error`/`Verify` codes and RxFill `FillStatus` names).
pub const SCRIPT_RESPONSE: &str = "http://fhirgate.dev/CodeSystem/ncpdp-script-response";
/// The identifier system fhirgate gives `PrescriberOrderNumber` on MedicationRequests it
/// creates from inbound messages.
pub const PRESCRIBER_ORDER_NUMBER: &str =
    "http://fhirgate.dev/NamingSystem/ncpdp-prescriber-order-number";
/// The identifier system for the pharmacy's `RxReferenceNumber`.
pub const RX_REFERENCE_NUMBER: &str = "http://fhirgate.dev/NamingSystem/ncpdp-rx-reference-number";

/// One NCPDP QuantityUnitOfMeasure (NCI Thesaurus subset C89510) code with its preferred
/// term and the UCUM code (or annotation) fhirgate accepts for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantityUnit {
    /// NCI code, e.g. `C48542`.
    pub nci: &'static str,
    /// NCPDP preferred term, e.g. `Tablet`.
    pub term: &'static str,
    /// UCUM code accepted as equivalent on input, e.g. `{tbl}`.
    pub ucum: &'static str,
    /// Further unit strings accepted on input (case-insensitive; plurals included).
    pub aliases: &'static [&'static str],
}

/// The QuantityUnitOfMeasure codes fhirgate maps (current, non-sunset codes).
pub const QUANTITY_UNITS: &[QuantityUnit] = &[
    QuantityUnit {
        nci: "C48542",
        term: "Tablet",
        ucum: "{tbl}",
        aliases: &["tablet", "tablets", "tab", "tabs", "{tablet}"],
    },
    QuantityUnit {
        nci: "C48480",
        term: "Capsule",
        ucum: "{capsule}",
        aliases: &["capsule", "capsules", "cap", "caps", "{cap}"],
    },
    QuantityUnit {
        nci: "C64696",
        term: "Caplet",
        ucum: "{caplet}",
        aliases: &["caplet", "caplets"],
    },
    QuantityUnit {
        nci: "C28254",
        term: "Milliliter",
        ucum: "mL",
        aliases: &[
            "ml",
            "milliliter",
            "milliliters",
            "millilitre",
            "millilitres",
        ],
    },
    QuantityUnit {
        nci: "C48155",
        term: "Gram",
        ucum: "g",
        aliases: &["g", "gram", "grams", "gm"],
    },
    QuantityUnit {
        nci: "C28253",
        term: "Milligram",
        ucum: "mg",
        aliases: &["mg", "milligram", "milligrams"],
    },
    QuantityUnit {
        nci: "C64933",
        term: "Each",
        ucum: "{each}",
        aliases: &["each", "ea", "1"],
    },
    QuantityUnit {
        nci: "C48579",
        term: "International Unit",
        ucum: "[iU]",
        aliases: &["iu", "international unit", "international units", "[iu]"],
    },
    QuantityUnit {
        nci: "C44278",
        term: "Unit",
        ucum: "[U]",
        aliases: &["unit", "units", "u"],
    },
    QuantityUnit {
        nci: "C62412",
        term: "Applicator",
        ucum: "{applicator}",
        aliases: &["applicator", "applicators"],
    },
    QuantityUnit {
        nci: "C54564",
        term: "Blister",
        ucum: "{blister}",
        aliases: &["blister", "blisters"],
    },
    QuantityUnit {
        nci: "C38046",
        term: "Unspecified",
        ucum: "{unspecified}",
        aliases: &["unspecified"],
    },
];

/// The unit with NCI code `nci`.
pub fn unit_by_nci(nci: &str) -> Option<&'static QuantityUnit> {
    QUANTITY_UNITS.iter().find(|u| u.nci == nci)
}

/// The NCPDP unit for a FHIR Quantity: its NCI `code` (system [`NCI`] or [`NCI_THESAURUS`]),
/// else its UCUM `code`, else (UCUM or no system) its `unit` text. `None` when nothing
/// matches, and for codes of other systems (e.g. v3-orderableDrugForm `TAB`), which are not
/// guessed at.
pub fn unit_of_quantity(q: &Value) -> Option<&'static QuantityUnit> {
    let system = q["system"].as_str();
    let code = q["code"].as_str();
    match (system, code) {
        (Some(NCI | NCI_THESAURUS), Some(c)) => return unit_by_nci(c),
        (Some(UCUM), Some(c)) => {
            if let Some(u) = QUANTITY_UNITS.iter().find(|u| u.ucum == c) {
                return Some(u);
            }
        }
        (Some(UCUM) | None, _) => {}
        (Some(_), _) => return None,
    }
    let text = q["unit"].as_str().or(code)?.trim().to_ascii_lowercase();
    QUANTITY_UNITS
        .iter()
        .find(|u| u.ucum.eq_ignore_ascii_case(&text) || u.aliases.contains(&text.as_str()))
}

/// NCPDP DEASchedule (NCI subset C89507) code for a DEA schedule `CI` … `CV`.
pub fn dea_schedule_nci(schedule: &str) -> Option<&'static str> {
    Some(match schedule {
        "CI" => "C48672",
        "CII" => "C48675",
        "CIII" => "C48676",
        "CIV" => "C48677",
        "CV" => "C48679",
        _ => return None,
    })
}

/// The DEA schedule (`CII` …) for a DEASchedule NCI code; `None` for `C38046` (unspecified)
/// and unknown codes.
pub fn dea_schedule_of_nci(nci: &str) -> Option<&'static str> {
    ["CI", "CII", "CIII", "CIV", "CV"]
        .into_iter()
        .find(|s| dea_schedule_nci(s) == Some(nci))
}

/// SCRIPT `Gender` (`M`, `F`, `U`) for FHIR `gender`.
pub fn gender_to_script(gender: &str) -> &'static str {
    match gender {
        "male" => "M",
        "female" => "F",
        _ => "U",
    }
}

/// FHIR `gender` for SCRIPT `Gender`.
pub fn gender_to_fhir(gender: &str) -> &'static str {
    match gender {
        "M" => "male",
        "F" => "female",
        _ => "unknown",
    }
}

/// US states and territories: (USPS code, name). SCRIPT `StateProvince` takes the code;
/// FHIR addresses (e.g. Synthea's) often carry the name.
const STATES: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("PR", "Puerto Rico"),
    ("GU", "Guam"),
    ("VI", "Virgin Islands"),
    ("AS", "American Samoa"),
    ("MP", "Northern Mariana Islands"),
];

/// The USPS code for a state given as a code or a name (case-insensitive); other text is
/// returned unchanged.
pub fn state_code(state: &str) -> String {
    let s = state.trim();
    STATES
        .iter()
        .find(|(code, name)| code.eq_ignore_ascii_case(s) || name.eq_ignore_ascii_case(s))
        .map_or_else(|| s.to_owned(), |(code, _)| (*code).to_owned())
}

/// SNOMED CT units of time used in structured Sigs ⇄ UCUM `periodUnit`/duration units.
pub const TIME_UNITS: &[(&str, &str, &str)] = &[
    ("258702006", "hour", "h"),
    ("258703001", "day", "d"),
    ("258705008", "week", "wk"),
    ("258706009", "month", "mo"),
    ("258701004", "minute", "min"),
    ("258707000", "year", "a"),
];

/// The codes of `concept.coding` in `system`.
pub fn coding_codes<'a>(concept: &'a Value, system: &'a str) -> impl Iterator<Item = &'a str> {
    concept["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |c| c["system"] == system)
        .filter_map(|c| c["code"].as_str())
}

/// The value of the first identifier of `resource` in `system`.
pub fn identifier<'a>(resource: &'a Value, system: &str) -> Option<&'a str> {
    resource["identifier"]
        .as_array()?
        .iter()
        .find(|i| i["system"] == system)
        .and_then(|i| i["value"].as_str())
        .filter(|v| !v.trim().is_empty())
}

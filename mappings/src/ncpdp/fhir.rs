//! Reading the FHIR side: names, addresses, phones, drug text and codes, as SCRIPT needs
//! them.

use serde_json::Value;

use super::codes::{self, NDC, RXNORM, state_code};
use super::model::{Address, Communication, Name, QualifiedCode};

fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The HumanName to use: `use: official`, else `usual`, else the first.
pub fn human_name(resource: &Value) -> Option<&Value> {
    let names = resource["name"].as_array()?;
    ["official", "usual"]
        .iter()
        .find_map(|u| names.iter().find(|n| n["use"] == *u))
        .or_else(|| names.first())
}

/// SCRIPT `Name` from a FHIR HumanName (`family`; first `given` → FirstName, the rest →
/// MiddleName; first `prefix`/`suffix`).
pub fn name(resource: &Value) -> Name {
    let Some(n) = human_name(resource) else {
        return Name::default();
    };
    let given: Vec<String> = n["given"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(text)
        .collect();
    Name {
        last: text(&n["family"]),
        first: given.first().cloned(),
        middle: (given.len() > 1).then(|| given[1..].join(" ")),
        suffix: text(&n["suffix"][0]),
        prefix: text(&n["prefix"][0]),
    }
}

/// SCRIPT `Address` from the resource's address: `use: work` for practitioners and
/// organizations, `home` for patients, else the first (`address` may be one object, as in
/// Location). State names become USPS codes.
pub fn address(resource: &Value, prefer: &str) -> Option<Address> {
    let a = match &resource["address"] {
        Value::Array(list) => list
            .iter()
            .find(|a| a["use"] == prefer)
            .or_else(|| list.first())?,
        v @ Value::Object(_) => v,
        _ => return None,
    };
    let lines: Vec<String> = a["line"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(text)
        .take(2)
        .collect();
    let out = Address {
        lines,
        city: text(&a["city"]),
        state: text(&a["state"]).map(|s| state_code(&s)),
        postal_code: text(&a["postalCode"]),
        country: text(&a["country"]).map(|c| if c == "USA" { "US".to_owned() } else { c }),
    };
    (out != Address::default()).then_some(out)
}

/// Digits of a phone number (SCRIPT `Number` carries digits only); `None` when fewer than
/// 10.
fn digits(phone: &str) -> Option<String> {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    let d = match d.strip_prefix('1') {
        Some(rest) if d.len() == 11 => rest.to_owned(),
        _ => d,
    };
    (d.len() >= 10).then_some(d)
}

/// `CommunicationNumbers` from `telecom` (phone preferring `prefer`, fax, email).
pub fn communication(resource: &Value, prefer: &str) -> Communication {
    let telecom: Vec<&Value> = resource["telecom"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let of = |system: &str| {
        let mut hits = telecom.iter().filter(|t| t["system"] == system);
        let all: Vec<&&Value> = hits.by_ref().collect();
        all.iter()
            .find(|t| t["use"] == prefer)
            .or_else(|| all.first())
            .and_then(|t| t["value"].as_str())
            .map(str::to_owned)
    };
    Communication {
        phone: of("phone").as_deref().and_then(digits),
        fax: of("fax").as_deref().and_then(digits),
        email: of("email"),
    }
}

/// The drug's concept: `medicationCodeableConcept`, else the Medication's `code`.
pub fn drug_concept<'a>(mr: &'a Value, medication: Option<&'a Value>) -> &'a Value {
    if mr["medicationCodeableConcept"].is_object() {
        &mr["medicationCodeableConcept"]
    } else {
        medication.map_or(&Value::Null, |m| &m["code"])
    }
}

/// `DrugDescription`: the concept's `text`, else the display of its RxNorm, NDC or first
/// coding.
pub fn drug_description(concept: &Value) -> Option<String> {
    text(&concept["text"]).or_else(|| {
        let codings = concept["coding"].as_array()?;
        [RXNORM, NDC]
            .iter()
            .find_map(|s| codings.iter().find(|c| c["system"] == *s))
            .or_else(|| codings.first())
            .and_then(|c| text(&c["display"]))
    })
}

/// `ProductCode` (qualifier `ND`) from an NDC coding.
pub fn product_code(concept: &Value) -> Option<QualifiedCode> {
    codes::coding_codes(concept, NDC)
        .next()
        .map(|c| QualifiedCode {
            code: c.to_owned(),
            qualifier: Some("ND".to_owned()),
        })
}

/// `DrugDBCode` from an RxNorm coding. The qualifier is the RxNorm term type, which FHIR
/// does not carry; it is inferred from the RxNorm name pattern: `{…} Pack` → `GPK`/`BPK`,
/// a bracketed brand (`… [Norvasc]`) → `SBD`, otherwise `SCD`.
pub fn drug_db_code(concept: &Value) -> Option<QualifiedCode> {
    let coding = concept["coding"]
        .as_array()?
        .iter()
        .find(|c| c["system"] == RXNORM && c["code"].is_string())?;
    let name = coding["display"]
        .as_str()
        .or(concept["text"].as_str())
        .unwrap_or("");
    let branded = name.contains('[');
    let qualifier = match (name.trim_start().starts_with('{'), branded) {
        (true, true) => "BPK",
        (true, false) => "GPK",
        (false, true) => "SBD",
        (false, false) => "SCD",
    };
    Some(QualifiedCode {
        code: coding["code"].as_str()?.to_owned(),
        qualifier: Some(qualifier.to_owned()),
    })
}

/// Identifier systems accepted for a prescriber's DEA number.
pub const DEA_SYSTEMS: &[&str] = &[
    codes::DEA,
    "http://hl7.org/fhir/sid/us-dea",
    "urn:oid:2.16.840.1.113883.4.814",
];

/// The NPI check digit rule (Luhn over `80840` + the first nine digits).
pub fn npi_valid(npi: &str) -> bool {
    if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = format!("80840{npi}")
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

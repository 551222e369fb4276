//! Reading and building the FHIR R4 pieces the eligibility mappings need, on
//! `serde_json::Value`: references, names, identifiers, NPIs, dates, genders, addresses.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::model::Address;

/// NPI identifier system (<http://hl7.org/fhir/sid/us-npi>).
pub const NPI_SYSTEM: &str = "http://hl7.org/fhir/sid/us-npi";
/// CPT code system.
pub const CPT_SYSTEM: &str = "http://www.ama-assn.org/go/cpt";
/// HCPCS Level II code system.
pub const HCPCS_SYSTEM: &str = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets";
/// FHIR example benefit categories, whose codes are X12 service type codes.
pub const EX_BENEFIT_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/ex-benefitcategory";
/// HL7 v2 table 0203 identifier types (`NIIP` payer id, `MB` member number, `NPI`).
pub const V2_0203: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
/// Prefix of the identifier system of TRN trace numbers: `urn:fhirgate:x12:trn:{TRN03}`
/// (a trace number is unique per originating company, TRN03).
pub const TRACE_SYSTEM_PREFIX: &str = "urn:fhirgate:x12:trn:";

/// An Identifier typed with a v2-0203 `code` (no system: X12 ids carry none).
pub fn typed_identifier(code: &str, value: &str) -> Value {
    json!({"type": {"coding": [{"system": V2_0203, "code": code}]}, "value": value})
}

/// The string at `path` below `v`.
pub fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(*k))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The id of a `Reference` to `resource_type` (`Patient/1`, an absolute URL ending in
/// `/Patient/1`, with or without `/_history/n`).
pub fn reference_id<'a>(reference: &'a Value, resource_type: &str) -> Option<&'a str> {
    let r = reference.get("reference")?.as_str()?;
    let r = r.split("/_history/").next().unwrap_or(r);
    let mut parts = r.rsplit('/');
    let id = parts.next()?;
    (parts.next()? == resource_type && !id.is_empty()).then_some(id)
}

/// The `resourceType/id` a Reference names, whatever its type.
pub fn reference_target(reference: &Value) -> Option<(&str, &str)> {
    let r = reference.get("reference")?.as_str()?;
    let r = r.split("/_history/").next().unwrap_or(r);
    let mut parts = r.rsplit('/');
    let id = parts.next()?;
    let rt = parts.next()?;
    (!id.is_empty() && rt.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        .then_some((rt, id))
}

/// A person's name split as NM1 wants it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonName {
    /// `family` (NM103).
    pub family: String,
    /// first `given` (NM104).
    pub first: String,
    /// the other `given`s (NM105).
    pub middle: String,
    /// first `suffix` (NM107).
    pub suffix: String,
}

/// The `official` name, else `usual`, else the first one not `old`/`maiden`.
pub fn person_name(resource: &Value) -> Option<PersonName> {
    let names = resource.get("name")?.as_array()?;
    let by_use = |u: &str| {
        names
            .iter()
            .find(|n| n.get("use").and_then(Value::as_str) == Some(u))
    };
    let name = by_use("official").or_else(|| by_use("usual")).or_else(|| {
        names
            .iter()
            .find(|n| !matches!(n.get("use").and_then(Value::as_str), Some("old" | "maiden")))
    })?;
    let given: Vec<&str> = name
        .get("given")
        .and_then(Value::as_array)
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let family = text(name, &["family"]).unwrap_or("").to_owned();
    let first = given.first().copied().unwrap_or("").to_owned();
    if family.is_empty() && first.is_empty() {
        return None;
    }
    Some(PersonName {
        family,
        first,
        middle: given.get(1..).map(|m| m.join(" ")).unwrap_or_default(),
        suffix: name
            .get("suffix")
            .and_then(|s| s.get(0))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    })
}

/// A FHIR HumanName from NM1 parts.
pub fn human_name(family: &str, first: &str, middle: &str, suffix: &str) -> Value {
    let mut n = json!({"family": family});
    let given: Vec<&str> = [first, middle]
        .into_iter()
        .filter(|g| !g.is_empty())
        .collect();
    if !given.is_empty() {
        n["given"] = json!(given);
    }
    if !suffix.is_empty() {
        n["suffix"] = json!([suffix]);
    }
    n
}

/// The value of the first identifier with `system`.
pub fn identifier<'a>(resource: &'a Value, system: &str) -> Option<&'a str> {
    resource
        .get("identifier")?
        .as_array()?
        .iter()
        .find(|i| i.get("system").and_then(Value::as_str) == Some(system))
        .and_then(|i| text(i, &["value"]))
}

/// The NPI check digit rule: Luhn over `80840` + the first nine digits (CMS NPI standard).
pub fn npi_is_valid(npi: &str) -> bool {
    if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = format!("80840{npi}")
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
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

/// `YYYY-MM-DD` (a full FHIR date, or the date of a dateTime) → `CCYYMMDD`.
pub fn date_to_x12(date: &str) -> Option<String> {
    let d = date.get(..10)?;
    d.parse::<jiff::civil::Date>().ok()?;
    Some(d.replace('-', ""))
}

/// `CCYYMMDD` → `YYYY-MM-DD`, when it is a real date.
pub fn x12_to_date(d8: &str) -> Option<String> {
    if d8.len() != 8 || !d8.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = format!("{}-{}-{}", &d8[..4], &d8[4..6], &d8[6..]);
    date.parse::<jiff::civil::Date>().ok().map(|_| date)
}

/// `Patient.gender` → DMG03 (`M`, `F`, `U`).
pub fn gender_to_x12(gender: Option<&str>) -> &'static str {
    match gender {
        Some("male") => "M",
        Some("female") => "F",
        _ => "U",
    }
}

/// DMG03 → `Patient.gender`.
pub fn x12_to_gender(code: &str) -> Option<&'static str> {
    match code {
        "M" => Some("male"),
        "F" => Some("female"),
        "U" => Some("unknown"),
        _ => None,
    }
}

/// The `home` address (else the first), as N3/N4.
pub fn address(resource: &Value) -> Option<Address> {
    let all = resource.get("address")?.as_array()?;
    let a = all
        .iter()
        .find(|a| a.get("use").and_then(Value::as_str) == Some("home"))
        .or_else(|| all.first())?;
    let lines: Vec<String> = a
        .get("line")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let city = text(a, &["city"]).unwrap_or("").to_owned();
    if lines.is_empty() && city.is_empty() {
        return None;
    }
    let country = text(a, &["country"]).unwrap_or("");
    Some(Address {
        lines,
        city,
        state: text(a, &["state"]).unwrap_or("").to_owned(),
        postal_code: text(a, &["postalCode"]).unwrap_or("").to_owned(),
        country: if matches!(country, "US" | "USA" | "") {
            String::new()
        } else {
            country.to_owned()
        },
    })
}

/// A FHIR Address from N3/N4.
pub fn fhir_address(a: &Address) -> Value {
    let mut v = json!({});
    if !a.lines.is_empty() {
        v["line"] = json!(a.lines);
    }
    for (k, s) in [
        ("city", &a.city),
        ("state", &a.state),
        ("postalCode", &a.postal_code),
        ("country", &a.country),
    ] {
        if !s.is_empty() {
            v[k] = json!(s);
        }
    }
    v
}

/// The codes of `concept`'s codings with `system`.
pub fn codes<'a>(concept: &'a Value, system: &str) -> Vec<&'a str> {
    concept
        .get("coding")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter(|c| c.get("system").and_then(Value::as_str) == Some(system))
                .filter_map(|c| text(c, &["code"]))
                .collect()
        })
        .unwrap_or_default()
}

/// A deterministic `urn:uuid:` from `parts` (SHA-256, formatted as a version-8 UUID), so
/// the same input maps to the same Bundle every time.
pub fn urn_uuid(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_read_fhir_shapes() {
        assert_eq!(
            reference_id(&json!({"reference": "Patient/a"}), "Patient"),
            Some("a")
        );
        assert_eq!(
            reference_id(
                &json!({"reference": "http://x/fhir/Patient/a/_history/2"}),
                "Patient"
            ),
            Some("a")
        );
        assert_eq!(
            reference_id(&json!({"reference": "Group/a"}), "Patient"),
            None
        );
        assert!(npi_is_valid("1234567893"));
        assert!(!npi_is_valid("1234567890"));
        assert_eq!(date_to_x12("1988-03-16"), Some("19880316".into()));
        assert_eq!(date_to_x12("1988"), None);
        assert_eq!(x12_to_date("20060230"), None);
        let p = json!({"name": [{"use": "maiden", "family": "Rowe", "given": ["Liz"]}, {"use": "official", "family": "Conn", "given": ["Liz", "Ann", "B"]}]});
        let n = person_name(&p).expect("name");
        assert_eq!(
            (n.family.as_str(), n.first.as_str(), n.middle.as_str()),
            ("Conn", "Liz", "Ann B")
        );
        let u = urn_uuid(&["a", "b"]);
        assert_eq!(u.len(), 45);
        assert_eq!(u, urn_uuid(&["a", "b"]));
    }
}

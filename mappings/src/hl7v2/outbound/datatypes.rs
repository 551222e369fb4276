//! FHIR R4 data types → v2 data types (the reverse of [`crate::hl7v2::inbound::datatypes`]):
//! Identifier → CX/EI, HumanName → XPN, Address → XAD, ContactPoint → XTN,
//! CodeableConcept → CE/CWE, Practitioner or Reference → XCN. Every function returns the
//! encoded field text.

use serde_json::Value;

use super::{Out, arr, s};
use crate::hl7v2::codes::{self, reverse};
use crate::hl7v2::inbound::datatypes::{AUTHORITY_PREFIX, US_NPI, US_SSN};
use crate::hl7v2::write::{comps, comps_of, esc, subs};

/// Percent-decoding (inverse of the namespace encoding in the authority system).
fn unpct(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// HD `(namespace, universal id, universal id type)` for an `Identifier.system`.
pub fn hd(system: Option<&str>, assigner: Option<&str>, out: &Out<'_>) -> [Option<String>; 3] {
    let Some(sys) = system else {
        return [assigner.map(str::to_owned), None, None];
    };
    if let Some((ns, _)) = out.opts.authorities.iter().find(|(_, s)| s == sys) {
        return [Some(ns.clone()), None, None];
    }
    let own = |s: &str| Some(s.to_owned());
    match sys {
        US_SSN => [own("USSSA"), own("2.16.840.1.113883.4.1"), own("ISO")],
        US_NPI => [own("NPI"), own("2.16.840.1.113883.4.6"), own("ISO")],
        _ => {
            if let Some(ns) = sys.strip_prefix(AUTHORITY_PREFIX) {
                [Some(unpct(ns)), None, None]
            } else if let Some(oid) = sys.strip_prefix("urn:oid:") {
                [assigner.map(str::to_owned), own(oid), own("ISO")]
            } else if let Some(u) = sys.strip_prefix("urn:uuid:") {
                [assigner.map(str::to_owned), own(u), own("UUID")]
            } else {
                [assigner.map(str::to_owned), own(sys), own("URI")]
            }
        }
    }
}

fn type_code(id: &Value) -> Option<&str> {
    arr(&id["type"], "coding")
        .iter()
        .find(|c| s(c, "system") == Some(codes::identifier_type_system().as_str()))
        .or_else(|| arr(&id["type"], "coding").first())
        .and_then(|c| s(c, "code"))
}

/// Identifier → CX (value ^^^ authority ^ type).
pub fn cx(id: &Value, out: &Out<'_>) -> String {
    let [ns, uid, ut] = hd(s(id, "system"), s(&id["assigner"], "display"), out);
    let auth = subs(&[ns, uid, ut].map(|p| p.as_deref().map(esc).unwrap_or_default()));
    comps(&[
        s(id, "value").map(esc).unwrap_or_default(),
        String::new(),
        String::new(),
        auth,
        type_code(id).map(esc).unwrap_or_default(),
    ])
}

/// Identifier → EI (value ^ namespace ^ universal id ^ type).
pub fn ei(id: &Value, out: &Out<'_>) -> String {
    let [ns, uid, ut] = hd(s(id, "system"), s(&id["assigner"], "display"), out);
    comps_of(&[s(id, "value"), ns.as_deref(), uid.as_deref(), ut.as_deref()])
}

/// A bare FHIR id → CX/EI with the configured id authority.
pub fn bare_id(id: &str, out: &Out<'_>, ei_form: bool) -> String {
    if ei_form {
        comps_of(&[Some(id), Some(&out.opts.id_authority)])
    } else {
        comps_of(&[Some(id), None, None, Some(&out.opts.id_authority)])
    }
}

/// HumanName → XPN (family ^ given ^ further given ^ suffix ^ prefix ^ degree ^ type).
pub fn xpn(name: &Value, out: &Out<'_>) -> String {
    let given = arr(name, "given");
    let g = |i: usize| given.get(i).and_then(Value::as_str);
    let further: Vec<&str> = given.iter().skip(1).filter_map(Value::as_str).collect();
    let further = (!further.is_empty()).then(|| further.join(" "));
    let suffix = arr(name, "suffix").first().and_then(Value::as_str);
    let prefix = arr(name, "prefix").first().and_then(Value::as_str);
    let use_ = s(name, "use").and_then(|u| reverse(codes::NAME_USE, u));
    let mut parts: Vec<String> = [
        s(name, "family"),
        g(0),
        further.as_deref(),
        suffix,
        prefix,
        None,
        use_,
    ]
    .iter()
    .map(|p| p.map(esc).unwrap_or_default())
    .collect();
    let period = &name["period"];
    let (start, end) = (
        s(period, "start").and_then(|t| crate::hl7v2::time::fhir_to_dtm(t).ok()),
        s(period, "end").and_then(|t| crate::hl7v2::time::fhir_to_dtm(t).ok()),
    );
    if start.is_some() || end.is_some() {
        if out.at_least(7) {
            parts.resize(13, String::new());
            parts[11] = start.unwrap_or_default();
            parts[12] = end.unwrap_or_default();
        } else {
            parts.resize(10, String::new());
            parts[9] = subs(&[start.unwrap_or_default(), end.unwrap_or_default()]);
        }
    }
    if s(name, "family").is_none()
        && given.is_empty()
        && let Some(t) = s(name, "text")
    {
        parts[0] = esc(t);
    }
    comps(&parts)
}

/// Address → XAD (street ^ other ^ city ^ state ^ zip ^ country ^ type ^^ county).
pub fn xad(a: &Value) -> String {
    let lines = arr(a, "line");
    let l = |i: usize| lines.get(i).and_then(Value::as_str);
    let kind = if s(a, "type") == Some("postal") {
        Some("M")
    } else {
        s(a, "use").and_then(|u| reverse(codes::ADDRESS_USE, u))
    };
    comps_of(&[
        l(0),
        l(1),
        s(a, "city"),
        s(a, "state"),
        s(a, "postalCode"),
        s(a, "country"),
        kind,
        None,
        s(a, "district"),
    ])
}

/// ContactPoint → XTN: email as `^NET^Internet^address`; a number in XTN-1 before v2.7, in
/// XTN-12 (unformatted) from v2.7, with XTN-2 use and XTN-3 equipment.
pub fn xtn(cp: &Value, out: &Out<'_>) -> String {
    let value = s(cp, "value");
    let system = s(cp, "system").unwrap_or("phone");
    if system == "email" {
        return comps_of(&[None, Some("NET"), Some("Internet"), value]);
    }
    let equipment = match (system, s(cp, "use")) {
        ("phone", Some("mobile")) => Some("CP"),
        (sys, _) => reverse(codes::TELECOM_SYSTEM, sys),
    };
    let use_ = s(cp, "use").and_then(|u| reverse(codes::TELECOM_USE, u));
    let mut parts: Vec<Option<&str>> = vec![value, use_, equipment];
    if out.at_least(7) {
        parts[0] = None;
        parts.resize(12, None);
        parts[11] = value;
    }
    comps_of(&parts)
}

/// CodeableConcept → CE (`width` 6) or CWE (`width` 9, with original text): first coding,
/// second coding, text.
pub fn ce(cc: &Value, width: usize) -> String {
    let codings = arr(cc, "coding");
    let mut parts = vec![String::new(); width];
    for (i, c) in codings.iter().take(2).enumerate() {
        parts[i * 3] = s(c, "code").map(esc).unwrap_or_default();
        parts[i * 3 + 1] = s(c, "display").map(esc).unwrap_or_default();
        parts[i * 3 + 2] = s(c, "system")
            .map(|u| esc(&codes::name_of(u)))
            .unwrap_or_default();
    }
    if let Some(t) = s(cc, "text") {
        if codings.is_empty() {
            parts[1] = esc(t);
        } else if width >= 9 {
            parts[8] = esc(t);
        }
    }
    comps(&parts)
}

/// The width of coded fields: CE (6) before v2.6, CWE (9) from v2.6.
pub fn ce_width(out: &Out<'_>) -> usize {
    if out.at_least(6) { 9 } else { 6 }
}

/// A Practitioner (or, unresolved, the Reference itself) → XCN: id (NPI first) ^ family ^
/// given ^ further given ^ suffix ^ prefix ^^^ authority.
pub fn xcn(reference: &Value, out: &Out<'_>) -> String {
    let resolved = s(reference, "reference").and_then(|r| out.resolve(r));
    // A PractitionerRole stands for its practitioner.
    let resolved = match resolved {
        Some(r) if r["resourceType"] == "PractitionerRole" => s(&r["practitioner"], "reference")
            .and_then(|p| out.resolve(p))
            .or(Some(r)),
        other => other,
    };
    let (id, name) = match resolved {
        Some(r) => {
            let ids = arr(r, "identifier");
            let id = ids
                .iter()
                .find(|i| s(i, "system") == Some(US_NPI))
                .or_else(|| ids.first())
                .cloned();
            (id, arr(r, "name").first().cloned())
        }
        None => (reference.get("identifier").cloned(), None),
    };
    let mut parts = vec![String::new(); 9];
    match id {
        Some(id) => {
            parts[0] = s(&id, "value").map(esc).unwrap_or_default();
            let [ns, uid, ut] = hd(s(&id, "system"), s(&id["assigner"], "display"), out);
            parts[8] = subs(&[ns, uid, ut].map(|p| p.as_deref().map(esc).unwrap_or_default()));
        }
        None => {
            if let Some(rid) = s(reference, "reference").and_then(|r| r.rsplit('/').next()) {
                parts[0] = esc(rid);
                parts[8] = esc(&out.opts.id_authority);
            }
        }
    }
    match name {
        Some(n) => {
            let xpn_parts = xpn(&n, out);
            let comps: Vec<&str> = xpn_parts.split('^').collect();
            // XPN family^given^further^suffix^prefix^degree → XCN 2..7.
            for (i, c) in comps.iter().take(6).enumerate() {
                parts[i + 1] = (*c).to_owned();
            }
        }
        None => {
            if let Some(d) = s(reference, "display") {
                parts[1] = esc(d);
            }
        }
    }
    comps(&parts)
}

//! v2 data types → FHIR R4 data types (HL7 v2-to-FHIR IG data type maps): CX/EI →
//! Identifier, XPN → HumanName, XAD → Address, XTN → ContactPoint, CE/CWE → CodeableConcept,
//! XCN → a logical Reference.

use serde_json::{Map, Value, json};

use super::{In, put};
use crate::hl7v2::codes::{self, lookup};
use crate::hl7v2::message::Piece;

/// The SSN system.
pub const US_SSN: &str = "http://hl7.org/fhir/sid/us-ssn";
/// The NPI system.
pub const US_NPI: &str = "http://hl7.org/fhir/sid/us-npi";
/// Prefix of the system for an assigning authority known only by its namespace.
pub const AUTHORITY_PREFIX: &str = "urn:fhirgate:hl7v2:assigning-authority:";

const SSN_OID: &str = "2.16.840.1.113883.4.1";
const NPI_OID: &str = "2.16.840.1.113883.4.6";

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn pct(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `Identifier.system` for an assigning authority (HD namespace, universal id, its type)
/// and identifier type code (see the rules in the module docs of [`crate::hl7v2`]).
pub fn authority_system(
    authorities: &[(String, String)],
    namespace: Option<&str>,
    universal: Option<&str>,
    universal_type: Option<&str>,
    id_type: Option<&str>,
) -> Option<String> {
    if let Some(ns) = namespace
        && let Some((_, s)) = authorities.iter().find(|(n, _)| n == ns)
    {
        return Some(s.clone());
    }
    match (universal, universal_type) {
        (Some(SSN_OID), _) => return Some(US_SSN.into()),
        (Some(NPI_OID), _) => return Some(US_NPI.into()),
        (Some(u), Some("ISO")) => return Some(format!("urn:oid:{u}")),
        (Some(u), Some("UUID")) => return Some(format!("urn:uuid:{}", u.to_lowercase())),
        (Some(u), Some("URI" | "URL")) => return Some(u.to_owned()),
        _ => {}
    }
    match (namespace, id_type) {
        (Some("SSA" | "USSSA"), _) | (None, Some("SS")) => Some(US_SSN.into()),
        (Some("NPI"), _) | (None, Some("NPI")) => Some(US_NPI.into()),
        (Some(ns), _) => Some(format!("{AUTHORITY_PREFIX}{}", pct(ns))),
        (None, _) => universal.map(|u| format!("{AUTHORITY_PREFIX}{}", pct(u))),
    }
}

fn type_concept(code: Option<String>) -> Value {
    match code {
        Some(c) => json!({"coding": [{"system": codes::identifier_type_system(), "code": c}]}),
        None => Value::Null,
    }
}

/// CX (PID-3, PV1-19 …) → Identifier; `None` when CX-1 is empty.
pub fn cx(p: Piece<'_>, st: &In<'_>) -> Option<Value> {
    let value = p.component(1).text()?;
    let hd = p.component(4);
    let (ns, uid, utype) = (
        hd.subcomponent(1).text(),
        hd.subcomponent(2).text(),
        hd.subcomponent(3).text(),
    );
    let id_type = p.component(5).text();
    identifier(st, value, ns, uid, utype, id_type)
}

fn identifier(
    st: &In<'_>,
    value: String,
    ns: Option<String>,
    uid: Option<String>,
    utype: Option<String>,
    id_type: Option<String>,
) -> Option<Value> {
    let system = authority_system(
        &st.ctx.authorities,
        ns.as_deref(),
        uid.as_deref(),
        utype.as_deref(),
        id_type.as_deref(),
    );
    let mut o = Map::new();
    put(&mut o, "type", type_concept(id_type));
    if let Some(s) = system {
        o.insert("system".into(), json!(s));
    }
    o.insert("value".into(), json!(value));
    if let Some(ns) = ns {
        o.insert("assigner".into(), json!({"display": ns}));
    }
    Some(Value::Object(o))
}

/// EI (SCH-1, ORC-2 …: id ^ namespace ^ universal id ^ type) → Identifier of `id_type`
/// (v2 table 0203, e.g. `PLAC`, `FILL`).
pub fn ei(p: Piece<'_>, st: &In<'_>, id_type: &str) -> Option<Value> {
    let value = p.component(1).text()?;
    identifier(
        st,
        value,
        p.component(2).text(),
        p.component(3).text(),
        p.component(4).text(),
        Some(id_type.to_owned()),
    )
}

/// CE/CWE/CNE → CodeableConcept: the primary triplet (1–3), the alternate triplet (4–6),
/// and CWE-9 original text (v2.5+) or the lone text as `text`.
pub fn cwe(p: Piece<'_>) -> Option<Value> {
    let mut codings = Vec::new();
    for base in [1, 4] {
        let code = p.component(base).text();
        let display = p.component(base + 1).text();
        let system = p.component(base + 2).text();
        if let Some(code) = code {
            let mut c = Map::new();
            if let Some(s) = system.as_deref().and_then(codes::system_of) {
                c.insert("system".into(), json!(s));
            }
            c.insert("code".into(), json!(code));
            if let Some(d) = display {
                c.insert("display".into(), json!(d));
            }
            codings.push(Value::Object(c));
        }
    }
    let text = p.component(9).text().or_else(|| {
        p.component(1)
            .text()
            .is_none()
            .then(|| p.component(2).text())
            .flatten()
    });
    let mut o = Map::new();
    put(&mut o, "coding", Value::Array(codings));
    if let Some(t) = text {
        o.insert("text".into(), json!(t));
    }
    (!o.is_empty()).then_some(Value::Object(o))
}

/// A CodeableConcept of `system` when the code is one of `known`, else the v2 concept.
pub fn cwe_in(p: Piece<'_>, system: &str, known: &[&str]) -> Option<Value> {
    let code = p.component(1).text()?;
    if known.contains(&code.as_str()) && p.component(3).text().is_none_or(|s| s.starts_with("HL7"))
    {
        let mut c = json!({"system": system, "code": code});
        if let Some(d) = p.component(2).text() {
            c["display"] = json!(d);
        }
        return Some(json!({"coding": [c]}));
    }
    cwe(p)
}

/// XPN → HumanName (family FN.1, given XPN-2 and XPN-3, suffix XPN-4 and XPN-6 degree,
/// prefix XPN-5, use from XPN-7 via table 0200; period: XPN-10 DR before v2.7, XPN-12/13 from
/// v2.7).
pub fn xpn(p: Piece<'_>, st: &mut In<'_>) -> Option<Value> {
    let mut o = Map::new();
    if let Some(u) = p
        .component(7)
        .text()
        .and_then(|c| lookup(codes::NAME_USE, &c))
    {
        o.insert("use".into(), json!(u));
    }
    put(
        &mut o,
        "family",
        json!(p.component(1).subcomponent(1).text()),
    );
    let given: Vec<String> = [2, 3]
        .iter()
        .filter_map(|c| p.component(*c).text())
        .collect();
    put(&mut o, "given", json!(given));
    put(
        &mut o,
        "prefix",
        json!(p.component(5).text().into_iter().collect::<Vec<_>>()),
    );
    let suffix: Vec<String> = [4, 6]
        .iter()
        .filter_map(|c| p.component(*c).text())
        .collect();
    put(&mut o, "suffix", json!(suffix));
    let (start, end) = if st.at_least(7) {
        (p.component(12), p.component(13))
    } else {
        let dr = p.component(10);
        (dr.subcomponent(1), dr.subcomponent(2))
    };
    let mut period = Map::new();
    put(
        &mut period,
        "start",
        json!(st.date_time(start, "XPN validity")),
    );
    put(&mut period, "end", json!(st.date_time(end, "XPN validity")));
    put(&mut o, "period", Value::Object(period));
    (o.contains_key("family") || o.contains_key("given")).then_some(Value::Object(o))
}

/// XAD → Address (line: SAD-1 street, SAD-2 street name, SAD-3 dwelling joined by a space,
/// then XAD-2; city 3, state 4, postal code 5, country 6, district 9; XAD-7 via table 0190,
/// `M` → `type` postal).
pub fn xad(p: Piece<'_>) -> Option<Value> {
    let mut o = Map::new();
    match p.component(7).text().as_deref() {
        Some("M") => {
            o.insert("type".into(), json!("postal"));
        }
        Some(c) => {
            if let Some(u) = lookup(codes::ADDRESS_USE, c) {
                o.insert("use".into(), json!(u));
            }
        }
        None => {}
    }
    let sad = p.component(1);
    let street: Vec<String> = (1..=3).filter_map(|s| sad.subcomponent(s).text()).collect();
    let mut lines = Vec::new();
    if !street.is_empty() {
        lines.push(street.join(" "));
    }
    lines.extend(p.component(2).text());
    put(&mut o, "line", json!(lines));
    put(&mut o, "city", json!(p.component(3).text()));
    put(&mut o, "district", json!(p.component(9).text()));
    put(&mut o, "state", json!(p.component(4).text()));
    put(&mut o, "postalCode", json!(p.component(5).text()));
    put(&mut o, "country", json!(p.component(6).text()));
    (o.keys().any(|k| k != "use" && k != "type")).then_some(Value::Object(o))
}

/// XTN → ContactPoint. Email when XTN-3 is `Internet`/`X.400` or XTN-2 is `NET` (value
/// XTN-4); otherwise the number is XTN-1 (before v2.7), XTN-12 (unformatted), or built from
/// XTN-5 country, XTN-6 area, XTN-7 local number and XTN-8 extension.
pub fn xtn(p: Piece<'_>, default_use: Option<&str>) -> Option<Value> {
    let use_code = p.component(2).text();
    let equipment = p.component(3).text();
    let email = matches!(equipment.as_deref(), Some("Internet" | "X.400"))
        || use_code.as_deref() == Some("NET");
    let value = if email {
        p.component(4).text().or_else(|| p.component(1).text())
    } else {
        let parts = || {
            let local = p.component(7).text()?;
            let mut v = String::new();
            if let Some(c) = p.component(5).text() {
                v.push_str(&format!("+{c} "));
            }
            if let Some(a) = p.component(6).text() {
                v.push_str(&format!("({a}) "));
            }
            v.push_str(&local);
            if let Some(x) = p.component(8).text() {
                v.push_str(&format!(" x{x}"));
            }
            Some(v)
        };
        // XTN-1 is withdrawn from v2.7 but senders still fill it: read it first.
        p.component(1)
            .text()
            .or_else(|| p.component(12).text())
            .or_else(parts)
    }?;
    let system = if email {
        "email"
    } else {
        equipment
            .as_deref()
            .and_then(|e| lookup(codes::TELECOM_SYSTEM, e))
            .unwrap_or("phone")
    };
    let mut o = Map::new();
    o.insert("system".into(), json!(system));
    o.insert("value".into(), json!(value));
    let use_ = if equipment.as_deref() == Some("CP") {
        Some("mobile")
    } else {
        use_code
            .as_deref()
            .and_then(|u| lookup(codes::TELECOM_USE, u))
            .or(default_use)
    };
    if let Some(u) = use_ {
        o.insert("use".into(), json!(u));
    }
    Some(Value::Object(o))
}

/// XCN → a logical Reference of `resource_type`: identifier from XCN-1 with the authority
/// of XCN-9, display "prefix given middle family suffix".
pub fn xcn(p: Piece<'_>, st: &In<'_>, resource_type: &str) -> Option<Value> {
    let mut o = Map::new();
    o.insert("type".into(), json!(resource_type));
    if let Some(id) = p.component(1).text() {
        let hd = p.component(9);
        let id_type = p.component(13).text();
        if let Some(i) = identifier(
            st,
            id,
            hd.subcomponent(1).text(),
            hd.subcomponent(2).text(),
            hd.subcomponent(3).text(),
            id_type,
        ) {
            o.insert("identifier".into(), i);
        }
    }
    let name: Vec<String> = [6, 3, 4]
        .iter()
        .map(|c| p.component(*c).text())
        .chain([p.component(2).subcomponent(1).text(), p.component(5).text()])
        .flatten()
        .collect();
    if !name.is_empty() {
        o.insert("display".into(), json!(name.join(" ")));
    }
    (o.len() > 1).then_some(Value::Object(o))
}

//! Inbound updates merge into the stored resource field by field (HL7 v2.5.1 §2.5.3 and
//! the "snapshot" update semantics of ch. 3 §3.3.8 ADT A08): a field the message carries
//! replaces the stored value, an empty field ("not present") leaves it alone, and the
//! explicit null `""` ("delete indicator") removes it. Applied to the FHIR elements the
//! mapping produces:
//!
//! - an element in the mapped resource replaces the stored element (a primitive's `_x`
//!   companion, e.g. the birth-time extension of `birthDate`, goes with it; a choice such as
//!   `deceased[x]` replaces every variant);
//! - `identifier` is merged by `system` + `value`: a matching stored identifier is replaced,
//!   others are kept, new ones are added (identifiers are never removed by a message: they
//!   are how the resource is found);
//! - `extension` is merged by `url` (the message's extensions of one url replace the stored
//!   ones of that url);
//! - `Patient.telecom` is merged per PID field (PID-13 home, PID-14 business, PID-40): a
//!   field replaces only the contact points it owns by `use` (see [`telecom`]);
//! - `Appointment.participant` is merged by actor and type: the message's participants
//!   replace the stored ones with the same key, others are kept (see [`participant`]);
//! - `Encounter.participant` is merged per PV1 field (PV1-7/8/9/17, §3.4.3) and by
//!   individual and type: a carried field updates its participants in place, an empty one
//!   keeps its type's, `""` removes its type's (see [`encounter`]);
//! - `Encounter.period` and `Encounter.hospitalization` merge by sub-element (PV1-44 and
//!   PV1-45 are separate fields; `hospitalization` has more than PV1-14);
//! - an element listed in [`Mapped::nulled`](fhirgate_mappings::hl7v2::Mapped) is removed;
//! - an element listed in `defaulted` (filled by the mapping because the field was empty,
//!   e.g. `Encounter.class` = `UNK`, `Appointment.status` = `booked` without SCH-25) is
//!   only written when the stored resource lacks it;
//! - elements the mapping never produces (a FHIR client's `communication`, `contact`,
//!   `generalPractitioner`, `meta.tag` …) are kept.

use fhirgate_mappings::hl7v2::Mapped;
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::store::Core;

mod encounter;
mod participant;
mod plan;
mod telecom;

pub(crate) use plan::Plan;

/// Elements of choice type (`deceased[x]`): writing one variant removes the others.
const CHOICES: &[&str] = &["deceased", "multipleBirth"];
/// Elements merged by sub-element.
const BY_PART: &[&str] = &["period", "hospitalization"];

/// Why an inbound message cannot be written (before the transaction is sent).
pub(crate) enum Refusal {
    /// The update's identifier matches several stored resources (ACK AE).
    Ambiguous(String),
    /// An SIU update event without SCH-1/SCH-2 identifies no appointment (ACK AE; see
    /// [`Plan::unidentified`]).
    Unidentified(String),
    /// The store did not answer the search (ACK AR: retry).
    Unavailable,
}

/// The transaction Bundle writing `mapped` (`base` is the internal base URL), and whether
/// an entry carries an `ifMatch` (a 412 `conflict` answer then means a concurrent write:
/// plan again). Every resource is a conditional create (`ifNoneExist` from its
/// identifier), except the merged ones ([`Plan`]): the focus of an update event and the
/// Patient of an ADT or SIU message. A merged resource is looked up by its identifier (an
/// identifier without a system matches stored ones with its value and no system); one
/// match is merged into (see [`merge`]) and written as `PUT Type/id` with `ifMatch` its
/// version; no match is a conditional update `PUT Type?identifier=…` (creates it; a plain
/// create for an identifier without a system); several are a [`Refusal`]. A resource the
/// plan skips (an ADT update's Encounter without PV1-19) has no entry.
///
/// Errors: [`Refusal`] (an SIU update without an appointment id is refused before any
/// lookup).
pub(crate) async fn transaction(
    core: &Core,
    mapped: &Mapped,
    plan: &Plan,
    base: &str,
) -> Result<(Value, bool), Refusal> {
    // First every lookup, so that references to a merged resource's `urn:uuid:` fullUrl
    // can be compared with stored references to its `Type/id` (participants).
    if let Some(why) = mapped
        .resources
        .first()
        .and_then(|r| plan.unidentified(&r.resource))
    {
        tracing::info!(adapter = %core.name, "SIU update without SCH-1/SCH-2 (appointment id): refused");
        return Err(Refusal::Unidentified(why));
    }
    let mut found = Vec::with_capacity(mapped.resources.len());
    let mut resolved = Vec::new();
    for (i, r) in mapped.resources.iter().enumerate() {
        if plan.skips(&r.resource) {
            tracing::info!(adapter = %core.name, "ADT update without PV1-19 (visit number): no Encounter written");
            found.push(None);
            continue;
        }
        let rt = r.resource["resourceType"].as_str().unwrap_or_default();
        let merged = plan.merges(i, rt);
        // An update's resource whose identifier has no system (e.g. SCH-1 without an
        // assigning authority) is matched on stored identifiers with that value and no
        // system, and created (not conditionally updated) when none has it.
        let bare = r
            .if_none_exist
            .is_none()
            .then(|| r.resource["identifier"][0]["value"].as_str())
            .flatten();
        let query = r.if_none_exist.clone().or_else(|| {
            let value = bare.filter(|_| merged)?;
            let value = url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
            Some(format!("identifier={value}"))
        });
        let stored = match (&query, merged) {
            (Some(q), true) => stored_match(core, rt, q, bare, base).await?,
            _ => None,
        };
        if let Some(id) = stored.as_ref().and_then(|s| s["id"].as_str()) {
            resolved.push((r.full_url.clone(), format!("{rt}/{id}")));
        }
        found.push(Some((rt, merged, bare, query, stored)));
    }
    let mut entries = Vec::with_capacity(mapped.resources.len());
    let mut versioned = false;
    for (r, f) in mapped.resources.iter().zip(found) {
        let Some((rt, merged, bare, query, stored)) = f else {
            continue;
        };
        let (resource, request) = match (query, merged, stored) {
            (Some(_), true, Some(stored)) => {
                let id = stored["id"].as_str().unwrap_or_default().to_owned();
                let mut doc = merge(&stored, &r.resource, &mapped.nulled, &mapped.defaulted);
                doc["id"] = json!(id);
                // Elements merged by part rather than replaced (see the module docs).
                let by_part = match rt {
                    "Patient" => Some(("telecom", plan.telecom.merge(&stored, &r.resource))),
                    "Appointment" => Some((
                        "participant",
                        participant::merge(&stored, &r.resource, &resolved),
                    )),
                    "Encounter" => Some((
                        "participant",
                        plan.participants.merge(&stored, &r.resource, &resolved),
                    )),
                    _ => None,
                };
                if let (Some((element, value)), Some(o)) = (by_part, doc.as_object_mut()) {
                    match value {
                        Some(v) => o.insert(element.into(), v),
                        None => o.remove(element),
                    };
                }
                let mut request = json!({"method": "PUT", "url": format!("{rt}/{id}")});
                if let Some(v) = stored["meta"]["versionId"].as_str() {
                    request["ifMatch"] = json!(format!("W/\"{v}\""));
                    versioned = true;
                }
                (doc, request)
            }
            (Some(_), true, None) if bare.is_some() => {
                (r.resource.clone(), json!({"method": "POST", "url": rt}))
            }
            (Some(q), true, None) => (
                r.resource.clone(),
                json!({"method": "PUT", "url": format!("{rt}?{q}")}),
            ),
            (Some(q), false, _) => (
                r.resource.clone(),
                json!({"method": "POST", "url": rt, "ifNoneExist": q}),
            ),
            (None, _, _) => (r.resource.clone(), json!({"method": "POST", "url": rt})),
        };
        entries.push(json!({"fullUrl": r.full_url, "resource": resource, "request": request}));
    }
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    Ok((bundle, versioned))
}

/// The one stored `rt` matching `query`, `None` when none does. With `bare` (an identifier
/// value without a system), only resources holding that value without a system count: the
/// token search also matches it under any system, i.e. another assigning authority.
///
/// Errors: [`Refusal::Ambiguous`] for several, [`Refusal::Unavailable`] when the store fails.
async fn stored_match(
    core: &Core,
    rt: &str,
    query: &str,
    bare: Option<&str>,
    base: &str,
) -> Result<Option<Value>, Refusal> {
    let count = if bare.is_some() { 50 } else { 2 };
    let reply = core
        .fhir
        .call_url(Method::GET, &format!("{rt}?{query}&_count={count}"), None, base)
        .await
        .map_err(|e| {
            tracing::warn!(adapter = %core.name, error = %e, "store search failed for an inbound HL7 v2 update");
            Refusal::Unavailable
        })?;
    if reply.status() != StatusCode::OK {
        tracing::warn!(adapter = %core.name, status = reply.status().as_u16(), "store search refused for an inbound HL7 v2 update");
        return Err(Refusal::Unavailable);
    }
    let mut found: Vec<Value> = reply.json["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] != "outcome" && e["resource"]["resourceType"] == rt)
        .map(|e| e["resource"].clone())
        .filter(|r| {
            bare.is_none_or(|v| {
                r["identifier"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|i| i["value"].as_str() == Some(v) && i.get("system").is_none())
            })
        })
        .collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => Err(Refusal::Ambiguous(format!(
            "the update's identifier matches more than one {rt}"
        ))),
    }
}

/// `stored` with `incoming` merged in (see the module docs). `nulled` and `defaulted` are
/// FHIR paths such as `Patient.birthDate` or `Encounter.period.end`; only those starting
/// with `incoming`'s type apply. `meta.versionId` and `meta.lastUpdated` are dropped (the
/// store sets them); `id` stays the stored one.
pub(crate) fn merge(
    stored: &Value,
    incoming: &Value,
    nulled: &[String],
    defaulted: &[String],
) -> Value {
    let (Some(old), Some(new)) = (stored.as_object(), incoming.as_object()) else {
        return incoming.clone();
    };
    let rt = incoming["resourceType"].as_str().unwrap_or_default();
    let own = |paths: &[String]| -> Vec<String> {
        paths
            .iter()
            .filter_map(|p| p.strip_prefix(rt)?.strip_prefix('.').map(str::to_owned))
            .collect()
    };
    let defaulted = own(defaulted);
    let mut out = old.clone();
    for (key, value) in new {
        if matches!(key.as_str(), "resourceType" | "id" | "meta") || key.starts_with('_') {
            continue;
        }
        if defaulted.contains(key) && out.contains_key(key) {
            continue;
        }
        match key.as_str() {
            "identifier" => {
                let merged = merge_identifiers(out.get(key).unwrap_or(&Value::Null), value);
                out.insert(key.clone(), merged);
            }
            "extension" => {
                let merged = merge_extensions(out.get(key).unwrap_or(&Value::Null), value);
                out.insert(key.clone(), merged);
            }
            k if BY_PART.contains(&k) && out.get(k).is_some_and(Value::is_object) => {
                if let (Some(Value::Object(o)), Some(n)) = (out.get_mut(k), value.as_object()) {
                    for (part, v) in n {
                        o.insert(part.clone(), v.clone());
                    }
                }
            }
            _ => {
                remove(&mut out, key);
                out.insert(key.clone(), value.clone());
                if let Some(companion) = new.get(&format!("_{key}")) {
                    out.insert(format!("_{key}"), companion.clone());
                }
            }
        }
    }
    for path in own(nulled) {
        if path == "identifier" {
            continue;
        }
        match path.split_once('.') {
            None => remove(&mut out, &path),
            Some((parent, part)) => {
                if let Some(Value::Object(o)) = out.get_mut(parent) {
                    o.remove(part);
                    if o.is_empty() {
                        out.remove(parent);
                    }
                }
            }
        }
    }
    if let Some(Value::Object(meta)) = out.get_mut("meta") {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            out.remove("meta");
        }
    }
    Value::Object(out)
}

/// Removes element `key` with its `_key` companion, or every variant of a choice element.
fn remove(out: &mut Map<String, Value>, key: &str) {
    let choice = CHOICES.iter().find(|c| {
        key.strip_prefix(**c)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_uppercase))
    });
    match choice {
        Some(c) => out.retain(|k, _| {
            let base = k.trim_start_matches('_');
            !base
                .strip_prefix(*c)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_uppercase))
        }),
        None => {
            out.remove(key);
            out.remove(&format!("_{key}"));
        }
    }
}

/// Stored identifiers with the incoming ones merged by `system` + `value`.
fn merge_identifiers(stored: &Value, incoming: &Value) -> Value {
    let key = |i: &Value| {
        (
            i["system"].as_str().unwrap_or_default().to_owned(),
            i["value"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let mut out: Vec<Value> = stored.as_array().cloned().unwrap_or_default();
    for id in incoming.as_array().into_iter().flatten() {
        match out.iter_mut().find(|s| key(s) == key(id)) {
            Some(slot) => *slot = id.clone(),
            None => out.push(id.clone()),
        }
    }
    Value::Array(out)
}

/// Stored extensions whose `url` the message does not carry, then the message's.
fn merge_extensions(stored: &Value, incoming: &Value) -> Value {
    let new = incoming.as_array().cloned().unwrap_or_default();
    let urls: Vec<&Value> = new.iter().map(|e| &e["url"]).collect();
    let mut out: Vec<Value> = stored
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| !urls.contains(&&e["url"]))
        .cloned()
        .collect();
    out.extend(new.iter().cloned());
    Value::Array(out)
}

#[cfg(test)]
mod tests;

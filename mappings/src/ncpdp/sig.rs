//! `Sig` ⇄ FHIR `Dosage`. `SigText` ⇄ `Dosage.text` always; the structured parts where the
//! source has them: `DoseDeliveryMethod` ⇄ `method`, `Dosage` (`DoseQuantity`,
//! `DoseUnitOfMeasure`) ⇄ `doseAndRate.doseQuantity` (NCI unit), `RouteOfAdministration` ⇄
//! `route`, `SiteOfAdministration` ⇄ `site` (SNOMED), `Frequency` ⇄ `timing.repeat`
//! (`frequency` per 1 `periodUnit`), `Interval` ⇄ `timing.repeat` (1 per `period`),
//! `Duration` ⇄ `timing.repeat.boundsDuration`. Free-text timing (`AdministrationTiming`)
//! becomes `timing.code.text` and is not written back (the `SigText` carries it); no
//! `CodeSystem` versions are written, since FHIR does not carry them.

use serde_json::{Map, Value, json};

use super::codes::{NCI, NCI_THESAURUS, SNOMED, TIME_UNITS, UCUM, unit_by_nci, unit_of_quantity};
use super::model::{Sig, SigCode, SigInstruction};
use super::number::{decimal, number_text};
use super::xml::{Element, Writer};

fn sig_code(e: Option<&Element>) -> Option<SigCode> {
    let e = e?;
    let c = SigCode {
        text: e.text_at(&["Text"]),
        code: e.text_at(&["Code"]),
        qualifier: e.text_at(&["Qualifier"]),
    };
    (c.text.is_some() || c.code.is_some()).then_some(c)
}

/// Children named `name` of `e` and of each `TimingAndDuration` under `e` (2017071 nests
/// timing there; some writers put it directly under `Instruction`).
fn timing<'a>(e: &'a Element, name: &'a str) -> Option<&'a Element> {
    e.child(name).or_else(|| {
        e.children_named("TimingAndDuration")
            .find_map(|t| t.child(name))
    })
}

fn instruction(i: &Element) -> SigInstruction {
    let admin = i.child("DoseAdministration");
    let in_admin = |name: &str| admin.and_then(|a| a.child(name)).or_else(|| i.child(name));
    let dose = in_admin("Dosage").or_else(|| in_admin("Dose"));
    let frequency = timing(i, "Frequency");
    let interval = timing(i, "Interval");
    let duration = timing(i, "Duration");
    let indication = i.child("Indication");
    SigInstruction {
        dose_delivery_method: sig_code(in_admin("DoseDeliveryMethod")),
        dose_quantity: dose.and_then(|d| d.text_at(&["DoseQuantity"])),
        dose_unit: sig_code(dose.and_then(|d| d.child("DoseUnitOfMeasure"))),
        route: sig_code(in_admin("RouteOfAdministration")),
        site: sig_code(in_admin("SiteOfAdministration")),
        frequency: frequency.and_then(|f| f.text_at(&["FrequencyNumericValue"])),
        frequency_unit: sig_code(frequency.and_then(|f| f.child("FrequencyUnits"))),
        interval: interval.and_then(|f| f.text_at(&["IntervalNumericValue"])),
        interval_unit: sig_code(interval.and_then(|f| f.child("IntervalUnits"))),
        timing_text: timing(i, "AdministrationTiming").and_then(|t| {
            t.text_at(&["Text"]).or_else(|| {
                let parts: Vec<String> = t
                    .children
                    .iter()
                    .filter_map(|c| c.text_at(&["Text"]))
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            })
        }),
        duration: duration.and_then(|d| d.text_at(&["DurationNumericValue"])),
        duration_unit: sig_code(duration.and_then(|d| d.child("DurationText")))
            .or_else(|| sig_code(duration)),
        indication: indication.and_then(|x| {
            x.text_at(&["Text"])
                .or_else(|| x.text_at(&["IndicationText"]))
                .or_else(|| x.text_at(&["IndicationValue", "Text"]))
        }),
        as_needed: indication.is_some_and(|x| x.child("IndicationPrecursor").is_some()),
    }
}

/// Reads a `Sig` element.
pub fn parse_sig(s: &Element) -> Sig {
    Sig {
        text: s.text_at(&["SigText"]),
        instructions: s.children_named("Instruction").map(instruction).collect(),
    }
}

fn write_code(w: &mut Writer, name: &str, c: &Option<SigCode>) {
    let Some(c) = c else { return };
    w.open(name);
    w.leaf("Text", c.text.as_deref());
    w.leaf("Qualifier", c.qualifier.as_deref());
    w.leaf("Code", c.code.as_deref());
    w.close(name);
}

/// Writes `sig` as a 2017071 `Sig` element.
pub fn write_sig(w: &mut Writer, sig: &Sig) {
    w.open("Sig");
    w.leaf("SigText", sig.text.as_deref());
    for i in &sig.instructions {
        w.open("Instruction");
        let dose = i.dose_quantity.is_some() && i.dose_unit.is_some();
        if i.dose_delivery_method.is_some() || dose || i.route.is_some() || i.site.is_some() {
            w.open("DoseAdministration");
            write_code(w, "DoseDeliveryMethod", &i.dose_delivery_method);
            if dose {
                w.open("Dosage");
                w.leaf("DoseQuantity", i.dose_quantity.as_deref());
                write_code(w, "DoseUnitOfMeasure", &i.dose_unit);
                w.close("Dosage");
            }
            write_code(w, "RouteOfAdministration", &i.route);
            write_code(w, "SiteOfAdministration", &i.site);
            w.close("DoseAdministration");
        }
        for (outer, value_name, value, unit_name, unit) in [
            (
                "Frequency",
                "FrequencyNumericValue",
                &i.frequency,
                "FrequencyUnits",
                &i.frequency_unit,
            ),
            (
                "Interval",
                "IntervalNumericValue",
                &i.interval,
                "IntervalUnits",
                &i.interval_unit,
            ),
            (
                "Duration",
                "DurationNumericValue",
                &i.duration,
                "DurationText",
                &i.duration_unit,
            ),
        ] {
            if value.is_some() && unit.is_some() {
                w.open("TimingAndDuration");
                w.open(outer);
                w.leaf(value_name, value.as_deref());
                write_code(w, unit_name, unit);
                w.close(outer);
                w.close("TimingAndDuration");
            }
        }
        w.close("Instruction");
    }
    w.close("Sig");
}

fn concept(c: &SigCode) -> Value {
    let mut out = Map::new();
    if let Some(code) = &c.code {
        let system = match c.qualifier.as_deref() {
            Some("SNOMED") | None => SNOMED,
            Some(_) => NCI,
        };
        let mut coding = Map::new();
        coding.insert("system".into(), system.into());
        coding.insert("code".into(), code.as_str().into());
        if let Some(t) = &c.text {
            coding.insert("display".into(), t.as_str().into());
        }
        out.insert("coding".into(), json!([coding]));
    }
    if let Some(t) = &c.text {
        out.insert("text".into(), t.as_str().into());
    }
    Value::Object(out)
}

/// UCUM unit of time for a SNOMED time-unit code (or its text).
fn time_unit(c: &Option<SigCode>) -> Option<(&'static str, &'static str)> {
    let c = c.as_ref()?;
    TIME_UNITS
        .iter()
        .find(|(code, name, _)| {
            c.code.as_deref() == Some(*code)
                || c.text.as_deref().is_some_and(|t| {
                    let t = t.trim().to_ascii_lowercase();
                    t == *name || t.strip_suffix('s') == Some(name)
                })
        })
        .map(|(_, name, ucum)| (*name, *ucum))
}

/// FHIR `Dosage` entries for `sig` (one per `Instruction`, or one with only `text`).
pub fn sig_to_dosages(sig: &Sig) -> Vec<Value> {
    let mut out = Vec::new();
    let count = sig.instructions.len();
    for (n, i) in sig.instructions.iter().enumerate() {
        let mut d = Map::new();
        if count > 1 {
            d.insert("sequence".into(), json!(n + 1));
        }
        if n == 0
            && let Some(t) = &sig.text
        {
            d.insert("text".into(), t.as_str().into());
        }
        let mut repeat = Map::new();
        if let (Some(v), Some((_, unit))) = (
            i.frequency.as_deref().and_then(|v| v.parse::<u32>().ok()),
            time_unit(&i.frequency_unit),
        ) {
            repeat.insert("frequency".into(), json!(v));
            repeat.insert("period".into(), json!(1));
            repeat.insert("periodUnit".into(), unit.into());
        } else if let (Some(v), Some((_, unit))) = (
            i.interval.as_deref().and_then(decimal),
            time_unit(&i.interval_unit),
        ) {
            repeat.insert("frequency".into(), json!(1));
            repeat.insert("period".into(), v);
            repeat.insert("periodUnit".into(), unit.into());
        }
        if let (Some(v), Some((name, unit))) = (
            i.duration.as_deref().and_then(decimal),
            time_unit(&i.duration_unit),
        ) {
            repeat.insert(
                "boundsDuration".into(),
                json!({"value": v, "unit": name, "system": UCUM, "code": unit}),
            );
        }
        let mut timing = Map::new();
        if !repeat.is_empty() {
            timing.insert("repeat".into(), Value::Object(repeat));
        }
        if let Some(t) = &i.timing_text {
            timing.insert("code".into(), json!({"text": t}));
        }
        if !timing.is_empty() {
            d.insert("timing".into(), Value::Object(timing));
        }
        if i.as_needed {
            d.insert("asNeededBoolean".into(), true.into());
        }
        if let Some(c) = &i.site {
            d.insert("site".into(), concept(c));
        }
        if let Some(c) = &i.route {
            d.insert("route".into(), concept(c));
        }
        if let Some(c) = &i.dose_delivery_method {
            d.insert("method".into(), concept(c));
        }
        if let (Some(v), Some(u)) = (i.dose_quantity.as_deref().and_then(decimal), &i.dose_unit) {
            let mut q = Map::new();
            q.insert("value".into(), v);
            let term = u
                .code
                .as_deref()
                .and_then(unit_by_nci)
                .map(|x| x.term.to_ascii_lowercase());
            if let Some(t) = u.text.clone().or(term) {
                q.insert("unit".into(), t.into());
            }
            if let Some(code) = &u.code {
                q.insert("system".into(), NCI.into());
                q.insert("code".into(), code.as_str().into());
            }
            d.insert("doseAndRate".into(), json!([{"doseQuantity": q}]));
        }
        out.push(Value::Object(d));
    }
    if out.is_empty()
        && let Some(t) = &sig.text
    {
        out.push(json!({"text": t}));
    }
    out
}

fn code_of(concept: &Value, system: &str, qualifier: &str) -> Option<SigCode> {
    let coding = concept["coding"]
        .as_array()?
        .iter()
        .find(|c| c["system"] == system && c["code"].is_string())?;
    Some(SigCode {
        text: concept["text"]
            .as_str()
            .or(coding["display"].as_str())
            .map(str::to_owned),
        code: coding["code"].as_str().map(str::to_owned),
        qualifier: Some(qualifier.to_owned()),
    })
}

fn snomed_time(ucum: &str) -> Option<SigCode> {
    TIME_UNITS
        .iter()
        .find(|(_, _, u)| *u == ucum)
        .map(|(code, name, _)| SigCode {
            text: Some((*name).to_owned()),
            code: Some((*code).to_owned()),
            qualifier: Some("SNOMED".to_owned()),
        })
}

/// A structured `Instruction` for one FHIR `Dosage`, when it has structured parts SCRIPT
/// can carry (dose with a mappable unit, route, site, method, frequency, interval,
/// duration).
fn dosage_to_instruction(d: &Value) -> Option<SigInstruction> {
    let mut i = SigInstruction {
        dose_delivery_method: code_of(&d["method"], SNOMED, "SNOMED"),
        route: code_of(&d["route"], SNOMED, "SNOMED"),
        site: code_of(&d["site"], SNOMED, "SNOMED"),
        as_needed: d["asNeededBoolean"] == true,
        ..SigInstruction::default()
    };
    let q = &d["doseAndRate"][0]["doseQuantity"];
    if let (Some(v), Some(u)) = (number_text(&q["value"]), unit_of_quantity(q)) {
        let nci_code = matches!(q["system"].as_str(), Some(NCI | NCI_THESAURUS));
        i.dose_quantity = Some(v);
        i.dose_unit = Some(SigCode {
            text: q["unit"]
                .as_str()
                .filter(|_| nci_code)
                .map_or_else(|| u.term.to_ascii_lowercase(), str::to_owned)
                .into(),
            code: Some(u.nci.to_owned()),
            qualifier: Some("DoseUnitOfMeasure".to_owned()),
        });
    }
    let r = &d["timing"]["repeat"];
    let frequency = number_text(&r["frequency"]);
    let period = number_text(&r["period"]);
    let unit = r["periodUnit"].as_str().and_then(snomed_time);
    if r["periodMax"].is_null() && r["frequencyMax"].is_null() {
        match (frequency.as_deref(), period.as_deref()) {
            (Some(f), Some("1")) => {
                i.frequency = Some(f.to_owned());
                i.frequency_unit = unit.clone();
            }
            (Some("1"), Some(p)) => {
                i.interval = Some(p.to_owned());
                i.interval_unit = unit.clone();
            }
            _ => {}
        }
    }
    let b = &r["boundsDuration"];
    if let (Some(v), Some(u)) = (
        number_text(&b["value"]),
        b["code"].as_str().and_then(snomed_time),
    ) {
        i.duration = Some(v);
        i.duration_unit = Some(u);
    }
    let structured = i.dose_delivery_method.is_some()
        || i.dose_quantity.is_some()
        || i.route.is_some()
        || i.site.is_some()
        || (i.frequency.is_some() && i.frequency_unit.is_some())
        || (i.interval.is_some() && i.interval_unit.is_some())
        || i.duration.is_some();
    structured.then_some(i)
}

/// The `Sig` for `MedicationRequest.dosageInstruction`: `SigText` from the `text`s (joined
/// with `; ` when there are several), one `Instruction` per structured Dosage.
pub fn dosages_to_sig(dosages: &[Value]) -> Option<Sig> {
    let texts: Vec<&str> = dosages
        .iter()
        .filter_map(|d| d["text"].as_str())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    let text = (!texts.is_empty()).then(|| texts.join("; "));
    let instructions: Vec<SigInstruction> =
        dosages.iter().filter_map(dosage_to_instruction).collect();
    (text.is_some() || !instructions.is_empty()).then_some(Sig { text, instructions })
}

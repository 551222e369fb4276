//! One HealthKit `Record` (attributes `type`, `unit`, `value`, `startDate`, `endDate`,
//! `sourceName`, `device`) or blood-pressure `Correlation` → [`Reading`].
//!
//! Values are kept digit for digit, except oxygen saturation, which HealthKit exports as a
//! fraction and which is scaled ×100 exactly ([`units::times_hundred`]). Dates keep their
//! offsets ([`time::healthkit`]). Equal start and end give `effectiveDateTime`, otherwise
//! `effectivePeriod`. Records have no id: the identifier hashes format, type, dates, value,
//! unit and device — the device without HealthKit's per-export object address (`0x…`).
//! Sleep: asleep samples (`HKCategoryValueSleepAnalysisAsleep*`) become 93832-4 valued by
//! their length, in whole minutes when exact, else seconds; in-bed and awake are skipped.

use std::sync::Arc;

use crate::MappingError;
use crate::wearables::identifier::{self, HashInput};
use crate::wearables::loinc::{self, Measure};
use crate::wearables::observation::{Component, DeviceInfo, LOINC, Quantity, Reading};
use crate::wearables::time::{self, Effective};
use crate::wearables::units;

/// HealthKit type → (measure, unit-table name).
pub static TYPES: &[(&str, Measure, &str)] = &[
    (
        "HKQuantityTypeIdentifierHeartRate",
        Measure::HeartRate,
        "heart-rate",
    ),
    (
        "HKQuantityTypeIdentifierRespiratoryRate",
        Measure::RespiratoryRate,
        "respiratory-rate",
    ),
    (
        "HKQuantityTypeIdentifierOxygenSaturation",
        Measure::OxygenSaturation,
        "oxygen-saturation",
    ),
    (
        "HKQuantityTypeIdentifierBodyTemperature",
        Measure::BodyTemperature,
        "body-temperature",
    ),
    (
        "HKQuantityTypeIdentifierBodyMass",
        Measure::BodyWeight,
        "body-weight",
    ),
    (
        "HKQuantityTypeIdentifierBodyMassIndex",
        Measure::BodyMassIndex,
        "body-mass-index",
    ),
    (
        "HKQuantityTypeIdentifierStepCount",
        Measure::StepCount,
        "step-count",
    ),
    (
        "HKQuantityTypeIdentifierBloodGlucose",
        Measure::GlucoseBloodMass,
        "blood-glucose",
    ),
];

/// Sleep analysis type.
pub const SLEEP: &str = "HKCategoryTypeIdentifierSleepAnalysis";
/// Blood-pressure correlation and its two record types.
pub const BP: &str = "HKCorrelationTypeIdentifierBloodPressure";
/// See [`BP`].
pub const SYSTOLIC: &str = "HKQuantityTypeIdentifierBloodPressureSystolic";
/// See [`BP`].
pub const DIASTOLIC: &str = "HKQuantityTypeIdentifierBloodPressureDiastolic";

/// The attributes of a `Record` (or `Correlation`) we use.
#[derive(Debug, Default, Clone)]
pub struct HkRecord {
    /// `type`.
    pub kind: String,
    /// `unit`.
    pub unit: String,
    /// `value`.
    pub value: String,
    /// `startDate`.
    pub start: String,
    /// `endDate`.
    pub end: String,
    /// `sourceName`.
    pub source_name: String,
    /// `device` (an `<<HKDevice: 0x…>, name:…, manufacturer:…>` description).
    pub device: String,
}

fn bad(kind: &str, detail: impl Into<String>) -> MappingError {
    MappingError::invalid("healthkit", format!("{kind}: {}", detail.into()))
}

/// Device fields from HealthKit's description string, and a stable key for hashing.
pub fn device(rec: &HkRecord) -> (DeviceInfo, String) {
    device_of(&rec.source_name, &rec.device)
}

/// The part of a `device` description that names the device: without the leading
/// `<<HKDevice: 0x…>` object address, which changes from record to record.
fn stable_device(description: &str) -> &str {
    match description.split_once(", ") {
        Some((head, rest)) if head.starts_with("<<HKDevice:") => rest,
        _ => description,
    }
}

/// The last device seen, parsed once: an export names the same device on runs of records.
#[derive(Debug, Default)]
pub struct DeviceCache {
    source_name: String,
    device: String,
    parsed: Option<(Arc<DeviceInfo>, String)>,
}

impl DeviceCache {
    /// The device of `rec` and its hashing key ([`device`]), parsed again only when the
    /// source name or the device (address aside) differs from the previous record's.
    pub fn get(&mut self, rec: &HkRecord) -> (Arc<DeviceInfo>, &str) {
        let stable = stable_device(&rec.device);
        if self.source_name != rec.source_name || self.device != stable {
            self.parsed = None;
            self.source_name.clone_from(&rec.source_name);
            self.device.clear();
            self.device.push_str(stable);
        }
        let (info, key) = self.parsed.get_or_insert_with(|| {
            let (info, key) = device_of(&rec.source_name, stable);
            (Arc::new(info), key)
        });
        (info.clone(), key)
    }
}

fn device_of(source_name: &str, description: &str) -> (DeviceInfo, String) {
    let mut fields: [Option<&str>; 5] = [None; 5];
    const KEYS: [&str; 5] = ["name", "manufacturer", "model", "hardware", "software"];
    for part in description.split(", ") {
        if let Some((k, v)) = part.split_once(':')
            && let Some(slot) = KEYS.iter().position(|key| *key == k)
        {
            fields[slot] = Some(v.trim_end_matches('>'));
        }
    }
    let [name, manufacturer, model, hardware, software] = fields;
    let own = |v: Option<&str>| v.map(str::to_owned);
    let info = DeviceInfo {
        name: name.unwrap_or(source_name).to_owned(),
        manufacturer: own(manufacturer),
        model: own(model),
        software: own(software),
    };
    let key = [
        Some(source_name),
        name,
        manufacturer,
        model,
        hardware,
        software,
    ]
    .map(Option::unwrap_or_default)
    .join("|");
    (info, key)
}

fn effective(rec: &HkRecord, period: bool) -> Result<Effective, MappingError> {
    let tf = |s: &str| {
        time::healthkit(s).map_err(|detail| MappingError::TimeFrame {
            format: "healthkit",
            measure: rec.kind.clone(),
            detail,
        })
    };
    Ok(if rec.start == rec.end && !period {
        Effective::DateTime(tf(&rec.start)?)
    } else {
        Effective::Period(tf(&rec.start)?, tf(&rec.end)?)
    })
}

fn quantity(rec: &HkRecord, table_key: &str) -> Result<Quantity, MappingError> {
    let (known, code) = units::rule(units::HEALTHKIT, table_key, &rec.unit).ok_or_else(|| {
        MappingError::UnknownUnit {
            format: "healthkit",
            measure: rec.kind.clone(),
            unit: rec.unit.clone(),
        }
    })?;
    let text = if table_key == "oxygen-saturation" {
        units::times_hundred(&rec.value).ok_or_else(|| bad(&rec.kind, "value is not a decimal"))?
    } else {
        rec.value.clone()
    };
    let value = units::number(&text).ok_or_else(|| bad(&rec.kind, "value is not a decimal"))?;
    Ok(Quantity {
        value,
        unit: units::source_unit(known, &rec.unit),
        code,
    })
}

fn reading(
    rec: &HkRecord,
    devices: &mut DeviceCache,
    measure: Measure,
    eff: Effective,
    value_key: &str,
    unit: &str,
) -> Reading {
    let (info, device_key) = devices.get(rec);
    let id = identifier::hashed(&HashInput {
        format: "healthkit",
        measure: &rec.kind,
        time_frame: &format!("{}/{}", rec.start, rec.end),
        value: value_key,
        unit,
        device: device_key,
    });
    let mut r = Reading::new(measure, eff, id);
    r.device = Some(info);
    r
}

/// Maps a quantity or sleep `Record`. `Ok(None)`: a type or sleep value we skip.
pub fn record_to_reading(
    rec: &HkRecord,
    devices: &mut DeviceCache,
) -> Result<Option<Reading>, MappingError> {
    if rec.kind == SLEEP {
        if !rec.value.starts_with("HKCategoryValueSleepAnalysisAsleep") {
            return Ok(None);
        }
        let eff = effective(rec, true)?;
        let Effective::Period(s, e) = &eff else {
            return Ok(None);
        };
        let secs = time::seconds_between(s, e).map_err(|d| bad(&rec.kind, d))? as i64;
        let (v, u) = if secs % 60 == 0 {
            (secs / 60, "min")
        } else {
            (secs, "s")
        };
        let mut r = reading(rec, devices, Measure::SleepDuration, eff, &rec.value, u);
        r.value = Some(Quantity {
            value: v.into(),
            unit: u.into(),
            code: u,
        });
        return Ok(Some(r));
    }
    let Some((_, measure, key)) = TYPES.iter().find(|(t, _, _)| *t == rec.kind) else {
        return Ok(None);
    };
    let q = quantity(rec, key)?;
    let measure = match (*measure, q.code) {
        (Measure::GlucoseBloodMass, "mmol/L") => Measure::GlucoseBloodMolar,
        (m, _) => m,
    };
    let mut r = reading(
        rec,
        devices,
        measure,
        effective(rec, measure == Measure::StepCount)?,
        &rec.value,
        &rec.unit,
    );
    r.value = Some(q);
    Ok(Some(r))
}

/// Maps a blood-pressure correlation and its systolic and diastolic records.
pub fn blood_pressure_to_reading(
    corr: &HkRecord,
    parts: &[HkRecord],
    devices: &mut DeviceCache,
) -> Result<Reading, MappingError> {
    let find = |t: &str| {
        parts
            .iter()
            .find(|p| p.kind == t)
            .ok_or_else(|| bad(BP, format!("no {t} record")))
    };
    let (sys, dia) = (find(SYSTOLIC)?, find(DIASTOLIC)?);
    let (qs, qd) = (
        quantity(sys, "blood-pressure")?,
        quantity(dia, "blood-pressure")?,
    );
    let src = if corr.device.is_empty() { sys } else { corr };
    let mut r = reading(
        &HkRecord {
            kind: BP.into(),
            ..src.clone()
        },
        devices,
        Measure::BloodPressure,
        effective(corr, false)?,
        &format!("{}/{}", sys.value, dia.value),
        &sys.unit,
    );
    r.components.push(Component {
        system: LOINC,
        code: loinc::SYSTOLIC.0,
        display: loinc::SYSTOLIC.1,
        quantity: qs,
    });
    r.components.push(Component {
        system: LOINC,
        code: loinc::DIASTOLIC.0,
        display: loinc::DIASTOLIC.1,
        quantity: qd,
    });
    Ok(r)
}

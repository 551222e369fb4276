//! `Observation.identifier`: the source's own id with a system per source, or a
//! deterministic SHA-256 when the source has none, so a re-upload is recognised and a
//! conditional create (`ifNoneExist: identifier=system|value`) finds the first copy.

use sha2::{Digest, Sha256};

/// System for Open mHealth data-point ids (`header.id`).
pub const OMH_ID: &str = "https://w3id.org/openmhealth/data-point-id";
/// System for Fitbit body-weight log ids (`weight[].logId`).
pub const FITBIT_WEIGHT_LOG_ID: &str =
    "https://dev.fitbit.com/build/reference/web-api/body/weight-log-id";
/// System for Fitbit sleep log ids (`sleep[].logId`); log ids are unique per log type only.
pub const FITBIT_SLEEP_LOG_ID: &str = "https://dev.fitbit.com/build/reference/web-api/sleep/log-id";
/// System for the deterministic hash of readings that carry no id (HealthKit records, bare
/// Open mHealth bodies, Fitbit intraday points). The value is lowercase hex SHA-256.
pub const HASH: &str = "urn:fhirgate:wearable-reading:sha256";

/// `Observation.identifier` (system, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    /// URI of the namespace.
    pub system: &'static str,
    /// The id within it.
    pub value: String,
}

/// What the hash covers: source format, measure, time frame, value, unit and device.
/// Fields are joined by U+001F so no field's text can imitate another field.
#[derive(Debug)]
pub struct HashInput<'a> {
    /// `omh`, `healthkit` or `fitbit`.
    pub format: &'a str,
    /// Measure name, e.g. `heart-rate`.
    pub measure: &'a str,
    /// Time frame as the source wrote it (or its canonical form).
    pub time_frame: &'a str,
    /// Value(s) as the source wrote them (`125/60` for blood pressure).
    pub value: &'a str,
    /// Unit as the source wrote it.
    pub unit: &'a str,
    /// Device description without per-export noise (may be empty).
    pub device: &'a str,
}

/// The deterministic identifier for `input`.
pub fn hashed(input: &HashInput<'_>) -> Identifier {
    let mut h = Sha256::new();
    for (i, part) in [
        input.format,
        input.measure,
        input.time_frame,
        input.value,
        input.unit,
        input.device,
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            h.update([0x1f]);
        }
        h.update(part.as_bytes());
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut value = String::with_capacity(64);
    for b in h.finalize() {
        value.push(char::from(HEX[usize::from(b >> 4)]));
        value.push(char::from(HEX[usize::from(b & 15)]));
    }
    Identifier {
        system: HASH,
        value,
    }
}

/// The source's own id.
pub fn source(system: &'static str, value: impl Into<String>) -> Identifier {
    Identifier {
        system,
        value: value.into(),
    }
}

//! Every wearable fixture in `tests/fixtures/wearables/<format>/` maps or is refused for the
//! defect its name states (`…-INVALID-<reason>…`). Valid inputs are compared with
//! `<case>.expected.json`: per reading the LOINC code, UCUM code, value (exact digits) and
//! time frame, plus the identifier system. Fitbit fixtures map in `America/Los_Angeles`.
//! Google Fit datasets (times in UTC) map without a zone.
//! `FHIRGATE_UPDATE_FIXTURES=1` rewrites the expected files (review the diff).

use std::path::{Path, PathBuf};

use fhirgate_mappings::MappingError;
use fhirgate_mappings::wearables::{Context, Mapped, fitbit, googlefit, healthkit, omh};
use serde_json::{Value, json};

fn fixtures(format: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/wearables")
        .join(format);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| !p.to_string_lossy().ends_with(".expected.json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn map(format: &str, path: &Path) -> Result<Mapped, MappingError> {
    let bytes = std::fs::read(path).expect("read fixture");
    match format {
        "apple-healthkit" => healthkit::export_to_observations(&bytes, &Context::new("p1", None)?),
        "fitbit" => {
            let v: Value = serde_json::from_slice(&bytes).expect("json");
            fitbit::payload_to_observations(&v, &Context::new("p1", Some("America/Los_Angeles"))?)
        }
        "googlefit" => {
            let v: Value = serde_json::from_slice(&bytes).expect("json");
            googlefit::dataset_to_observations(&v, &Context::new("p1", None)?)
        }
        _ => {
            let v: Value = serde_json::from_slice(&bytes).expect("json");
            omh::data_points_to_observations(&v, &Context::new("p1", None)?)
        }
    }
}

/// The per-reading facts a clinician checks.
pub fn summary(o: &Value) -> Value {
    let (ucum, value) = if o["valueQuantity"].is_object() {
        (
            o["valueQuantity"]["code"].clone(),
            o["valueQuantity"]["value"].to_string(),
        )
    } else {
        let comps = o["component"].as_array().cloned().unwrap_or_default();
        let values: Vec<String> = comps
            .iter()
            .map(|c| c["valueQuantity"]["value"].to_string())
            .collect();
        (
            comps
                .first()
                .map(|c| c["valueQuantity"]["code"].clone())
                .unwrap_or(Value::Null),
            values.join("/"),
        )
    };
    let effective = o["effectiveDateTime"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!(
                "{}/{}",
                o["effectivePeriod"]["start"].as_str().unwrap_or(""),
                o["effectivePeriod"]["end"].as_str().unwrap_or("")
            )
        });
    json!({
        "loinc": o["code"]["coding"][0]["code"],
        "category": o["category"][0]["coding"][0]["code"],
        "ucum": ucum,
        "value": value,
        "effective": effective,
        "identifier_system": o["identifier"][0]["system"],
    })
}

fn reason_matches(reason: &str, e: &MappingError) -> bool {
    match reason {
        "incorrect-unit" | "unknown-unit" => matches!(e, MappingError::UnknownUnit { .. }),
        "date-time-frame" | "missing-time-frame" => matches!(e, MappingError::TimeFrame { .. }),
        "unknown-measure" => matches!(e, MappingError::UnknownMeasure { .. }),
        "wrong-schema-shape" => matches!(e, MappingError::Invalid { .. }),
        "truncated-xml" => matches!(e, MappingError::Xml { .. }),
        other => panic!("no rule for INVALID reason {other:?}"),
    }
}

fn check_format(format: &str) {
    for path in fixtures(format) {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_owned();
        let result = map(format, &path);
        if let Some(rest) = name.split("-INVALID-").nth(1) {
            let reason = rest.trim_end_matches(".json");
            let errors: Vec<MappingError> = match result {
                Err(e) => vec![e],
                Ok(m) => m.observations.into_iter().filter_map(Result::err).collect(),
            };
            assert!(
                errors.iter().any(|e| reason_matches(reason, e)),
                "{name}: not refused for {reason}: {errors:?}"
            );
            if reason != "truncated-xml" {
                assert!(
                    errors.iter().all(|e| reason_matches(reason, e)),
                    "{name}: {errors:?}"
                );
            }
            continue;
        }
        let mapped = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let readings: Vec<Value> = mapped
            .observations
            .iter()
            .map(|r| {
                r.as_ref()
                    .map(|o| summary(&o.to_value()))
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
            })
            .collect();
        let actual = json!({"readings": readings, "warnings": mapped.warnings});
        let expected_path = path.with_file_name(format!("{name}.expected.json"));
        if std::env::var_os("FHIRGATE_UPDATE_FIXTURES").is_some() {
            let text = serde_json::to_string_pretty(&actual).expect("json") + "\n";
            std::fs::write(&expected_path, text).expect("write expected");
            continue;
        }
        let expected: Value = serde_json::from_slice(
            &std::fs::read(&expected_path).unwrap_or_else(|_| panic!("{name}: no expected file")),
        )
        .expect("expected json");
        assert_eq!(actual, expected, "{name}");
    }
}

#[test]
fn openmhealth_fixtures_map_or_are_refused_for_their_defect() {
    check_format("openmhealth");
}

#[test]
fn healthkit_fixtures_map_or_are_refused_for_their_defect() {
    check_format("apple-healthkit");
}

#[test]
fn fitbit_fixtures_map_or_are_refused_for_their_defect() {
    check_format("fitbit");
}

#[test]
fn googlefit_fixtures_map_or_are_refused_for_their_defect() {
    check_format("googlefit");
}

#[test]
fn fitbit_without_a_zone_keeps_date_precision_and_warns() {
    let v: Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/wearables/fitbit/fitbit-webapi-body-log-weight.json"),
        )
        .expect("read"),
    )
    .expect("json");
    let m =
        fitbit::payload_to_observations(&v, &Context::new("p1", None).expect("ctx")).expect("map");
    let first = m.observations[0].as_ref().expect("mapped").to_value();
    assert_eq!(first["effectiveDateTime"], "2015-05-13");
    assert_eq!(m.warnings, vec![fitbit::NO_ZONE_WARNING.to_owned()]);
}

//! Open mHealth → FHIR → Open mHealth preserves value, unit and time frame, for every valid
//! fixture of a schema the reverse mapping emits (vital signs, steps, sleep duration, glucose).

use std::path::Path;

use fhirgate_mappings::wearables::{Context, omh};
use serde_json::Value;

fn bodies() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/wearables/openmhealth");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if name.contains("INVALID") || name.ends_with(".expected.json") {
            continue;
        }
        let v: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        let items = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        for item in items {
            let body = item.get("body").cloned().unwrap_or(item);
            out.push((name.clone(), body));
        }
    }
    out
}

const CARRIED: &[&str] = &[
    "heart_rate",
    "respiratory_rate",
    "oxygen_saturation",
    "body_temperature",
    "body_weight",
    "systolic_blood_pressure",
    "diastolic_blood_pressure",
    "step_count",
    "sleep_duration",
    "blood_glucose",
];

#[test]
fn omh_to_fhir_to_omh_keeps_value_unit_and_time_frame() {
    let ctx = Context::new("p1", None).expect("ctx");
    let mut checked = 0;
    for (name, body) in bodies() {
        if body.get("activity_name").is_some() || body.get("total_sleep_time").is_some() {
            continue; // physical-activity and sleep-episode have no reverse schema of their own
        }
        let obs =
            omh::data_point_to_observation(&body, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        let obs = obs.to_value();
        let back = omh::observation_to_data_point(&obs).unwrap_or_else(|e| panic!("{name}: {e}"));
        for field in CARRIED {
            if let Some(orig) = body.get(*field) {
                let got = &back["body"][*field];
                assert_eq!(
                    got["value"].to_string(),
                    orig["value"].to_string(),
                    "{name} {field} value"
                );
                assert_eq!(got["unit"], orig["unit"], "{name} {field} unit");
            }
        }
        let frame = &body["effective_time_frame"];
        let got = &back["body"]["effective_time_frame"];
        if let Some(dt) = frame.get("date_time") {
            assert_eq!(&got["date_time"], dt, "{name}");
        } else {
            let ti = &frame["time_interval"];
            assert_eq!(
                got["time_interval"]["start_date_time"], ti["start_date_time"],
                "{name}"
            );
            if ti.get("end_date_time").is_some() {
                assert_eq!(
                    got["time_interval"]["end_date_time"], ti["end_date_time"],
                    "{name}"
                );
            }
        }
        assert_eq!(back["header"]["schema_id"]["namespace"], "omh");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} bodies checked");
}

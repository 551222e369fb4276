//! Unit tests for the Open mHealth mapping and the shared unit/time helpers.

use serde_json::json;

use crate::MappingError;
use crate::wearables::{Context, time, units};

/// JSON text → value with exact decimals (`json!` would go through `f64`).
fn parse(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("json")
}

fn ctx() -> Context {
    Context::new("p1", None).expect("ctx")
}

#[test]
fn times_hundred_moves_the_decimal_point_exactly() {
    assert_eq!(units::times_hundred("0.97").as_deref(), Some("97"));
    assert_eq!(units::times_hundred("0.985").as_deref(), Some("98.5"));
    assert_eq!(units::times_hundred("1").as_deref(), Some("100"));
    assert_eq!(units::times_hundred("0.0").as_deref(), Some("0"));
    assert_eq!(units::times_hundred("1e-2"), None);
    assert_eq!(units::times_hundred("abc"), None);
}

#[test]
fn decimals_follow_the_fhir_grammar() {
    for ok in ["0", "72", "72.10", "-1.5", "1e3"] {
        assert!(units::is_decimal(ok), "{ok}");
    }
    for bad in ["", "01", "+1", "1.", ".5", "NaN", "1e"] {
        assert!(!units::is_decimal(bad), "{bad}");
    }
}

#[test]
fn durations_keep_the_start_offset() {
    assert_eq!(
        time::add_seconds("2016-02-05T21:35:00Z", 9.0 * 3600.0).as_deref(),
        Ok("2016-02-06T06:35:00Z")
    );
    assert_eq!(
        time::add_seconds("2020-01-01T23:30:00+05:30", 3600.0).as_deref(),
        Ok("2020-01-02T00:30:00+05:30")
    );
    assert_eq!(
        time::healthkit("2018-09-10 02:28:55 -0700").as_deref(),
        Ok("2018-09-10T02:28:55-07:00")
    );
    assert!(time::healthkit("2018-09-10T02:28:55").is_err());
}

#[test]
fn a_statistic_over_an_instant_is_refused() {
    let body = json!({"heart_rate": {"value": 60, "unit": "beats/min"}, "descriptive_statistic": "average",
        "effective_time_frame": {"date_time": "2020-02-05T07:25:00Z"}});
    let err = super::data_point_to_observation(&body, &ctx()).expect_err("refused");
    assert!(matches!(err, MappingError::TimeFrame { .. }), "{err}");
}

#[test]
fn a_statistic_goes_to_method_text() {
    let body = json!({"heart_rate": {"value": 60, "unit": "beats/min"}, "descriptive_statistic": "maximum",
        "effective_time_frame": {"time_interval": {"start_date_time": "2020-02-05T07:00:00Z", "end_date_time": "2020-02-05T08:00:00Z"}}});
    let o = super::data_point_to_observation(&body, &ctx())
        .expect("mapped")
        .to_value();
    assert_eq!(o["method"]["text"], "descriptive statistic: maximum");
    let back = super::observation_to_data_point(&o).expect("reverse");
    assert_eq!(back["body"]["descriptive_statistic"], "maximum");
}

#[test]
fn same_body_same_identifier_and_a_different_value_another() {
    let a = parse(
        r#"{"body_weight": {"value": 72.10, "unit": "kg"}, "effective_time_frame": {"date_time": "2020-02-05T07:25:00Z"}}"#,
    );
    let b = parse(
        r#"{"body_weight": {"value": 72.2, "unit": "kg"}, "effective_time_frame": {"date_time": "2020-02-05T07:25:00Z"}}"#,
    );
    let id = |v| {
        super::data_point_to_observation(&v, &ctx())
            .expect("mapped")
            .to_value()["identifier"][0]["value"]
            .clone()
    };
    assert_eq!(id(a.clone()), id(a.clone()));
    assert_ne!(id(a), id(b));
}

#[test]
fn values_keep_their_digits() {
    let body = parse(
        r#"{"body_weight": {"value": 72.10, "unit": "lb"}, "effective_time_frame": {"date_time": "2020-02-05T07:25:00Z"}}"#,
    );
    let o = super::data_point_to_observation(&body, &ctx())
        .expect("mapped")
        .to_value();
    assert_eq!(o["valueQuantity"]["value"].to_string(), "72.10");
    assert_eq!(o["valueQuantity"]["code"], "[lb_av]");
}

#[test]
fn an_unknown_zone_is_refused() {
    assert!(Context::new("p1", Some("Mars/Olympus_Mons")).is_err());
}

//! History never shows a patient-scoped caller another patient's records or activity,
//! not even deletion entries (which have no resource to check).

mod support;

use serde_json::Value;
use support::{Gateway, authed, store_config};

const BUSTER: &str = "e4531916-b162-4f4b-90c2-ce37e132b8d4";
const LIZ: &str = "ee9f8dd8-72d2-4769-8020-89e504b1504b";

#[tokio::test]
async fn type_history_is_refused_to_patient_tokens_and_instance_history_hides_deletions() {
    let gw = Gateway::start(&store_config(""));
    let system = gw.system_client();
    let liz: Value = system
        .get(gw.fhir(&format!("/Observation?patient={LIZ}&_count=1")))
        .send()
        .await
        .expect("search")
        .json()
        .await
        .expect("json");
    let liz_obs = liz["entry"][0]["resource"]["id"]
        .as_str()
        .expect("a seeded Observation of Liz")
        .to_owned();
    let r = system
        .delete(gw.fhir(&format!("/Observation/{liz_obs}")))
        .send()
        .await
        .expect("delete");
    assert!(r.status().is_success());

    let buster = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/*.rs",
        "--patient",
        BUSTER,
    ]));
    // Type history spans every patient's changes and cannot be narrowed: a patient token is
    // refused (its pages, even filtered, would show other patients' activity).
    let history = buster
        .get(gw.fhir("/Observation/_history?_count=1000"))
        .send()
        .await
        .expect("history");
    assert_eq!(history.status(), 403);
    let outcome: Value = history.json().await.expect("json");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(
        outcome["issue"][0]["diagnostics"],
        "the granted scopes do not allow history-type on Observation: it spans records outside the granted context; read [type]/[id]/_history or search"
    );
    // Its own resource's history is served.
    let (own, _) = first_observation(&system, &gw, BUSTER).await;
    let mine: Value = buster
        .get(gw.fhir(&format!("/Observation/{own}/_history")))
        .send()
        .await
        .expect("own history")
        .json()
        .await
        .expect("json");
    assert_eq!(mine["type"], "history");
    assert_eq!(mine["entry"][0]["resource"]["id"], own.as_str());
    let instance = buster
        .get(gw.fhir(&format!("/Observation/{liz_obs}/_history")))
        .send()
        .await
        .expect("instance history");
    let text = instance.text().await.expect("text");
    assert!(!text.contains("\"DELETE\""), "{text}");
}

async fn first_observation(c: &reqwest::Client, gw: &Gateway, patient: &str) -> (String, String) {
    let r = c
        .get(gw.fhir(&format!("/Observation?patient={patient}&_count=1")))
        .send()
        .await
        .expect("search");
    let bundle: Value = r.json().await.expect("json");
    let id = bundle["entry"][0]["resource"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let version = bundle["entry"][0]["resource"]["meta"]["versionId"]
        .as_str()
        .expect("version")
        .to_owned();
    (id, version)
}

#[tokio::test]
async fn conditional_reads_do_not_reveal_other_patients_records() {
    let gw = Gateway::start(&store_config(""));
    let system = gw.system_client();
    let (liz_obs, liz_version) = first_observation(&system, &gw, LIZ).await;
    let buster = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/*.rs",
        "--patient",
        BUSTER,
    ]));
    for tag in [
        format!("W/\"{liz_version}\""),
        "*".to_owned(),
        "W/\"2\"".to_owned(),
    ] {
        let r = buster
            .get(gw.fhir(&format!("/Observation/{liz_obs}")))
            .header("if-none-match", &tag)
            .send()
            .await
            .expect("conditional read");
        assert_eq!(r.status(), 404, "If-None-Match {tag}");
        assert!(r.headers().get("etag").is_none() && r.headers().get("last-modified").is_none());
    }
    let r = buster
        .get(gw.fhir(&format!("/Observation/{liz_obs}/_history")))
        .send()
        .await
        .expect("history");
    assert_eq!(
        r.status(),
        404,
        "instance history of another patient's record"
    );

    // The caller's own records still answer 304 and 200 as HTTP says.
    let (own, own_version) = first_observation(&buster, &gw, BUSTER).await;
    let url = gw.fhir(&format!("/Observation/{own}"));
    let r = buster
        .get(&url)
        .header("if-none-match", format!("W/\"{own_version}\""))
        .send()
        .await
        .expect("own 304");
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"], format!("W/\"{own_version}\"").as_str());
    let r = buster
        .get(&url)
        .header("if-none-match", "W/\"999\"")
        .send()
        .await
        .expect("own 200");
    assert_eq!(r.status(), 200);
    let r = buster
        .get(gw.fhir(&format!("/Observation/{own}/_history")))
        .send()
        .await
        .expect("own history");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn another_patients_deleted_record_reads_as_404_not_410() {
    let gw = Gateway::start(&store_config(""));
    let system = gw.system_client();
    let (liz_obs, _) = first_observation(&system, &gw, LIZ).await;
    let r = system
        .delete(gw.fhir(&format!("/Observation/{liz_obs}")))
        .send()
        .await
        .expect("delete");
    assert!(r.status().is_success());
    let r = system
        .get(gw.fhir(&format!("/Observation/{liz_obs}")))
        .send()
        .await
        .expect("system read");
    assert_eq!(r.status(), 410, "an unrestricted caller sees the deletion");
    let buster = authed(&gw.token_with(&[
        "--scope",
        "launch/patient patient/*.rs",
        "--patient",
        BUSTER,
    ]));
    let r = buster
        .get(gw.fhir(&format!("/Observation/{liz_obs}")))
        .send()
        .await
        .expect("read");
    assert_eq!(r.status(), 404);
}

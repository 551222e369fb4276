//! History Bundles never carry another patient's records to a patient-scoped caller,
//! not even deletion entries (which have no resource to check).

mod support;

use serde_json::Value;
use support::{Gateway, authed, store_config};

const BUSTER: &str = "e4531916-b162-4f4b-90c2-ce37e132b8d4";
const LIZ: &str = "ee9f8dd8-72d2-4769-8020-89e504b1504b";

#[tokio::test]
async fn type_history_hides_other_patients_deletions() {
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
    let history = buster
        .get(gw.fhir("/Observation/_history?_count=1000"))
        .send()
        .await
        .expect("history");
    assert_eq!(history.status(), 200);
    let text = history.text().await.expect("text");
    assert!(
        !text.contains(&liz_obs),
        "Liz's deleted Observation is not named"
    );
    let bundle: Value = serde_json::from_str(&text).expect("json");
    let entries = bundle["entry"].as_array().expect("Buster's own history");
    assert!(!entries.is_empty());
    for e in entries {
        assert_eq!(
            e["resource"]["subject"]["reference"],
            format!("Patient/{BUSTER}"),
            "{e}"
        );
    }
    let instance = buster
        .get(gw.fhir(&format!("/Observation/{liz_obs}/_history")))
        .send()
        .await
        .expect("instance history");
    let text = instance.text().await.expect("text");
    assert!(!text.contains("\"DELETE\""), "{text}");
}

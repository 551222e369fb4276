//! What a patient-restricted search counts, pages and includes is exactly what it shows
//! (SMART App Launch 2.x §3 patient scopes, FHIR R4 CompartmentDefinition `patient`,
//! search.html §3.1.1.5.6 `_summary=count`, §3.1.1.6 paging). A compartment resource is the
//! patient's when its anchor element (`Observation.subject`) names them: B's Observation
//! performed by A is B's and never counted for A, and A's Observation naming B as
//! performer is A's and shown to A.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use serde_json::{Value, json};

const RS: &str = "patient/*.rs";

/// An Observation of `subject` performed by `performer`, tagged `urn:h5|{tag}`.
fn observation(subject: &str, performer: &str, tag: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final",
        "identifier": [{"system": "urn:h5", "value": tag}],
        "code": {"text": tag},
        "subject": {"reference": format!("Patient/{subject}")},
        "performer": [{"reference": format!("Patient/{performer}")}]})
}

/// Creates `resource` with a system token; its id.
async fn create(gw: &support::Gateway, resource: &Value) -> String {
    let answer = post_json(gw, "/Observation", &system_token(gw), resource).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn counts_pages_and_reads_agree_with_the_anchor() {
    let gw = start();
    let token = patient_token(&gw, RS);
    let of_b = create(&gw, &observation(B, A, "of-b")).await;
    let mut of_a = Vec::new();
    for _ in 0..3 {
        of_a.push(create(&gw, &observation(A, B, "of-a")).await);
    }
    of_a.sort();

    // Reads: B's is 404 although it names A; A's is 200 although it names B.
    let read = get(&gw, &format!("/Observation/{of_b}"), &token).await;
    assert_eq!(read.status, 404, "{}", read.body);
    let read = get(&gw, &format!("/Observation/{}", of_a[0]), &token).await;
    assert_eq!(read.status, 200, "{}", read.body);

    // Searched by the parameter that names A as performer: only A's own are found, and
    // the count and total say so.
    let by_performer = format!("/Observation?performer=Patient/{A}");
    let count = get(&gw, &format!("{by_performer}&_summary=count"), &token).await;
    assert_eq!(count.status, 200, "{}", count.body);
    assert_eq!(count.json()["total"], 0, "{}", count.body);
    let tagged = "/Observation?identifier=urn:h5|of-b,urn:h5|of-a";
    let count = get(&gw, &format!("{tagged}&_summary=count"), &token).await;
    assert_eq!(count.json()["total"], 3, "{}", count.body);
    let count = get(&gw, &format!("{tagged}&_summary=count"), &system_token(&gw)).await;
    assert_eq!(count.json()["total"], 4, "{}", count.body);

    // Paged one by one: three full pages, no empty page, no page holding B's.
    let seen = pages(&gw, "Observation", &format!("{tagged}&_count=1"), &token).await;
    assert_eq!(seen.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 1]);
    let mut ids: Vec<String> = seen.into_iter().flatten().collect();
    ids.sort();
    assert_eq!(ids, of_a);

    // A searched with the total asked for: the total is what the page shows.
    let answer = get(&gw, &format!("{tagged}&_total=accurate"), &token).await;
    assert_eq!(answer.json()["total"], 3, "{}", answer.body);
    assert_eq!(answer.entry_ids("Observation").len(), 3);
    assert!(!answer.body.contains(&of_b));

    // Included through the performer: B's Observation never rides along.
    let answer = get(
        &gw,
        &format!("/Patient?_id={A}&_revinclude=Observation:performer"),
        &token,
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(!answer.body.contains(&of_b), "{}", answer.body);
}

#[tokio::test]
async fn a_patient_cannot_write_another_patients_id_into_their_own_resource() {
    let gw = start();
    let token = patient_token(&gw, "patient/*.cruds");
    let naming_b = observation(A, B, "write");
    let answer = post_json(&gw, "/Observation", &token, &naming_b).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.json()["resourceType"], "OperationOutcome");
    let own = observation(A, A, "write");
    let answer = post_json(&gw, "/Observation", &token, &own).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
}

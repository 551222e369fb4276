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

/// A `resource_type` of `patient` tagged `urn:h5|{tag}`, named through `element`.
fn named(resource_type: &str, element: &str, patient: &str, tag: &str) -> Value {
    let mut resource = json!({"resourceType": resource_type,
        "identifier": [{"system": "urn:h5", "value": tag}],
        element: {"reference": format!("Patient/{patient}")}});
    if resource_type == "Task" {
        resource["status"] = json!("requested");
        resource["intent"] = json!("order");
    }
    resource
}

#[tokio::test]
async fn a_search_outside_the_compartment_shows_no_count_of_other_patients_resources() {
    let gw = start();
    let system = system_token(&gw);
    // Device and Task are outside CompartmentDefinition `patient`: not narrowed, filtered.
    for (rt, element) in [("Device", "patient"), ("Task", "for")] {
        let mut own = Vec::new();
        for patient in [B, B, A] {
            let answer = post_json(
                &gw,
                &format!("/{rt}"),
                &system,
                &named(rt, element, patient, "t1"),
            )
            .await;
            assert_eq!(answer.status, 201, "{}", answer.body);
            if patient == A {
                own.push(answer.json()["id"].as_str().expect("id").to_owned());
            }
        }
        let tagged = format!("/{rt}?identifier=urn:h5|t1");
        let count = get(&gw, &format!("{tagged}&_summary=count"), &system).await;
        assert_eq!(count.json()["total"], 3, "{}", count.body);

        let token = patient_token(&gw, &format!("patient/{rt}.rs"));
        let count = get(&gw, &format!("{tagged}&_summary=count"), &token).await;
        assert_eq!(count.status, 200, "{}", count.body);
        assert_eq!(count.json().get("total"), None, "{}", count.body);
        // One entry per page: whichever page holds A's own, none tells the total.
        let mut url = gw.fhir(&format!("{tagged}&_count=1"));
        let mut seen = Vec::new();
        for _ in 0..10 {
            let page = send(reqwest::Method::GET, &url, Some(&token), None).await;
            assert_eq!(page.status, 200, "{url}: {}", page.body);
            assert_eq!(page.json().get("total"), None, "{}", page.body);
            seen.extend(page.entry_ids(rt));
            match page.next_link() {
                Some(next) => url = next,
                None => break,
            }
        }
        assert_eq!(seen, own, "{rt}");
    }
    // A compartment type keeps its (narrowed, exact) total.
    let token = patient_token(&gw, RS);
    let count = get(
        &gw,
        &format!("/Observation?subject=Patient/{A}&_summary=count"),
        &token,
    )
    .await;
    assert!(count.json()["total"].as_u64().is_some(), "{}", count.body);
}

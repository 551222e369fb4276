//! Writes and transaction reads of a patient-restricted caller never tell a withheld
//! resource from a missing one, and never change a withheld one (FHIR R4 http.html
//! §3.1.0.4 update, §3.1.0.4.3 conditional update, §3.1.0.7.1 conditional delete,
//! §3.1.0.11 transactions). A "hidden" Observation is patient B's (its subject) with
//! patient A as performer: it names A but is not A's, and A's token reads it as 404. Each
//! test compares the two answers byte for byte.

#[path = "support/auth.rs"]
mod auth_support;
mod support;

use auth_support::*;
use reqwest::Method;
use serde_json::{Value, json};

const WRITE: &str = "patient/*.cruds";

fn bundle(kind: &str, entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

/// An Observation with `identifier` `urn:hid|{value}`: A's own, or when `of` is given
/// that patient's, performed by A: then it is hidden from A.
fn observation(value: &str, of: Option<&str>, text: &str) -> Value {
    let mut o = json!({"resourceType": "Observation", "status": "final",
        "identifier": [{"system": "urn:hid", "value": value}], "code": {"text": text},
        "subject": {"reference": format!("Patient/{A}")}});
    if let Some(p) = of {
        o["subject"] = json!({"reference": format!("Patient/{p}")});
        o["performer"] = json!([{"reference": format!("Patient/{A}")}]);
    }
    o
}

/// Creates `resource` with a system token; its id.
async fn create(gw: &support::Gateway, resource: &Value) -> String {
    let answer = post_json(gw, "/Observation", &system_token(gw), resource).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.json()["id"].as_str().expect("id").to_owned()
}

/// The stored Observation `id` as a system token reads it.
async fn stored(gw: &support::Gateway, id: &str) -> Answer {
    get(gw, &format!("/Observation/{id}"), &system_token(gw)).await
}

async fn put(gw: &support::Gateway, path: &str, token: &str, body: &Value) -> Answer {
    let body = Some(("application/fhir+json", body.to_string()));
    send(Method::PUT, &gw.fhir(path), Some(token), body).await
}

async fn delete(gw: &support::Gateway, path: &str, token: &str) -> Answer {
    send(Method::DELETE, &gw.fhir(path), Some(token), None).await
}

/// Asserts both answers are byte-identical, except a response Bundle's own `id` and
/// `meta` (fresh per answer, when the store assembled it).
fn same(a: &Answer, b: &Answer) {
    let normalised = |answer: &Answer| match serde_json::from_str::<Value>(&answer.body) {
        Ok(mut v) if v["resourceType"] == "Bundle" => {
            if let Some(o) = v.as_object_mut() {
                o.remove("id");
                o.remove("meta");
            }
            v.to_string()
        }
        _ => answer.body.clone(),
    };
    assert_eq!((a.status, normalised(a)), (b.status, normalised(b)));
}

#[tokio::test]
async fn conditional_update_and_delete_never_touch_a_hidden_resource() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let hidden = create(&gw, &observation("h2", Some(B), "hidden")).await;
    assert_eq!(
        get(&gw, &format!("/Observation/{hidden}"), &token)
            .await
            .status,
        404
    );
    let body = observation("x", None, "overwritten");

    let on_hidden = put(&gw, "/Observation?identifier=urn:hid|h2", &token, &body).await;
    let on_none = put(&gw, "/Observation?identifier=urn:hid|none", &token, &body).await;
    assert_eq!(on_hidden.status, 404, "{}", on_hidden.body);
    same(&on_hidden, &on_none);

    let patch_body = r#"[{"op":"replace","path":"/status","value":"amended"}]"#;
    let mut patches = Vec::new();
    for ident in ["h2", "none"] {
        let url = gw.fhir(&format!("/Observation?identifier=urn:hid|{ident}"));
        let body = Some(("application/json-patch+json", patch_body.to_owned()));
        patches.push(send(Method::PATCH, &url, Some(&token), body).await);
    }
    let (patch_hidden, patch_none) = (&patches[0], &patches[1]);
    assert_eq!(patch_hidden.status, 404, "{}", patch_hidden.body);
    same(patch_hidden, patch_none);

    let del_hidden = delete(&gw, "/Observation?identifier=urn:hid|h2", &token).await;
    let del_none = delete(&gw, "/Observation?identifier=urn:hid|none", &token).await;
    assert_eq!((del_hidden.status, del_hidden.body.as_str()), (204, ""));
    same(&del_hidden, &del_none);

    let entries = |ident: &str| {
        vec![
            json!({"request": {"method": "PUT", "url": format!("Observation?identifier=urn:hid|{ident}")},
                "resource": body}),
            json!({"request": {"method": "DELETE", "url": format!("Observation?identifier=urn:hid|{ident}")}}),
        ]
    };
    let batch_hidden = post_json(&gw, "", &token, &bundle("batch", entries("h2"))).await;
    let batch_none = post_json(&gw, "", &token, &bundle("batch", entries("none"))).await;
    assert_eq!(batch_hidden.status, 200, "{}", batch_hidden.body);
    same(&batch_hidden, &batch_none);
    let statuses: Vec<Value> = batch_hidden.json()["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["response"]["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("404 Not Found"), json!("204 No Content")]);

    // In a transaction: the update refuses it whole (the same 403 either way); a delete
    // alone is the store's own "no match" either way.
    let mut statuses = Vec::new();
    for keep in [2, 1] {
        let tx = |ident: &str| {
            let mut e = entries(ident);
            e.drain(..2 - keep);
            bundle("transaction", e)
        };
        let tx_hidden = post_json(&gw, "", &token, &tx("h2")).await;
        let tx_none = post_json(&gw, "", &token, &tx("none")).await;
        same(&tx_hidden, &tx_none);
        statuses.push(tx_hidden.status);
    }
    assert_eq!(statuses, [403, 200]);

    let after = stored(&gw, &hidden).await;
    assert_eq!(after.status, 200, "the hidden Observation is not deleted");
    let after = after.json();
    assert_eq!(after["meta"]["versionId"], "1", "never written: {after}");
    assert_eq!(after["code"]["text"], "hidden");
}

#[tokio::test]
async fn conditional_writes_resolve_visible_matches_only() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    // One visible and one hidden match: the visible one is written, by id.
    let hidden = create(&gw, &observation("mix", Some(B), "hidden")).await;
    let visible = create(&gw, &observation("mix", None, "mine")).await;
    let body = observation("mix", None, "updated");
    let updated = put(&gw, "/Observation?identifier=urn:hid|mix", &token, &body).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.json()["id"], visible.as_str());
    assert_eq!(updated.json()["meta"]["versionId"], "2");
    assert_eq!(stored(&gw, &hidden).await.json()["meta"]["versionId"], "1");

    // Two visible matches: 412 (multiple matches), nothing written.
    let twin = create(&gw, &observation("mix", None, "twin")).await;
    let several = put(&gw, "/Observation?identifier=urn:hid|mix", &token, &body).await;
    assert_eq!(several.status, 412, "{}", several.body);
    assert_eq!(several.json()["issue"][0]["code"], "multiple-matches");
    let several = delete(&gw, "/Observation?identifier=urn:hid|mix", &token).await;
    assert_eq!(several.status, 412, "{}", several.body);
    assert_eq!(stored(&gw, &twin).await.status, 200);

    // One visible match again: the conditional delete deletes it and only it.
    assert_eq!(
        delete(&gw, &format!("/Observation/{twin}"), &token)
            .await
            .status,
        204
    );
    let deleted = delete(&gw, "/Observation?identifier=urn:hid|mix", &token).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(stored(&gw, &visible).await.status, 410);
    assert_eq!(stored(&gw, &hidden).await.status, 200);
}

#[tokio::test]
async fn update_as_create_answers_like_a_withheld_id() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let of_b = first_id(&gw, &format!("/Observation?patient={B}&_count=1")).await;
    let body = |id: &str| {
        let mut o = observation("probe", None, "probe");
        o["id"] = json!(id);
        o
    };
    let withheld = put(&gw, &format!("/Observation/{of_b}"), &token, &body(&of_b)).await;
    let free = "nonexist-probe-1";
    let missing = put(&gw, &format!("/Observation/{free}"), &token, &body(free)).await;
    assert_eq!(withheld.status, 404, "{}", withheld.body);
    same(&withheld, &missing);

    for kind in ["batch", "transaction"] {
        let one = |id: &str| {
            bundle(
                kind,
                vec![
                    json!({"request": {"method": "PUT", "url": format!("Observation/{id}")},
                    "resource": body(id)}),
                ],
            )
        };
        let withheld = post_json(&gw, "", &token, &one(&of_b)).await;
        let missing = post_json(&gw, "", &token, &one(free)).await;
        assert_eq!(withheld.status, if kind == "batch" { 200 } else { 403 });
        same(&withheld, &missing);
    }
    assert_eq!(stored(&gw, free).await.status, 404, "nothing was created");

    // A caller that sees everything still creates with its chosen id.
    let system = put(
        &gw,
        &format!("/Observation/{free}"),
        &system_token(&gw),
        &body(free),
    )
    .await;
    assert_eq!(system.status, 201, "{}", system.body);
}

#[tokio::test]
async fn transaction_read_of_withheld_or_missing_resource_is_one_refusal() {
    let gw = start();
    let token = patient_token(&gw, WRITE);
    let of_b = first_id(&gw, &format!("/Encounter?patient={B}&_count=1")).await;
    let of_a = first_id(&gw, &format!("/Encounter?patient={A}&_count=1")).await;
    let read = |id: &str| {
        bundle(
            "transaction",
            vec![json!({"request": {"method": "GET", "url": format!("Encounter/{id}")}})],
        )
    };
    let withheld = post_json(&gw, "", &token, &read(&of_b)).await;
    let missing = post_json(&gw, "", &token, &read("no-such-encounter")).await;
    assert_eq!(withheld.status, 403, "{}", withheld.body);
    assert!(!withheld.body.contains(&of_b));
    assert_eq!(
        withheld.json()["issue"][0]["diagnostics"],
        "Bundle.entry[0]: names a resource that does not exist or is outside the granted context"
    );
    same(&withheld, &missing);

    let own = post_json(&gw, "", &token, &read(&of_a)).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.json()["entry"][0]["resource"]["id"], of_a.as_str());
}

#[tokio::test]
async fn conditional_update_needs_the_match_inside_the_write_grant() {
    let gw = start();
    let vitals = "category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs";
    let token = patient_token(
        &gw,
        &format!("patient/Observation.rs patient/Observation.u?{vitals}"),
    );
    let category = |code: &str| {
        json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": code}]}])
    };
    let mut lab = observation("lab1", None, "lab");
    lab["category"] = category("laboratory");
    let lab = create(&gw, &lab).await;
    let mut body = observation("lab1", None, "now a vital sign");
    body["category"] = category("vital-signs");

    // Readable but outside the update grant: the same 404 as a write to it by id.
    let conditional = put(&gw, "/Observation?identifier=urn:hid|lab1", &token, &body).await;
    body["id"] = json!(lab);
    let by_id = put(&gw, &format!("/Observation/{lab}"), &token, &body).await;
    assert_eq!(conditional.status, 404, "{}", conditional.body);
    same(&conditional, &by_id);
    assert_eq!(stored(&gw, &lab).await.json()["meta"]["versionId"], "1");
}

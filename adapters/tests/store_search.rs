//! Store adapter search: every parameter type with its prefixes and forms, partial dates
//! and offsets (also `+` arriving as a space), sorting, totals, `_include`/`_revinclude`,
//! unknown parameters and keyset paging under concurrent writes — on SQLite and PostgreSQL.

mod store_harness;

use std::collections::HashSet;

use http::StatusCode;
use serde_json::{Value, json};
use store_harness::{BASE, Store, ids};

both!(
    date_prefixes_partial_dates_and_offsets,
    token_forms,
    reference_forms,
    strings_are_case_and_accent_insensitive_prefixes,
    sort_count_total_summary,
    include_and_revinclude,
    include_and_revinclude_wildcards,
    unknown_parameters_warn_or_fail_strict,
    flow_parameters,
    paging_is_stable_under_concurrent_writes,
);

fn set(v: Vec<String>) -> HashSet<String> {
    v.into_iter().collect()
}

async fn expect(s: &Store, query: &str, expected: &[&String]) {
    let got = set(s.search_ids(query).await);
    let want: HashSet<String> = expected.iter().map(|s| (*s).clone()).collect();
    assert_eq!(got, want, "{query}");
}

async fn date_prefixes_partial_dates_and_offsets(s: &Store) {
    let obs = |k: &str, v: Value| json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, k: v});
    let a = s
        .create(&obs(
            "effectiveDateTime",
            json!("2013-04-05T18:50:00+05:30"),
        ))
        .await;
    let b = s
        .create(&obs("effectiveDateTime", json!("2013-04-05")))
        .await;
    let c = s
        .create(&obs("effectiveDateTime", json!("2013-04-06T10:00:00Z")))
        .await;
    let d = s
        .create(&obs(
            "effectivePeriod",
            json!({"start": "2013-01-01", "end": "2013-12-31"}),
        ))
        .await;
    let e = s.create(&obs("effectiveDateTime", json!("2012"))).await;
    expect(s, "Observation?date=2013-04-05", &[&a, &b]).await;
    expect(s, "Observation?date=eq2013-04-05", &[&a, &b]).await;
    expect(s, "Observation?date=eq2013", &[&a, &b, &c, &d]).await;
    expect(s, "Observation?date=2013-04", &[&a, &b, &c]).await;
    expect(s, "Observation?date=ne2013", &[&e]).await;
    expect(s, "Observation?date=lt2013-04-05", &[&d, &e]).await;
    expect(s, "Observation?date=gt2013-04-05", &[&c, &d]).await;
    expect(s, "Observation?date=ge2013-04-05", &[&a, &b, &c, &d]).await;
    expect(s, "Observation?date=le2013-04-05", &[&a, &b, &d, &e]).await;
    expect(s, "Observation?date=sa2013-04-05", &[&c]).await;
    expect(s, "Observation?date=eb2013-04-05", &[&e]).await;
    expect(s, "Observation?date=ap2013-04-05", &[&a, &b, &d]).await;
    // offsets: 18:00+05:30 is 12:30Z, so A (13:20Z) ends after it
    expect(
        s,
        "Observation?date=gt2013-04-05T18:00:00%2B05:30",
        &[&a, &b, &c, &d],
    )
    .await;
    expect(s, "Observation?date=gt2013-04-05T13:30:00Z", &[&b, &c, &d]).await;
    expect(s, "Observation?date=eq2013-04-05T18:50:00%2B05:30", &[&a]).await;
    expect(s, "Observation?date=2013-04-05T08:50:00-04:30", &[&a]).await;
    // `+` sent unencoded arrives as a space: read as the offset it was
    expect(
        s,
        "Observation?date=gt2013-04-05T18:00:00+05:30",
        &[&a, &b, &c, &d],
    )
    .await;
    expect(
        s,
        "Observation?date=ge2013-04-05T18:50:00+05:30",
        &[&a, &b, &c, &d],
    )
    .await;
    // several values OR, several parameters AND
    expect(s, "Observation?date=sa2013-04-05,eb2013-04-05", &[&c, &e]).await;
    expect(
        s,
        "Observation?date=ge2013&date=lt2013-04-06",
        &[&a, &b, &d],
    )
    .await;
    for bad in [
        "Observation?date=ge2013-04-05T18:50:00%205:30",
        "Observation?date=yesterday",
        "Observation?date=2013-02-30",
    ] {
        let r = s.get(bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        let d = r.json["issue"][0]["diagnostics"]
            .as_str()
            .expect("diagnostics");
        assert!(d.contains("%2B"), "{d}");
    }
    expect(
        s,
        "Observation?_lastUpdated=gt2000-01-01",
        &[&a, &b, &c, &d, &e],
    )
    .await;
    expect(s, "Observation?_lastUpdated=lt2000", &[]).await;
    expect(s, &format!("Observation?_id={a},{e}"), &[&a, &e]).await;
    // system search: _lastUpdated and _id across types, narrowed by _type
    let sys = s
        .search_ids(&format!("?_id={a}&_type=Observation,Patient"))
        .await;
    assert_eq!(sys, vec![a.clone()]);
    assert!(
        s.search_ids(&format!("?_id={a}&_type=Patient"))
            .await
            .is_empty()
    );
    let p = s
        .create(&json!({"resourceType": "Patient", "birthDate": "1974-12-25"}))
        .await;
    expect(s, "Patient?birthdate=1974", &[&p]).await;
    expect(s, "Patient?birthdate=1974-12-25", &[&p]).await;
    expect(s, "Patient?birthdate=gt1975", &[]).await;
    let mr = s.create(&json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order", "medicationCodeableConcept": {"text": "m"}, "subject": {"reference": "Patient/x"}, "authoredOn": "2024-01-15T09:30:00Z"})).await;
    expect(s, "MedicationRequest?authoredon=2024-01", &[&mr]).await;
    let enc = s.create(&json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}, "period": {"start": "2019-02-01T10:00:00-05:00", "end": "2019-02-01T10:30:00-05:00"}})).await;
    expect(s, "Encounter?date=2019-02-01", &[&enc]).await;
    expect(
        s,
        "Encounter?date=ge2019-02-01T15:00:00Z&date=le2019-02-01T15:30:00Z",
        &[&enc],
    )
    .await;
}

async fn token_forms(s: &Store) {
    let p1 = s.create(&json!({"resourceType": "Patient", "identifier": [{"system": "urn:a", "value": "1"}, {"value": "2"}], "gender": "male", "active": true})).await;
    let p2 = s.create(&json!({"resourceType": "Patient", "identifier": [{"system": "urn:b", "value": "1"}], "gender": "female"})).await;
    expect(s, "Patient?identifier=urn:a|1", &[&p1]).await;
    expect(s, "Patient?identifier=|2", &[&p1]).await;
    expect(s, "Patient?identifier=|1", &[]).await;
    expect(s, "Patient?identifier=urn:b|", &[&p2]).await;
    expect(s, "Patient?identifier=1", &[&p1, &p2]).await;
    expect(s, "Patient?identifier=urn:a|1,urn:b|1", &[&p1, &p2]).await;
    expect(s, "Patient?gender=male", &[&p1]).await;
    expect(s, "Patient?gender:not=male", &[&p2]).await;
    expect(s, "Patient?active=true", &[&p1]).await;
    expect(s, "Patient?active:missing=true", &[&p2]).await;
    let hr = s.create(&json!({"resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}})).await;
    let lab = s.create(&json!({"resourceType": "Observation", "status": "amended",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}, {"system": "urn:local", "code": "HGB"}]}})).await;
    expect(s, "Observation?code=http://loinc.org|8867-4", &[&hr]).await;
    expect(
        s,
        "Observation?code=http%3A%2F%2Floinc.org%7C8867-4",
        &[&hr],
    )
    .await;
    expect(s, "Observation?code=HGB", &[&lab]).await;
    expect(s, "Observation?code=urn:local|", &[&lab]).await;
    expect(s, "Observation?category=vital-signs", &[&hr]).await;
    expect(s, "Observation?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", &[&lab]).await;
    expect(s, "Observation?status=final,amended", &[&hr, &lab]).await;
    expect(s, "Observation?status=final&code=718-7", &[]).await;
}

async fn reference_forms(s: &Store) {
    let o = s.create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/x"}})).await;
    let g = s.create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Group/x"}})).await;
    let abs = s.create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": "http://other.example/fhir/Patient/y/_history/3"}})).await;
    expect(s, "Observation?patient=Patient/x", &[&o]).await;
    expect(s, "Observation?patient=x", &[&o]).await;
    expect(
        s,
        "Observation?patient=http://gw.test/fhir/Patient/x",
        &[&o],
    )
    .await;
    expect(s, "Observation?subject=x", &[&o, &g]).await;
    expect(s, "Observation?subject:Group=x", &[&g]).await;
    expect(s, "Observation?subject=Patient/x", &[&o]).await;
    expect(s, "Observation?patient=y", &[&abs]).await;
    expect(s, "Observation?patient=x,y", &[&o, &abs]).await;
    expect(s, "Observation?encounter:missing=true", &[&o, &g, &abs]).await;
}

async fn strings_are_case_and_accent_insensitive_prefixes(s: &Store) {
    let p = s.create(&json!({"resourceType": "Patient", "name": [{"family": "Chalmérs", "given": ["Peter", "James"]}]})).await;
    let q = s
        .create(
            &json!({"resourceType": "Patient", "name": [{"family": "Windsor", "given": ["Jim"]}]}),
        )
        .await;
    expect(s, "Patient?family=chal", &[&p]).await;
    expect(s, "Patient?family=CHALMERS", &[&p]).await;
    expect(s, "Patient?family=Chalmérs", &[&p]).await;
    expect(s, "Patient?given=jam", &[&p]).await;
    expect(s, "Patient?given=j", &[&p, &q]).await;
    expect(s, "Patient?name=pete", &[&p]).await;
    expect(s, "Patient?name=win,pet", &[&p, &q]).await;
    expect(s, "Patient?name=almer", &[]).await;
    expect(s, "Patient?name:contains=almer", &[&p]).await;
    expect(s, "Patient?family:exact=Chalmérs", &[&p]).await;
    expect(s, "Patient?family:exact=chalmers", &[]).await;
    expect(s, "Patient?name=100%25", &[]).await;
    assert_eq!(
        s.get("Patient?name:fuzzy=x").await.status,
        StatusCode::BAD_REQUEST
    );
}

async fn sort_count_total_summary(s: &Store) {
    let mut made = Vec::new();
    for day in ["2020-01-03", "2020-01-01", "2020-01-02"] {
        made.push(s.create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "effectiveDateTime": day})).await);
    }
    let asc = s.search_ids("Observation?_sort=date").await;
    assert_eq!(asc, vec![made[1].clone(), made[2].clone(), made[0].clone()]);
    let desc = s.search_ids("Observation?_sort=-date").await;
    assert_eq!(
        desc,
        vec![made[0].clone(), made[2].clone(), made[1].clone()]
    );
    assert_eq!(s.search_ids("Observation?_sort=_lastUpdated").await, made);
    let mut rev = made.clone();
    rev.reverse();
    assert_eq!(s.search_ids("Observation?_sort=-_lastUpdated").await, rev);
    let r = s.get("Observation?_count=2&_sort=date").await;
    assert_eq!(
        ids(&r.json, "match"),
        vec![made[1].clone(), made[2].clone()]
    );
    assert!(r.json.get("total").is_none());
    let next = link(&r.json, "next").expect("next");
    assert!(
        next.contains("_sort=date") && next.contains("_count=2") && next.contains("_cursor="),
        "{next}"
    );
    let r2 = s.get(&next).await;
    assert_eq!(ids(&r2.json, "match"), vec![made[0].clone()]);
    let prev = link(&r2.json, "prev").expect("prev");
    assert_eq!(
        ids(&s.get(&prev).await.json, "match"),
        vec![made[1].clone(), made[2].clone()]
    );
    let r = s.get("Observation?_count=2&_total=accurate").await;
    assert_eq!(r.json["total"], 3);
    let r = s.get("Observation?_summary=count").await;
    assert_eq!(
        (r.json["total"].as_i64(), r.json.get("entry")),
        (Some(3), None)
    );
    let r = s.get("Observation").await;
    assert_eq!(r.json["total"], 3);
    assert_eq!(r.json["type"], "searchset");
    let e = &r.json["entry"][0];
    assert_eq!(
        e["fullUrl"],
        format!(
            "{BASE}/Observation/{}",
            e["resource"]["id"].as_str().expect("id")
        )
    );
    assert_eq!(link(&r.json, "self").as_deref(), Some("Observation"));
    let r = s.get("Observation?_count=5000").await;
    assert_eq!(r.status, StatusCode::OK);
}

/// A link of `bundle` with `relation`, relative to [`BASE`].
fn link(bundle: &Value, relation: &str) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == relation)
        .and_then(|l| l["url"].as_str())
        .map(|u| {
            assert!(u.starts_with(BASE), "{u}");
            u.trim_start_matches(&format!("{BASE}/")).to_owned()
        })
}

async fn include_and_revinclude(s: &Store) {
    let pr = s
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "Rx"}]}))
        .await;
    let pat = s
        .create(&json!({"resourceType": "Patient", "name": [{"family": "Inc"}]}))
        .await;
    let o = s.create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": format!("Patient/{pat}")}})).await;
    let mr = s.create(&json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order", "medicationCodeableConcept": {"text": "m"}, "subject": {"reference": format!("Patient/{pat}")}, "requester": {"reference": format!("Practitioner/{pr}")}})).await;
    let md = s.create(&json!({"resourceType": "MedicationDispense", "medicationCodeableConcept": {"text": "m"}, "status": "completed", "authorizingPrescription": [{"reference": format!("MedicationRequest/{mr}")}]})).await;
    let r = s.get("Observation?_include=Observation:patient").await;
    assert_eq!(ids(&r.json, "match"), vec![o.clone()]);
    assert_eq!(ids(&r.json, "include"), vec![pat.clone()]);
    let r = s
        .get("Observation?_include=Observation:subject:Group")
        .await;
    assert!(ids(&r.json, "include").is_empty());
    let r = s.get(&format!("Patient?_id={pat}&_revinclude=Observation:subject&_revinclude=MedicationRequest:patient")).await;
    assert_eq!(ids(&r.json, "match"), vec![pat.clone()]);
    assert_eq!(
        set(ids(&r.json, "include")),
        set(vec![o.clone(), mr.clone()])
    );
    let r = s.get(&format!("MedicationDispense?prescription=MedicationRequest/{mr}&_include=MedicationDispense:prescription&_include:iterate=MedicationRequest:requester")).await;
    assert_eq!(ids(&r.json, "match"), vec![md.clone()]);
    assert_eq!(
        set(ids(&r.json, "include")),
        set(vec![mr.clone(), pr.clone()])
    );
    let r = s.get("MedicationDispense?_include=MedicationDispense:prescription&_include=MedicationRequest:requester").await;
    assert_eq!(
        ids(&r.json, "include"),
        vec![mr.clone()],
        "without :iterate only one level"
    );
    assert_eq!(
        s.get("Observation?_include=Observation:nope").await.status,
        StatusCode::BAD_REQUEST
    );
}

/// `_include=*`, `Type:*[:Target]` and the same for `_revinclude` (FHIR R4 search.html
/// "Including other resources": "any search parameter of type=reference").
async fn include_and_revinclude_wildcards(s: &Store) {
    let pr = s
        .create(&json!({"resourceType": "Practitioner", "name": [{"family": "Wild"}]}))
        .await;
    let pat = s.create(&json!({"resourceType": "Patient", "generalPractitioner": [{"reference": format!("Practitioner/{pr}")}]})).await;
    let o = s.create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": format!("Patient/{pat}")}, "performer": [{"reference": format!("Practitioner/{pr}")}]})).await;
    let mr = s.create(&json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order", "medicationCodeableConcept": {"text": "m"}, "subject": {"reference": format!("Patient/{pat}")}, "requester": {"reference": format!("Practitioner/{pr}")}})).await;
    let md = s.create(&json!({"resourceType": "MedicationDispense", "medicationCodeableConcept": {"text": "m"}, "status": "completed", "authorizingPrescription": [{"reference": format!("MedicationRequest/{mr}")}]})).await;
    let includes = |q: String| async move {
        let r = s.get(&q).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.json);
        (ids(&r.json, "match"), set(ids(&r.json, "include")))
    };
    // Every reference parameter of the matches, each resource once.
    let (matched, included) = includes(format!("Observation?_id={o}&_include=*")).await;
    assert_eq!(matched, vec![o.clone()]);
    assert_eq!(included, set(vec![pat.clone(), pr.clone()]));
    let (_, included) = includes(format!(
        "Observation?_id={o}&_include=Observation:*:Practitioner"
    ))
    .await;
    assert_eq!(included, set(vec![pr.clone()]));
    let (_, included) = includes(format!("Observation?_id={o}&_include=Patient:*")).await;
    assert_eq!(included, set(vec![]), "Patient:* follows Patients only");
    // Every resource whose reference parameter names a match.
    let (_, included) = includes(format!("Patient?_id={pat}&_revinclude=*")).await;
    assert_eq!(included, set(vec![o.clone(), mr.clone()]));
    let (_, included) = includes(format!("Practitioner?_id={pr}&_revinclude=*")).await;
    assert_eq!(included, set(vec![pat.clone(), o.clone(), mr.clone()]));
    let (_, included) = includes(format!(
        "Practitioner?_id={pr}&_revinclude=MedicationRequest:*"
    ))
    .await;
    assert_eq!(included, set(vec![mr.clone()]));
    let (_, included) = includes(format!(
        "Practitioner?_id={pr}&_revinclude=Observation:*:Patient"
    ))
    .await;
    assert_eq!(included, set(vec![]), "the matches are not Patients");
    // `:iterate` applies the wildcard once more to what was included.
    let (matched, included) = includes(format!(
        "MedicationDispense?_id={md}&_include=*&_include:iterate=*"
    ))
    .await;
    assert_eq!(matched, vec![md.clone()]);
    assert_eq!(included, set(vec![mr.clone(), pat.clone(), pr.clone()]));
    let (_, included) = includes(format!("MedicationDispense?_id={md}&_include=*")).await;
    assert_eq!(
        included,
        set(vec![mr.clone()]),
        "without :iterate one level"
    );
    for bad in ["*:subject", "Nope:*", "*:*", "Observation:*x"] {
        let r = s.get(&format!("Observation?_include={bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            r.json["issue"][0]["diagnostics"],
            format!(
                "_include/_revinclude '{bad}' names no reference parameter (Type:param[:Target], Type:*[:Target] or *)"
            )
        );
    }
}

async fn unknown_parameters_warn_or_fail_strict(s: &Store) {
    let p = s
        .create(&json!({"resourceType": "Patient", "gender": "male"}))
        .await;
    let r = s.get("Patient?gender=male&foo=bar").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(ids(&r.json, "match"), vec![p]);
    let outcome = r.json["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .expect("outcome entry");
    assert_eq!(outcome["resource"]["resourceType"], "OperationOutcome");
    assert_eq!(outcome["resource"]["issue"][0]["severity"], "warning");
    assert!(
        outcome["resource"]["issue"][0]["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("foo"))
    );
    let r = s
        .call(
            "GET",
            "Patient?gender=male&foo=bar",
            None,
            &[("prefer", "handling=strict")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["resourceType"], "OperationOutcome");
}

async fn flow_parameters(s: &Store) {
    let mr = s.create(&json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order", "medicationCodeableConcept": {"text": "m"},
        "identifier": [{"system": "urn:rx", "value": "RX1"}], "subject": {"reference": "Patient/p"}})).await;
    expect(
        s,
        "MedicationRequest?identifier=urn:rx|RX1&status=active",
        &[&mr],
    )
    .await;
    expect(s, "MedicationRequest?status=cancelled", &[]).await;
    let md = s.create(&json!({"resourceType": "MedicationDispense", "medicationCodeableConcept": {"text": "m"}, "status": "completed", "authorizingPrescription": [{"reference": format!("MedicationRequest/{mr}")}]})).await;
    expect(s, &format!("MedicationDispense?prescription={mr}"), &[&md]).await;
    let task = s.create(&json!({"resourceType": "Task", "status": "requested", "intent": "order", "focus": {"reference": format!("MedicationRequest/{mr}")}, "for": {"reference": "Patient/p"}})).await;
    expect(
        s,
        &format!("Task?focus=MedicationRequest/{mr}&status=requested"),
        &[&task],
    )
    .await;
    expect(s, "Task?patient=p", &[&task]).await;
    let audit = s.create(&json!({"resourceType": "AuditEvent", "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110112"},
        "action": "R", "recorded": "2024-03-01T12:00:00Z",
        "agent": [{"who": {"reference": "Practitioner/doc"}, "requestor": true}],
        "source": {"observer": {"reference": "Device/gw"}},
        "entity": [{"what": {"reference": "Patient/p"}}]})).await;
    expect(
        s,
        "AuditEvent?date=2024-03-01&patient=p&agent=Practitioner/doc&action=R",
        &[&audit],
    )
    .await;
    expect(s, "AuditEvent?action=C", &[]).await;
    let cov = s.create(&json!({"resourceType": "Coverage", "status": "active", "subscriberId": "SBX1", "beneficiary": {"reference": "Patient/p"}, "payor": [{"reference": "Organization/payer"}]})).await;
    expect(s, "Coverage?beneficiary=Patient/p&status=active", &[&cov]).await;
    expect(s, "Coverage?patient=p&subscriber-id=SBX1", &[&cov]).await;
    let params = s.adapter.search_params("Task");
    assert!(params.contains(&("focus".to_owned(), "reference".to_owned())));
    assert!(params.contains(&("_lastUpdated".to_owned(), "date".to_owned())));
}

async fn paging_is_stable_under_concurrent_writes(s: &Store) {
    let entries: Vec<Value> = (0..1100)
        .map(|i| json!({"resource": {"resourceType": "Observation", "status": "final", "code": {"text": format!("n{i}")}, "subject": {"reference": "Patient/pg"}},
            "request": {"method": "POST", "url": "Observation"}}))
        .collect();
    // Two transactions: one Bundle may carry at most 1000 entries.
    for chunk in entries.chunks(550) {
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": chunk});
        let r = s.post("", &bundle).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{}",
            &r.text[..r.text.len().min(500)]
        );
    }
    let before = set(s
        .search_ids("Observation?patient=pg&_count=1000&_total=accurate")
        .await);
    assert_eq!(
        s.get("Observation?patient=pg&_summary=count").await.json["total"],
        1100
    );
    let writer = {
        let adapter = s.adapter.clone();
        tokio::spawn(async move {
            let w = Store {
                adapter,
                config: Default::default(),
                dir: std::env::temp_dir(),
            };
            for i in 0..60 {
                w.create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": format!("late{i}")}, "subject": {"reference": "Patient/pg"}})).await;
            }
        })
    };
    let mut seen = Vec::new();
    let mut next = Some("Observation?patient=pg&_count=100".to_owned());
    let mut pages = 0;
    while let Some(url) = next {
        let r = s.get(&url).await;
        assert_eq!(r.status, StatusCode::OK);
        seen.extend(ids(&r.json, "match"));
        next = link(&r.json, "next");
        pages += 1;
        assert!(pages < 100);
        tokio::task::yield_now().await;
    }
    writer.await.expect("writer");
    let unique = set(seen.clone());
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    assert!(
        before.is_subset(&unique),
        "no gaps: every resource present before paging was seen"
    );
    assert!(pages >= 11, "1,100 results at 100 a page");
}

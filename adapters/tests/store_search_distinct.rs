//! A search answers the set of matching resources (FHIR R4 §3.1.1): a resource with several
//! index rows matching one parameter (two names, two identifiers, two reactions, two
//! performers) is matched, counted and paged once — string, token, date, reference and
//! `:missing`, on SQLite and PostgreSQL.

mod store_harness;

use serde_json::json;
use store_harness::Store;

both!(
    each_match_is_answered_once,
    paging_and_sorting_see_each_match_once,
);

/// The match ids of `query`, its `_total=accurate` and its `_summary=count`.
async fn answered(s: &Store, query: &str) -> (Vec<String>, i64, i64) {
    let sep = if query.contains('?') { '&' } else { '?' };
    let ids = s.search_ids(query).await;
    let page = s.get(&format!("{query}{sep}_total=accurate")).await;
    let count = s.get(&format!("{query}{sep}_summary=count")).await;
    let n = |v: &serde_json::Value| v["total"].as_i64().unwrap_or(-1);
    (ids, n(&page.json), n(&count.json))
}

async fn each_match_is_answered_once(s: &Store) {
    let p = s
        .create(&json!({"resourceType": "Patient",
            "identifier": [{"system": "urn:d2", "value": "one"}, {"system": "urn:d2", "value": "two"}],
            "name": [{"family": "Anders", "given": ["Alice"]}, {"family": "Ames", "given": ["Ann"]}]}))
        .await;
    let once = (vec![p.clone()], 1, 1);
    for query in [
        "Patient?name=a",
        "Patient?name:contains=a",
        "Patient?family=a",
        "Patient?given=a",
        "Patient?identifier=urn:d2|",
        "Patient?identifier=one,two",
        "Patient?identifier=urn:d2|one,urn:d2|two",
        "Patient?name:missing=false",
        "Patient?name=a&identifier=urn:d2|",
    ] {
        assert_eq!(answered(s, query).await, once, "{query}");
    }
    let allergy = s
        .create(&json!({"resourceType": "AllergyIntolerance",
            "patient": {"reference": format!("Patient/{p}")},
            "reaction": [{"manifestation": [{"text": "rash"}], "onset": "2020-03-01"},
                         {"manifestation": [{"text": "hives"}], "onset": "2020-05-01"}]}))
        .await;
    assert_eq!(
        answered(s, "AllergyIntolerance?onset=2020").await,
        (vec![allergy], 1, 1)
    );
    let obs = s
        .create(
            &json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "performer": [{"reference": "Practitioner/d2a"}, {"reference": "Practitioner/d2b"}]}),
        )
        .await;
    assert_eq!(
        answered(s, "Observation?performer=Practitioner/d2a,Practitioner/d2b").await,
        (vec![obs], 1, 1)
    );
}

async fn paging_and_sorting_see_each_match_once(s: &Store) {
    let mut made = Vec::new();
    for (family, given) in [("Abbott", "Ava"), ("Acosta", "Aria")] {
        let id = s
            .create(&json!({"resourceType": "Patient",
                "name": [{"family": family, "given": [given]}, {"text": format!("{given} {family}")}]}))
            .await;
        made.push(id);
    }
    let mut seen = Vec::new();
    let mut url = "Patient?name=a&_count=1".to_owned();
    let mut pages = 0;
    loop {
        let r = s.get(&url).await;
        let ids = store_harness::ids(&r.json, "match");
        assert_eq!(ids.len(), 1, "{url}: {}", r.text);
        seen.extend(ids);
        pages += 1;
        let next = r.json["link"].as_array().and_then(|ls| {
            ls.iter()
                .find(|l| l["relation"] == "next")
                .and_then(|l| l["url"].as_str())
                .map(str::to_owned)
        });
        match next {
            Some(n) => {
                url = n
                    .strip_prefix(&format!("{}/", store_harness::BASE))
                    .expect("next link under the base")
                    .to_owned();
            }
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen, made);
    let sorted = s.search_ids("Patient?name=a&_sort=-_lastUpdated").await;
    assert_eq!(sorted, made.iter().rev().cloned().collect::<Vec<_>>());
}

//! The store's paging cursors (FHIR R4 search.html §3.1.1.6, http.html §3.1.0.9: paging
//! links are opaque) on SQLite and PostgreSQL: a cursor names the entry the page shows,
//! sealed, never a row id counting everyone's writes (attack finding MEDIUM 4), so it is
//! the same whatever others write between two identical first-page requests; a second
//! store on the same database (a replica) follows it; paging and `prev` links return every
//! entry exactly once while others write; a cursor the store did not hand out is 400.

mod store_harness;

use std::collections::HashSet;

use http::StatusCode;
use serde_json::{Value, json};
use store_harness::{BASE, Store, ids, open};

both!(
    search_cursors_do_not_move_with_others_writes,
    search_paging_returns_every_entry_once_across_replicas,
    history_cursors_do_not_move_with_others_writes,
    history_paging_returns_every_version_once_across_replicas,
    cursors_the_store_did_not_hand_out_are_invalid,
);

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

/// The `_cursor` of a link.
fn cursor(url: &str) -> String {
    let (_, query) = url.split_once('?').expect("query");
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "_cursor")
        .map(|(_, v)| v.into_owned())
        .expect("_cursor")
}

/// An Observation of `patient` effective on `day` (of January 2024).
fn observation(patient: &str, day: u32) -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
        "subject": {"reference": format!("Patient/{patient}")},
        "effectiveDateTime": format!("2024-01-{day:02}")})
}

/// Writes of other patients' records: `n` Observations and `n` Devices.
async fn others_write(s: &Store, n: usize) {
    for i in 0..n {
        s.create(&observation("other", 20)).await;
        s.create(
            &json!({"resourceType": "Device", "patient": {"reference": format!("Patient/o{i}")}}),
        )
        .await;
    }
}

/// The sorts paged over: default (insertion), `_lastUpdated` both ways, a date parameter.
const SORTS: [&str; 4] = [
    "",
    "&_sort=_lastUpdated",
    "&_sort=-_lastUpdated",
    "&_sort=date",
];

async fn search_cursors_do_not_move_with_others_writes(s: &Store) {
    for day in [3, 1, 2] {
        s.create(&observation("a", day)).await;
    }
    for sort in SORTS {
        let path = format!("Observation?subject=Patient/a&_count=1{sort}");
        let first = s.get(&path).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        let next = link(&first.json, "next").expect("next");
        others_write(s, 5).await;
        let again = s.get(&path).await;
        assert_eq!(ids(&again.json, "match"), ids(&first.json, "match"));
        assert_eq!(link(&again.json, "next"), Some(next.clone()), "{sort}");
        // The page after it does not move either, nor its `prev` back.
        let second = s.get(&next).await;
        others_write(s, 1).await;
        let second_again = s.get(&next).await;
        for relation in ["next", "prev"] {
            assert_eq!(
                link(&second_again.json, relation),
                link(&second.json, relation),
                "{sort}"
            );
        }
        assert_eq!(ids(&second_again.json, "match"), ids(&second.json, "match"));
        let prev = link(&second.json, "prev").expect("prev");
        assert_eq!(
            ids(&s.get(&prev).await.json, "match"),
            ids(&first.json, "match")
        );
    }
}

/// Follows `next` from `path` on `stores` in turn (replicas), with `write` between pages:
/// the match ids in order, asserting each page's `prev` leads back to the page before.
async fn follow(stores: &[&Store], path: &str, write: bool) -> Vec<String> {
    let mut seen = Vec::new();
    let mut url = Some(path.to_owned());
    let mut before: Option<Vec<String>> = None;
    let mut turn = 0;
    while let Some(u) = url {
        let s = stores[turn % stores.len()];
        let page = s.get(&u).await;
        assert_eq!(page.status, StatusCode::OK, "{u}: {}", page.text);
        let here = ids(&page.json, "match");
        if let Some(b) = &before {
            let prev = link(&page.json, "prev").expect("prev");
            let back = stores[(turn + 1) % stores.len()].get(&prev).await;
            assert_eq!(&ids(&back.json, "match"), b, "{u}");
        }
        if write {
            stores[0].create(&observation("a", 9)).await;
            others_write(stores[0], 1).await;
        }
        seen.extend(here.clone());
        before = Some(here);
        url = link(&page.json, "next");
        turn += 1;
        assert!(turn < 50, "paging does not end");
    }
    seen
}

async fn search_paging_returns_every_entry_once_across_replicas(s: &Store) {
    let replica = open(s.config.clone(), s.dir.clone()).await;
    let mut mine = Vec::new();
    for day in [5, 1, 4, 2, 3, 7, 6] {
        mine.push(s.create(&observation("a", day)).await);
        others_write(s, 1).await;
    }
    for sort in SORTS {
        for count in [1, 2, 3] {
            let path = format!("Observation?subject=Patient/a&_count={count}{sort}");
            let all = ids(&s.get(&format!("{path}&_count=100")).await.json, "match");
            let seen = follow(&[s, &replica], &path, false).await;
            assert_eq!(seen, all, "{path}: the same entries in the same order");
            assert_eq!(seen.len(), mine.len(), "{path}");
        }
    }
    for sort in SORTS {
        // While others (and the patient) write: every entry there before the first page,
        // once; later ones at most once.
        let path = format!("Observation?subject=Patient/a&_count=2{sort}");
        let there: HashSet<String> = ids(&s.get(&format!("{path}&_count=100")).await.json, "match")
            .into_iter()
            .collect();
        let seen = follow(&[s, &replica], &path, true).await;
        let unique: HashSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "{sort}: no duplicates");
        assert!(there.is_subset(&unique), "{sort}: no entry skipped");
        assert!(mine.iter().all(|id| unique.contains(id)), "{sort}");
    }
}

/// A Patient written `versions` times; its id.
async fn patient_with_versions(s: &Store, versions: usize) -> String {
    let id = s
        .create(&json!({"resourceType": "Patient", "gender": "female"}))
        .await;
    for v in 2..=versions {
        let body =
            json!({"resourceType": "Patient", "id": id, "birthDate": format!("2000-01-{v:02}")});
        let r = s.put(&format!("Patient/{id}"), &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    id
}

/// The version ids (`W/"n"`) of a history page.
fn versions(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let url = e["fullUrl"].as_str().unwrap_or_default();
            let etag = e["response"]["etag"].as_str().unwrap_or_default();
            format!("{} {etag}", url.trim_start_matches(&format!("{BASE}/")))
        })
        .collect()
}

/// Each page of `Patient/{id}/_history?_count=1`: its versions and its `next` link.
async fn instance_pages(s: &Store, id: &str) -> Vec<(Vec<String>, Option<String>)> {
    let mut out = Vec::new();
    let mut url = Some(format!("Patient/{id}/_history?_count=1"));
    while let Some(u) = url {
        let page = s.get(&u).await;
        assert_eq!(page.status, StatusCode::OK, "{u}: {}", page.text);
        url = link(&page.json, "next");
        out.push((versions(&page.json), url.clone()));
        assert!(out.len() < 10, "paging does not end");
    }
    out
}

async fn history_cursors_do_not_move_with_others_writes(s: &Store) {
    let id = patient_with_versions(s, 4).await;
    // Newer versions come first in a type history, so its first page moves with others'
    // writes; the page after a cursor does not, nor the cursor after that page.
    let first = s.get("Patient/_history?_count=1").await;
    let next = link(&first.json, "next").expect("next");
    let page = s.get(&next).await;
    others_write(s, 5).await;
    patient_with_versions(s, 2).await;
    let again = s.get(&next).await;
    assert_eq!(versions(&again.json), versions(&page.json));
    assert_eq!(link(&again.json, "next"), link(&page.json, "next"));
    // The instance history's cursors after versions 4, 3, 2: nothing but what each page
    // shows goes into them, so the pages read the same after others' writes.
    let before = instance_pages(s, &id).await;
    others_write(s, 3).await;
    assert_eq!(instance_pages(s, &id).await, before);
    let shown: Vec<String> = before.iter().flat_map(|(v, _)| v.clone()).collect();
    let expected: Vec<String> = (1..=4)
        .rev()
        .map(|v| format!("Patient/{id} W/\"{v}\""))
        .collect();
    assert_eq!(shown, expected);
}

async fn history_paging_returns_every_version_once_across_replicas(s: &Store) {
    let replica = open(s.config.clone(), s.dir.clone()).await;
    let a = patient_with_versions(s, 3).await;
    others_write(s, 2).await;
    let b = patient_with_versions(s, 2).await;
    for path in [
        format!("Patient/{a}/_history"),
        "Patient/_history".to_owned(),
        "_history".to_owned(),
    ] {
        for count in [1, 2, 3] {
            let sep = if path.contains('?') { '&' } else { '?' };
            let all = versions(&s.get(&format!("{path}{sep}_count=1000")).await.json);
            let mut url = Some(format!("{path}{sep}_count={count}"));
            let mut seen = Vec::new();
            let mut turn = 0;
            while let Some(u) = url {
                let on = if turn % 2 == 0 { s } else { &replica };
                let page = on.get(&u).await;
                assert_eq!(page.status, StatusCode::OK, "{u}: {}", page.text);
                seen.extend(versions(&page.json));
                url = link(&page.json, "next");
                // Others write between pages: newer versions are not in this paging.
                others_write(s, 1).await;
                turn += 1;
                assert!(turn < 100, "paging does not end");
            }
            assert_eq!(seen, all, "{path} _count={count}");
        }
    }
    let a_versions = versions(&s.get(&format!("Patient/{a}/_history")).await.json);
    assert_eq!(
        a_versions,
        ["3", "2", "1"].map(|v| format!("Patient/{a} W/\"{v}\""))
    );
    assert!(
        versions(&s.get("Patient/_history").await.json).contains(&format!("Patient/{b} W/\"2\""))
    );
}

async fn cursors_the_store_did_not_hand_out_are_invalid(s: &Store) {
    let id = patient_with_versions(s, 3).await;
    let other = patient_with_versions(s, 2).await;
    for day in [1, 2, 3] {
        s.create(&observation("a", day)).await;
    }
    s.create(&json!({"resourceType": "Device"})).await;
    s.create(&json!({"resourceType": "Device"})).await;
    let obs = link(&s.get("Observation?_count=1").await.json, "next").expect("next");
    let by_date = link(&s.get("Observation?_count=1&_sort=date").await.json, "next").expect("next");
    let device = link(&s.get("Device?_count=1").await.json, "next").expect("next");
    let hist = link(
        &s.get(&format!("Patient/{id}/_history?_count=1")).await.json,
        "next",
    )
    .expect("next");
    let other_hist = link(
        &s.get(&format!("Patient/{other}/_history?_count=1"))
            .await
            .json,
        "next",
    )
    .expect("next");
    let type_hist = link(&s.get("Device/_history?_count=1").await.json, "next").expect("next");
    let bad = [
        // Malformed, a row number as before, a cut cursor.
        "Observation?_count=1&_cursor=zzz".to_owned(),
        "Observation?_count=1&_cursor=bjE2MC4xNjA".to_owned(),
        format!("Observation?_count=1&_cursor={}", &cursor(&obs)[2..]),
        format!("Patient/{id}/_history?_cursor=313"),
        format!("Patient/{id}/_history?_cursor=-5"),
        "_history?_cursor=1".to_owned(),
        // Handed out, but for another search: another type, another kind of sort, a history.
        format!("Observation?_count=1&_cursor={}", cursor(&device)),
        format!("Observation?_count=1&_sort=date&_cursor={}", cursor(&obs)),
        format!("Observation?_count=1&_cursor={}", cursor(&by_date)),
        format!("Observation?_count=1&_cursor={}", cursor(&hist)),
        // A history cursor on a search, another resource's history, another type's.
        format!("Patient/{id}/_history?_cursor={}", cursor(&obs)),
        format!("Patient/{id}/_history?_cursor={}", cursor(&other_hist)),
        format!("Patient/_history?_cursor={}", cursor(&type_hist)),
    ];
    for path in bad {
        let r = s.get(&path).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert_eq!(r.json["issue"][0]["code"], "invalid", "{path}");
        assert_eq!(
            r.json["issue"][0]["diagnostics"], "invalid _cursor",
            "{path}"
        );
    }
    // Each handed-out cursor still answers where it belongs; a type history cursor also on
    // the system history (the same entry, the same order).
    for ok in [obs, by_date, device, hist, other_hist, type_hist.clone()] {
        assert_eq!(s.get(&ok).await.status, StatusCode::OK, "{ok}");
    }
    let system = s
        .get(&format!("_history?_cursor={}", cursor(&type_hist)))
        .await;
    assert_eq!(system.status, StatusCode::OK, "{}", system.text);
}

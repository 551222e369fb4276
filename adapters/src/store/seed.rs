//! Seeding an empty store with the shipped bundles: the two Synthea patients (their POST
//! entries turned into PUTs by the ids they carry, so ids are stable everywhere) and the
//! sandbox bundle (pharmacy, payer, prescriber, a Coverage per patient, a MedicationRequest).

use serde_json::{Value, json};

use super::answer::Return;
use super::bundle::run_transaction;
use super::db::unavailable;
use super::service::Store;
use crate::AdapterError;

/// The shipped bundles, embedded so the binary works anywhere.
pub(crate) const BUNDLES: [(&str, &[u8]); 3] = [
    (
        "synthea-Buster_Hoeger",
        include_bytes!("../../seed/synthea-r4-transaction-Buster_Hoeger.json"),
    ),
    (
        "synthea-Liz_Conn",
        include_bytes!("../../seed/synthea-r4-transaction-Liz_Conn.json"),
    ),
    ("sandbox", include_bytes!("../../seed/sandbox.json")),
];

/// Rewrites every entry's request to `PUT Type/id`, taking the id from the resource or
/// from a `urn:uuid:` fullUrl. Returns the number of entries.
pub(crate) fn to_puts(bundle: &mut Value) -> usize {
    bundle["type"] = json!("transaction");
    let Some(Value::Array(entries)) = bundle.get_mut("entry") else {
        return 0;
    };
    for e in entries.iter_mut() {
        let from_url = e
            .get("fullUrl")
            .and_then(Value::as_str)
            .and_then(|u| u.strip_prefix("urn:uuid:"))
            .map(str::to_owned);
        let Some(resource) = e.get_mut("resource") else {
            continue;
        };
        let rtype = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let id = resource
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(from_url)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        resource["id"] = json!(id);
        e["request"] = json!({"method": "PUT", "url": format!("{rtype}/{id}")});
    }
    entries.len()
}

/// The NPI check digit rule: Luhn over `80840` + the first nine digits (CMS NPI standard).
pub(crate) fn npi_is_valid(npi: &str) -> bool {
    if npi.len() != 10 || !npi.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = format!("80840{npi}")
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The `http://hl7.org/fhir/sid/us-npi` identifiers in `bundle` that fail the check digit.
fn invalid_npis(bundle: &Value) -> Vec<String> {
    let empty = Vec::new();
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    entries
        .iter()
        .filter_map(|e| e.pointer("/resource/identifier").and_then(Value::as_array))
        .flatten()
        .filter(|i| {
            i.get("system").and_then(Value::as_str) == Some("http://hl7.org/fhir/sid/us-npi")
        })
        .filter_map(|i| i.get("value").and_then(Value::as_str))
        .filter(|v| !npi_is_valid(v))
        .map(str::to_owned)
        .collect()
}

/// Loads the shipped bundles when the store holds no resource yet (idempotent: a store
/// with data is left alone, and the PUTs by id would not duplicate anything anyway).
pub(crate) async fn seed(store: &Store) -> Result<(), AdapterError> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM resources")
        .fetch_one(&store.db.pool)
        .await
        .map_err(|e| unavailable(&store.name, &e))?;
    if existing > 0 {
        tracing::info!(adapter = %store.name, resources = existing, "store not empty; seeding skipped");
        return Ok(());
    }
    let mut total = 0;
    for (name, bytes) in BUNDLES {
        let mut bundle: Value =
            serde_json::from_slice(bytes).map_err(|e| AdapterError::Config {
                adapter: store.name.clone(),
                detail: format!("seed bundle {name} is not JSON: {e}"),
            })?;
        if let Some(bad) = invalid_npis(&bundle).first().filter(|_| name == "sandbox") {
            return Err(AdapterError::Config {
                adapter: store.name.clone(),
                detail: format!("seed bundle {name} holds an invalid NPI {bad}"),
            });
        }
        let n = to_puts(&mut bundle);
        let answer = run_transaction(store, &bundle, "", Return::Minimal).await?;
        if answer.status == http::StatusCode::CONFLICT {
            // another replica is seeding the same shared database at this moment
            tracing::info!(adapter = %store.name, bundle = name, "seed bundle written concurrently elsewhere; skipped");
            continue;
        }
        if !answer.is_success() {
            return Err(AdapterError::Unavailable {
                adapter: store.name.clone(),
                detail: format!("seed bundle {name} failed with {}", answer.status),
            });
        }
        total += n;
    }
    tracing::info!(adapter = %store.name, bundles = BUNDLES.len(), resources = total, "store seeded");
    Ok(())
}

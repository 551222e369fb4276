//! The sandbox payer itself: reads a 270 interchange, finds each member through
//! `Coverage.subscriberId` among the store's Coverages paid by its own Organizations, decides as a payer would (a CoverageEligibilityResponse
//! with active coverage, a copay and a deductible — or AAA 75 "Subscriber/Insured Not
//! Found" for unknown members, 77 when the subscriber is known but not the dependent) and
//! answers it as a 271 interchange through the FHIR → 271 mapping.

use fhirgate_mappings::x12::eligibility::fhir::{reference_id, x12_to_date};
use fhirgate_mappings::x12::eligibility::{
    self, AnswerResources, Eligibility, coverage_eligibility_response_to_271,
};
use fhirgate_mappings::x12::{InterchangeSpec, parse, write_interchange};
use serde_json::{Value, json};

use super::config::SandboxPayerConfig;
use crate::AdapterError;
use crate::store_client::StoreClient;
use crate::x12::submit::{control_number, now};

/// The sandbox payer.
pub(crate) struct Payer {
    pub adapter: String,
    pub store: StoreClient,
    pub config: SandboxPayerConfig,
}

const COPAY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/coverage-copay-type";

/// An amount as a JSON number written exactly as configured (`25.00` stays `25.00`).
fn money(amount: &str) -> Value {
    serde_json::from_str::<Value>(amount)
        .ok()
        .filter(Value::is_number)
        .unwrap_or(json!(0))
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl Payer {
    fn bad(&self, detail: String) -> AdapterError {
        AdapterError::BadGateway {
            adapter: self.adapter.clone(),
            detail: format!("sandbox payer: {detail}"),
        }
    }

    /// Answers a 270 interchange with a 271 interchange (one 271 per inquiry).
    pub async fn answer(&self, interchange: &[u8]) -> Result<Vec<u8>, AdapterError> {
        let doc =
            parse(interchange).map_err(|e| self.bad(format!("the 270 is unreadable: {e}")))?;
        let (created, _) = now();
        let date = created.strftime("%Y%m%d").to_string();
        let time = created.strftime("%H%M").to_string();
        let mut sets = Vec::new();
        let mut request_envelope = None;
        for t in doc.transactions().filter(|t| t.id() == "270") {
            request_envelope.get_or_insert_with(|| (t.interchange.isa.clone(), t.group.gs.clone()));
            for inquiry in eligibility::read(t).map_err(|e| self.bad(e.to_string()))? {
                let answer = self.answer_one(&inquiry, (&date, &time)).await?;
                let control = format!("{:04}", sets.len() + 1);
                sets.push(
                    eligibility::write(&answer, &control).map_err(|e| self.bad(e.to_string()))?,
                );
            }
        }
        let Some((isa, gs)) = request_envelope else {
            return Err(self.bad("the interchange holds no 270".into()));
        };
        let spec = InterchangeSpec {
            sender_qualifier: isa.get(7).to_owned(),
            sender_id: isa.get(8).trim().to_owned(),
            receiver_qualifier: isa.get(5).to_owned(),
            receiver_id: isa.get(6).trim().to_owned(),
            created,
            control_number: control_number(),
            usage: isa.get(15).chars().next().unwrap_or('T'),
            acknowledgment_requested: false,
            functional_id: "HB".into(),
            application_sender: gs.get(3).to_owned(),
            application_receiver: gs.get(2).to_owned(),
            version: eligibility::VERSION.into(),
            line_breaks: false,
        };
        write_interchange(&spec, &sets).map_err(|e| self.bad(e.to_string()))
    }

    /// The Coverage (and its beneficiary) the inquiry is about, if the payer has one.
    async fn find(&self, q: &Eligibility) -> Result<Option<(Value, Value)>, AdapterError> {
        let Some(subscriber) = &q.subscriber else {
            return Ok(None);
        };
        if subscriber.name.id.is_empty() {
            return Ok(None);
        }
        let coverages = self
            .store
            .search(
                "Coverage",
                &[("subscriber-id", &subscriber.name.id), ("_count", "50")],
                "",
            )
            .await?;
        for c in coverages {
            let payor = c
                .pointer("/payor/0")
                .and_then(|p| reference_id(p, "Organization"));
            if !payor.is_some_and(|p| self.config.organizations.iter().any(|o| o == p)) {
                continue;
            }
            let Some(pid) = c
                .get("beneficiary")
                .and_then(|b| reference_id(b, "Patient"))
            else {
                continue;
            };
            let Some(patient) = self.store.read("Patient", pid, "").await? else {
                continue;
            };
            let matches = match &q.dependent {
                // The subscriber's own coverage: beneficiary and subscriber are the same.
                None => c
                    .get("subscriber")
                    .and_then(|s| reference_id(s, "Patient"))
                    .is_none_or(|s| s == pid),
                // A dependent: the beneficiary's first name and birth date match.
                Some(d) => {
                    let first = patient
                        .pointer("/name/0/given/0")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let born = patient
                        .get("birthDate")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    same(first, &d.name.first)
                        && x12_to_date(&d.birth_date).is_some_and(|b| b == born)
                }
            };
            if matches {
                return Ok(Some((c, patient)));
            }
        }
        Ok(None)
    }

    async fn answer_one(
        &self,
        q: &Eligibility,
        created: (&str, &str),
    ) -> Result<Eligibility, AdapterError> {
        let found = self.find(q).await?;
        let patient_ref = found
            .as_ref()
            .and_then(|(c, _)| c.get("beneficiary").cloned())
            .unwrap_or_else(|| json!({"display": "unknown member"}));
        let mut response = json!({"resourceType": "CoverageEligibilityResponse", "status": "active", "purpose": ["benefits"],
            "patient": patient_ref, "created": x12_to_date(created.0).unwrap_or_default(), "request": {"display": "270"}});
        let Some((coverage, patient)) = found else {
            let reason = if q.dependent.is_some() && self.known_subscriber(q).await? {
                "77"
            } else {
                "75"
            };
            tracing::info!(adapter = %self.adapter, reason, "sandbox payer: member not found");
            response["outcome"] = json!("error");
            response["error"] = json!([{"code": {"coding": [
                {"system": "https://codesystem.x12.org/005010/901", "code": reason},
                {"system": "https://codesystem.x12.org/005010/889", "code": "C"}]}}]);
            return coverage_eligibility_response_to_271(&AnswerResources {
                response: &response,
                coverage: None,
                member: None,
                insurer: None,
                inquiry: q,
                created,
            })
            .map_err(|e| self.bad(e.to_string()));
        };
        let service_date = q
            .patient()
            .and_then(|m| m.dates.iter().find(|d| d.qualifier == "291"))
            .and_then(|d| x12_to_date(d.start()))
            .or_else(|| x12_to_date(created.0))
            .unwrap_or_default();
        let starts = coverage
            .pointer("/period/start")
            .and_then(Value::as_str)
            .is_none_or(|s| s.get(..10).unwrap_or(s) <= service_date.as_str());
        let ends = coverage
            .pointer("/period/end")
            .and_then(Value::as_str)
            .is_none_or(|e| e.get(..10).unwrap_or(e) >= service_date.as_str());
        let inforce =
            coverage.get("status").and_then(Value::as_str) == Some("active") && starts && ends;
        response["outcome"] = json!("complete");
        let mut insurance = json!({"coverage": {"reference": format!("Coverage/{}", coverage.get("id").and_then(Value::as_str).unwrap_or(""))}, "inforce": inforce});
        if inforce {
            insurance["item"] = Value::Array(self.items(q, &coverage));
        }
        response["insurance"] = json!([insurance]);
        let described = self.describe_plan(&coverage);
        coverage_eligibility_response_to_271(&AnswerResources {
            response: &response,
            coverage: Some(&described),
            member: Some(&patient),
            insurer: None,
            inquiry: q,
            created,
        })
        .map_err(|e| self.bad(e.to_string()))
    }

    /// Whether one of our Coverages carries the subscriber id at all (for AAA 77 vs 75).
    async fn known_subscriber(&self, q: &Eligibility) -> Result<bool, AdapterError> {
        let Some(s) = &q.subscriber else {
            return Ok(false);
        };
        let ours = |c: &Value| {
            c.pointer("/payor/0")
                .and_then(|p| reference_id(p, "Organization"))
                .is_some_and(|p| self.config.organizations.iter().any(|o| o == p))
        };
        Ok(self
            .store
            .search(
                "Coverage",
                &[("subscriber-id", &s.name.id), ("_count", "50")],
                "",
            )
            .await?
            .iter()
            .any(ours))
    }

    /// `costToBeneficiary` of `kinds` (coverage-copay-type codes), else `fallback`.
    fn cost(coverage: &Value, kinds: &[&str], fallback: &str) -> Value {
        coverage
            .get("costToBeneficiary")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| {
                c.pointer("/type/coding")
                    .and_then(Value::as_array)
                    .is_some_and(|cs| {
                        cs.iter().any(|x| {
                            x["system"] == COPAY_TYPE && kinds.iter().any(|k| x["code"] == *k)
                        })
                    })
            })
            .and_then(|c| c.pointer("/valueMoney/value").cloned())
            .filter(Value::is_number)
            .unwrap_or_else(|| money(fallback))
    }

    /// A copay per asked service type (office visit `98` when only `30` was asked) and the deductible.
    fn items(&self, q: &Eligibility, coverage: &Value) -> Vec<Value> {
        let mut asked: Vec<String> = q
            .patient()
            .map(|m| {
                m.inquiries
                    .iter()
                    .flat_map(|i| i.service_types.iter().cloned())
                    .filter(|s| s != "30")
                    .collect()
            })
            .unwrap_or_default();
        if asked.is_empty() {
            asked.push("98".into());
        }
        let copay = Self::cost(coverage, &["gpvisit", "copay"], &self.config.copay);
        let deductible = Self::cost(coverage, &["deductible"], &self.config.deductible);
        let coding =
            |system: &str, code: &str| json!({"coding": [{"system": system, "code": code}]});
        let mut items: Vec<Value> = asked
            .iter()
            .map(|stc| {
                json!({
                    "category": coding("https://codesystem.x12.org/005010/1365", stc),
                    "network": coding("http://terminology.hl7.org/CodeSystem/benefit-network", "in"),
                    "unit": coding("http://terminology.hl7.org/CodeSystem/benefit-unit", "individual"),
                    "term": coding("https://codesystem.x12.org/005010/615", "27"),
                    "benefit": [{"type": coding("http://terminology.hl7.org/CodeSystem/benefit-type", "copay"),
                                 "allowedMoney": {"value": copay.clone(), "currency": "USD"}}]
                })
            })
            .collect();
        items.push(json!({
            "category": coding("https://codesystem.x12.org/005010/1365", "30"),
            "network": coding("http://terminology.hl7.org/CodeSystem/benefit-network", "in"),
            "unit": coding("http://terminology.hl7.org/CodeSystem/benefit-unit", "individual"),
            "term": coding("https://codesystem.x12.org/005010/615", "23"),
            "benefit": [{"type": coding("http://terminology.hl7.org/CodeSystem/benefit-type", "deductible"),
                         "allowedMoney": {"value": deductible, "currency": "USD"}}]
        }));
        items
    }

    /// The Coverage with the configured plan name and X12 insurance type where it has none.
    fn describe_plan(&self, coverage: &Value) -> Value {
        let mut c = coverage.clone();
        let has_type = c
            .pointer("/type/coding")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|x| x["system"] == "https://codesystem.x12.org/005010/1336")
            });
        if !has_type {
            c["type"] = json!({"coding": [{"system": "https://codesystem.x12.org/005010/1336", "code": self.config.insurance_type}]});
        }
        let has_plan = c.get("class").and_then(Value::as_array).is_some_and(|cs| {
            cs.iter()
                .any(|x| x.pointer("/type/coding/0/code") == Some(&json!("plan")))
        });
        if !has_plan {
            let plan = json!({"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "plan"}]},
                "value": self.config.plan_name, "name": self.config.plan_name});
            match c.get_mut("class").and_then(Value::as_array_mut) {
                Some(classes) => classes.push(plan),
                None => c["class"] = json!([plan]),
            }
        }
        c
    }
}

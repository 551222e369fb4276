//! Independent check (issue 8): the 270s and 271s fhirgate writes are parsed and validated
//! as 005010X279A1 by PyPI `linuxforhealth-x12==0.57.0` (pydantic models with the TR3's
//! loop structure, code values, HL linkage and segment counts), in its own virtualenv
//! `target/venv-linuxforhealth-x12` (it needs `pydantic<2`; needs PyPI the first time).
//! The values it read back are asserted here.
//!
//! One known defect of that version: its 271 model gives loop 2100C the 2100B AAA code
//! list (`# Loop2100C AAA is identical to Loop2100B AAA`), so it refuses reject reason 75
//! "Subscriber/Insured Not Found", which 005010X279A1 lists for 2100C AAA03 (with 72–76,
//! 78…). The standard wins: we keep 75 and assert that this is the only complaint.

mod x12_support;

use fhirgate_mappings::x12::eligibility::{AnswerResources, coverage_eligibility_response_to_271};
use serde_json::{Value, json};
use x12_support::*;

const CHECK: &str = r#"
import json, sys
from linuxforhealth.x12.io import X12ModelReader

def nm1(s):
    return [s["entity_identifier_code"], s["name_last_or_organization_name"], s["name_first"],
            s["identification_code_qualifier"], s["identification_code"]]

out = []
for path in sys.argv[1:]:
    try:
        with X12ModelReader(open(path).read()) as r:
            models = list(r.models())
    except Exception as e:
        out.append({"error": str(e)})
        continue
    for m in models:
        d = m.dict()
        a = d["loop_2000a"][0] if isinstance(d["loop_2000a"], list) else d["loop_2000a"]
        b = a["loop_2000b"][0]
        c = b["loop_2000c"][0]
        entry = {"model": type(m).__name__, "payer": nm1(a["loop_2100a"]["nm1_segment"]),
                 "provider": nm1(b["loop_2100b"]["nm1_segment"]),
                 "subscriber": nm1(c["loop_2100c"]["nm1_segment"]),
                 "dmg": c["loop_2100c"]["dmg_segment"] and [str(c["loop_2100c"]["dmg_segment"]["date_time_period"]), c["loop_2100c"]["dmg_segment"]["gender_code"]],
                 "dependents": []}
        for dep in c.get("loop_2000d") or []:
            dd = dep["loop_2100d"]
            entry["dependents"].append({"name": nm1(dd["nm1_segment"]), "ins": dd["ins_segment"] and dd["ins_segment"]["individual_relationship_code"],
                "eq": dd.get("loop_2110d") and dd["loop_2110d"]["eq_segment"]["service_type_code"]})
        if entry["model"] == "EligibilityInquiry":
            l = c["loop_2100c"].get("loop_2110c")
            entry["eq"] = l and l["eq_segment"]["service_type_code"]
            entry["trn"] = [t["reference_identification_1"] for t in (c.get("trn_segment") or [])]
        else:
            c2 = c["loop_2100c"]
            entry["aaa"] = [[x["reject_reason_code"], x["follow_up_action_code"]] for x in (c2.get("aaa_segment") or [])]
            entry["ins"] = c2["ins_segment"] and [c2["ins_segment"]["maintenance_type_code"], c2["ins_segment"]["maintenance_reason_code"]]
            entry["eb"] = [[e["eb_segment"]["eligibility_benefit_information"], e["eb_segment"]["coverage_level_code"],
                            e["eb_segment"]["service_type_code"], str(e["eb_segment"]["benefit_amount"]),
                            str(e["eb_segment"]["benefit_percent"]), e["eb_segment"]["inplan_network_indicator"]]
                           for e in (c2.get("loop_2110c") or [])]
        out.append(entry)
print(json.dumps(out))
"#;

fn check(texts: &[(&str, String)]) -> Vec<Value> {
    let python = venv_python(
        "venv-linuxforhealth-x12",
        &["linuxforhealth-x12==0.57.0", "pydantic<2"],
    );
    let dir = target_dir().join(format!("x12-linuxforhealth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let paths: Vec<std::path::PathBuf> = texts
        .iter()
        .map(|(name, text)| {
            let p = dir.join(name);
            std::fs::write(&p, text).expect("write");
            p
        })
        .collect();
    let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
    let out = run_python(&python, CHECK, &refs);
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_str::<Value>(out.trim())
        .expect("json")
        .as_array()
        .expect("list")
        .clone()
}

#[test]
fn our_270s_and_271s_pass_linuxforhealth_x12() {
    let inquiry = buster_270();
    let record = buster();
    let (answer, cov, payer) = (
        payer_answer(),
        sandbox("Coverage", "sandbox-coverage-buster"),
        sandbox("Organization", "sandbox-payer"),
    );
    let benefits = coverage_eligibility_response_to_271(&AnswerResources {
        response: &answer,
        coverage: Some(&cov),
        member: Some(&record),
        insurer: Some(&payer),
        inquiry: &inquiry,
        created: ("20240430", "0900"),
    })
    .expect("271");
    let mut moved = buster();
    moved["name"][0]["family"] = json!("Hoeger-Smith");
    let rejected_answer = json!({"resourceType": "CoverageEligibilityResponse", "outcome": "error",
        "error": [{"code": {"coding": [{"system": "https://codesystem.x12.org/005010/901", "code": "75"}]}}]});
    let rejected = coverage_eligibility_response_to_271(&AnswerResources {
        response: &rejected_answer,
        coverage: None,
        member: None,
        insurer: None,
        inquiry: &inquiry,
        created: ("20240430", "0900"),
    })
    .expect("271 AAA");
    let corrected = coverage_eligibility_response_to_271(&AnswerResources {
        response: &answer,
        coverage: Some(&cov),
        member: Some(&moved),
        insurer: None,
        inquiry: &inquiry,
        created: ("20240430", "0900"),
    })
    .expect("271 corrected");
    let results = check(&[
        ("subscriber.270", text_of(&inquiry, "HS")),
        ("dependent.270", text_of(&dependent_270(), "HS")),
        ("benefits.271", text_of(&benefits, "HB")),
        ("rejected.271", text_of(&rejected, "HB")),
        ("corrected.271", text_of(&corrected, "HB")),
    ]);
    assert_eq!(results.len(), 5, "{results:?}");
    let s = &results[0];
    assert_eq!(s["model"], "EligibilityInquiry");
    assert_eq!(
        s["payer"],
        json!(["PR", "fhirgate Sandbox Payer", null, "PI", "SANDBOXPAYER"])
    );
    assert_eq!(
        s["provider"],
        json!(["1P", "Prescriber", "Sandra", "XX", "1234567893"])
    );
    assert_eq!(
        s["subscriber"],
        json!(["IL", "Hoeger", "Buster", "MI", "SBX0000001"])
    );
    assert_eq!(s["dmg"], json!(["1988-03-16", "M"]));
    assert_eq!(s["eq"], json!(["98"]));
    assert_eq!(s["trn"], json!(["TRACE-0001"]));
    let d = &results[1];
    assert_eq!(
        d["subscriber"],
        json!(["IL", "Conn", "Liz", "MI", "SBX0000002"])
    );
    assert_eq!(
        d["dependents"][0]["name"],
        json!(["03", "Hoeger", "Buster", null, null])
    );
    assert_eq!(d["dependents"][0]["ins"], "01");
    assert_eq!(d["dependents"][0]["eq"], json!(["30"]));
    let b = &results[2];
    assert_eq!(b["model"], "EligibilityBenefit");
    assert_eq!(
        b["eb"],
        json!([
            ["1", null, ["30"], "None", "None", null],
            ["B", "IND", ["98"], "25.00", "None", "Y"],
            ["C", "IND", ["30"], "1500.00", "None", null],
            ["A", "IND", ["30"], "None", "0.20", null]
        ])
    );
    assert_eq!(b["aaa"], json!([]));
    let refused = results[3]["error"]
        .as_str()
        .expect("the known 2100C AAA defect");
    assert!(
        refused.contains("loop_2100c -> aaa_segment -> 0 -> reject_reason_code")
            && refused.contains("permitted: '15', '41', '43', '44', '45', '46', '47', '48', '50', '51', '79', '97', 'T4'"),
        "{refused}"
    );
    assert_eq!(
        refused.matches("\nloop_2000a").count(),
        1,
        "only the AAA code is refused: {refused}"
    );
    assert_eq!(results[4]["ins"], json!(["001", "25"]));
    assert_eq!(
        results[4]["subscriber"],
        json!(["IL", "Hoeger-Smith", "Buster", "MI", "SBX0000001"])
    );
}

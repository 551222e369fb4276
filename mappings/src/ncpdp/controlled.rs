//! Controlled substances: R4 has no element for the DEA schedule, so a prescription is
//! taken as controlled when its drug names a scheduled ingredient (RxNorm ingredient code or
//! ingredient name) or its Medication carries the [`DEA_SCHEDULE_EXTENSION`] flag.
//! Controlled substances need EPCS signing (21 CFR 1311), which fhirgate does not do.

use serde_json::Value;

use super::codes::{RXNORM, coding_codes};
use super::prescription::Prescription;

/// Extension on Medication (or MedicationRequest) flagging a DEA-scheduled drug:
/// `valueCode` one of `CI`, `CII`, `CIII`, `CIV`, `CV` (written as `DEASchedule` in the
/// NewRx), or `valueBoolean` `true` when the schedule is unknown.
pub const DEA_SCHEDULE_EXTENSION: &str = "http://fhirgate.dev/StructureDefinition/dea-schedule";

/// One scheduled ingredient: RxNorm ingredient (TTY `IN`) code, name, DEA schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledIngredient {
    /// RxNorm RxCUI of the ingredient, e.g. `7804` (oxycodone).
    pub rxnorm: String,
    /// Lower-case ingredient name matched as a word in drug text (`None`: code only).
    pub name: Option<String>,
    /// DEA schedule `CII` … `CV`, when known.
    pub schedule: Option<String>,
}

/// The list of DEA-scheduled ingredients that marks a prescription as controlled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledIngredients {
    /// The ingredients.
    pub ingredients: Vec<ScheduledIngredient>,
}

/// The shipped list: (RxNorm ingredient RxCUI, name, federal DEA schedule). Common
/// outpatient scheduled ingredients; a deployment extends it through configuration.
const SHIPPED: &[(&str, &str, &str)] = &[
    ("7804", "oxycodone", "CII"),
    ("5489", "hydrocodone", "CII"),
    ("7052", "morphine", "CII"),
    ("4337", "fentanyl", "CII"),
    ("3423", "hydromorphone", "CII"),
    ("6813", "methadone", "CII"),
    ("7814", "oxymorphone", "CII"),
    ("787390", "tapentadol", "CII"),
    ("6901", "methylphenidate", "CII"),
    ("725", "amphetamine", "CII"),
    ("3288", "dextroamphetamine", "CII"),
    ("700810", "lisdexamfetamine", "CII"),
    ("2670", "codeine", "CII"),
    ("1819", "buprenorphine", "CIII"),
    ("10379", "testosterone", "CIII"),
    ("596", "alprazolam", "CIV"),
    ("6470", "lorazepam", "CIV"),
    ("3322", "diazepam", "CIV"),
    ("2598", "clonazepam", "CIV"),
    ("10355", "temazepam", "CIV"),
    ("39993", "zolpidem", "CIV"),
    ("10689", "tramadol", "CIV"),
    ("2101", "carisoprodol", "CIV"),
    ("8134", "phenobarbital", "CIV"),
    ("187832", "pregabalin", "CV"),
];

impl Default for ScheduledIngredients {
    /// The shipped small list (oxycodone, hydrocodone, alprazolam, lorazepam, zolpidem,
    /// methylphenidate, tramadol and other common scheduled ingredients).
    fn default() -> Self {
        Self {
            ingredients: SHIPPED
                .iter()
                .map(|(code, name, schedule)| ScheduledIngredient {
                    rxnorm: (*code).to_owned(),
                    name: Some((*name).to_owned()),
                    schedule: Some((*schedule).to_owned()),
                })
                .collect(),
        }
    }
}

impl ScheduledIngredients {
    /// A list of RxNorm ingredient codes only (matched by code, not by name; no schedule).
    pub fn from_codes(codes: Vec<String>) -> Self {
        Self {
            ingredients: codes
                .into_iter()
                .map(|rxnorm| ScheduledIngredient {
                    rxnorm,
                    name: None,
                    schedule: None,
                })
                .collect(),
        }
    }

    /// The shipped list plus `codes`.
    pub fn with_codes(mut self, codes: Vec<String>) -> Self {
        self.ingredients.extend(Self::from_codes(codes).ingredients);
        self
    }
}

/// The DEA schedule of a Medication or MedicationRequest's [`DEA_SCHEDULE_EXTENSION`]:
/// `Some(Some("CII"))` for a coded schedule, `Some(None)` for `valueBoolean: true`.
pub fn schedule_flag(resource: &Value) -> Option<Option<String>> {
    resource["extension"]
        .as_array()?
        .iter()
        .filter(|e| e["url"] == DEA_SCHEDULE_EXTENSION)
        .find_map(|e| match (&e["valueCode"], &e["valueBoolean"]) {
            (Value::String(s), _) => Some(Some(s.clone())),
            (_, Value::Bool(true)) => Some(None),
            _ => None,
        })
}

/// Whether `word` occurs in `text` as a whole word (ASCII case-insensitive).
fn has_word(text: &str, word: &str) -> bool {
    let text = text.to_ascii_lowercase();
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// The drug's codeable concepts: `medicationCodeableConcept`, or the Medication's `code`
/// and its `ingredient[].itemCodeableConcept`.
fn drug_concepts(p: &Prescription) -> Vec<&Value> {
    let mut out = vec![&p.medication_request["medicationCodeableConcept"]];
    if let Some(m) = &p.medication {
        out.push(&m["code"]);
        out.extend(
            m["ingredient"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| &i["itemCodeableConcept"]),
        );
    }
    out
}

/// `Some(reason naming the drug/ingredient)` when the prescription is for a controlled
/// substance: the Medication (or MedicationRequest) carries [`DEA_SCHEDULE_EXTENSION`], an
/// RxNorm coding of the drug or an ingredient is a listed ingredient code, or the drug's
/// text/display names a listed ingredient. The reason never carries patient data.
pub fn controlled_substance(p: &Prescription, list: &ScheduledIngredients) -> Option<String> {
    for r in [p.medication.as_ref(), Some(&p.medication_request)]
        .into_iter()
        .flatten()
    {
        if let Some(schedule) = schedule_flag(r) {
            let s = schedule
                .map(|s| format!(" (schedule {s})"))
                .unwrap_or_default();
            return Some(format!(
                "the medication is flagged as DEA-scheduled{s} by {DEA_SCHEDULE_EXTENSION}"
            ));
        }
    }
    let concepts = drug_concepts(p);
    for ing in &list.ingredients {
        let describe = || {
            let name = ing.name.as_deref().unwrap_or("scheduled ingredient");
            let schedule = ing
                .schedule
                .as_deref()
                .map(|s| format!(", schedule {s}"))
                .unwrap_or_default();
            format!(
                "{name} (RxNorm {}{schedule}) is a DEA-controlled substance",
                ing.rxnorm
            )
        };
        for c in &concepts {
            if coding_codes(c, RXNORM).any(|code| code == ing.rxnorm) {
                return Some(describe());
            }
            if let Some(name) = &ing.name {
                let texts = std::iter::once(&c["text"]).chain(
                    c["coding"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|x| &x["display"]),
                );
                if texts.filter_map(Value::as_str).any(|t| has_word(t, name)) {
                    return Some(describe());
                }
            }
        }
    }
    None
}

//! Settings of a `kind: sandbox-payer` adapter and their pure validation.

use serde::Deserialize;

use crate::config::ConfigProblem;
use crate::x12::InterchangeConfig;

/// Settings of a `kind: sandbox-payer` adapter: a built-in payer answering `$submit` from the Coverage resources of the store, through a real 270/271 exchange in memory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxPayerConfig {
    /// Name of the adapter (defined earlier in `adapters:`) holding the Patients, Coverages, Organizations and Practitioners; the payer finds members in it by `Coverage.subscriberId`.
    pub store: String,
    /// Ids of the Organizations (in the store) this payer is: it knows only members whose `Coverage.payor` is one of them and answers AAA 75 "Subscriber/Insured Not Found" for everyone else. Default `[sandbox-payer]` (seeded by the sandbox bundle).
    #[serde(default = "default_organizations")]
    pub organizations: Vec<String>,
    /// Plan name answered in EB05 and `Coverage.class` (plan) when the Coverage names none. Default `fhirgate Sandbox PPO`.
    #[serde(default = "default_plan")]
    pub plan_name: String,
    /// X12 insurance type code (EB04, element 1336) of the plan when the Coverage names none. Default `PR` (PPO).
    #[serde(default = "default_insurance_type")]
    pub insurance_type: String,
    /// In-network office visit co-payment in US dollars (EB*B, service type 98, per visit) when the Coverage has no `costToBeneficiary` of type `copay`. Default `25.00`.
    #[serde(default = "default_copay")]
    pub copay: String,
    /// Individual calendar-year deductible in US dollars (EB*C, service type 30) when the Coverage has no `costToBeneficiary` of type `deductible`. Default `1500.00`.
    #[serde(default = "default_deductible")]
    pub deductible: String,
    /// ISA/GS identities of the 270s the `$submit` flow writes to the sandbox (its answers swap sender and receiver).
    #[serde(default)]
    pub interchange: InterchangeConfig,
}

fn default_organizations() -> Vec<String> {
    vec!["sandbox-payer".into()]
}
fn default_plan() -> String {
    "fhirgate Sandbox PPO".into()
}
fn default_insurance_type() -> String {
    "PR".into()
}
fn default_copay() -> String {
    "25.00".into()
}
fn default_deductible() -> String {
    "1500.00".into()
}

/// A non-negative decimal such as `25` or `1500.00`.
pub(crate) fn is_amount(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(s.contains('.') && frac.is_empty())
}

impl SandboxPayerConfig {
    /// Pure checks of the settings.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = self.interchange.validate();
        for (key, value) in [("copay", &self.copay), ("deductible", &self.deductible)] {
            if !is_amount(value) {
                problems.push(ConfigProblem::new(
                    key,
                    "must be an amount in dollars such as 25.00",
                ));
            }
        }
        if !fhirgate_mappings::x12::codes::INSURANCE_TYPE.contains(&self.insurance_type) {
            problems.push(ConfigProblem::new(
                "insurance_type",
                "must be an X12 insurance type code (element 1336), e.g. PR, HM, C1",
            ));
        }
        if self.organizations.is_empty()
            || self
                .organizations
                .iter()
                .any(|o| !crate::interaction::is_valid_id(o))
        {
            problems.push(ConfigProblem::new(
                "organizations",
                "list at least one Organization id ([A-Za-z0-9-.]{1,64})",
            ));
        }
        if self.plan_name.is_empty() || self.plan_name.len() > 50 {
            problems.push(ConfigProblem::new(
                "plan_name",
                "must be 1 to 50 characters",
            ));
        }
        problems
    }
}

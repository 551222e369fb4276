//! OperationOutcome, the body of every FHIR-side error (FHIR R4 §3.1.0.4 "Handling Errors").

use fhir_sdk::r4b::codes::{IssueSeverity, IssueType};
use fhir_sdk::r4b::resources::{OperationOutcome, OperationOutcomeIssue};
use serde_json::Value;

/// `OperationOutcome.issue.severity` (value set `issue-severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The issue caused the action to fail and no further checking could be done.
    Fatal,
    /// The issue is sufficiently important to cause the action to fail.
    Error,
    /// The action succeeded but the issue should be looked at.
    Warning,
    /// Information only.
    Information,
}

/// `OperationOutcome.issue.code` (value set `issue-type`): the codes fhirgate emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueCode {
    /// Content invalid against the specification or a profile (`invalid`).
    Invalid,
    /// A structural issue in the content such as wrong namespace or bad JSON (`structure`).
    Structure,
    /// A required element is missing (`required`).
    Required,
    /// An element or header value is invalid (`value`).
    Value,
    /// An authentication/authorization/permissions issue (`security`).
    Security,
    /// The client needs to authenticate (`login`).
    Login,
    /// The user or system was not able to be authenticated (`unknown`).
    Unknown,
    /// Not allowed to do this (`forbidden`).
    Forbidden,
    /// Processing issues, e.g. a business-rule failure the client can fix (`processing`).
    Processing,
    /// Not supported by this server (`not-supported`).
    NotSupported,
    /// An attempt was made to create a duplicate record (`duplicate`).
    Duplicate,
    /// More than one match for a conditional interaction (`multiple-matches`).
    MultipleMatches,
    /// The reference could not be resolved (`not-found`).
    NotFound,
    /// The resource was deleted (`deleted`).
    Deleted,
    /// Too long, e.g. a body over the limit (`too-long`).
    TooLong,
    /// Stopped to protect server resources, e.g. an answer over the size limit
    /// (`too-costly`).
    TooCostly,
    /// Version or content conflict (`conflict`).
    Conflict,
    /// A business rule was violated (`business-rule`).
    BusinessRule,
    /// The system is not prepared to handle this request due to load (`throttled`).
    Throttled,
    /// An internal timeout occurred, e.g. an upstream did not answer in time (`timeout`).
    Timeout,
    /// A transient failure: retrying may succeed (`transient`).
    Transient,
    /// An unexpected internal error (`exception`).
    Exception,
    /// Informational note, e.g. an ignored search parameter (`informational`).
    Informational,
}

impl IssueCode {
    fn to_fhir(self) -> IssueType {
        match self {
            Self::Invalid => IssueType::Invalid,
            Self::Structure => IssueType::Structure,
            Self::Required => IssueType::Required,
            Self::Value => IssueType::Value,
            Self::Security => IssueType::Security,
            Self::Login => IssueType::Login,
            Self::Unknown => IssueType::Unknown,
            Self::Forbidden => IssueType::Forbidden,
            Self::Processing => IssueType::Processing,
            Self::NotSupported => IssueType::NotSupported,
            Self::Duplicate => IssueType::Duplicate,
            Self::MultipleMatches => IssueType::MultipleMatches,
            Self::NotFound => IssueType::NotFound,
            Self::Deleted => IssueType::Deleted,
            Self::TooLong => IssueType::TooLong,
            Self::TooCostly => IssueType::TooCostly,
            Self::Conflict => IssueType::Conflict,
            Self::BusinessRule => IssueType::BusinessRule,
            Self::Throttled => IssueType::Throttled,
            Self::Timeout => IssueType::Timeout,
            Self::Transient => IssueType::Transient,
            Self::Exception => IssueType::Exception,
            Self::Informational => IssueType::Informational,
        }
    }
}

/// One `OperationOutcome.issue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// How bad it is.
    pub severity: Severity,
    /// What kind of problem.
    pub code: IssueCode,
    /// Human-readable detail (`issue.diagnostics`); never PHI.
    pub diagnostics: String,
    /// FHIRPath of the element at fault (`issue.expression`), possibly empty.
    pub expression: Vec<String>,
}

impl Issue {
    /// An `error` issue with the given code and diagnostics and no expression.
    pub fn error(code: IssueCode, diagnostics: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            diagnostics: diagnostics.into(),
            expression: Vec::new(),
        }
    }

    /// A `warning` issue with the given code and diagnostics.
    pub fn warning(code: IssueCode, diagnostics: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, diagnostics)
        }
    }

    /// This issue with `expression` set to the given FHIRPath.
    #[must_use]
    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression.push(expression.into());
        self
    }
}

/// Builds an R4 OperationOutcome JSON object from `issues` (at least one is expected;
/// an empty list yields a single `informational` issue "All OK", as R4 requires one issue).
pub fn operation_outcome(issues: &[Issue]) -> Value {
    let fallback = [Issue {
        severity: Severity::Information,
        code: IssueCode::Informational,
        diagnostics: "All OK".into(),
        expression: Vec::new(),
    }];
    let issues = if issues.is_empty() {
        &fallback[..]
    } else {
        issues
    };
    let issue = issues
        .iter()
        .map(|i| {
            let severity = match i.severity {
                Severity::Fatal => IssueSeverity::Fatal,
                Severity::Error => IssueSeverity::Error,
                Severity::Warning => IssueSeverity::Warning,
                Severity::Information => IssueSeverity::Information,
            };
            OperationOutcomeIssue::builder()
                .severity(severity)
                .code(i.code.to_fhir())
                .diagnostics(i.diagnostics.clone())
                .expression(i.expression.iter().cloned().map(Some).collect())
                .build()
                .map(Some)
        })
        .collect::<Result<Vec<_>, _>>();
    let built = issue.and_then(|issue| OperationOutcome::builder().issue(issue).build());
    match built.map(|oo| serde_json::to_value(&oo)) {
        Ok(Ok(value)) => value,
        // The builders above set every required element, so this arm is unreachable in
        // practice; answer a minimal hand-built outcome rather than panic.
        _ => serde_json::json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "exception"}]
        }),
    }
}

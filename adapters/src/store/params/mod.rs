//! Search parameter definitions as data: one row per (resource type, name) with its
//! `search-param-type` and the element paths it indexes, after the R4 SearchParameter
//! resources (FHIR R4 §3.1.1.4 and each resource's "Search Parameters" table).

mod compartment;
mod table;

/// The `search-param-type` of a parameter this store indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `token`: `[system|]code` over code, Coding, CodeableConcept, Identifier, boolean.
    Token,
    /// `string`: case- and accent-insensitive prefix over strings, HumanName, Address.
    String,
    /// `date`: ranges over date, dateTime, instant, Period.
    Date,
    /// `reference`: `[Type/]id` over Reference.
    Reference,
}

impl ParamType {
    /// The `search-param-type` code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::String => "string",
            Self::Date => "date",
            Self::Reference => "reference",
        }
    }
}

/// One search parameter of one resource type.
#[derive(Debug, Clone, Copy)]
pub struct ParamDef {
    /// Resource type the parameter belongs to.
    pub resource: &'static str,
    /// Parameter name as used in the query (`birthdate`, `subject`).
    pub name: &'static str,
    /// Parameter type.
    pub kind: ParamType,
    /// Dotted element paths, arrays flattened (`name.given`); choice types spelled out
    /// (`effectiveDateTime`).
    pub paths: &'static [&'static str],
    /// For references: only references to this resource type are indexed (`patient`).
    pub target: Option<&'static str>,
}

/// Every parameter the store indexes: the flows' table, then the patient-compartment
/// types' reference parameters.
pub fn all() -> impl Iterator<Item = &'static ParamDef> {
    table::PARAMS.iter().chain(compartment::PARAMS)
}

/// The definition of `name` on `resource`, if the store indexes it.
pub fn find(resource: &str, name: &str) -> Option<&'static ParamDef> {
    all().find(|p| p.resource == resource && p.name == name)
}

/// All parameters of `resource`.
pub fn of(resource: &str) -> impl Iterator<Item = &'static ParamDef> + '_ {
    all().filter(move |p| p.resource == resource)
}

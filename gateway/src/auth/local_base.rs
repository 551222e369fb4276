//! Which absolute references name this server's resources (FHIR R4 references.html
//! §2.3.0.4 "Literal references": a reference is relative to the server's base, or an
//! absolute URL; `[base]/Patient/1` names Patient 1 of the server at `[base]` only).
//!
//! The compartment check reads patient ids out of references. `Patient/A` and
//! `Patient/A/_history/2` name the local patient A. An absolute URL names it only under the
//! gateway's own public base (the request's base URL) or the base of an upstream FHIR
//! adapter (whose resources reference their own server's patients, exposed here as local
//! ones); `https://other.example/fhir/Patient/A` is another server's patient and names no
//! local one (attack finding L10).

use std::sync::Arc;

use fhirgate_adapters::interaction::is_valid_id;
use percent_encoding::percent_decode_str;

/// The absolute base URLs under which a reference is local (no trailing `/`, compared
/// exactly, byte for byte: another spelling of the same base is not recognised and names
/// no local patient, which withholds rather than shows): the configured ones, built once
/// ([`Self::new`]), and the request's own public base ([`Self::for_request`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalBases {
    /// The request's public base, when known.
    request: Option<String>,
    /// Bases fixed at startup (upstream FHIR adapters), shared by every request.
    fixed: Arc<[String]>,
}

fn trimmed(base: &str) -> &str {
    base.trim_end_matches('/')
}

impl LocalBases {
    /// From base URLs; a trailing `/` is ignored, empty ones are skipped.
    pub fn new<I, S>(bases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            request: None,
            fixed: bases
                .into_iter()
                .map(|b| trimmed(b.as_ref()).to_owned())
                .filter(|b| !b.is_empty())
                .collect(),
        }
    }

    /// These bases plus the request's public base `base` (the fixed ones are shared, not
    /// copied).
    pub fn for_request(&self, base: &str) -> Self {
        let base = trimmed(base);
        Self {
            request: (!base.is_empty()).then(|| base.to_owned()),
            fixed: self.fixed.clone(),
        }
    }

    /// `reference` relative to this server: a relative reference as it is, an absolute URL
    /// (`scheme://…`) under one of the bases without the base and its `/`; `None` for an
    /// absolute URL under any other base.
    pub fn local<'r>(&self, reference: &'r str) -> Option<&'r str> {
        if !reference.contains("://") {
            return Some(reference);
        }
        self.request
            .iter()
            .chain(self.fixed.iter())
            .find_map(|base| {
                reference
                    .strip_prefix(base.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
            })
    }

    /// The local patient id a reference or search value names: `Patient/1`,
    /// `Patient/1/_history/2`, or either under a local base; `None` for anything else
    /// (another server's patient included).
    pub fn patient_id(&self, reference: &str) -> Option<String> {
        let rest = self.local(reference)?.strip_prefix("Patient/")?;
        let id = rest.split_once("/_history/").map_or(rest, |(id, _)| id);
        is_valid_id(id).then(|| id.to_owned())
    }

    /// What a Reference's `reference` says about patients, read fail-closed after
    /// percent-decoding it (RFC 3986 §6.2.2.2: `%50atient/B` is `Patient/B`):
    /// [`Named::Patient`] for a local patient ([`Self::patient_id`]),
    /// [`Named::Unresolved`] when it mentions `Patient` in another shape (another server's
    /// patient, `urn:uuid:`, `#contained`, a malformed id), [`Named::Nobody`] otherwise.
    pub fn classify(&self, reference: &str) -> Named {
        // Without a `%` decoding changes nothing (and the text is already UTF-8): the
        // common case, which then skips the decoder's scan and the UTF-8 check.
        let decoded = if reference.contains('%') {
            percent_decode_str(reference).decode_utf8_lossy()
        } else {
            std::borrow::Cow::Borrowed(reference)
        };
        match self.patient_id(&decoded) {
            Some(id) => Named::Patient(id),
            None if decoded.contains("Patient") => Named::Unresolved,
            None => Named::Nobody,
        }
    }
}

/// What [`LocalBases::classify`] read in a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// The local patient with this id.
    Patient(String),
    /// A patient the gateway cannot identify as a local one.
    Unresolved,
    /// No patient.
    Nobody,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_reads_percent_encoded_references_fail_closed() {
        let bases = LocalBases::new(["http://gw.test/fhir"]);
        assert_eq!(bases.classify("%50atient/b"), Named::Patient("b".into()));
        assert_eq!(
            bases.classify("http://gw.test/fhir/Pati%65nt/%62"),
            Named::Patient("b".into())
        );
        assert_eq!(
            bases.classify("https://other.example/fhir/%50atient/b"),
            Named::Unresolved
        );
        assert_eq!(bases.classify("urn:uuid:%50atient"), Named::Unresolved);
        assert_eq!(bases.classify("Practitioner/p1"), Named::Nobody);
    }

    #[test]
    fn only_relative_and_local_absolute_references_name_a_local_patient() {
        let bases = LocalBases::new(["http://gw.test/fhir/", "https://ehr.test/r4"]);
        let id = |r: &str| bases.patient_id(r);
        assert_eq!(id("Patient/a").as_deref(), Some("a"));
        assert_eq!(id("Patient/a/_history/2").as_deref(), Some("a"));
        assert_eq!(id("http://gw.test/fhir/Patient/a").as_deref(), Some("a"));
        assert_eq!(
            id("https://ehr.test/r4/Patient/a/_history/3").as_deref(),
            Some("a")
        );
        for other in [
            "https://other.example/fhir/Patient/a",
            "http://gw.test/fhirx/Patient/a",
            "http://gw.test/Patient/a",
            "http://gw.test.evil/fhir/Patient/a",
            "Observation/a",
            "Patient/",
            "Patient/a b",
            "urn:uuid:9a3e0a0c-0000-4000-8000-000000000000",
            "#p1",
        ] {
            assert_eq!(id(other), None, "{other}");
        }
        assert_eq!(
            LocalBases::default().patient_id("http://gw.test/fhir/Patient/a"),
            None
        );
    }
}

//! SMART scopes (SMART App Launch 2.x §3 "Scopes and Launch Context"): v1
//! (`patient/Observation.read`, `user/*.write`, `system/*.*`) and v2 (`patient/Observation.rs`,
//! granular `?category=…`), plus `launch/patient`, `openid`, `fhirUser`, `offline_access`.
//! Unknown scopes are ignored: they grant nothing (deny by default).

use std::fmt;

/// The context a resource scope applies in (SMART App Launch 2.x §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Context {
    /// `patient/`: the launch context patient's compartment only.
    Patient,
    /// `user/`: what the user may reach (a ceiling; see `auth.user_patients`).
    User,
    /// `system/`: a backend service, no patient restriction.
    System,
}

/// One SMART v2 permission letter (`c`, `r`, `u`, `d`, `s`; SMART App Launch 2.x §3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `c`: create.
    Create,
    /// `r`: read, vread, instance history.
    Read,
    /// `u`: update, patch.
    Update,
    /// `d`: delete.
    Delete,
    /// `s`: search, type and system history.
    Search,
}

impl Permission {
    fn bit(self) -> u8 {
        match self {
            Self::Create => 1,
            Self::Read => 2,
            Self::Update => 4,
            Self::Delete => 8,
            Self::Search => 16,
        }
    }

    /// The v2 letter.
    pub fn letter(self) -> char {
        match self {
            Self::Create => 'c',
            Self::Read => 'r',
            Self::Update => 'u',
            Self::Delete => 'd',
            Self::Search => 's',
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

/// A resource scope: context, type (`None` = `*`), permissions and granular restriction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScope {
    /// `patient`, `user` or `system`.
    pub context: Context,
    /// Resource type, `None` for `*`.
    pub resource_type: Option<String>,
    perms: u8,
    /// Granular restriction (`?category=vital-signs`): search parameters every resource the
    /// scope grants must match (SMART App Launch 2.x §3.1.3). Empty: no restriction.
    pub constraint: Vec<(String, String)>,
}

impl ResourceScope {
    /// Whether the scope grants `permission` on `resource_type`.
    pub fn grants(&self, resource_type: &str, permission: Permission) -> bool {
        self.perms & permission.bit() != 0
            && self
                .resource_type
                .as_deref()
                .is_none_or(|t| t == resource_type)
    }
}

/// Every scope of a token, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    /// The resource scopes.
    pub resources: Vec<ResourceScope>,
    /// `launch/patient` (or `launch`) was granted.
    pub launch_patient: bool,
    /// `openid` was granted.
    pub openid: bool,
    /// `fhirUser` was granted.
    pub fhir_user: bool,
    /// `offline_access` was granted.
    pub offline_access: bool,
}

impl Scopes {
    /// Parses a space-separated scope string (RFC 6749 §3.3).
    pub fn parse(scope: &str) -> Self {
        let mut out = Self::default();
        for s in scope.split_ascii_whitespace() {
            match s {
                "launch/patient" | "launch" => out.launch_patient = true,
                "openid" => out.openid = true,
                "fhirUser" => out.fhir_user = true,
                "offline_access" | "online_access" => out.offline_access = true,
                _ => out.resources.extend(parse_resource_scope(s)),
            }
        }
        out
    }

    /// Whether any resource scope of `context` exists.
    pub fn has_context(&self, context: Context) -> bool {
        self.resources.iter().any(|r| r.context == context)
    }
}

/// Parses one resource scope; `None` for anything malformed (which then grants nothing).
pub fn parse_resource_scope(s: &str) -> Option<ResourceScope> {
    let (context, rest) = s.split_once('/')?;
    let context = match context {
        "patient" => Context::Patient,
        "user" => Context::User,
        "system" => Context::System,
        _ => return None,
    };
    let (body, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (resource_type, perms) = body.split_once('.')?;
    let resource_type = match resource_type {
        "*" => None,
        t if fhirgate_adapters::interaction::is_resource_type(t) => Some(t.to_owned()),
        _ => return None,
    };
    let perms = parse_perms(perms)?;
    let constraint: Vec<(String, String)> = match query {
        Some(q) => form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        None => Vec::new(),
    };
    if constraint.iter().any(|(k, v)| k.is_empty() || v.is_empty()) {
        return None;
    }
    Some(ResourceScope {
        context,
        resource_type,
        perms,
        constraint,
    })
}

/// v1 `read` (r+s), `write` (c+u+d), `*` (all); v2 `cruds` letters, in order, each once.
fn parse_perms(p: &str) -> Option<u8> {
    match p {
        "read" => return Some(Permission::Read.bit() | Permission::Search.bit()),
        "write" => {
            return Some(
                Permission::Create.bit() | Permission::Update.bit() | Permission::Delete.bit(),
            );
        }
        "*" => return Some(31),
        _ => {}
    }
    let order = [
        Permission::Create,
        Permission::Read,
        Permission::Update,
        Permission::Delete,
        Permission::Search,
    ];
    let mut bits = 0u8;
    let mut next = 0usize;
    for c in p.chars() {
        let at = order[next..].iter().position(|perm| perm.letter() == c)?;
        bits |= order[next + at].bit();
        next += at + 1;
    }
    (bits != 0).then_some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_scopes_parse() {
        let s = Scopes::parse(
            "launch/patient openid fhirUser patient/Observation.read user/*.write system/*.* patient/Condition.rs",
        );
        assert!(s.launch_patient && s.openid && s.fhir_user);
        assert_eq!(s.resources.len(), 4);
        assert!(s.resources[0].grants("Observation", Permission::Search));
        assert!(!s.resources[0].grants("Observation", Permission::Create));
        assert!(s.resources[1].grants("Patient", Permission::Delete));
        assert!(!s.resources[1].grants("Patient", Permission::Read));
        assert!(s.resources[2].grants("Anything", Permission::Search));
        assert!(s.resources[3].grants("Condition", Permission::Read));
        assert!(!s.resources[3].grants("Observation", Permission::Read));
    }

    #[test]
    fn v2_letters_must_be_in_order_and_known() {
        assert!(parse_resource_scope("patient/Observation.cruds").is_some());
        assert!(parse_resource_scope("patient/Observation.sr").is_none());
        assert!(parse_resource_scope("patient/Observation.rr").is_none());
        assert!(parse_resource_scope("patient/Observation.x").is_none());
        assert!(parse_resource_scope("patient/Observation.").is_none());
        assert!(parse_resource_scope("patient/NotAType.rs").is_none());
        assert!(parse_resource_scope("admin/*.rs").is_none());
    }

    #[test]
    fn granular_scope_keeps_its_restriction() {
        let s = parse_resource_scope("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs")
            .expect("parses");
        assert_eq!(s.constraint.len(), 1);
        assert_eq!(s.constraint[0].0, "category");
        assert!(s.constraint[0].1.ends_with("|vital-signs"));
    }
}

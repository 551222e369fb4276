//! Reading `gateway.yaml`: `${ENV}` expansion in parsed values, strict parsing, env
//! overrides, validation.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Config;
use super::env;
use super::locate::LineIndex;

/// One problem in a config file, printed as `file:line: key.path: problem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The config file as named by the user.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Dotted key path (`server.listen`, `routes[0].adapters`), `.` for the document.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}: {}", self.file, line, self.path, self.problem),
            None => write!(f, "{}: {}: {}", self.file, self.path, self.problem),
        }
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The path as given.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read but has problems (one per line when displayed).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// Loads and validates the config at `path`, with the process environment for `${VAR}`
/// references and the `FHIRGATE_DATA_DIR` / `FHIRGATE_BASE_URL` overrides.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: file.clone(),
        source,
    })?;
    load_str(&text, &file, &|name| std::env::var(name).ok())
}

/// Loads and validates config `text` named `file`, reading variables through `env`.
pub fn load_str(
    text: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let index = LineIndex::new(text);
    let problem = |line: Option<usize>, path: &str, problem: String| Problem {
        file: file.to_owned(),
        line,
        path: path.to_owned(),
        problem,
    };
    // Invalid YAML is not expanded: parsing it below reports its syntax error and line.
    let references = if index.has_syntax_error() {
        &[]
    } else {
        index.references()
    };
    let expanded = env::expand(text, references, env).map_err(|found| {
        ConfigError::Invalid(
            found
                .into_iter()
                .map(|(line, path, message)| problem(Some(line), &path, message))
                .collect(),
        )
    })?;
    let deserializer = serde_norway::Deserializer::from_str(&expanded);
    let mut config: Config = match serde_path_to_error::deserialize(deserializer) {
        Ok(config) => config,
        Err(e) => {
            let path = e.path().to_string();
            let line = e
                .inner()
                .location()
                .map(|l| l.line())
                .or_else(|| index.line_of(&path));
            let mut message = clean_message(&e.inner().to_string(), &path);
            let at_reference = line
                .and_then(|l| text.lines().nth(l.saturating_sub(1)))
                .is_some_and(|l| l.contains("${"));
            if index.has_syntax_error() && at_reference {
                message.push_str(
                    " (inside [...] or {...} a ${...} reference must be quoted: \"${VAR}\")",
                );
            }
            let first = problem(line, &path, message);
            let mut problems = vec![first];
            problems.extend(
                further_problems(&expanded, &path, &problems[0].problem)
                    .into_iter()
                    .map(|(path, message)| problem(index.line_of(&path), &path, message)),
            );
            return Err(ConfigError::Invalid(problems));
        }
    };
    if let Some(dir) = env("FHIRGATE_DATA_DIR").filter(|d| !d.is_empty()) {
        config.server.data_dir = PathBuf::from(dir);
    }
    if let Some(base) = env("FHIRGATE_BASE_URL").filter(|b| !b.is_empty()) {
        config.server.base_url = Some(base);
    }
    let problems: Vec<Problem> = config
        .validate()
        .into_iter()
        .map(|(path, message)| problem(index.line_of(&path), &path, message))
        .collect();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// The message of a deserialization error without its location (printed in front) and
/// without serde_norway's own prefix of the path ("server: unknown field …").
fn clean_message(message: &str, path: &str) -> String {
    let message = strip_location(message);
    match message.split_once(": ") {
        Some((prefix, rest)) if !prefix.contains(' ') && path.starts_with(prefix) => {
            rest.to_owned()
        }
        _ => message,
    }
}

/// Most problems reported at once.
const MAX_PROBLEMS: usize = 20;

/// The problems in the other top-level sections after the first one, at `first_path`, so
/// one `check-config` run lists one problem per broken section instead of stopping at the
/// first: the broken section is set aside and the rest parsed again, until the rest parses
/// (then its validation problems are added) or nothing more can be set aside. Sections
/// set aside are not reported missing. `(path, problem)` pairs.
fn further_problems(
    expanded: &str,
    first_path: &str,
    first_message: &str,
) -> Vec<(String, String)> {
    let Ok(serde_norway::Value::Mapping(mut rest)) = serde_norway::from_str(expanded) else {
        return Vec::new();
    };
    let mut removed: Vec<String> = Vec::new();
    let mut path = first_path.to_owned();
    let mut message = first_message.to_owned();
    let mut found = Vec::new();
    while found.len() < MAX_PROBLEMS {
        // An unknown top-level key is reported at the document (`.`): set that key aside.
        let section = match top_level(&path) {
            "" => unknown_field(&message).unwrap_or_default(),
            section => section.to_owned(),
        };
        let section = section.as_str();
        if section.is_empty() || rest.remove(section).is_none() {
            return found;
        }
        removed.push(section.to_owned());
        match serde_path_to_error::deserialize::<_, Config>(serde_norway::Value::Mapping(
            rest.clone(),
        )) {
            Ok(config) => {
                found.extend(
                    config
                        .validate()
                        .into_iter()
                        .filter(|(p, _)| !removed.iter().any(|r| r == top_level(p))),
                );
                return found;
            }
            Err(e) => {
                path = e.path().to_string();
                message = clean_message(&e.inner().to_string(), &path);
                let set_aside = removed
                    .iter()
                    .any(|r| message.contains(&format!("missing field `{r}`")));
                if set_aside {
                    return found;
                }
                found.push((path.clone(), message.clone()));
            }
        }
    }
    found
}

/// The key an "unknown field `key`" message names.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.split_once("unknown field `")?.1;
    rest.split_once('`').map(|(key, _)| key.to_owned())
}

/// The top-level key of a dotted path (`server.listen` → `server`, `routes[0]` → `routes`).
fn top_level(path: &str) -> &str {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    let key = &path[..end];
    if key == "." { "" } else { key }
}

/// serde_norway appends " at line L column C" to its messages; the line is printed in front.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

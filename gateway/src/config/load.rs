//! Reading `gateway.yaml`: `${ENV}` expansion, strict parsing, env overrides, validation.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Config;
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
    let expanded = expand_env(text, env).map_err(|(line, name)| {
        let path = index.path_at(line).unwrap_or(".");
        ConfigError::Invalid(vec![problem(
            Some(line),
            path,
            format!(
                "environment variable {name} is not set (use ${{{name}:-default}} for a default)"
            ),
        )])
    })?;
    let deserializer = serde_norway::Deserializer::from_str(&expanded);
    let mut config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let line = e
            .inner()
            .location()
            .map(|l| l.line())
            .or_else(|| index.line_of(&path));
        let message = strip_location(&e.inner().to_string());
        // serde_norway may prefix its own view of the path ("server: unknown field …").
        let message = match message.split_once(": ") {
            Some((prefix, rest)) if !prefix.contains(' ') && path.starts_with(prefix) => {
                rest.to_owned()
            }
            _ => message,
        };
        ConfigError::Invalid(vec![problem(line, &path, message)])
    })?;
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

/// serde_norway appends " at line L column C" to its messages; the line is printed in front.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Replaces `${NAME}` and `${NAME:-default}` line by line (so lines keep their numbers).
/// Err: the 1-based line and name of the first variable that is unset and has no default.
fn expand_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let comment = line.trim_start().starts_with('#');
        let mut rest = line;
        while let (false, Some(start)) = (comment, rest.find("${")) {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            let inner = &rest[start + 2..start + len];
            let (name, default) = match inner.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (inner, None),
            };
            let value = env(name)
                .or_else(|| default.map(str::to_owned))
                .ok_or((n + 1, name.to_owned()))?;
            out.push_str(&rest[..start]);
            out.push_str(&value);
            rest = &rest[start + len + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

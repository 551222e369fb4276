//! `${NAME}` and `${NAME:-default}` references in `gateway.yaml`, expanded after parsing.
//!
//! The YAML is parsed first; only scalar values (never keys, never comments) are expanded,
//! and a variable's value is always taken as text, never as YAML: the scalar holding the
//! reference is written back as one double-quoted string (JSON escapes, which YAML 1.2
//! double-quoted scalars accept). One exception keeps `port: ${PORT}` working: a plain
//! scalar that is exactly one reference whose value is a single token of letters, digits
//! and `._+-` (a number, `true`, a name) is written back plain, so it is typed as if it had
//! been typed in the file. Lines keep their numbers, so errors still point at the file.

use yaml_rust2::scanner::TScalarStyle;

use super::locate::ScalarRef;

/// One reference problem: 1-based line, key path, message.
pub type RefProblem = (usize, String, String);

/// `text` with the scalar values in `refs` (from [`super::locate::LineIndex`]) expanded
/// through `env`. Err: every problem, in file order — each unset variable without a default,
/// each `${` without its `}`, each invalid name, each reference in a block scalar or a
/// multi-line plain scalar — so one `check-config` run lists them all.
pub fn expand(
    text: &str,
    refs: &[ScalarRef],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<RefProblem>> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut problems = Vec::new();
    for r in refs {
        let mut report = |message: String| problems.push((r.line, r.path.clone(), message));
        let expanded = match expand_value(&r.value, env) {
            Ok(v) => v,
            Err(list) => {
                list.into_iter().for_each(&mut report);
                continue;
            }
        };
        let Some(&line_start) = line_starts.get(r.line.saturating_sub(1)) else {
            continue;
        };
        let event_start = text[line_start..]
            .char_indices()
            .nth(r.col)
            .map_or(text.len(), |(i, _)| line_start + i);
        let Some((start, end)) = span(text, event_start, r) else {
            report(
                "a ${...} reference must be in a one-line plain value or a quoted value, \
                 not a block scalar (| or >) or a value continued on the next line"
                    .to_owned(),
            );
            continue;
        };
        if start < copied {
            continue;
        }
        out.push_str(&text[copied..start]);
        if r.style == TScalarStyle::Plain && is_one_reference(&r.value) && plain_token(&expanded) {
            out.push_str(&expanded);
        } else {
            out.push_str(&serde_json::to_string(&expanded).unwrap_or_default());
        }
        // A quoted scalar over several lines becomes one line: keep the line count.
        out.extend(std::iter::repeat_n(
            '\n',
            text[start..end].matches('\n').count(),
        ));
        copied = end;
    }
    out.push_str(&text[copied..]);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Byte range of the scalar's source text, from the event start (which may be at an anchor
/// or tag before it). `None` for block scalars and plain scalars over several lines.
fn span(text: &str, from: usize, r: &ScalarRef) -> Option<(usize, usize)> {
    let line_end = text[from..].find('\n').map_or(text.len(), |i| from + i);
    match r.style {
        TScalarStyle::Plain => {
            let start = from + text[from..line_end].find(r.value.as_str())?;
            Some((start, start + r.value.len()))
        }
        TScalarStyle::SingleQuoted => {
            let start = from + text[from..line_end].find('\'')?;
            let mut chars = text[start + 1..].char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if chars.peek().is_some_and(|&(_, n)| n == '\'') {
                        chars.next();
                    } else {
                        return Some((start, start + 1 + i + 1));
                    }
                }
            }
            None
        }
        TScalarStyle::DoubleQuoted => {
            let start = from + text[from..line_end].find('"')?;
            let mut chars = text[start + 1..].char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => return Some((start, start + 1 + i + 1)),
                    _ => {}
                }
            }
            None
        }
        _ => None,
    }
}

/// Whether `value` is exactly one `${...}` reference.
fn is_one_reference(value: &str) -> bool {
    value.starts_with("${") && value.find('}') == Some(value.len() - 1)
}

/// Whether `value` can be written as a plain YAML scalar and read back as the same text or
/// as the number or boolean it spells: one token of ASCII letters, digits and `._+-`,
/// starting with a letter or digit, or a signed or dotted decimal number.
fn plain_token(value: &str) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
        && (first.is_ascii_alphanumeric() || value.parse::<f64>().is_ok())
}

/// `value` with its references replaced; Err: its problems.
fn expand_value(value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(value.len());
    let mut problems = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            problems.push(format!(
                "unterminated reference `{}`: a `${{` needs its `}}`",
                &rest[start..]
            ));
            rest = "";
            break;
        };
        let inner = &rest[start + 2..start + len];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        if !valid_name(name) {
            problems.push(format!(
                "`${{{inner}}}`: `{name}` is not a variable name (letters, digits, `_`)"
            ));
        } else {
            match env(name).or_else(|| default.map(str::to_owned)) {
                Some(v) => out.push_str(&v),
                None => problems.push(format!(
                    "environment variable {name} is not set (use ${{{name}:-default}} for a default)"
                )),
            }
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A shell-style variable name: ASCII letters, digits and `_`, not starting with a digit.
fn valid_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

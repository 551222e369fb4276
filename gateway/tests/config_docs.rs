//! `docs/CONFIG.md` is generated from the doc comments of the config structs and checked
//! here: a config field added or documented differently fails this test until the file is
//! regenerated with `FHIRGATE_UPDATE_DOCS=1 cargo test -p fhirgate --test config_docs`.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("tests.rs") {
            out.push(path);
        }
    }
}

/// Doc lines (`///`) collected above the current item.
fn doc_text(docs: &[String]) -> String {
    docs.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// One markdown section per config struct or enum: those deriving `Deserialize` with
/// `deny_unknown_fields` or a `tag`, i.e. the shapes `gateway.yaml` is parsed into.
fn sections(path: &Path, rel: &str) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return String::new();
    };
    let mut out = String::new();
    let mut docs: Vec<String> = Vec::new();
    let mut attrs = String::new();
    let mut in_item: Option<bool> = None; // Some(true) struct, Some(false) enum
    for line in text.lines() {
        let t = line.trim();
        if let Some(d) = t.strip_prefix("///") {
            docs.push(d.trim().to_owned());
            continue;
        }
        if t.starts_with("#[") {
            attrs.push_str(t);
            continue;
        }
        if in_item.is_none() {
            let is_config = attrs.contains("Deserialize")
                && (attrs.contains("deny_unknown_fields") || attrs.contains("tag ="));
            let name = t
                .strip_prefix("pub struct ")
                .or_else(|| t.strip_prefix("pub enum "));
            if let (true, Some(name)) = (is_config, name) {
                let name = name.split([' ', '{', '(', '<']).next().unwrap_or("");
                let is_struct = t.starts_with("pub struct");
                out.push_str(&format!("\n## `{name}` ({rel})\n\n{}\n\n", doc_text(&docs)));
                out.push_str(if is_struct {
                    "| key | type | meaning |\n|---|---|---|\n"
                } else {
                    "| variant | meaning |\n|---|---|\n"
                });
                in_item = Some(is_struct);
            }
        } else if t == "}" {
            in_item = None;
        } else if let Some(true) = in_item {
            if let Some(field) = t.strip_prefix("pub ").filter(|f| f.contains(':')) {
                let (key, ty) = field.split_once(':').unwrap_or((field, ""));
                let ty = ty.trim().trim_end_matches(',');
                out.push_str(&format!("| `{key}` | `{ty}` | {} |\n", doc_text(&docs)));
            }
        } else if let Some(false) = in_item {
            let variant = t.split(['(', ',', ' ', '{']).next().unwrap_or("");
            if !variant.is_empty() && variant.chars().next().is_some_and(char::is_uppercase) {
                out.push_str(&format!("| `{variant}` | {} |\n", doc_text(&docs)));
            }
        }
        if !t.is_empty() {
            docs.clear();
            attrs.clear();
        }
    }
    out
}

fn generate() -> String {
    let mut files = Vec::new();
    for dir in ["gateway/src", "adapters/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let mut doc = String::from(
        "# fhirgate configuration reference\n\nGenerated from the doc comments of the structs `gateway.yaml` is parsed into; \
         the shipped `gateway.yaml` shows every section with comments. Regenerate with \
         `FHIRGATE_UPDATE_DOCS=1 cargo test -p fhirgate --test config_docs`. Unknown keys are \
         errors; values may reference the environment as `${VAR}` or `${VAR:-default}` \
         (in values only, not keys or comments). A variable's value is always taken as text, \
         never as YAML (`#`, `|`, `*`, newlines stay part of it); a value that is exactly one \
         reference is read as a number or boolean where the field wants one (`port: ${PORT}`). \
         Inside `[...]` or `{...}` quote a reference (`[\"${A}\"]`); references are not expanded \
         in block scalars (`|`, `>`).\n",
    );
    for file in files {
        let rel = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        doc.push_str(&sections(&file, &rel));
    }
    doc
}

#[test]
fn config_reference_matches_the_doc_comments() {
    let generated = generate();
    let path = root().join("docs/CONFIG.md");
    if std::env::var_os("FHIRGATE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/CONFIG.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        generated.contains("`listen`") && generated.contains("`base_url`"),
        "the generator found the server section"
    );
    assert!(
        committed == generated,
        "docs/CONFIG.md is out of date with the config doc comments; run FHIRGATE_UPDATE_DOCS=1 cargo test -p fhirgate --test config_docs"
    );
}

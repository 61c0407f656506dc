//! `--format json`: the report as one stable JSON document (documented in docs/json.md).

use super::{safe, Report};

/// The report as pretty-printed JSON, with a final newline. Texts from examples and tools are
/// escaped ([`safe`]).
pub fn render(report: &Report) -> String {
    let report = safe::cleaned(report);
    let mut s = serde_json::to_string_pretty(&*report)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise the report: {e}\"}}"));
    s.push('\n');
    safe::inert_json(s)
}

/// The newest `schema` this version of docmatrix reads.
pub(crate) const SCHEMA: u32 = 1;

/// Reads a report written by `--format json` (the input of `docmatrix merge`). Fields added by
/// later versions of the same schema are ignored; a newer `schema` is refused.
pub fn parse(text: &str) -> Result<Report, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    match value.get("schema").and_then(serde_json::Value::as_u64) {
        Some(s) if s >= 1 && s <= u64::from(SCHEMA) => {}
        Some(s) => {
            return Err(format!(
                "schema {s} is not one this docmatrix reads (schema {SCHEMA})"
            ))
        }
        None => return Err("not a docmatrix report (no `schema` field)".into()),
    }
    let mut report: Report =
        serde_json::from_value(value).map_err(|e| format!("not a docmatrix report: {e}"))?;
    // A finding's file is its example's (the JSON does not repeat it).
    for e in &mut report.examples {
        for f in &mut e.findings {
            f.file = e.file.clone();
        }
    }
    // A report read back is cleaned like one just made: the file may not be docmatrix's.
    safe::clean(&mut report);
    Ok(report)
}

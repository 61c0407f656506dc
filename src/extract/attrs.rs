//! The annotation grammar: attribute lists (`skip group=g requires="3.10"`, optionally in
//! `{…}`), and how they set a block's [`Annotations`].

use crate::model::Annotations;
use crate::version::Specifier;

/// One attribute: a bare word (`skip`, `.annotate`) or `key=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub key: String,
    pub value: Option<String>,
}

/// Splits an attribute list into attributes. Braces are dropped, quotes (`"` or `'`) group a
/// value, and a backslash escapes the next character inside quotes.
pub(crate) fn tokenize(s: &str) -> Vec<Attr> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars
            .peek()
            .is_some_and(|c| c.is_whitespace() || matches!(c, '{' | '}' | ','))
        {
            chars.next();
        }
        let Some(_) = chars.peek() else { break };
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || matches!(c, '=' | '{' | '}' | ',') {
                break;
            }
            key.push(c);
            chars.next();
        }
        let mut value = None;
        if chars.peek() == Some(&'=') {
            chars.next();
            let mut v = String::new();
            match chars.peek().copied() {
                Some(q @ ('"' | '\'')) => {
                    chars.next();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => v.extend(chars.next()),
                            c if c == q => break,
                            c => v.push(c),
                        }
                    }
                }
                _ => {
                    while let Some(&c) = chars.peek() {
                        if c.is_whitespace() || matches!(c, '}' | ',') {
                            break;
                        }
                        v.push(c);
                        chars.next();
                    }
                }
            }
            value = Some(v);
        }
        if !key.is_empty() {
            out.push(Attr { key, value });
        }
    }
    out
}

/// Where an attribute list was written: decides which unknown keys are worth a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The fence's info string, shared with renderers and other tools.
    InfoString,
    /// `<!-- docmatrix: … -->` or `<!-- docmatrix-file: … -->`: every key must be ours.
    Comment,
}

/// Info-string attributes that belong to renderers and other tools; never a warning.
const FOREIGN: &[&str] = &[
    "title",
    "hl_lines",
    "linenums",
    "lineno-start",
    "linenostart",
    "emphasize-lines",
    "caption",
    "name",
    "filename",
    "file",
    "lint",
    "upgrade",
    "id",
    "class",
    "test",
    "output",
    "rewrite_assert",
    "annotate",
    "copy",
    "showLineNumbers",
    "highlight",
    "tab",
];

/// Applies `attrs` onto `ann`; returns warnings (messages) and the foreign attributes seen.
pub(crate) fn apply(
    attrs: &[Attr],
    origin: Origin,
    ann: &mut Annotations,
) -> (Vec<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut foreign = Vec::new();
    let mut reason = None;
    for a in attrs {
        let val = a.value.as_deref();
        match (a.key.as_str(), val) {
            ("skip" | "notest", None) => {
                ann.skip.get_or_insert_with(String::new);
            }
            ("skip", Some("true" | "yes" | "1")) => {
                ann.skip.get_or_insert_with(String::new);
            }
            ("skip", Some("false" | "no" | "0")) => ann.skip = None,
            ("skip", Some(v)) => ann.skip = Some(v.to_string()),
            // pytest-examples' settings (pydantic's docs): `test="skip"`, `test="skip - why"`;
            // `test="xfail…"` is not run there either (`pytest.xfail`).
            ("test", Some(v)) if v.starts_with("skip") || v.starts_with("xfail") => {
                let (mark, rest) = v.split_at(if v.starts_with("skip") { 4 } else { 5 });
                let why = rest.trim_start_matches([' ', '-', ':']).trim();
                ann.skip = Some(match (mark, why.is_empty()) {
                    ("skip", true) => String::new(),
                    ("skip", false) => why.to_string(),
                    (_, true) => "marked xfail (`test=\"xfail\"`)".to_string(),
                    (_, false) => format!("marked xfail: {why}"),
                });
            }
            ("reason", Some(v)) => reason = Some(v.to_string()),
            ("requires", Some(v)) => match v.parse::<Specifier>() {
                Ok(s) => ann.requires = Some(s),
                Err(e) => warnings.push(format!("requires: {e}")),
            },
            ("group", Some(v)) if !v.is_empty() => ann.group = Some(v.to_string()),
            ("raises", Some(v)) if !v.is_empty() => ann.raises = Some(v.to_string()),
            ("timeout", Some(v)) => match v.trim_end_matches('s').parse::<f64>() {
                Ok(t) if t > 0.0 && t.is_finite() => ann.timeout = Some(t),
                _ => warnings.push(format!(
                    "timeout: `{v}` is not a positive number of seconds"
                )),
            },
            ("run", None | Some("true" | "yes" | "1")) => ann.run = Some(true),
            ("run", Some("false" | "no" | "0")) | ("no-run" | "norun", None) => {
                ann.run = Some(false)
            }
            ("page", None | Some("true" | "yes" | "1")) => ann.page = Some(true),
            ("page", Some("false" | "no" | "0")) => ann.page = Some(false),
            ("setup", None | Some("true" | "yes" | "1")) => ann.setup = Some(true),
            ("setup", Some("false" | "no" | "0")) | ("no-setup", None) => ann.setup = Some(false),
            ("network", None | Some("true" | "yes" | "1")) => ann.network = true,
            ("network", Some("false" | "no" | "0")) => ann.network = false,
            ("context", Some(v)) if !v.is_empty() => ann.context = Some(v.to_string()),
            ("deps", Some(v)) => ann.deps.extend(v.split_whitespace().map(str::to_string)),
            ("args", Some(v)) => match shlex::split(v) {
                Some(args) => ann.args = Some(args),
                None => warnings.push(format!("args: unbalanced quotes in `{v}`")),
            },
            ("ignore", Some(v)) => ann.ignore.extend(
                v.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(|s| s.to_ascii_uppercase()),
            ),
            (
                k @ ("requires" | "group" | "raises" | "timeout" | "reason" | "context" | "ignore"
                | "deps" | "args"),
                None,
            ) => warnings.push(format!("`{k}` needs a value, as in {k}=…")),
            (k, _) if origin == Origin::InfoString && is_foreign(k) => foreign.push(display(a)),
            (k, _) => warnings.push(format!("unknown annotation key `{k}`")),
        }
    }
    if let Some(r) = reason {
        match &mut ann.skip {
            Some(s) => *s = r,
            None => warnings.push("`reason` is only meaningful with `skip`".into()),
        }
    }
    (warnings, foreign)
}

fn is_foreign(key: &str) -> bool {
    key.starts_with('.')
        || key.starts_with('#')
        || key.starts_with("data-")
        || FOREIGN.contains(&key)
}

fn display(a: &Attr) -> String {
    match &a.value {
        Some(v) => format!("{}={v:?}", a.key),
        None => a.key.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(k: &str, v: Option<&str>) -> Attr {
        Attr {
            key: k.into(),
            value: v.map(Into::into),
        }
    }

    #[test]
    fn tokenizes_every_form() {
        assert_eq!(
            tokenize(r#"{requires="3.12" test='skip' group=basic-model} .annotate skip"#),
            vec![
                attr("requires", Some("3.12")),
                attr("test", Some("skip")),
                attr("group", Some("basic-model")),
                attr(".annotate", None),
                attr("skip", None),
            ]
        );
        assert_eq!(
            tokenize(r#"reason="needs \"an\" API key""#),
            vec![attr("reason", Some(r#"needs "an" API key"#))]
        );
        assert_eq!(tokenize("  "), vec![]);
    }

    #[test]
    fn applies_and_warns() {
        let mut ann = Annotations::default();
        let attrs =
            tokenize(r#"skip reason="no key" requires=">=3.10" timeout=2 title="x.py" frob=1"#);
        let (w, f) = apply(&attrs, Origin::InfoString, &mut ann);
        assert_eq!(ann.skip.as_deref(), Some("no key"));
        assert_eq!(ann.requires.unwrap().to_string(), ">=3.10");
        assert_eq!(ann.timeout, Some(2.0));
        assert_eq!(f, vec![r#"title="x.py""#]);
        assert_eq!(w, vec!["unknown annotation key `frob`"]);

        // pytest-examples' `test=` (pydantic's docs) and its other settings.
        for (written, skip) in [
            (r#"test="skip""#, Some("")),
            (r#"test="skip - needs a broker""#, Some("needs a broker")),
            (r#"test="skip: no key""#, Some("no key")),
            (r#"test="xfail""#, Some("marked xfail (`test=\"xfail\"`)")),
            (
                r#"test="xfail - a known bug""#,
                Some("marked xfail: a known bug"),
            ),
            (r#"test="true" output="json" rewrite_assert="false""#, None),
        ] {
            let mut ann = Annotations::default();
            let (w, _) = apply(&tokenize(written), Origin::InfoString, &mut ann);
            assert_eq!(ann.skip.as_deref(), skip, "{written}");
            assert!(w.is_empty(), "{written}: {w:?}");
        }

        let mut ann = Annotations::default();
        let (w, _) = apply(
            &tokenize("title=x requires=banana"),
            Origin::Comment,
            &mut ann,
        );
        assert_eq!(w.len(), 2, "{w:?}");
    }
}

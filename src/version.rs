//! Python versions (`3.11`) and version specifiers (`>=3.10,<3.13`).
//!
//! Owns parsing and comparison only; knows nothing of interpreters or Markdown.

use std::fmt;
use std::str::FromStr;

/// A Python feature version: major and minor (`3.11`). Patch levels never matter to the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PyVersion {
    pub major: u32,
    pub minor: u32,
}

impl PyVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }
}

impl fmt::Display for PyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for PyVersion {
    type Err = String;
    /// Accepts `3.11`, and also `3.11.7` (the patch is dropped).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let mut parts = s.split('.');
        let num = |p: Option<&str>| -> Option<u32> { p.and_then(|p| p.parse().ok()) };
        match (num(parts.next()), num(parts.next())) {
            (Some(major), Some(minor)) if parts.all(|p| p.parse::<u32>().is_ok()) => {
                Ok(Self { major, minor })
            }
            _ => Err(format!("`{s}` is not a Python version like 3.11")),
        }
    }
}

/// The oldest CPython docmatrix runs: the warm worker waits for its children through
/// `os.pidfd_open` (3.9+), and the tests cover 3.9 to 3.12.
pub(crate) const OLDEST: PyVersion = PyVersion::new(3, 9);
/// The newest CPython docmatrix knows of: 3.16 is in development at the end of 2026. A newer
/// one needs a newer docmatrix (and is one line here).
pub(crate) const NEWEST: PyVersion = PyVersion::new(3, 16);

/// Checks that `v` is a CPython docmatrix can run ([`OLDEST`] to [`NEWEST`]); `Err` says why,
/// with a hint when the version looks mistyped (`3.1` for `3.10`: a YAML or TOML number
/// `3.10` reads as `3.1`).
pub fn supported(v: PyVersion) -> Result<(), String> {
    if (OLDEST..=NEWEST).contains(&v) {
        return Ok(());
    }
    let range = format!("docmatrix runs CPython {OLDEST} to {NEWEST}");
    // `3.1` → `3.10`: the version with its trailing zero back.
    let guess = Some(PyVersion::new(v.major, 10 * v.minor))
        .filter(|g| v.minor < 10 && (OLDEST..=NEWEST).contains(g));
    Err(match (v.major, guess) {
        (3, Some(g)) => format!(
            "Python {v} is not a version docmatrix can run: did you mean {g}? (a number written 3.10 without quotes reads as 3.1; {range})"
        ),
        (2, _) => format!("Python {v} is not supported: {range}"),
        (3, None) if v < OLDEST => format!("Python {v} is too old: {range}"),
        (3, None) => format!("Python {v} is not a released or developed CPython yet: {range}"),
        _ => format!("Python {v} is not a Python version: {range}"),
    })
}

/// Parses a comma-separated list of versions (`3.9,3.12`), sorted and deduplicated.
pub(crate) fn parse_version_list(s: &str) -> Result<Vec<PyVersion>, String> {
    let mut out = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(str::parse)
        .collect::<Result<Vec<PyVersion>, _>>()?;
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err("no Python version given".into());
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

/// A version specifier: `3.10` (meaning `>=3.10`), or PEP 440-like clauses joined by commas
/// (`>=3.10,<3.13`, `==3.11`, `!=3.10`). Only major.minor are compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specifier {
    clauses: Vec<(Op, PyVersion)>,
}

impl Specifier {
    pub fn matches(&self, v: PyVersion) -> bool {
        self.clauses.iter().all(|&(op, c)| match op {
            Op::Ge => v >= c,
            Op::Gt => v > c,
            Op::Le => v <= c,
            Op::Lt => v < c,
            Op::Eq => v == c,
            Op::Ne => v != c,
        })
    }

    /// The intersection of two specifiers (both must hold).
    pub fn and(&self, other: &Specifier) -> Specifier {
        let mut clauses = self.clauses.clone();
        for c in &other.clauses {
            if !clauses.contains(c) {
                clauses.push(*c);
            }
        }
        Specifier { clauses }
    }
}

impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (op, v)) in self.clauses.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = match op {
                Op::Ge => ">=",
                Op::Gt => ">",
                Op::Le => "<=",
                Op::Lt => "<",
                Op::Eq => "==",
                Op::Ne => "!=",
            };
            write!(f, "{op}{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Specifier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut clauses = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (op, rest) = [
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("==", Op::Eq),
                ("!=", Op::Ne),
                (">", Op::Gt),
                ("<", Op::Lt),
            ]
            .iter()
            .find_map(|(p, op)| part.strip_prefix(p).map(|r| (*op, r)))
            .unwrap_or((Op::Ge, part));
            let rest = rest.trim().trim_end_matches(".*");
            let v: PyVersion = rest.parse().map_err(|_| {
                format!("`{s}` is not a version specifier like 3.10 or >=3.10,<3.13")
            })?;
            clauses.push((op, v));
        }
        if clauses.is_empty() {
            return Err("empty version specifier".into());
        }
        Ok(Specifier { clauses })
    }
}

/// The runs of consecutive versions of `all` that are `member`s: (first, last) indices.
pub fn runs(all: &[PyVersion], member: impl Fn(&PyVersion) -> bool) -> Vec<(usize, usize)> {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (i, v) in all.iter().enumerate() {
        if member(v) {
            match runs.last_mut() {
                Some((_, end)) if *end + 1 == i => *end = i,
                _ => runs.push((i, i)),
            }
        }
    }
    runs
}

/// `3.9, 3.10`.
pub fn version_list(vs: &[PyVersion]) -> String {
    vs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `subset` of `all` as runs of consecutive versions of `all`: `3.10–3.12`, `3.9, 3.11–3.12`.
pub fn version_span(all: &[PyVersion], subset: &[PyVersion]) -> String {
    runs(all, |v| subset.contains(v))
        .iter()
        .map(|&(a, b)| {
            if a == b {
                all[a].to_string()
            } else {
                format!("{}–{}", all[a], all[b])
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PyVersion {
        s.parse().unwrap()
    }

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(v("3.9"), PyVersion::new(3, 9));
        assert_eq!(v("3.11.7"), PyVersion::new(3, 11));
        assert!(v("3.9") < v("3.10"));
        assert!("3".parse::<PyVersion>().is_err());
        assert!("3.x".parse::<PyVersion>().is_err());
        assert!(supported(v("3.9")).is_ok() && supported(v("3.16")).is_ok());
        let e = supported(v("3.1")).unwrap_err();
        assert!(e.contains("did you mean 3.10?"), "{e}");
        let e = supported(v("3.99")).unwrap_err();
        assert!(
            e.contains("3.9 to 3.16") && !e.contains("did you mean"),
            "{e}"
        );
        assert!(supported(v("2.7")).unwrap_err().contains("not supported"));
        assert!(supported(v("3.8")).unwrap_err().contains("too old"));
        assert!(supported(v("4.0")).is_err());
        assert_eq!(
            parse_version_list("3.12, 3.9,3.12").unwrap(),
            vec![v("3.9"), v("3.12")]
        );
    }

    #[test]
    fn specifiers() {
        let bare: Specifier = "3.10".parse().unwrap();
        assert!(!bare.matches(v("3.9")) && bare.matches(v("3.10")) && bare.matches(v("3.12")));
        let range: Specifier = ">=3.10, <3.12".parse().unwrap();
        assert_eq!(range.to_string(), ">=3.10,<3.12");
        assert!(!range.matches(v("3.9")) && range.matches(v("3.11")) && !range.matches(v("3.12")));
        let ne: Specifier = "!=3.10".parse().unwrap();
        assert!(ne.matches(v("3.9")) && !ne.matches(v("3.10")));
        assert!("~3".parse::<Specifier>().is_err());
        let both = bare.and(&"<3.12".parse().unwrap());
        assert!(both.matches(v("3.11")) && !both.matches(v("3.12")));
    }
}

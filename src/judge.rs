//! Outcomes → per-example verdicts: the measured range ("3.11+") and the policy result.
//!
//! The policy: an example must pass on every matrix version its `requires` admits (all of them
//! when it declares none). Must not know processes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Diagnostic, Outcome, Severity, Status};
use crate::version::{version_list, PyVersion};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    Ok,
    Fail,
    Skipped,
    /// Nothing passed and something could not be decided here (it needs the network, an
    /// image that cannot be pulled): neither ok nor failed, and not skipped by anyone's choice.
    Blocked,
}

/// The verdict on one example.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub measured: String,
    pub policy: Policy,
    pub message: Option<String>,
}

/// The versions an example passes on, as runs of the matrix: `3.11+`, `3.9–3.10`,
/// `3.9, 3.11+`; `none` when it ran and passed nowhere, `-` when it ran nowhere.
pub(crate) fn measured_range(
    versions: &[PyVersion],
    results: &BTreeMap<PyVersion, Outcome>,
) -> String {
    let status = |v: &PyVersion| results.get(v).map(|o| o.status);
    let ran = versions.iter().any(|v| {
        matches!(
            status(v),
            Some(Status::Pass | Status::Fail | Status::Timeout)
        )
    });
    if !ran {
        return "-".into();
    }
    let runs = crate::version::runs(versions, |v| status(v) == Some(Status::Pass));
    if runs.is_empty() {
        return "none".into();
    }
    let last = versions.len() - 1;
    runs.iter()
        .map(|&(a, b)| {
            if b == last {
                format!("{}+", versions[a])
            } else if a == b {
                versions[a].to_string()
            } else {
                format!("{}–{}", versions[a], versions[b])
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Judges one example from its results on `versions`.
pub fn judge(
    versions: &[PyVersion],
    results: &BTreeMap<PyVersion, Outcome>,
    declared: Option<&str>,
    allow_missing: bool,
) -> Verdict {
    let measured = measured_range(versions, results);
    let with = |pred: &dyn Fn(&Outcome) -> bool| -> Vec<PyVersion> {
        versions
            .iter()
            .copied()
            .filter(|v| results.get(v).is_some_and(pred))
            .collect()
    };
    let failed = with(&|o| o.status == Status::Fail);
    let timed_out = with(&|o| o.status == Status::Timeout);
    // Unavailable: no interpreter, or one whose environment cannot be installed.
    let no_deps = |o: &Outcome| {
        o.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("dependencies:"))
    };
    let (missing, uninstallable) = if allow_missing {
        (Vec::new(), Vec::new())
    } else {
        (
            with(&|o| o.status == Status::Unavailable && !no_deps(o)),
            with(&|o| o.status == Status::Unavailable && no_deps(o)),
        )
    };
    let not_reached = with(&|o| o.not_reached.is_some());
    let mut problems = Vec::new();
    if !failed.is_empty() {
        problems.push(format!("fails on {}", version_list(&failed)));
    }
    if !timed_out.is_empty() {
        problems.push(format!("times out on {}", version_list(&timed_out)));
    }
    if !not_reached.is_empty() {
        problems.push(format!(
            "not reached on {} (an earlier block of its group failed)",
            version_list(&not_reached)
        ));
    }
    if !missing.is_empty() {
        problems.push(format!("no interpreter for {}", version_list(&missing)));
    }
    if !uninstallable.is_empty() {
        problems.push(format!(
            "dependencies cannot be installed on {}",
            version_list(&uninstallable)
        ));
    }
    if !problems.is_empty() {
        let expected = match declared {
            Some(d) => format!("expected to work on {d} (declared)"),
            None => match versions.first() {
                Some(v) => format!("expected to work on {v}+ (the default)"),
                None => "no versions".into(),
            },
        };
        return Verdict {
            measured,
            policy: Policy::Fail,
            message: Some(format!("{} — {expected}", problems.join("; "))),
        };
    }
    let ran_or_missing = versions.iter().any(|v| {
        results
            .get(v)
            .is_some_and(|o| matches!(o.status, Status::Pass | Status::Unavailable))
    });
    let blocked = versions
        .iter()
        .any(|v| results.get(v).is_some_and(|o| o.status == Status::Blocked));
    Verdict {
        measured,
        policy: if ran_or_missing {
            Policy::Ok
        } else if blocked {
            Policy::Blocked
        } else {
            Policy::Skipped
        },
        message: None,
    }
}

/// Folds an example's static findings into its verdict: a finding at `fail_on` or above fails
/// it; a block that was only checked statically (`checked`), and passed, is ok.
pub(crate) fn with_findings(
    v: &mut Verdict,
    findings: &[Diagnostic],
    fail_on: Severity,
    checked: bool,
) {
    let bad: Vec<&Diagnostic> = findings.iter().filter(|f| f.severity >= fail_on).collect();
    if let Some(first) = bad.first() {
        let what = format!(
            "{} static finding{} at {} or above (first: line {}, {}: {})",
            bad.len(),
            if bad.len() == 1 { "" } else { "s" },
            fail_on.as_str(),
            first.line_or_zero(),
            first.rule_id(),
            first.message
        );
        v.message = Some(match v.message.take() {
            Some(m) => format!("{what}; {m}"),
            None => what,
        });
        v.policy = Policy::Fail;
    } else if checked && v.policy == Policy::Skipped {
        v.policy = Policy::Ok;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs() -> Vec<PyVersion> {
        ["3.9", "3.10", "3.11", "3.12"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect()
    }

    fn res(statuses: &[Status]) -> BTreeMap<PyVersion, Outcome> {
        vs().into_iter()
            .zip(statuses.iter().map(|&s| Outcome::bare(s)))
            .collect()
    }

    #[test]
    fn ranges() {
        use Status::*;
        let m = |s: &[Status]| measured_range(&vs(), &res(s));
        assert_eq!(m(&[Pass, Pass, Pass, Pass]), "3.9+");
        assert_eq!(m(&[Fail, Fail, Pass, Pass]), "3.11+");
        assert_eq!(m(&[NotApplicable, NotApplicable, Pass, Pass]), "3.11+");
        assert_eq!(m(&[Pass, Pass, Pass, Fail]), "3.9–3.11");
        assert_eq!(m(&[Pass, Fail, Pass, Pass]), "3.9, 3.11+");
        assert_eq!(m(&[Fail, Fail, Fail, Fail]), "none");
        assert_eq!(m(&[Skipped, Skipped, Skipped, Skipped]), "-");
    }

    #[test]
    fn policy() {
        use Status::*;
        let j = |s: &[Status], allow| judge(&vs(), &res(s), None, allow);
        assert_eq!(j(&[Pass, Pass, Pass, Pass], false).policy, Policy::Ok);
        let v = j(&[Fail, Fail, Pass, Pass], false);
        assert_eq!(v.policy, Policy::Fail);
        assert_eq!(
            v.message.as_deref(),
            Some("fails on 3.9, 3.10 — expected to work on 3.9+ (the default)")
        );
        assert_eq!(
            j(&[NotApplicable, NotApplicable, Pass, Pass], false).policy,
            Policy::Ok
        );
        assert_eq!(
            j(&[Skipped, Skipped, Skipped, Skipped], false).policy,
            Policy::Skipped
        );
        assert_eq!(
            j(&[Unavailable, Pass, Pass, Pass], false).policy,
            Policy::Fail
        );
        assert_eq!(j(&[Unavailable, Pass, Pass, Pass], true).policy, Policy::Ok);
        assert_eq!(j(&[Pass, Pass, Pass, Timeout], false).policy, Policy::Fail);
    }
}

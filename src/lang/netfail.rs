//! Recognising a command that failed because the network is off.
//!
//! [`needs_network`] reads the output of a failed command (a shell block, a Dockerfile `RUN`)
//! and returns the line that shows a network failure, so that the failure becomes "blocked:
//! needs the network" rather than a failure of the example. The patterns are the messages that
//! Python, pip, curl, wget, apt and git print when there is no route or no name resolution
//! (the unit tests hold real ones, captured under `unshare -n`). Pure: no I/O.

/// How the reason of a block blocked for want of the network starts (shell runs, builds).
pub(crate) const NEEDS_NETWORK: &str = "needs the network";

/// Messages that, on their own, show a failure caused by the network being off.
const NETWORK_ERRORS: &[&str] = &[
    // errno 101 (ENETUNREACH): Python's OSError, curl, pip, git…
    "network is unreachable",
    // getaddrinfo: EAI_AGAIN (Python's [Errno -3]) and EAI_NONAME (-2).
    "temporary failure in name resolution",
    "name or service not known",
    "[errno -3]",
    "[errno -2]",
    "getaddrinfo failed",
    // curl (exit 6 and 7), git over https.
    "could not resolve host",
    "couldn't resolve host",
    "failed to connect to",
    "couldn't connect to server",
    // wget.
    "unable to resolve host address",
    // apt.
    "temporary failure resolving",
    // pip (urllib3) and requests.
    "failed to establish a new connection",
    "max retries exceeded with url",
    // Node (npm), Go: the same resolver errors under other names.
    "getaddrinfo eai_again",
    "dial tcp: lookup",
];

/// The longest evidence line returned, in characters.
const MAX_EVIDENCE: usize = 200;

/// The line of `output` that shows a failure caused by the network being off, trimmed, or
/// `None` when nothing in `output` points at the network.
///
/// pip's "No matching distribution found" counts only when a connection error appears in the
/// output too (then that error is the evidence): alone, it also means a misspelt package.
pub(crate) fn needs_network(output: &str) -> Option<String> {
    let found = output.lines().find(|line| {
        let l = line.to_ascii_lowercase();
        NETWORK_ERRORS.iter().any(|p| l.contains(p))
    });
    if let Some(line) = found {
        return Some(evidence(line));
    }
    // Nothing points at the network: pip's verdict alone is not enough.
    None
}

/// One line of evidence: trimmed, pip's long retry warnings cut to the error they carry.
fn evidence(line: &str) -> String {
    let mut s = line.trim();
    // pip: `WARNING: Retrying (…) after connection broken by 'NewConnectionError('<…>:
    // Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')'`
    let lower = s.to_ascii_lowercase();
    if let Some(i) = lower.find("failed to establish a new connection") {
        s = &s[i..];
        if let Some(end) = s.find("')") {
            s = &s[..end];
        }
    }
    let s = s.trim();
    if s.chars().count() > MAX_EVIDENCE {
        let cut: String = s.chars().take(MAX_EVIDENCE).collect();
        format!("{cut}…")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real messages, captured on Debian bookworm under `unshare -n`.
    const PY_UNREACHABLE: &str = "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\n  File \"/usr/local/lib/python3.12/socket.py\", line 852, in create_connection\n    raise exceptions[0]\nOSError: [Errno 101] Network is unreachable\n";
    const PY_GAIERROR: &str = "socket.gaierror: [Errno -3] Temporary failure in name resolution\n";
    const PY_URLOPEN: &str =
        "urllib.error.URLError: <urlopen error [Errno -3] Temporary failure in name resolution>\n";
    const PY_NONAME: &str = "socket.gaierror: [Errno -2] Name or service not known\n";
    const CURL_6: &str = "curl: (6) Could not resolve host: example.com\n";
    const CURL_7: &str =
        "curl: (7) Failed to connect to 1.1.1.1 port 443 after 0 ms: Couldn't connect to server\n";
    const WGET: &str = "--2026-11-25 14:25:01--  https://example.com/\nResolving example.com (example.com)... failed: Temporary failure in name resolution.\nwget: unable to resolve host address ‘example.com’\n";
    const PIP_RETRY: &str = "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7fc0fad25880>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/requests/\nERROR: Could not find a version that satisfies the requirement requests (from versions: none)\nERROR: No matching distribution found for requests\n";
    const PIP_NO_RETRY: &str = "ERROR: Could not find a version that satisfies the requirement requests (from versions: none)\nERROR: No matching distribution found for requests\n";
    const APT: &str = "Reading package lists...\nW: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'\nW: Some index files failed to download. They have been ignored, or old ones used instead.\nReading package lists...\nBuilding dependency tree...\nE: Unable to locate package build-essential\n";
    const GIT: &str =
        "fatal: unable to access 'https://github.com/x/y/': Could not resolve host: github.com\n";

    #[test]
    fn python_socket_errors() {
        assert_eq!(
            needs_network(PY_UNREACHABLE).as_deref(),
            Some("OSError: [Errno 101] Network is unreachable")
        );
        assert_eq!(
            needs_network(PY_GAIERROR).as_deref(),
            Some("socket.gaierror: [Errno -3] Temporary failure in name resolution")
        );
        assert!(needs_network(PY_URLOPEN).is_some());
        assert!(needs_network(PY_NONAME).is_some());
        assert!(needs_network("socket.gaierror: [Errno 11001] getaddrinfo failed").is_some());
    }

    #[test]
    fn curl_wget_git_apt() {
        assert_eq!(needs_network(CURL_6).as_deref(), Some(CURL_6.trim()));
        assert_eq!(needs_network(CURL_7).as_deref(), Some(CURL_7.trim()));
        assert_eq!(
            needs_network(WGET).as_deref(),
            Some("Resolving example.com (example.com)... failed: Temporary failure in name resolution.")
        );
        assert!(needs_network(GIT).is_some());
        assert_eq!(
            needs_network(APT).as_deref(),
            Some("W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'")
        );
    }

    #[test]
    fn pip_needs_a_connection_error_as_evidence() {
        assert_eq!(
            needs_network(PIP_RETRY).as_deref(),
            Some("Failed to establish a new connection: [Errno -3] Temporary failure in name resolution")
        );
        assert!(PIP_NO_RETRY.contains("No matching distribution found"));
        assert_eq!(needs_network(PIP_NO_RETRY), None);
    }

    #[test]
    fn ordinary_failures_are_not_network() {
        for out in [
            "/bin/sh: 1: curl: not found\n",
            "ModuleNotFoundError: No module named 'tomllib'\n",
            "E: Unable to locate package build-essential\n",
            "",
        ] {
            assert_eq!(needs_network(out), None, "{out:?}");
        }
    }

    #[test]
    fn evidence_is_bounded() {
        let long = format!("curl: (6) Could not resolve host: {}", "a".repeat(1000));
        let e = needs_network(&long).unwrap_or_default();
        assert!(e.chars().count() <= MAX_EVIDENCE + 1);
    }
}

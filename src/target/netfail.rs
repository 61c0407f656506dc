//! Recognising a command that failed because the network is off.

/// The line of `output` showing a failure caused by the network being off, if any.
pub fn needs_network(output: &str) -> Option<String> {
    const SIGNS: &[&str] = &[
        "Network is unreachable",
        "Temporary failure in name resolution",
        "Could not resolve host",
        "Name or service not known",
        "Failed to establish a new connection",
    ];
    output
        .lines()
        .find(|l| SIGNS.iter().any(|s| l.contains(s)))
        .map(|l| l.trim().to_string())
}

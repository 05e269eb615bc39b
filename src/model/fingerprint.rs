//! Stable identities of findings, shared by SARIF's `partialFingerprints` and baselines:
//! the rule, the object, the port and the file, but not the line, so an edit above a
//! finding does not make it new. Repeats of the same identity are numbered in order.

use std::collections::BTreeMap;

use super::{Finding, ci_path};

/// The fingerprint of every finding, in order.
pub fn fingerprints(findings: &[Finding]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    findings
        .iter()
        .map(|finding| {
            let key = identity(finding);
            let occurrence = seen.entry(key.clone()).or_default();
            *occurrence += 1;
            format!("{:016x}:{occurrence}", fnv1a(key.as_bytes()))
        })
        .collect()
}

fn identity(finding: &Finding) -> String {
    let path = finding
        .location
        .as_ref()
        .and_then(|l| ci_path(&l.path))
        .unwrap_or_default();
    let object = finding.object.as_deref().unwrap_or_default();
    let port = finding.port.map(|p| p.to_string()).unwrap_or_default();
    // NUL cannot occur in any of the fields, so no two different tuples join alike.
    [finding.rule.id(), object, &port, &path].join("\0")
}

/// 64-bit FNV-1a: tiny, and fixed for ever, unlike `std`'s hasher, whose output may change
/// between Rust releases and would then reopen every alert.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}

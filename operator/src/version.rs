//! Orders game-server versions (pure), so a finished version change can be called an upgrade or a
//! rollback.
//!
//! The schema only admits `v?MAJOR.MINOR.PATCH(-PRERELEASE)?`, so semantic-version precedence is
//! the natural order. It is implemented here rather than with a semver crate because a leading `v`
//! and numbers with leading zeros are valid tags that semver parsers reject, and because numbers
//! are compared as digit strings, so no tag is too long to order.

use std::cmp::Ordering;

/// A version split into its dotted numbers and its pre-release identifiers (empty for a release).
struct Parsed<'a> {
    numbers: Vec<&'a str>,
    pre: Vec<&'a str>,
}

fn parse(version: &str) -> Option<Parsed<'_>> {
    let v = version.strip_prefix('v').unwrap_or(version);
    // Build metadata never counts for precedence.
    let v = v.split_once('+').map_or(v, |(v, _build)| v);
    let (core, pre) = match v.split_once('-') {
        Some((core, pre)) => (core, pre.split('.').collect()),
        None => (v, Vec::new()),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let valid = numbers.iter().all(|n| is_number(n)) && pre.iter().all(|id: &&str| !id.is_empty());
    valid.then_some(Parsed { numbers, pre })
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The `i`th dotted number, 0 when the version has fewer (`1.2` is `1.2.0`).
fn nth<'a>(numbers: &[&'a str], i: usize) -> &'a str {
    numbers.get(i).copied().unwrap_or("0")
}

/// Compares two digit strings by value without parsing them into a fixed-width integer.
fn cmp_numbers(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Semantic-version rule for one pre-release identifier: numbers by value, below any text; text
/// in ASCII order.
fn cmp_identifiers(a: &str, b: &str) -> Ordering {
    match (is_number(a), is_number(b)) {
        (true, true) => cmp_numbers(a, b),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// The precedence of version `a` relative to `b` (semantic-version rules, a leading `v` ignored,
/// missing trailing numbers counted as 0), or `None` when either is not a dotted-number version.
/// `Equal` does not mean the strings are equal: `v1.0.0` and `1.0.0` have the same precedence.
pub fn precedence(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (parse(a)?, parse(b)?);
    let len = a.numbers.len().max(b.numbers.len());
    let core = (0..len)
        .map(|i| cmp_numbers(nth(&a.numbers, i), nth(&b.numbers, i)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal);
    // A pre-release comes before its release; two pre-releases compare identifier by identifier,
    // and the one with fewer identifiers comes first when all shared ones are equal.
    let pre = match (a.pre.is_empty(), b.pre.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a
            .pre
            .iter()
            .zip(&b.pre)
            .map(|(x, y)| cmp_identifiers(x, y))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.pre.len().cmp(&b.pre.len())),
    };
    Some(core.then(pre))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value_not_as_text() {
        assert_eq!(precedence("1.0.0", "1.1.0"), Some(Ordering::Less));
        assert_eq!(precedence("1.10.0", "1.9.0"), Some(Ordering::Greater));
        assert_eq!(precedence("2.0.0", "1.99.99"), Some(Ordering::Greater));
        assert_eq!(precedence("1.0.010", "1.0.9"), Some(Ordering::Greater));
    }

    #[test]
    fn numbers_too_long_for_an_integer_still_compare() {
        assert_eq!(precedence("1.0.99999999999999999999999", "1.0.1"), Some(Ordering::Greater));
    }

    #[test]
    fn a_leading_v_and_leading_zeros_do_not_change_precedence() {
        assert_eq!(precedence("v1.2.0", "1.1.0"), Some(Ordering::Greater));
        assert_eq!(precedence("v1.0.0", "1.0.0"), Some(Ordering::Equal));
        assert_eq!(precedence("1.01.0", "1.1.0"), Some(Ordering::Equal));
    }

    #[test]
    fn pre_releases_follow_the_semver_precedence_example() {
        // The example chain from semver.org, section 11.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in chain.windows(2) {
            assert_eq!(precedence(pair[0], pair[1]), Some(Ordering::Less), "{} < {}", pair[0], pair[1]);
            assert_eq!(precedence(pair[1], pair[0]), Some(Ordering::Greater), "{} > {}", pair[1], pair[0]);
        }
        assert_eq!(precedence("1.0.0-rc.1", "0.9.9"), Some(Ordering::Greater), "core numbers come first");
    }

    #[test]
    fn build_metadata_is_ignored() {
        assert_eq!(precedence("1.0.0+build.1", "1.0.0+build.2"), Some(Ordering::Equal));
    }

    #[test]
    fn anything_but_dotted_numbers_is_unordered() {
        assert_eq!(precedence("latest", "1.0.0"), None);
        assert_eq!(precedence("1.0.0", "1.x.0"), None);
        assert_eq!(precedence("1..0", "1.0.0"), None);
        assert_eq!(precedence("1.0.0-rc..1", "1.0.0"), None);
        assert_eq!(precedence("", "1.0.0"), None);
    }
}

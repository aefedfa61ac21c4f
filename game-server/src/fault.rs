//! Faults that exist only in test builds of the image, for the operator's automatic-rollback tests.
//!
//! A fault is chosen when the binary is *compiled*: `TETRIS_BUILD_FAULT` in the build environment
//! (Dockerfile.game's `FAULT` build argument, which hack/images/build.sh passes only for a tag that
//! ends in `-<fault>`, such as `0.3.0-unready`). The binary's `main` reads it with `option_env!`
//! and stamps it ([`crate::stamp_build`]) before serving. A build without it, every published
//! image, stamps `None`: nothing at run time (no variable, flag or request) can turn a fault on.
//!
//! - `unready`: `/readyz` answers 503 from 15 seconds after its first call on (a version that
//!   starts fine, then fails its readiness probe);
//! - `errors`: every `/readyz` call counts 5 errors (`tetris_errors_total{code="injected_fault"}`),
//!   so the kubelet's probe every 5 seconds makes about one error per second.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The fault compiled in, if any.
fn fault() -> Option<&'static str> {
    crate::build().fault
}
/// How long an `unready` build stays ready.
const READY_FOR: Duration = Duration::from_secs(15);
/// Errors an `errors` build counts per readiness probe.
const ERRORS_PER_PROBE: u64 = 5;

/// Whether `/readyz` must fail now (an `unready` build past its ready time).
pub fn unready() -> bool {
    static FIRST_PROBE: OnceLock<Instant> = OnceLock::new();
    fault() == Some("unready") && FIRST_PROBE.get_or_init(Instant::now).elapsed() > READY_FOR
}

/// Errors to count for one readiness probe (an `errors` build).
pub fn errors_per_probe() -> u64 {
    if fault() == Some("errors") { ERRORS_PER_PROBE } else { 0 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_ordinary_build_has_no_fault() {
        // Nothing stamps a fault in the test suite, as in every published image.
        assert_eq!(super::fault(), None);
        assert!(!super::unready());
        assert_eq!(super::errors_per_probe(), 0);
    }
}

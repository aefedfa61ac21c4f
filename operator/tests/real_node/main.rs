//! End-to-end tests on the local cluster's real node: the operator runs as real pods installed with
//! `kubectl apply -k deploy/`, the game runs as real containers built from Dockerfile.game, and every
//! player reaches it through its Service (ClusterIP, kube-proxy) as players' traffic does.
//!
//! One cluster for the binary (a real node is one per machine); one namespace per test. The images
//! are built on first use (hack/images/build.sh; layers cached). A machine that cannot run the real
//! node fails these tests with the reason; they are never skipped.

mod install;
mod leader;
mod progressive;
mod restart;
mod rollback;
mod scale;
mod support;
mod upgrade;

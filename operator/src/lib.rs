//! The Tetris operator: turns `TetrisApp` objects (group `gameops.dev`) into running game servers.
//!
//! # Layout
//! - [`crd`]: the API types; the CRD schema (descriptions, defaults, ranges, patterns, CEL rules) is generated from them.
//! - [`meta`]: names, labels, owner reference and hashes shared by every child.
//! - [`configmap`], [`deployment`], [`service`], [`ingress`], [`route`], [`pvc`], [`podmonitor`],
//!   [`networkpolicy`], [`hpa`], [`pdb`]: one pure builder per child kind; [`scoreboard`]: the
//!   backend choice (SQLite volume or PostgreSQL Secret) and what it changes in the pods; [`schema`]: the tightened schemas of the
//!   Kubernetes types a TetrisApp embeds.
//! - [`children`]: the validate and build steps (pure): a TetrisApp to its full set of children.
//! - [`drift`]: whether a live child already holds what would be applied (pure), so no-op reconciles write nothing.
//! - [`status`]: status computed from the live Deployment (pure).
//! - [`notices`]: the Events a status change is worth (pure); [`version`] orders versions for them.
//! - [`rollout`]: scale-downs and upgrades that never cut a live match (busy pods go last).
//! - [`caches`]: watch caches of the children (they also trigger reconciles of the owning app).
//! - [`apply`]: the apply step: server-side apply of each child the cache shows is not as desired.
//! - [`controller`]: the reconcile pipeline (fetch, validate, build, apply, status) and the kube-rs controller.
//! - [`leader`]: leader election through a Lease.
//! - [`metrics`], [`server`], [`telemetry`]: Prometheus metrics, probe and metrics endpoints, structured logs.
//! - [`operator`]: wires start-up checks, probes, leader election and the controller for `tetris-operator run`.

pub mod apply;
pub mod caches;
pub mod children;
pub mod configmap;
pub mod controller;
pub mod crd;
pub mod deployment;
pub mod drift;
pub mod hpa;
pub mod ingress;
pub mod leader;
pub mod meta;
pub mod metrics;
pub mod networkpolicy;
pub mod notices;
pub mod operator;
pub mod pdb;
pub mod podmonitor;
pub mod pvc;
pub mod rollout;
pub mod route;
pub mod schema;
pub mod scoreboard;
pub mod server;
pub mod service;
pub mod status;
pub mod telemetry;
pub mod version;

/// Everything that can stop a reconcile or the operator. Messages name what failed and carry
/// context; the underlying error is the `source`, not repeated in the text.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An object lacks metadata a stored object always has.
    #[error("object has no metadata.{0}")]
    MissingMetadata(&'static str),
    /// A child could not be serialized (for its hash).
    #[error("failed to serialize a child object")]
    Serialize(#[source] serde_json::Error),
    /// Server-side apply of a child failed.
    #[error("failed to apply {kind} {namespace}/{name}")]
    Apply {
        /// Kind of the child.
        kind: String,
        /// Name of the child.
        name: String,
        /// Namespace of the child.
        namespace: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Deleting a child failed.
    #[error("failed to delete {kind} {namespace}/{name}")]
    Delete {
        /// Kind of the child.
        kind: String,
        /// Name of the child.
        name: String,
        /// Namespace of the child.
        namespace: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// Writing the status failed.
    #[error("failed to update the status of TetrisApp {namespace}/{name}")]
    Status {
        /// Name of the TetrisApp.
        name: String,
        /// Namespace of the TetrisApp.
        namespace: String,
        /// The API error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The CRD is not installed.
    #[error(
        "the TetrisApp CRD (tetrisapps.gameops.dev) is not installed; install it with \
         `tetris-operator crd | kubectl apply --server-side -f -` or `kubectl apply --server-side -f crds/tetrisapps.gameops.dev.yaml`"
    )]
    CrdMissing,
    /// A request to the API server failed.
    #[error("request to the API server failed")]
    Kube(#[source] Box<kube::Error>),
    /// Reading or writing the leader Lease failed.
    #[error("leader election request failed")]
    Lease(#[source] Box<kube::Error>),
    /// This process could not renew its Lease in time, or another holder took it.
    #[error("lost leadership of lease {0}; the controller stopped, so that only one replica reconciles")]
    LostLeadership(String),
    /// A Lease request got no answer within the renew deadline.
    #[error("no answer to a lease request within {0:?}")]
    LeaseTimeout(std::time::Duration),
}

impl Error {
    /// A short label for the failures metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::MissingMetadata(_) => "missing_metadata",
            Error::Serialize(_) => "serialize",
            Error::Apply { .. } => "apply",
            Error::Delete { .. } => "delete",
            Error::Status { .. } => "status",
            Error::CrdMissing => "crd_missing",
            Error::Kube(_) => "kube",
            Error::Lease(_) => "lease",
            Error::LostLeadership(_) => "lost_leadership",
            Error::LeaseTimeout(_) => "lease_timeout",
        }
    }

    /// The innermost cause, for logs.
    pub fn root_cause(&self) -> String {
        let mut current: &dyn std::error::Error = self;
        while let Some(next) = current.source() {
            current = next;
        }
        current.to_string()
    }
}

impl Error {
    /// The API server's answer, when the error is one.
    pub fn api_status(&self) -> Option<&kube::core::Status> {
        match self {
            Error::Apply { source, .. } | Error::Delete { source, .. } | Error::Status { source, .. } => {
                match source.as_ref() {
                    kube::Error::Api(status) => Some(status),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// Result with the operator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

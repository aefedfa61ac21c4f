//! Wires the parts together for `tetris-operator run`: start-up checks, the probe server, leader
//! election and the controller, with one shutdown signal for all of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use kube::Client;
use kube::api::{Api, ListParams};
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use crate::controller::{self, ControllerSettings};
use crate::crd::TetrisApp;
use crate::leader::{LeaderElector, LeaseSettings};
use crate::metrics::Metrics;
use crate::server::{self, ProbeState};
use crate::{Error, Result};

/// How long running reconciles may take to finish after a shutdown request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Everything `run` needs besides the client.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Controller settings (namespace scope, resync, concurrency, identity).
    pub controller: ControllerSettings,
    /// Leader election, or `None` to reconcile without it (one replica only).
    pub lease: Option<LeaseSettings>,
}

impl Settings {
    /// Settings for a single in-process operator without leader election (tests, demos).
    pub fn standalone(namespace: Option<String>, resync: Duration) -> Settings {
        Settings {
            controller: ControllerSettings {
                namespace,
                resync,
                concurrency: 8,
                instance: "tetris-operator".to_owned(),
                pod_cost_interval: crate::rollout::deletion_cost::DEFAULT_INTERVAL,
            },
            lease: None,
        }
    }
}

/// One operator process.
pub struct Operator {
    client: Client,
    settings: Settings,
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

impl Operator {
    /// An operator talking to the API through `client`.
    pub fn new(client: Client, settings: Settings) -> Operator {
        Operator {
            client,
            settings,
            metrics: Arc::new(Metrics::new()),
            ready: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The metrics this operator records (tests read reconcile and write counts from it).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Runs until `shutdown` completes (Ok) or leadership is lost or start-up fails (Err).
    /// Serves the probe endpoints on `probes` when given.
    pub async fn run(
        self,
        probes: Option<TcpListener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let shutdown: Shared<BoxFuture<'static, ()>> = shutdown.boxed().shared();
        let server = probes.map(|listener| {
            let state = ProbeState { ready: self.ready.clone(), metrics: self.metrics.clone() };
            tokio::spawn(server::serve(listener, state, shutdown.clone()))
        });
        let result = self.run_inner(shutdown.clone()).await;
        if let Some(server) = server {
            server.abort();
        }
        result
    }

    async fn run_inner(self, shutdown: Shared<BoxFuture<'static, ()>>) -> Result<()> {
        tokio::select! {
            checked = check_crd(&self.client, self.settings.controller.namespace.as_deref()) => checked?,
            _ = shutdown.clone() => return Ok(()),
        }
        self.ready.store(true, Ordering::Relaxed);

        let mut elector =
            self.settings.lease.clone().map(|lease| LeaderElector::new(self.client.clone(), lease));
        // A leader that loses its Lease (it could not renew in time, say while the API server
        // stalled) stops its controller at once and campaigns again, instead of exiting: the
        // process, its probes and metrics carry on, and it leads again once it wins the Lease.
        loop {
            if let Some(elector) = elector.as_mut() {
                tokio::select! {
                    _ = elector.acquire() => {}
                    _ = shutdown.clone() => return Ok(()),
                }
            }
            self.metrics.set_leader(true);
            info!(
                namespace = self.settings.controller.namespace.as_deref().unwrap_or("<all>"),
                "starting controller"
            );
            let controller = controller::run(
                self.client.clone(),
                self.settings.controller.clone(),
                self.metrics.clone(),
                shutdown.clone(),
            );
            // Graceful shutdown lets running reconciles finish, but a reconcile stuck on an API
            // server that went away must not keep the process (and, with leader election, the
            // Lease) forever.
            let grace = async {
                shutdown.clone().await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
                warn!(
                    seconds = SHUTDOWN_GRACE.as_secs(),
                    "reconciles still running after the shutdown grace period; stopping them"
                );
            };
            let controller = async {
                tokio::select! {
                    _ = controller => {}
                    _ = grace => {}
                }
            };
            let Some(elector) = elector.as_mut() else {
                controller.await;
                self.metrics.set_leader(false);
                return Ok(());
            };
            let lost = tokio::select! {
                _ = controller => None,
                lost = elector.hold() => Some(lost),
            };
            self.metrics.set_leader(false);
            match lost {
                None => {
                    if let Err(e) = elector.release().await {
                        error!(error = %e, "failed to release the lease; standby takes over when it expires");
                    }
                    return Ok(());
                }
                Some(e) => {
                    self.metrics.lost_leadership();
                    warn!(error = %e, "stepped down; campaigning for the lease again");
                }
            }
        }
    }
}

/// Fails with install instructions when the TetrisApp CRD is missing. Lists with limit 1 instead of
/// reading the CRD, so the operator needs no RBAC on customresourcedefinitions. One request, no
/// retry: without the CRD every watch would fail forever, so exiting with the instructions is the
/// useful answer (test: `tests/e2e/startup.rs`).
pub async fn check_crd(client: &Client, namespace: Option<&str>) -> Result<()> {
    let api: Api<TetrisApp> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    match api.list(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Err(Error::CrdMissing),
        Err(e) => Err(Error::Kube(Box::new(e))),
    }
}

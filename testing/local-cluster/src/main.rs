//! `local-cluster`: the test harness's control plane for shell users and the demo.
//!
//! `local-cluster up` starts it, prints the KUBECONFIG and blocks; stopping the process (Ctrl-C,
//! SIGTERM) takes every component down with it. `local-cluster bin-dir` prints where the built
//! binaries (kubectl among them) are, building them first if needed.

use clap::{Parser, Subcommand};
use local_cluster::{LocalCluster, Options};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    about = "A real local Kubernetes control plane on 127.0.0.1 (etcd, kube-apiserver, controller-manager, scheduler, kwok), optionally with a real node"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the control plane, print its KUBECONFIG, and run until stopped.
    Up {
        /// Fake nodes to create.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// Also start a real node (containerd, kubelet, kube-proxy) that runs real containers.
        #[arg(long)]
        real_node: bool,
        /// Images (OCI archives from hack/images/build.sh) to import into the real node.
        #[arg(long = "load-image")]
        load_images: Vec<PathBuf>,
        /// Run directory (default: a fresh one under the temp dir). Removed when the cluster stops.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also copy the admin kubeconfig here (it stays valid only while the cluster runs).
        #[arg(long)]
        kubeconfig_out: Option<PathBuf>,
        /// Exit as soon as the cluster is ready, leaving cleanup to the watchdog (used by tests).
        #[arg(long, hide = true)]
        exit_after_ready: bool,
        /// Panic as soon as the cluster is ready (used by the cleanup test).
        #[arg(long, hide = true)]
        panic_after_ready: bool,
    },
    /// Print the directory of the control-plane binaries, building them if needed.
    BinDir,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::BinDir => println!("{}", local_cluster::binaries::bin_dir()?.display()),
        Cmd::Up {
            nodes,
            real_node,
            load_images,
            dir,
            kubeconfig_out,
            exit_after_ready,
            panic_after_ready,
        } => {
            let cluster = LocalCluster::start(Options { nodes, dir, real_node })?;
            for archive in &load_images {
                let image = local_cluster::images::Image {
                    reference: archive.display().to_string(),
                    archive: archive.clone(),
                };
                cluster.load_image(&image)?;
            }
            if let Some(out) = &kubeconfig_out {
                std::fs::copy(cluster.kubeconfig(), out)?;
            }
            let pids: Vec<String> = cluster.pids().iter().map(|(n, p)| format!("{n}={p}")).collect();
            println!("local control plane ready in {:.1}s", cluster.started_in().as_secs_f64());
            println!("dir: {}", cluster.dir().display());
            println!("pids: {}", pids.join(" "));
            println!("KUBECONFIG={}", cluster.kubeconfig().display());
            println!("kubectl: {}", cluster.bin_dir().join("kubectl").display());
            if let Some((netns, cgroup)) = cluster.real_node_names() {
                println!(
                    "real node: {} (network namespace {netns}, cgroup {cgroup})",
                    local_cluster::node::NODE_NAME
                );
            }
            if panic_after_ready {
                panic!("panicking on purpose with the cluster up (--panic-after-ready)");
            }
            if exit_after_ready {
                // Skip Drop on purpose: the watchdog must clean up on its own.
                std::process::exit(0);
            }
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    }
    Ok(())
}

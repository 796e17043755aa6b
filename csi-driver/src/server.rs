//! Runs the configured roles: the mounter's local API and the CSI gRPC
//! services on a unix socket, until SIGTERM or SIGINT.

use std::sync::Arc;
use std::time::Duration;

use csi_proto::csi::v1::controller_server::ControllerServer;
use csi_proto::csi::v1::identity_server::IdentityServer;
use csi_proto::csi::v1::node_server::NodeServer;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio_stream::wrappers::UnixListenerStream;

use crate::config::{Config, Role};
use crate::controller::ControllerService;
use crate::daos_client::DaosClient;
use crate::identity::IdentityService;
use crate::metrics::{Exporter, Families, GrpcMetricsLayer, MountCensus};
use crate::mounter::server::{Mounter, MounterConfig, bind_private_socket, bind_socket};
use crate::node::NodeService;
use crate::volume::SystemName;

/// How long a stopping gRPC server waits for calls in flight.
const GRPC_DRAIN: Duration = Duration::from_secs(60);

/// Resolves once SIGTERM or SIGINT arrives.
async fn termination(tx: watch::Sender<bool>) {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down (mounts are left as they are)"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down (mounts are left as they are)"),
    }
    let _ = tx.send(true);
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    while !*rx.borrow() {
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// What this process's /metrics shows: the families of the roles it runs.
fn exporter_for(cfg: &Config) -> Exporter {
    Exporter {
        registry: crate::metrics::global(),
        families: Families {
            csi: cfg.has(Role::Controller) || cfg.has(Role::Node),
            pools: cfg.has(Role::Controller),
            dfuse: cfg.has(Role::Mounter),
        },
        census: cfg.has(Role::Node).then(|| {
            // mountinfo shows resolved paths.
            let root = cfg
                .kubelet_root
                .canonicalize()
                .unwrap_or_else(|_| cfg.kubelet_root.clone());
            MountCensus::new(&root, cfg.stats_timeout)
        }),
    }
}

pub async fn run(cfg: Config) -> Result<(), String> {
    let cfg = Arc::new(cfg);
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(termination(stop_tx));

    let default_system = match &cfg.default_system {
        Some(s) => SystemName::parse(s)?,
        None => SystemName::default_system(),
    };

    let mut tasks = tokio::task::JoinSet::new();
    if let Some(addr) = cfg.metrics_addr {
        // Bound first: a taken port stops the process before it serves CSI.
        let listener = crate::metrics::bind(addr).await?;
        let exporter = Arc::new(exporter_for(&cfg));
        let rx = stop_rx.clone();
        tasks.spawn(async move { crate::metrics::serve(listener, exporter, stopped(rx)).await });
    }
    if cfg.has(Role::Mounter) {
        let mcfg = MounterConfig {
            dfuse_path: cfg.dfuse_path.clone(),
            state_dir: cfg.state_dir.clone(),
            kubelet_root: cfg
                .kubelet_root
                .canonicalize()
                .unwrap_or_else(|_| cfg.kubelet_root.clone()),
            ready_timeout: cfg.dfuse_ready_timeout,
            fs_timeout: cfg.stats_timeout,
            stop_timeout: Duration::from_secs(10),
            agent_socket: cfg.agent_socket.clone(),
        };
        let mounter = Mounter::start(mcfg).await.map_err(|e| {
            format!(
                "starting the mounter (state dir {}): {e}",
                cfg.state_dir.display()
            )
        })?;
        let socket = cfg.mounter_socket.clone();
        // Bound before the gRPC socket exists, so a node role in this
        // process never finds the mounter missing.
        let listener = bind_private_socket(&socket)
            .map_err(|e| format!("mounter socket {}: {e}", socket.display()))?;
        let rx = stop_rx.clone();
        tasks.spawn(async move {
            mounter
                .serve(listener, &socket, stopped(rx))
                .await
                .map_err(|e| format!("mounter socket {}: {e}", socket.display()))
        });
    }

    if cfg.has(Role::Controller) || cfg.has(Role::Node) {
        let daos = DaosClient::new(cfg.agent_socket.clone());
        // A real daos_init (fabric set-up, attach info) takes seconds: begin
        // it now rather than at the first Probe or request.
        {
            let daos = Arc::clone(&daos);
            tokio::spawn(async move {
                if let Err(e) = daos.daos().await {
                    tracing::warn!(error = %e, "libdaos could not be initialised yet; retried at the next request");
                }
            });
        }
        let identity =
            IdentityServer::new(IdentityService::new(Arc::clone(&cfg), Arc::clone(&daos)));
        let controller = cfg.has(Role::Controller).then(|| {
            ControllerServer::new(ControllerService::new(
                Arc::clone(&cfg),
                Arc::clone(&daos),
                default_system.clone(),
            ))
        });
        let node = cfg.has(Role::Node).then(|| {
            NodeServer::new(NodeService::new(
                Arc::clone(&cfg),
                Arc::clone(&daos),
                default_system.clone(),
            ))
        });
        let listener = bind_socket(&cfg.endpoint, 0o660)
            .map_err(|e| format!("CSI endpoint {}: {e}", cfg.endpoint.display()))?;
        tracing::info!(endpoint = %cfg.endpoint.display(), roles = ?cfg.roles, driver = %cfg.driver_name,
            node_id = %cfg.node_id, "serving CSI");
        let endpoint = cfg.endpoint.clone();
        let rx = stop_rx.clone();
        tasks.spawn(async move {
            let incoming = UnixListenerStream::new(listener);
            let serve = tonic::transport::Server::builder()
                .layer(GrpcMetricsLayer)
                .add_service(identity)
                .add_optional_service(controller)
                .add_optional_service(node)
                .serve_with_incoming_shutdown(incoming, stopped(rx.clone()));
            tokio::pin!(serve);
            let result = tokio::select! {
                r = &mut serve => r,
                // Calls in flight get GRPC_DRAIN after the signal; then we go.
                _ = async { stopped(rx).await; tokio::time::sleep(GRPC_DRAIN).await } => {
                    tracing::warn!("calls still running after {GRPC_DRAIN:?}; exiting anyway");
                    Ok(())
                }
            };
            let _ = std::fs::remove_file(&endpoint);
            result.map_err(|e| format!("gRPC server: {e}"))
        });
    }

    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let result = done
            .map_err(|e| format!("task failed: {e}"))
            .and_then(|r| r);
        if let Err(e) = result {
            tracing::error!(error = %e, "a role stopped with an error");
            first_error.get_or_insert(e);
            // One role failing takes the process down, so it is restarted whole.
            tasks.abort_all();
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => {
            tracing::info!("stopped");
            Ok(())
        }
    }
}

//! The deployment the CSI benchmarks run against: the e2e [`Cluster`] serving the controller
//! role (with its DAOS system and kubelet root), plus a node plugin and a mounter started as
//! two more processes with the same flags, as the DaemonSets run them, so that each one's
//! memory can be read on its own.

use daos_csi_e2e::cluster::NODE_ID;
use daos_csi_e2e::driver::{DriverProcess, driver_binary};
use daos_csi_e2e::kubelet::DRIVER_NAME;
use daos_csi_e2e::*;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

/// How long a driver process may take to come up.
const START_LIMIT: Duration = Duration::from_secs(30);

pub struct NodeRig {
    // Fields drop in order: the node plugin and the mounter stop before the cluster detaches
    // what is left and stops the DAOS agent.
    pub node_process: DriverProcess,
    pub mounter_process: DriverProcess,
    node_channel: Channel,
    pub cluster: Cluster,
}

impl NodeRig {
    pub async fn start(pool_size: &str) -> NodeRig {
        let cluster = Cluster::start(ClusterConfig {
            layout: Layout::Roles("controller"),
            pool_size: pool_size.to_string(),
            ..Default::default()
        })
        .await;
        let binary = driver_binary();
        let mut mounter_process = DriverProcess::spawn(
            "mounter",
            &binary,
            flags(&cluster, "mounter", &cluster.base.join("mounter-csi.sock")),
            cluster.daos.env(),
            &cluster.base.join("mounter.log"),
        );
        wait_for_path(&mut mounter_process, &cluster.mounter_socket).await;
        let node_socket = cluster.base.join("node.sock");
        let mut node_process = DriverProcess::spawn(
            "node",
            &binary,
            flags(&cluster, "node", &node_socket),
            cluster.daos.env(),
            &cluster.base.join("node.log"),
        );
        let node_channel = wait_for_csi(&mut node_process, &node_socket).await;
        NodeRig {
            node_process,
            mounter_process,
            node_channel,
            cluster,
        }
    }

    pub fn node(&self) -> NodeClient<Channel> {
        NodeClient::new(self.node_channel.clone())
    }

    pub fn node_identity(&self) -> IdentityClient<Channel> {
        IdentityClient::new(self.node_channel.clone())
    }

    pub fn node_pid(&self) -> i32 {
        self.node_process.pid().unwrap_or(0)
    }

    pub fn mounter_pid(&self) -> i32 {
        self.mounter_process.pid().unwrap_or(0)
    }

    /// NodeStageVolume at kubelet's staging path (created first, as kubelet does).
    pub async fn stage(&self, volume: &csi::Volume) -> Result<PathBuf, Status> {
        let staging = self.cluster.kubelet.prepare_staging_path(&volume.volume_id);
        self.node()
            .node_stage_volume(stage_request(volume, &staging))
            .await?;
        Ok(staging)
    }

    pub async fn unstage(&self, volume_id: &str, staging: &Path) -> Result<(), Status> {
        self.node()
            .node_unstage_volume(unstage_request(volume_id, staging))
            .await
            .map(|_| ())
    }

    /// NodePublishVolume of a staged volume into pod `pod_uid`; returns the target path.
    pub async fn publish(
        &self,
        volume: &csi::Volume,
        staging: &Path,
        pod_uid: &str,
    ) -> Result<PathBuf, Status> {
        let target = self.cluster.target_for(&volume.volume_id, pod_uid);
        self.node()
            .node_publish_volume(publish_request(volume, staging, &target, false))
            .await?;
        Ok(target)
    }

    pub async fn unpublish(&self, volume_id: &str, target: &Path) -> Result<(), Status> {
        self.node()
            .node_unpublish_volume(unpublish_request(volume_id, target))
            .await
            .map(|_| ())
    }

    /// The driver's logs, for a failure message.
    pub fn log_tails(&self) -> String {
        [
            &self.cluster.csi_process,
            &self.mounter_process,
            &self.node_process,
        ]
        .iter()
        .map(|p| format!("--- {} ---\n{}\n", p.name, p.log_tail(30)))
        .collect()
    }
}

/// The flags `Cluster::start` gives its processes, for one more process with `roles`.
fn flags(cluster: &Cluster, roles: &str, endpoint: &Path) -> Vec<OsString> {
    let daos = &cluster.daos;
    [
        "--roles".to_string(),
        roles.to_string(),
        "--endpoint".to_string(),
        format!("unix://{}", endpoint.display()),
        "--driver-name".to_string(),
        DRIVER_NAME.to_string(),
        "--node-id".to_string(),
        NODE_ID.to_string(),
        "--daos-agent-dir".to_string(),
        daos.agent_dir.display().to_string(),
        "--dfuse-path".to_string(),
        daos.dfuse_path().display().to_string(),
        "--state-dir".to_string(),
        cluster.state_dir.display().to_string(),
        "--kubelet-root".to_string(),
        cluster.kubelet.root.display().to_string(),
        "--mounter-socket".to_string(),
        cluster.mounter_socket.display().to_string(),
        "--log-format".to_string(),
        "text".to_string(),
    ]
    .into_iter()
    .map(OsString::from)
    .collect()
}

async fn wait_for_path(process: &mut DriverProcess, path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        if let Some(status) = process.exited() {
            panic!(
                "{} exited ({status}) before creating {}; log:\n{}",
                process.name,
                path.display(),
                process.log_tail(50)
            );
        }
        assert!(
            start.elapsed() < START_LIMIT,
            "{} did not create {} within {START_LIMIT:?}; log:\n{}",
            process.name,
            path.display(),
            process.log_tail(50)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the process answers GetPluginInfo on `socket`.
async fn wait_for_csi(process: &mut DriverProcess, socket: &Path) -> Channel {
    wait_for_path(process, socket).await;
    let start = Instant::now();
    loop {
        if let Ok(channel) = connect_unix(socket).await {
            let info = IdentityClient::new(channel.clone())
                .get_plugin_info(csi::GetPluginInfoRequest {})
                .await;
            if info.is_ok() {
                return channel;
            }
        }
        if let Some(status) = process.exited() {
            panic!(
                "{} exited ({status}) while starting; log:\n{}",
                process.name,
                process.log_tail(50)
            );
        }
        assert!(
            start.elapsed() < START_LIMIT,
            "{} did not answer GetPluginInfo within {START_LIMIT:?}; log:\n{}",
            process.name,
            process.log_tail(50)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

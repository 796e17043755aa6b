//! A driver deployment for one test: a DAOS system, a kubelet root, and the `daos-csi`
//! processes (all roles in one, or the mounter apart so the node plugin can be killed alone),
//! with CSI clients and the calls kubelet and the provisioner make.

use crate::driver::{DriverProcess, driver_binary};
use crate::kubelet::{DRIVER_NAME, Kubelet, sha256_hex};
use crate::mounts;
use crate::procs::{self, ProcessInfo};
use crate::rpc::*;
use crate::system::{DaosSystem, daos_system};
use nix::sys::signal::Signal;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tonic::transport::Channel;

pub const NODE_ID: &str = "node-1";

/// How the driver's roles are spread over processes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layout {
    /// One process: controller, node and mounter (the laptop setup).
    AllInOne,
    /// controller+node in one process, the mounter in another (the DaemonSet setup), so the
    /// node plugin can be killed while dfuse lives on.
    SplitMounter,
    /// One process with only these roles (e.g. "node" or "controller").
    Roles(&'static str),
}

#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub layout: Layout,
    /// Size of the private emulated pool (ignored on real DAOS).
    pub pool_size: String,
    /// Allow the test pool for ephemeral inline volumes (`--ephemeral-pools <pool>`).
    pub ephemeral_test_pool: bool,
    /// Stop the agent (SIGKILL, socket left behind) before the driver starts.
    pub agent_down_at_start: bool,
    pub extra_args: Vec<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            layout: Layout::AllInOne,
            pool_size: "8G".to_string(),
            ephemeral_test_pool: false,
            agent_down_at_start: false,
            extra_args: Vec::new(),
        }
    }
}

pub struct Cluster {
    pub kubelet: Kubelet,
    /// The canonical temp directory holding everything of this test.
    pub base: PathBuf,
    pub socket: PathBuf,
    pub mounter_socket: PathBuf,
    pub state_dir: PathBuf,
    pub layout: Layout,
    /// The process serving CSI (controller and/or node).
    pub csi_process: DriverProcess,
    /// The separate mounter process, with `Layout::SplitMounter`.
    pub mounter_process: Option<DriverProcess>,
    channel: Channel,
    _dir: tempfile::TempDir,
    /// Dropped last: the agent must outlive every process that talks to it.
    pub daos: DaosSystem,
}

fn os(args: &[String]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

impl Cluster {
    pub async fn start(config: ClusterConfig) -> Cluster {
        let daos = daos_system(&config.pool_size);
        crate::system::announce_once(&daos);
        println!("e2e: running against {}", daos.describe());
        if config.agent_down_at_start {
            daos.stop_agent(false);
        }
        let dir = tempfile::Builder::new()
            .prefix("daos-csi-e2e-")
            .tempdir()
            .expect("test temp dir");
        let base = dir.path().canonicalize().expect("canonical temp dir");
        let kubelet = Kubelet::new(&base.join("kubelet"));
        let state_dir = base.join("state");
        std::fs::create_dir_all(&state_dir).expect("state dir");
        let socket = base.join("csi.sock");
        let mounter_socket = base.join("mounter.sock");

        let mut common = vec![
            "--driver-name".to_string(),
            DRIVER_NAME.to_string(),
            "--node-id".to_string(),
            NODE_ID.to_string(),
            "--daos-agent-dir".to_string(),
            daos.agent_dir.display().to_string(),
            "--dfuse-path".to_string(),
            daos.dfuse_path().display().to_string(),
            "--state-dir".to_string(),
            state_dir.display().to_string(),
            "--kubelet-root".to_string(),
            kubelet.root.display().to_string(),
            "--mounter-socket".to_string(),
            mounter_socket.display().to_string(),
            "--log-format".to_string(),
            "text".to_string(),
        ];
        // As a deployment configures it: ListVolumes scans the StorageClass pool even for a
        // controller that has not used it since it started.
        common.push("--list-pools".to_string());
        common.push(daos.pool.clone());
        if config.ephemeral_test_pool {
            common.push("--ephemeral-pools".to_string());
            common.push(daos.pool.clone());
        }
        common.extend(config.extra_args.iter().cloned());

        let binary = driver_binary();
        let env = daos.env();
        let with = |roles: &str, endpoint: &Path| {
            let mut args = vec![
                "--roles".to_string(),
                roles.to_string(),
                "--endpoint".to_string(),
                format!("unix://{}", endpoint.display()),
            ];
            args.extend(common.iter().cloned());
            os(&args)
        };

        let mut mounter_process = None;
        let csi_roles = match config.layout {
            Layout::AllInOne => "controller,node,mounter",
            Layout::SplitMounter => {
                let mut mounter = DriverProcess::spawn(
                    "mounter",
                    &binary,
                    with("mounter", &base.join("mounter-csi.sock")),
                    env.clone(),
                    &base.join("mounter.log"),
                );
                wait_for_socket(&mut mounter, &mounter_socket).await;
                mounter_process = Some(mounter);
                "controller,node"
            }
            Layout::Roles(roles) => roles,
        };
        let mut csi_process = DriverProcess::spawn(
            csi_roles,
            &binary,
            with(csi_roles, &socket),
            env,
            &base.join("driver.log"),
        );
        let channel = wait_for_csi(&mut csi_process, &socket).await;
        Cluster {
            kubelet,
            base,
            socket,
            mounter_socket,
            state_dir,
            layout: config.layout,
            csi_process,
            mounter_process,
            channel,
            _dir: dir,
            daos,
        }
    }

    pub fn identity(&self) -> IdentityClient<Channel> {
        IdentityClient::new(self.channel.clone())
    }

    pub fn controller(&self) -> ControllerClient<Channel> {
        ControllerClient::new(self.channel.clone())
    }

    pub fn node(&self) -> NodeClient<Channel> {
        NodeClient::new(self.channel.clone())
    }

    /// Kills the process serving CSI (the node plugin) the way a container restart does:
    /// SIGKILL to it and to everything it started. The separate mounter is not touched.
    pub fn kill_csi_process(&mut self) {
        self.csi_process.kill9_with_descendants();
    }

    /// Stops the process serving CSI with `signal`, waiting up to `grace` (SIGKILL after);
    /// returns how it exited.
    pub fn stop_csi_process(
        &mut self,
        signal: Signal,
        grace: Duration,
    ) -> Option<std::process::ExitStatus> {
        self.csi_process.stop(signal, grace)
    }

    /// Stops the separate mounter (`Layout::SplitMounter`) with `signal`, waiting up to
    /// `grace` (SIGKILL after); returns how it exited and how long that took.
    pub fn stop_mounter(
        &mut self,
        signal: Signal,
        grace: Duration,
    ) -> (Option<std::process::ExitStatus>, Duration) {
        let mounter = self
            .mounter_process
            .as_mut()
            .expect("stop_mounter needs Layout::SplitMounter");
        let started = Instant::now();
        let status = mounter.stop(signal, grace);
        (status, started.elapsed())
    }

    /// Starts the separate mounter again with the same flags and waits for its socket.
    pub async fn start_mounter(&mut self) {
        let mounter = self
            .mounter_process
            .as_mut()
            .expect("start_mounter needs Layout::SplitMounter");
        mounter.start();
        // A killed mounter leaves its socket file behind: wait for a listener, not a file.
        let start = Instant::now();
        while std::os::unix::net::UnixStream::connect(&self.mounter_socket).is_err() {
            if let Some(status) = mounter.exited() {
                panic!(
                    "the mounter exited ({status}) while starting; log:\n{}",
                    mounter.log_tail(100)
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the mounter did not listen on {} within 30 s; log:\n{}",
                self.mounter_socket.display(),
                mounter.log_tail(100)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the CSI process (SIGTERM) and starts it again with `extra` added to its original
    /// flags (replacing what an earlier call added): the same deployment with a changed
    /// configuration. Mounts are left as they are.
    pub async fn restart_csi_process_with(&mut self, extra: &[&str]) {
        self.csi_process
            .stop(Signal::SIGTERM, Duration::from_secs(30));
        self.csi_process.set_extra_args(extra);
        self.start_csi_process().await;
    }

    /// Start the CSI process again with the same flags and wait until it answers.
    pub async fn start_csi_process(&mut self) {
        self.csi_process.start();
        self.channel = wait_for_csi(&mut self.csi_process, &self.socket).await;
    }

    /// The pool label the StorageClass names.
    pub fn pool(&self) -> &str {
        &self.daos.pool
    }

    /// StorageClass parameters: `pool` plus `extra`.
    pub fn storage_class(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut parameters = params(&[("pool", self.pool())]);
        parameters.extend(params(extra));
        parameters
    }

    pub async fn create_volume(
        &self,
        name: &str,
        extra: &[(&str, &str)],
    ) -> Result<csi::Volume, Status> {
        let response = self
            .controller()
            .create_volume(create_request(name, self.storage_class(extra)))
            .await?
            .into_inner();
        Ok(response
            .volume
            .expect("CreateVolumeResponse carries a volume"))
    }

    /// The dfuse serving `target`: the one whose command line names it, else this test's only
    /// dfuse.
    pub fn dfuse_serving(&self, target: &Path) -> Option<ProcessInfo> {
        let by_target = procs::dfuse_mentioning(&target.display().to_string());
        if let [only] = by_target.as_slice() {
            return Some(only.clone());
        }
        match self.my_dfuse_processes().as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        }
    }

    /// Containers in the test's pool, from `dmg pool query --json` (emulator only).
    pub fn container_count(&self) -> u64 {
        let out = self.daos.dmg(&[
            "pool".into(),
            "query".into(),
            "-j".into(),
            self.pool().into(),
        ]);
        let at = out
            .find("\"containers\":")
            .unwrap_or_else(|| panic!("no container count in {out}"));
        out[at + "\"containers\":".len()..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("bad container count in {out}"))
    }

    /// GetCapacity as external-provisioner asks it for the test StorageClass.
    pub async fn capacity(&self) -> Result<csi::GetCapacityResponse, Status> {
        self.controller()
            .get_capacity(csi::GetCapacityRequest {
                volume_capabilities: vec![rwx()],
                parameters: self.storage_class(&[]),
                accessible_topology: None,
            })
            .await
            .map(|r| r.into_inner())
    }

    pub async fn delete_volume(&self, volume_id: &str) -> Result<(), Status> {
        self.controller()
            .delete_volume(delete_request(volume_id))
            .await
            .map(|_| ())
    }

    /// DeleteVolume after a dfuse of the volume was killed: DAOS keeps a dead process's
    /// container handle open until daos_agent's process monitor evicts it (within 3 s), and
    /// until then DeleteVolume is FAILED_PRECONDITION "in use", which the provisioner retries.
    /// This retries the same way, for as long as the eviction may take.
    pub async fn delete_volume_after_a_kill(&self, volume_id: &str) -> Result<(), Status> {
        let in_use =
            |s: &Status| s.code() == Code::FailedPrecondition && s.message().contains("in use");
        crate::retry_while(
            Duration::from_secs(10),
            Duration::from_millis(250),
            in_use,
            || self.delete_volume(volume_id),
        )
        .await
    }

    /// Every volume id ListVolumes reports, following next_token across pages.
    pub async fn list_volume_ids(&self) -> Result<Vec<String>, Status> {
        let mut ids = Vec::new();
        let mut token = String::new();
        for _ in 0..10_000 {
            let page = self
                .controller()
                .list_volumes(csi::ListVolumesRequest {
                    max_entries: 100,
                    starting_token: token.clone(),
                })
                .await?
                .into_inner();
            ids.extend(
                page.entries
                    .into_iter()
                    .filter_map(|e| e.volume.map(|v| v.volume_id)),
            );
            if page.next_token.is_empty() {
                return Ok(ids);
            }
            token = page.next_token;
        }
        panic!("ListVolumes never stopped paging");
    }

    /// NodeStageVolume at kubelet's staging path for this volume (created first, as kubelet
    /// does). Returns the staging path.
    pub async fn stage(&self, volume: &csi::Volume) -> Result<PathBuf, Status> {
        let staging = self.kubelet.prepare_staging_path(&volume.volume_id);
        self.node()
            .node_stage_volume(stage_request(volume, &staging))
            .await?;
        Ok(staging)
    }

    /// kubelet's target path for `volume` in pod `pod_uid`, with its parent created.
    pub fn target_for(&self, volume_id: &str, pod_uid: &str) -> PathBuf {
        let pv = format!("pv-{}", &sha256_hex(volume_id.as_bytes())[..12]);
        self.kubelet.prepare_target_path(pod_uid, &pv)
    }

    /// NodePublishVolume of a staged volume into pod `pod_uid`. Returns the target path.
    pub async fn publish(
        &self,
        volume: &csi::Volume,
        staging: &Path,
        pod_uid: &str,
        readonly: bool,
    ) -> Result<PathBuf, Status> {
        let target = self.target_for(&volume.volume_id, pod_uid);
        self.node()
            .node_publish_volume(publish_request(volume, staging, &target, readonly))
            .await?;
        Ok(target)
    }

    pub async fn unpublish(&self, volume_id: &str, target: &Path) -> Result<(), Status> {
        self.node()
            .node_unpublish_volume(unpublish_request(volume_id, target))
            .await
            .map(|_| ())
    }

    pub async fn unstage(&self, volume_id: &str, staging: &Path) -> Result<(), Status> {
        self.node()
            .node_unstage_volume(unstage_request(volume_id, staging))
            .await
            .map(|_| ())
    }

    pub async fn stats(
        &self,
        volume_id: &str,
        path: &Path,
        staging: Option<&Path>,
    ) -> Result<csi::NodeGetVolumeStatsResponse, Status> {
        self.node()
            .node_get_volume_stats(stats_request(volume_id, path, staging))
            .await
            .map(|r| r.into_inner())
    }

    /// The dfuse process serving `staging`: the one whose command line names it, else the only
    /// dfuse of this test's DAOS system that names the volume's container.
    pub fn dfuse_for(&self, staging: &Path, volume_id: &str) -> Option<ProcessInfo> {
        let by_path = procs::dfuse_mentioning(&staging.display().to_string());
        if let [only] = by_path.as_slice() {
            return Some(only.clone());
        }
        let container = volume_id.rsplit('/').next().unwrap_or(volume_id);
        let mine: Vec<ProcessInfo> = procs::dfuse_of_system(&self.daos.agent_dir)
            .into_iter()
            .filter(|p| p.mentions(container))
            .collect();
        if let [only] = mine.as_slice() {
            return Some(only.clone());
        }
        // A driver may hand dfuse a pre-opened /dev/fuse and labels instead of the path and
        // UUID; with a single volume mounted, the single dfuse of this system is the one.
        match procs::dfuse_of_system(&self.daos.agent_dir).as_slice() {
            [only] if self.daos.is_emulated() => Some(only.clone()),
            _ => None,
        }
    }

    /// Asserts that ListVolumes reports `expected`: exactly, on a private emulated system;
    /// at least, on a real pool other tests share.
    pub async fn assert_volumes_listed(&self, expected: &[&str], what: &str) {
        let mut listed = self.list_volume_ids().await.must("ListVolumes");
        listed.sort();
        let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        expected.sort();
        if self.daos.is_emulated() {
            assert_eq!(listed, expected, "{what}: ListVolumes");
        } else {
            for id in &expected {
                assert!(
                    listed.contains(id),
                    "{what}: ListVolumes lacks {id}: {listed:?}"
                );
            }
        }
    }

    /// Asserts that ListVolumes does not report `gone`, and on a private system reports
    /// nothing at all.
    pub async fn assert_volumes_not_listed(&self, gone: &[&str], what: &str) {
        let listed = self.list_volume_ids().await.must("ListVolumes");
        for id in gone {
            assert!(!listed.iter().any(|l| l == id), "{what}: {id} still listed");
        }
        if self.daos.is_emulated() {
            assert!(
                listed.is_empty(),
                "{what}: ListVolumes should be empty: {listed:?}"
            );
        }
    }

    /// Every dfuse process started for this test (by command line or agent directory).
    pub fn my_dfuse_processes(&self) -> Vec<ProcessInfo> {
        let base = self.base.display().to_string();
        procs::processes()
            .into_iter()
            .filter(|p| {
                p.is_dfuse()
                    && (p.mentions(&base)
                        || (self.daos.is_emulated()
                            && p.agent_dir.as_deref() == Some(self.daos.agent_dir.as_path())))
            })
            .collect()
    }

    /// Creates a POSIX container the driver knows nothing of (an admin's, for a static PV),
    /// with the emulator's `daos-emu-cli` or the real `daos` tool. Returns its UUID when the
    /// tool printed one.
    pub fn create_foreign_container(&self, label: &str) -> Option<String> {
        let mut command = if self.daos.is_emulated() {
            let mut c = std::process::Command::new(self.daos.bin("daos-emu-cli"));
            c.args(["container", "create", "--type", "POSIX", self.pool(), label]);
            c
        } else {
            let mut c = std::process::Command::new("daos");
            c.args(["container", "create", "--type=POSIX", self.pool(), label]);
            c
        };
        command.envs(self.daos.env());
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{command:?} failed: {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
            .split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == ':')
            .find(|word| is_uuid(word))
            .map(str::to_string)
    }

    /// Mounts below this test's kubelet root.
    pub fn kubelet_mounts(&self) -> Vec<mounts::MountEntry> {
        mounts::mounts_under(&self.kubelet.root)
    }

    fn print_logs(&self) {
        for process in std::iter::once(&self.csi_process).chain(self.mounter_process.iter()) {
            eprintln!(
                "----- e2e: log of {} ({}), last 300 lines -----\n{}\n----- end of log -----",
                process.name,
                process.log_path.display(),
                process.log_tail(300)
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let failed = std::thread::panicking();
        self.csi_process
            .stop(Signal::SIGTERM, Duration::from_secs(5));
        if let Some(mounter) = self.mounter_process.as_mut() {
            mounter.stop(Signal::SIGTERM, Duration::from_secs(5));
        }
        // Whatever a failed test left mounted or running must not outlive it.
        let leftovers = mounts::mounts_under(&self.base);
        mounts::detach_all_under(&self.base);
        for dfuse in self.my_dfuse_processes() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(dfuse.pid), Signal::SIGKILL);
        }
        if failed {
            if !leftovers.is_empty() {
                eprintln!(
                    "e2e: detached mounts left behind: {:?}",
                    leftovers.iter().map(|m| &m.mount_point).collect::<Vec<_>>()
                );
            }
            self.print_logs();
        }
    }
}

async fn wait_for_socket(process: &mut DriverProcess, socket: &Path) {
    let start = Instant::now();
    while !socket.exists() {
        if let Some(status) = process.exited() {
            panic!(
                "{} exited ({status}) before creating {}; log:\n{}",
                process.name,
                socket.display(),
                process.log_tail(100)
            );
        }
        if start.elapsed() > Duration::from_secs(30) {
            panic!(
                "{} did not create {} within 30 s; log:\n{}",
                process.name,
                socket.display(),
                process.log_tail(100)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the process answers GetPluginInfo on `socket`; panics with its log if it dies
/// or takes longer than 30 s.
async fn wait_for_csi(process: &mut DriverProcess, socket: &Path) -> Channel {
    wait_for_socket(process, socket).await;
    let start = Instant::now();
    let mut last_error = String::new();
    loop {
        if let Some(status) = process.exited() {
            panic!(
                "{} exited ({status}) while starting; log:\n{}",
                process.name,
                process.log_tail(100)
            );
        }
        if start.elapsed() > Duration::from_secs(30) {
            panic!(
                "{} did not answer GetPluginInfo within 30 s ({last_error}); log:\n{}",
                process.name,
                process.log_tail(100)
            );
        }
        match tokio::time::timeout(Duration::from_secs(2), connect_unix(socket)).await {
            Ok(Ok(channel)) => {
                let answer = IdentityClient::new(channel.clone())
                    .get_plugin_info(csi::GetPluginInfoRequest {})
                    .await;
                match answer {
                    Ok(_) => return channel,
                    Err(status) => last_error = format!("GetPluginInfo: {status}"),
                }
            }
            Ok(Err(e)) => last_error = format!("connect: {e}"),
            Err(_) => last_error = "connect timed out".to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

//! The mounter process: serves the local API, starts and stops dfuse,
//! and adopts the dfuse processes it finds when it starts.

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Mutex, oneshot, watch};
use tokio::task::JoinSet;
use tonic::{Code, Status};

use super::state::{self, MountRecord, StateFile};
use super::{MAX_LINE, MountSpec, MountStatus, Request, Response, dfuse};
use crate::locks::OpLocks;
use crate::sysmount;

/// Environment variables set on every dfuse child, so that a mounter that
/// lost its state file can still tell which volume a dfuse serves (root can
/// read /proc/<pid>/environ).
const ENV_VOLUME_ID: &str = "DAOS_CSI_VOLUME_ID";
const ENV_EPHEMERAL: &str = "DAOS_CSI_EPHEMERAL";
/// Set by `main` when it chose D_POLL_TIMEOUT for this process (rather than
/// the operator); dfuse then gets the environment without it.
pub const ENV_POLL_TIMEOUT_DEFAULTED: &str = "DAOS_CSI_DEFAULTED_D_POLL_TIMEOUT";

#[derive(Debug, Clone)]
pub struct MounterConfig {
    pub dfuse_path: PathBuf,
    pub state_dir: PathBuf,
    pub kubelet_root: PathBuf,
    /// How long a new dfuse may take to show its mount.
    pub ready_timeout: Duration,
    /// Deadline of stat/statfs/umount calls.
    pub fs_timeout: Duration,
    /// How long an unmounted dfuse may take to exit before SIGKILL.
    pub stop_timeout: Duration,
    /// The DAOS agent socket dfuse talks to (told apart from other causes
    /// when a dfuse fails to start).
    pub agent_socket: PathBuf,
}

pub struct Mounter {
    cfg: MounterConfig,
    state: Mutex<StateFile>,
    locks: Arc<OpLocks>,
    /// Pids of the dfuse processes adopted at start: not our children, so
    /// their exit status is not ours to see (the exits of our children are
    /// counted by their reaper task).
    adopted: std::sync::Mutex<HashSet<u32>>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn internal(what: &str, e: impl std::fmt::Display) -> Status {
    Status::internal(format!("{what}: {e}"))
}

impl Mounter {
    /// Loads the state file and adopts the dfuse processes still running.
    pub async fn start(cfg: MounterConfig) -> io::Result<Arc<Mounter>> {
        std::fs::create_dir_all(cfg.state_dir.join("logs"))?;
        let loaded = state::load(&cfg.state_dir)?;
        let mounter = Arc::new(Mounter {
            cfg,
            state: Mutex::new(StateFile::default()),
            locks: OpLocks::new(),
            adopted: std::sync::Mutex::new(HashSet::new()),
        });
        mounter.adopt(loaded).await?;
        Ok(mounter)
    }

    async fn adopt(&self, loaded: StateFile) -> io::Result<()> {
        let mut kept = StateFile::default();
        for (mp, rec) in loaded.mounts {
            if dfuse_process_for(rec.pid, &mp).is_some() {
                tracing::info!(mountpoint = %mp.display(), pid = rec.pid, volume = %rec.spec.volume_id, "adopted running dfuse");
                kept.mounts.insert(mp, rec);
            } else {
                tracing::warn!(mountpoint = %mp.display(), pid = rec.pid, volume = %rec.spec.volume_id,
                    "dfuse from the previous run is gone; its mount is dead until the volume is staged again");
                if let Err(e) = sysmount::clear_dead_dfuse_mount(&mp, self.cfg.fs_timeout).await {
                    tracing::warn!(mountpoint = %mp.display(), error = %e, "could not detach dead mount");
                }
            }
        }
        // dfuse processes of ours that the state file does not know (lost or
        // older file): found through /proc, recognised by argv and env.
        for (pid, spec) in scan_dfuse_processes() {
            if kept.mounts.contains_key(&spec.mountpoint)
                || !spec.mountpoint.starts_with(&self.cfg.kubelet_root)
            {
                continue;
            }
            tracing::info!(mountpoint = %spec.mountpoint.display(), pid, volume = %spec.volume_id, "adopted dfuse found in /proc");
            let log = self.log_path(&spec.mountpoint);
            kept.mounts.insert(
                spec.mountpoint.clone(),
                MountRecord {
                    spec,
                    pid,
                    log,
                    started: now_secs(),
                },
            );
        }
        state::save(&self.cfg.state_dir, &kept)?;
        self.adopted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(kept.mounts.values().map(|r| r.pid));
        *self.state.lock().await = kept;
        Ok(())
    }

    fn log_path(&self, mountpoint: &Path) -> PathBuf {
        let tag = &crate::volume::sha256_hex(mountpoint.as_os_str().as_encoded_bytes())[..16];
        self.cfg
            .state_dir
            .join("logs")
            .join(format!("dfuse-{tag}.log"))
    }

    /// Serves the local API on `listener` (bound with [`bind_private_socket`]
    /// at `socket`) until `shutdown` resolves, then waits (bounded) for
    /// requests in flight. Never touches a mount on the way out.
    pub async fn serve(
        self: Arc<Self>,
        listener: UnixListener,
        socket: &Path,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        tracing::info!(socket = %socket.display(), "mounter listening");
        let mut tasks = JoinSet::new();
        // Clients keep connections open between requests; at shutdown an
        // idle connection is closed at once, a request in flight finishes.
        let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let me = Arc::clone(&self);
                        let stopping = stopping.clone();
                        tasks.spawn(async move { me.connection(stream, stopping).await });
                    }
                    Err(e) => tracing::warn!(error = %e, "mounter accept failed"),
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        drop(listener);
        let _ = std::fs::remove_file(socket);
        let _ = stopping_tx.send(true);
        let grace = self.cfg.ready_timeout + self.cfg.stop_timeout + Duration::from_secs(5);
        if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
            .await
            .is_err()
        {
            tracing::warn!("mounter requests still running at shutdown; leaving them");
        }
        tracing::info!("mounter stopped; dfuse processes keep running");
        Ok(())
    }

    async fn connection(&self, stream: UnixStream, mut stopping: watch::Receiver<bool>) {
        let uid = stream.peer_cred().map(|c| c.uid());
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        loop {
            let mut line = String::new();
            let mut limited = (&mut reader).take(MAX_LINE);
            let read = tokio::select! {
                read = limited.read_line(&mut line) => read,
                _ = stopping.wait_for(|stop| *stop) => return,
            };
            match read {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "mounter connection read failed");
                    return;
                }
            }
            let response = match uid {
                Ok(0) => match serde_json::from_str::<Request>(&line) {
                    Ok(req) => self.handle(req).await,
                    Err(e) => Response::from_status(&Status::invalid_argument(format!(
                        "bad request: {e}"
                    ))),
                },
                Ok(uid) => Response::from_status(&Status::permission_denied(format!(
                    "the mounter serves uid 0 only (caller uid {uid})"
                ))),
                Err(ref e) => Response::from_status(&internal("reading peer credentials", e)),
            };
            let mut out = match serde_json::to_string(&response) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "encoding a mounter response");
                    return;
                }
            };
            out.push('\n');
            if write.write_all(out.as_bytes()).await.is_err() || !matches!(uid, Ok(0)) {
                return;
            }
        }
    }

    pub async fn handle(&self, req: Request) -> Response {
        let result = match req {
            Request::Mount(spec) => self.mount(spec).await.map(|()| Response::Ok),
            Request::Unmount { mountpoint } => {
                self.unmount(&mountpoint).await.map(|()| Response::Ok)
            }
            Request::List => Ok(Response::Mounts {
                mounts: self.list().await,
            }),
            Request::Status { mountpoint } => self
                .status(&mountpoint)
                .await
                .map(|mount| Response::Mount { mount }),
        };
        result.unwrap_or_else(|s| {
            tracing::warn!(code = ?s.code(), message = s.message(), "mounter request failed");
            Response::from_status(&s)
        })
    }

    async fn resolve(&self, field: &'static str, mountpoint: &Path) -> Result<PathBuf, Status> {
        let root = self.cfg.kubelet_root.clone();
        let raw = mountpoint
            .to_str()
            .ok_or_else(|| Status::invalid_argument(format!("{field} is not UTF-8")))?
            .to_string();
        let fs_timeout = self.cfg.fs_timeout;
        sysmount::with_deadline(fs_timeout, "resolving a mountpoint", move || {
            Ok(crate::paths::contain(&root, field, &raw))
        })
        .await
        .map_err(|e| crate::errors::io_status("resolving the mountpoint", &e))?
    }

    async fn status_of(&self, rec: &MountRecord) -> MountStatus {
        let mounted = matches!(sysmount::dfuse_mount_at(&rec.spec.mountpoint), Ok(Some(_)));
        MountStatus {
            spec: rec.spec.clone(),
            pid: rec.pid,
            alive: dfuse_process_for(rec.pid, &rec.spec.mountpoint).is_some(),
            mounted,
            log: rec.log.clone(),
        }
    }

    pub async fn list(&self) -> Vec<MountStatus> {
        let records: Vec<MountRecord> = self.state.lock().await.mounts.values().cloned().collect();
        let mut out = Vec::with_capacity(records.len());
        for rec in &records {
            out.push(self.status_of(rec).await);
        }
        out
    }

    pub async fn status(&self, mountpoint: &Path) -> Result<Option<MountStatus>, Status> {
        let mp = self.resolve("mountpoint", mountpoint).await?;
        let rec = self.state.lock().await.mounts.get(&mp).cloned();
        match rec {
            Some(rec) => Ok(Some(self.status_of(&rec).await)),
            None => Ok(None),
        }
    }

    async fn save(&self, state: &StateFile) -> Result<(), Status> {
        let dir = self.cfg.state_dir.clone();
        let snapshot = state.clone();
        tokio::task::spawn_blocking(move || state::save(&dir, &snapshot))
            .await
            .map_err(|e| internal("saving mounter state", e))?
            .map_err(|e| internal("saving mounter state", e))
    }

    pub async fn mount(&self, requested: MountSpec) -> Result<(), Status> {
        let root = self.cfg.kubelet_root.clone();
        let spec = tokio::task::spawn_blocking(move || dfuse::validate(&requested, &root))
            .await
            .map_err(|e| internal("validating the mount", e))??;
        let mp = spec.mountpoint.clone();
        let key = mp.display().to_string();
        let _guard = self.locks.try_lock(&[&key])?;

        let existing = self.state.lock().await.mounts.get(&mp).cloned();
        let mut replacing = false;
        if let Some(rec) = existing {
            let st = self.status_of(&rec).await;
            let health = sysmount::probe(&mp, self.cfg.fs_timeout).await;
            // Replaced only when gone: its process exited, its mount is
            // missing, or the kernel says ENOTCONN. A dfuse that is merely
            // slow (DAOS busy, a rebuild) still serves the pods bound to it,
            // and a new one would cut them off for good.
            let gone = !st.healthy() || health.is_dead();
            if !gone {
                if matches!(health, sysmount::PathHealth::Hung) {
                    tracing::warn!(mountpoint = %mp.display(), pid = rec.pid,
                        "dfuse does not answer a statfs in time; leaving it running");
                }
                if rec.spec == spec {
                    tracing::info!(mountpoint = %mp.display(), volume = %spec.volume_id, "already mounted");
                    return Ok(());
                }
                return Err(Status::already_exists(format!(
                    "{} already has dfuse for volume {} with other options",
                    mp.display(),
                    rec.spec.volume_id
                )));
            }
            tracing::warn!(mountpoint = %mp.display(), pid = rec.pid, alive = st.alive, mounted = st.mounted,
                "replacing a broken dfuse");
            self.stop(&rec).await;
            let mut state = self.state.lock().await;
            state.mounts.remove(&mp);
            self.save(&state).await?;
            replacing = true;
        }

        sysmount::clear_dead_dfuse_mount(&mp, self.cfg.fs_timeout)
            .await
            .map_err(|e| internal("clearing a dead mount", e))?;
        match crate::mountinfo::lookup(&mp).map_err(|e| internal("reading mountinfo", e))? {
            Some(m) if m.is_dfuse() => {
                return Err(Status::failed_precondition(format!(
                    "a dfuse mount this mounter did not start is at {}; unmount it first",
                    mp.display()
                )));
            }
            Some(m) => {
                return Err(Status::failed_precondition(format!(
                    "{} already has a {} mount; refusing to mount over it",
                    mp.display(),
                    m.fs_type
                )));
            }
            None => {}
        }
        match std::fs::symlink_metadata(&mp) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Status::failed_precondition(format!(
                    "{} is not a directory",
                    mp.display()
                )));
            }
            Err(e) => {
                return Err(Status::failed_precondition(format!(
                    "mountpoint {}: {e}",
                    mp.display()
                )));
            }
        }
        self.start_dfuse(spec, replacing).await
    }

    /// Starts dfuse for `spec` and waits for its mount; `replacing` when it
    /// takes the place of a broken one (for the restart counter).
    async fn start_dfuse(&self, spec: MountSpec, replacing: bool) -> Result<(), Status> {
        let mp = spec.mountpoint.clone();
        let log = self.log_path(&mp);
        let log_file =
            std::fs::File::create(&log).map_err(|e| internal("creating the dfuse log", e))?;
        let log_err = log_file
            .try_clone()
            .map_err(|e| internal("creating the dfuse log", e))?;
        let argv = dfuse::args(&spec);
        tracing::info!(program = %self.cfg.dfuse_path.display(), args = ?argv, volume = %spec.volume_id, "starting dfuse");
        let mut cmd = tokio::process::Command::new(&self.cfg.dfuse_path);
        cmd.args(&argv)
            .env(ENV_VOLUME_ID, &spec.volume_id)
            .env(ENV_EPHEMERAL, if spec.ephemeral { "1" } else { "0" })
            .env_remove(ENV_POLL_TIMEOUT_DEFAULTED)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(log_err))
            // Its own process group: a terminal's Ctrl-C or a signal to the
            // mounter's group must not reach dfuse.
            .process_group(0)
            .kill_on_drop(false);
        if std::env::var_os(ENV_POLL_TIMEOUT_DEFAULTED).is_some() {
            cmd.env_remove("D_POLL_TIMEOUT");
        }
        let mut child = cmd.spawn().map_err(|e| {
            Status::failed_precondition(format!(
                "cannot run dfuse ({}): {e}",
                self.cfg.dfuse_path.display()
            ))
        })?;
        crate::metrics::global().dfuse_started(replacing);
        let pid = child
            .id()
            .ok_or_else(|| Status::internal("dfuse exited before its pid could be read"))?;
        // A recycled pid no longer names an adopted process.
        self.forget_adopted(pid);
        let record = MountRecord {
            spec: spec.clone(),
            pid,
            log: log.clone(),
            started: now_secs(),
        };
        {
            // Recorded before readiness, so a mounter that dies while dfuse
            // starts still finds and adopts (or cleans) it.
            let mut state = self.state.lock().await;
            state.mounts.insert(mp.clone(), record.clone());
            self.save(&state).await?;
        }
        let (exit_tx, mut exit_rx) = oneshot::channel();
        let reaped_mp = mp.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            tracing::info!(mountpoint = %reaped_mp.display(), pid, status = ?status, "dfuse exited");
            crate::metrics::global().dfuse_exited(&exit_label(status.as_ref().ok()));
            let _ = exit_tx.send(status);
        });

        let deadline = tokio::time::Instant::now() + self.cfg.ready_timeout;
        let mut poll = Duration::from_millis(2);
        let failure = loop {
            if matches!(sysmount::dfuse_mount_at(&mp), Ok(Some(_))) {
                tracing::info!(mountpoint = %mp.display(), pid, volume = %spec.volume_id, "dfuse is mounted");
                return Ok(());
            }
            if let Ok(status) = exit_rx.try_recv() {
                let how = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                break self.start_failure(&spec, &how, &log_tail(&log)).await;
            }
            if tokio::time::Instant::now() >= deadline {
                self.stop(&record).await;
                let tail = log_tail(&log);
                break Status::deadline_exceeded(format!(
                    "dfuse for {} did not mount {} within {:?}: {tail}",
                    spec.volume_id,
                    mp.display(),
                    self.cfg.ready_timeout
                ));
            }
            // dfuse mounts within milliseconds when all is well: look often
            // at first, then back off.
            tokio::time::sleep(poll).await;
            poll = (poll * 2).min(Duration::from_millis(100));
        };
        let mut state = self.state.lock().await;
        state.mounts.remove(&mp);
        self.save(&state).await?;
        Err(failure)
    }

    fn forget_adopted(&self, pid: u32) -> bool {
        self.adopted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&pid)
    }

    /// The status for a dfuse that exited (`how`) before mounting, having
    /// said `tail`. A DER code in its output decides; without one, an agent
    /// socket that accepts no connection explains it. dfuse prints nothing
    /// when `daos_init` fails (its exit status, `-(rc + 1000)` cut to 8 bits,
    /// cannot be told apart: DER_AGENT_COMM gives 10, as does DER_NOSPACE),
    /// and that failure is retried, never "not found".
    async fn start_failure(&self, spec: &MountSpec, how: &str, tail: &str) -> Status {
        let said = format!(
            "dfuse for {} exited ({how}) before mounting: {tail}",
            spec.volume_id
        );
        let code = code_from_dfuse_output(tail);
        let named_der = tail.contains("DER_");
        if !named_der && !crate::daos_client::agent_accepts(&self.cfg.agent_socket).await {
            return Status::unavailable(format!(
                "the DAOS agent socket {} accepts no connection (is daos_agent running on this node?); {said}",
                self.cfg.agent_socket.display()
            ));
        }
        Status::new(code, said)
    }

    /// Counts the exit of an adopted dfuse, whose status only its parent (a
    /// previous mounter, or init) saw.
    fn count_adopted_exit(&self, pid: u32) {
        if self.forget_adopted(pid) {
            crate::metrics::global().dfuse_exited("unknown");
        }
    }

    /// Unmounts (lazily if dead or stuck) and waits for the dfuse to exit,
    /// SIGKILL after the stop timeout.
    async fn stop(&self, rec: &MountRecord) {
        let mp = &rec.spec.mountpoint;
        if matches!(sysmount::dfuse_mount_at(mp), Ok(Some(_)))
            && let Err(e) = sysmount::unmount(mp, self.cfg.fs_timeout).await
        {
            tracing::warn!(mountpoint = %mp.display(), error = %e, "unmount failed");
        }
        let exited = wait_for_exit(rec.pid, mp, self.cfg.stop_timeout).await;
        if exited {
            self.count_adopted_exit(rec.pid);
        } else {
            tracing::warn!(mountpoint = %mp.display(), pid = rec.pid, "dfuse did not exit after unmount; killing it");
            if dfuse_process_for(rec.pid, mp).is_some() {
                let _ = kill(Pid::from_raw(rec.pid as i32), Signal::SIGKILL);
            }
            if wait_for_exit(rec.pid, mp, Duration::from_secs(5)).await {
                self.count_adopted_exit(rec.pid);
            }
            // A killed dfuse leaves a dead mount if the unmount did not work.
            let _ = sysmount::clear_dead_dfuse_mount(mp, self.cfg.fs_timeout).await;
        }
    }

    pub async fn unmount(&self, mountpoint: &Path) -> Result<(), Status> {
        let mp = self.resolve("mountpoint", mountpoint).await?;
        let key = mp.display().to_string();
        let _guard = self.locks.try_lock(&[&key])?;
        let rec = self.state.lock().await.mounts.get(&mp).cloned();
        match rec {
            Some(rec) => {
                self.stop(&rec).await;
                if matches!(sysmount::dfuse_mount_at(&mp), Ok(Some(_))) {
                    return Err(Status::internal(format!(
                        "{} is still mounted after unmount",
                        mp.display()
                    )));
                }
                let mut state = self.state.lock().await;
                state.mounts.remove(&mp);
                self.save(&state).await?;
                let _ = std::fs::remove_file(&rec.log);
                tracing::info!(mountpoint = %mp.display(), volume = %rec.spec.volume_id, "unmounted and stopped dfuse");
                Ok(())
            }
            None => {
                match crate::mountinfo::lookup(&mp).map_err(|e| internal("reading mountinfo", e))? {
                    // A dfuse mount we have no record of (state lost, dfuse died):
                    // still a DAOS mount in the kubelet tree, so ours to remove.
                    Some(m) if m.is_dfuse() => sysmount::unmount(&mp, self.cfg.fs_timeout)
                        .await
                        .map_err(|e| crate::errors::io_status("unmounting", &e)),
                    Some(m) => Err(Status::failed_precondition(format!(
                        "{} is a {} mount, not a dfuse mount; not touching it",
                        mp.display(),
                        m.fs_type
                    ))),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Binds a unix socket only root can use, replacing a stale socket file.
pub fn bind_private_socket(path: &Path) -> io::Result<UnixListener> {
    bind_socket(path, 0o600)
}

/// Binds a unix socket with `mode`, removing a leftover socket file first
/// (anything else at the path is an error, never deleted).
pub fn bind_socket(path: &Path, mode: u32) -> io::Result<UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(listener)
}

/// `Some(argv)` when `pid` is a live (not zombie) dfuse started for
/// `mountpoint` in the form this module builds.
fn dfuse_process_for(pid: u32, mountpoint: &Path) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat.rsplit_once(") ")?.1.chars().next()?;
    if matches!(state, 'Z' | 'X' | 'x') {
        return None;
    }
    let argv = read_cmdline(pid)?;
    let spec = dfuse::spec_from_args(&argv)?;
    (spec.mountpoint == mountpoint).then_some(argv)
}

fn read_cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

fn read_environ(pid: u32, name: &str) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    raw.split(|b| *b == 0).find_map(|kv| {
        let kv = String::from_utf8_lossy(kv);
        kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string)
    })
}

/// dfuse processes started by a daos-csi mounter (they carry our env tag)
/// whose mount is still in place.
fn scan_dfuse_processes() -> Vec<(u32, MountSpec)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(volume_id) = read_environ(pid, ENV_VOLUME_ID) else {
            continue;
        };
        let Some(argv) = read_cmdline(pid) else {
            continue;
        };
        let Some(mut spec) = dfuse::spec_from_args(&argv) else {
            continue;
        };
        if dfuse_process_for(pid, &spec.mountpoint).is_none()
            || !matches!(sysmount::dfuse_mount_at(&spec.mountpoint), Ok(Some(_)))
        {
            continue;
        }
        spec.volume_id = volume_id;
        spec.ephemeral = read_environ(pid, ENV_EPHEMERAL).is_some_and(|v| v == "1");
        found.push((pid, spec));
    }
    found
}

async fn wait_for_exit(pid: u32, mountpoint: &Path, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if dfuse_process_for(pid, mountpoint).is_none() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `code` label of a dfuse exit: its exit code, or the signal that
/// killed it.
fn exit_label(status: Option<&std::process::ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    let Some(status) = status else {
        return "unknown".into();
    };
    if let Some(code) = status.code() {
        return code.to_string();
    }
    match status.signal().map(Signal::try_from) {
        Some(Ok(sig)) => sig.as_str().to_string(),
        Some(Err(_)) => status
            .signal()
            .map_or_else(|| "unknown".into(), |n| format!("signal_{n}")),
        None => "unknown".into(),
    }
}

/// The last lines of a dfuse log (its own error text for the caller).
fn log_tail(log: &Path) -> String {
    const MAX_BYTES: usize = 2048;
    let Ok(bytes) = std::fs::read(log) else {
        return "(no dfuse output)".into();
    };
    let start = bytes.len().saturating_sub(MAX_BYTES);
    let text = String::from_utf8_lossy(&bytes[start..]);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(10)..].join(" | ");
    if tail.is_empty() {
        "(no dfuse output)".into()
    } else {
        tail
    }
}

/// A gRPC code for a dfuse start-up failure, mapped as every other DAOS
/// error is: the DER name dfuse printed (`Exiting -1005 DER_NONEXIST`; the
/// last one, dfuse's exit code, wins), else the errno of its
/// `Failed to connect to container: 2 (No such file or directory)` form.
/// Neither: INTERNAL.
fn code_from_dfuse_output(out: &str) -> Code {
    let der = out
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .rev()
        .filter(|word| word.starts_with("DER_"))
        .find_map(daos::Der::from_name);
    if let Some(der) = der {
        // dfuse's start-up talks to the agent (daos_init, the credential
        // request of the pool connect) before any server, which is where
        // DER_MISC means "the agent refused" (daos::Error::is_unavailable).
        return crate::errors::code_for(&daos::Error::from_der("daos_pool_connect2", der));
    }
    dfuse_errno(out).map_or(Code::Internal, crate::errors::code_for_errno)
}

/// The last `N (strerror text)` errno in dfuse's output.
fn dfuse_errno(out: &str) -> Option<i32> {
    out.match_indices(" (")
        .filter_map(|(at, _)| {
            let before = &out[..at];
            let word = before.rsplit([' ', ':', '|']).next()?;
            word.parse::<i32>().ok().filter(|n| *n > 0)
        })
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("l");
        let body: String = (0..50).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&log, body).unwrap();
        let t = log_tail(&log);
        assert!(t.ends_with("line 49"), "{t}");
        assert!(!t.contains("line 39 "), "{t}");
        assert_eq!(log_tail(&dir.path().join("none")), "(no dfuse output)");
    }

    #[test]
    fn dfuse_errors_classified() {
        assert_eq!(
            code_from_dfuse_output("Exiting -1005 DER_NONEXIST"),
            Code::NotFound
        );
        assert_eq!(
            code_from_dfuse_output("DER_NO_PERM(-1001)"),
            Code::PermissionDenied
        );
        assert_eq!(code_from_dfuse_output("Stale mount point"), Code::Internal);
        // Every DER goes through the one table of errors.rs.
        let table = [
            (
                "Exiting -1012 DER_BUSY(-1012): 'Device or resource busy'",
                Code::FailedPrecondition,
            ),
            (
                "Failed to connect to pool: 28 (No space left on device) | Exiting -1007 DER_NOSPACE",
                Code::ResourceExhausted,
            ),
            ("Exiting -1011 DER_TIMEDOUT", Code::DeadlineExceeded),
            ("Exiting -2034 DER_AGENT_COMM", Code::Unavailable),
            ("Exiting -1025 DER_MISC", Code::Unavailable),
            ("Exiting -2050 DER_CONT_NONEXIST", Code::NotFound),
            ("Exiting -1003 DER_INVAL", Code::InvalidArgument),
            // The exit code is the last DER printed.
            (
                "retrying after DER_NONEXIST | Exiting -1006 DER_UNREACH",
                Code::Unavailable,
            ),
            ("Exiting -1 DER_NOT_A_CODE", Code::Internal),
            // No DER name: the errno dfuse printed.
            (
                "Failed to connect to container: 2 (No such file or directory)",
                Code::NotFound,
            ),
            (
                "Failed to connect to pool: 13 (Permission denied)",
                Code::PermissionDenied,
            ),
            (
                "Error resolving mount point: 107 (Transport endpoint is not connected)",
                Code::Unavailable,
            ),
            ("dfuse (pid 12) said nothing useful", Code::Internal),
        ];
        for (out, code) in table {
            assert_eq!(code_from_dfuse_output(out), code, "{out}");
        }
    }

    #[test]
    fn exit_labels() {
        use std::os::unix::process::ExitStatusExt;
        let exited = |raw| exit_label(Some(&std::process::ExitStatus::from_raw(raw)));
        assert_eq!(exited(0), "0");
        assert_eq!(exited(3 << 8), "3");
        assert_eq!(exited(9), "SIGKILL");
        assert_eq!(exited(15), "SIGTERM");
        assert_eq!(exit_label(None), "unknown");
    }

    #[test]
    fn this_process_is_not_a_dfuse() {
        assert!(dfuse_process_for(std::process::id(), Path::new("/x")).is_none());
        assert!(dfuse_process_for(u32::MAX - 1, Path::new("/x")).is_none());
    }

    #[tokio::test]
    async fn stale_socket_is_replaced_but_files_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("m.sock");
        let first = bind_private_socket(&sock).unwrap();
        drop(first);
        let _second = bind_private_socket(&sock).unwrap();
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").unwrap();
        assert!(bind_private_socket(&file).is_err());
        assert!(file.exists());
    }

    /// The socket is root-only by its mode; behind that, the mounter checks
    /// the caller's uid itself (SO_PEERCRED), so a socket made reachable by
    /// mistake (a wrong hostPath mode) still mounts nothing for others.
    #[tokio::test]
    async fn a_caller_other_than_root_is_refused() {
        if !nix::unistd::geteuid().is_root() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must run this test as root"
            );
            println!("SKIP: a_caller_other_than_root_is_refused needs root");
            return;
        }
        let root = tempfile::tempdir().unwrap();
        let state_dir = tempfile::tempdir().unwrap();
        let sock_dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(sock_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let sock = sock_dir.path().join("mounter.sock");
        let listener = bind_socket(&sock, 0o666).unwrap();
        let mounter = Mounter::start(test_mounter(root.path(), state_dir.path()))
            .await
            .unwrap();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let served = {
            let sock = sock.clone();
            tokio::spawn(async move {
                mounter
                    .serve(listener, &sock, async {
                        let _ = stop_rx.await;
                    })
                    .await
            })
        };

        let request = serde_json::to_string(&Request::List).unwrap();
        let client = "import socket,sys\n\
                      s=socket.socket(socket.AF_UNIX)\n\
                      s.connect(sys.argv[1])\n\
                      s.sendall(sys.argv[2].encode()+b'\\n')\n\
                      sys.stdout.write(s.makefile().readline())\n";
        let sock_arg = sock.clone();
        let output = tokio::task::spawn_blocking(move || {
            use std::os::unix::process::CommandExt;
            std::process::Command::new("python3")
                .args(["-c", client])
                .arg(&sock_arg)
                .arg(&request)
                .uid(65534)
                .gid(65534)
                .output()
        })
        .await
        .unwrap()
        .expect("running python3 as uid 65534");
        assert!(
            output.status.success(),
            "the unprivileged client failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let reply: Response = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("reply {:?}: {e}", String::from_utf8_lossy(&output.stdout)));
        match reply {
            Response::Error { code, message } => {
                assert_eq!(super::super::code_from_name(&code), Code::PermissionDenied);
                assert!(message.contains("uid 65534"), "{message}");
            }
            other => panic!("uid 65534 was served: {other:?}"),
        }

        // Root, on the same socket, is served.
        let client = super::super::MounterClient::new(&sock, Duration::from_secs(5));
        assert!(client.list().await.unwrap().is_empty());
        stop_tx.send(()).unwrap();
        served.await.unwrap().unwrap();
    }

    fn test_mounter(root: &Path, state: &Path) -> MounterConfig {
        MounterConfig {
            dfuse_path: "/bin/false".into(),
            state_dir: state.to_path_buf(),
            kubelet_root: root.to_path_buf(),
            ready_timeout: Duration::from_secs(5),
            fs_timeout: Duration::from_secs(5),
            stop_timeout: Duration::from_secs(1),
            agent_socket: state.join("no-agent.sock"),
        }
    }

    #[tokio::test]
    async fn failed_dfuse_start_reports_and_forgets() {
        let root = tempfile::tempdir().unwrap();
        let state_dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("m")).unwrap();
        let mounter = Mounter::start(test_mounter(root.path(), state_dir.path()))
            .await
            .unwrap();
        let spec = MountSpec {
            volume_id: "v".into(),
            mountpoint: root.path().join("m"),
            pool: "tank".into(),
            container: "c".into(),
            system: None,
            read_only: false,
            multi_user: true,
            caching: None,
            wb_cache: None,
            thread_count: None,
            eq_count: None,
            ephemeral: false,
        };
        let err = mounter.mount(spec).await.unwrap_err();
        assert!(err.message().contains("exited"), "{}", err.message());
        // /bin/false says nothing and no agent listens: the agent is blamed,
        // as a retryable condition.
        assert_eq!(err.code(), Code::Unavailable, "{}", err.message());
        assert!(err.message().contains("no-agent.sock"), "{}", err.message());
        assert!(mounter.list().await.is_empty());
        assert!(state::load(state_dir.path()).unwrap().mounts.is_empty());
        // Unmount of something never mounted is fine.
        mounter.unmount(&root.path().join("m")).await.unwrap();
        // Paths outside the kubelet root are refused.
        let err = mounter.unmount(Path::new("/etc")).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
    }
}

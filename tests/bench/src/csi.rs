//! Items 1, 2, 3 and 6: the real `daos-csi` binary over its unix socket, driven by a CSI client
//! the way external-provisioner and kubelet drive it, against an emulated DAOS system.

use crate::host::Memory;
use crate::report::{Figure, Samples, Target};
use crate::rig::NodeRig;
use daos_csi_e2e::*;
use futures::stream::{self, StreamExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent callers of item 1's throughput figure.
pub const CALLERS: usize = 64;
/// Calls kubelet has in flight at once in item 3 (one per pod worker).
const NODE_IN_FLIGHT: usize = 32;
/// Pods each staged volume is published to in item 3.
const PODS_PER_VOLUME: usize = 5;
/// Calls before the timed ones: connections, the pool handle cache, the page cache.
const WARM_UP: usize = 20;
const MIB: u64 = 1 << 20;

/// Sample counts of one run.
#[derive(Clone, Copy, Debug)]
pub struct Counts {
    /// Item 1: create+delete pairs one at a time.
    pub controller_pairs: usize,
    /// Item 1: volumes created (then deleted) by 64 callers.
    pub throughput_volumes: usize,
    /// Item 2: publish+unpublish pairs.
    pub publish_pairs: usize,
    /// Item 3: volumes staged on the node, and how long its cycle may take.
    pub node_volumes: usize,
    pub node_budget: Duration,
    /// Item 6: MiB per dd, and the rounds of (direct, published).
    pub dd_mib: u64,
    pub dd_rounds: usize,
}

impl Counts {
    pub fn new(quick: bool) -> Counts {
        if quick {
            Counts {
                controller_pairs: 200,
                throughput_volumes: 512,
                publish_pairs: 200,
                node_volumes: 50,
                node_budget: Duration::from_secs(60),
                dd_mib: 256,
                dd_rounds: 1,
            }
        } else {
            Counts {
                controller_pairs: 1_000,
                throughput_volumes: 2_048,
                publish_pairs: 1_000,
                node_volumes: 200,
                node_budget: Duration::from_secs(180),
                dd_mib: 1_024,
                dd_rounds: 5,
            }
        }
    }
}

fn failed(what: &str, status: Status) -> String {
    format!("{what}: {:?}: {}", status.code(), status.message())
}

fn rate(n: usize, wall: Duration) -> f64 {
    n as f64 / wall.as_secs_f64()
}

/// Item 1: CreateVolume and DeleteVolume on a controller-only process.
pub async fn controller(counts: Counts) -> Result<Vec<Figure>, String> {
    let cluster = Arc::new(
        Cluster::start(ClusterConfig {
            layout: Layout::Roles("controller"),
            pool_size: "64G".to_string(),
            ..Default::default()
        })
        .await,
    );
    for i in 0..WARM_UP {
        let volume = cluster
            .create_volume(&format!("pvc-warm-{i}"), &[])
            .await
            .map_err(|s| failed("warm-up CreateVolume", s))?;
        cluster
            .delete_volume(&volume.volume_id)
            .await
            .map_err(|s| failed("warm-up DeleteVolume", s))?;
    }

    let pairs = counts.controller_pairs;
    eprintln!("bench: item 1: {pairs} CreateVolume + DeleteVolume, one at a time");
    let mut creates = Samples::with_capacity(pairs);
    let mut deletes = Samples::with_capacity(pairs);
    for i in 0..pairs {
        let t = Instant::now();
        let volume = cluster
            .create_volume(&format!("pvc-seq-{i}"), &[])
            .await
            .map_err(|s| failed("CreateVolume", s))?;
        creates.push(t.elapsed());
        let t = Instant::now();
        cluster
            .delete_volume(&volume.volume_id)
            .await
            .map_err(|s| failed("DeleteVolume", s))?;
        deletes.push(t.elapsed());
    }

    let n = counts.throughput_volumes;
    eprintln!("bench: item 1: {n} CreateVolume then {n} DeleteVolume by {CALLERS} callers");
    let (ids, create_load, create_wall) = concurrently(n, {
        let cluster = cluster.clone();
        move |i| {
            let cluster = cluster.clone();
            async move {
                cluster
                    .create_volume(&format!("pvc-par-{i}"), &[])
                    .await
                    .map(|v| v.volume_id)
                    .map_err(|s| failed("CreateVolume", s))
            }
        }
    })
    .await?;
    let ids = Arc::new(ids);
    let (_, delete_load, delete_wall) = concurrently(n, {
        let (cluster, ids) = (cluster.clone(), ids.clone());
        move |i| {
            let (cluster, ids) = (cluster.clone(), ids.clone());
            async move {
                cluster
                    .delete_volume(&ids[i])
                    .await
                    .map_err(|s| failed("DeleteVolume", s))
            }
        }
    })
    .await?;

    let two_ms = Target::P50Below(Duration::from_millis(2));
    Ok(vec![
        Figure::latency(1, "CreateVolume, 1 at a time", &creates, two_ms.clone()),
        Figure::latency(1, "DeleteVolume, 1 at a time", &deletes, two_ms),
        Figure::value(
            1,
            "CreateVolume throughput, 64 callers",
            n,
            rate(n, create_wall),
            "volumes/s",
            Target::AtLeast(500.0),
        )
        .note(format!(
            "{n} volumes in {:.2} s; latency under load p50 {}, p99 {}",
            create_wall.as_secs_f64(),
            crate::report::format_duration(create_load.quantile(0.5)),
            crate::report::format_duration(create_load.quantile(0.99)),
        )),
        Figure::value(
            1,
            "DeleteVolume throughput, 64 callers",
            n,
            rate(n, delete_wall),
            "volumes/s",
            Target::AtLeast(500.0),
        )
        .note(format!(
            "{n} volumes in {:.2} s; latency under load p50 {}, p99 {}",
            delete_wall.as_secs_f64(),
            crate::report::format_duration(delete_load.quantile(0.5)),
            crate::report::format_duration(delete_load.quantile(0.99)),
        )),
    ])
}

/// Runs `call(0..n)` from [`CALLERS`] tasks, each taking the next index when it is free.
/// Returns the results in index order, every call's latency, and the wall time.
async fn concurrently<T, F, Fut>(n: usize, call: F) -> Result<(Vec<T>, Samples, Duration), String>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, String>> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let call = Arc::new(call);
    let start = Instant::now();
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..CALLERS {
        let (next, call) = (next.clone(), call.clone());
        callers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(done);
                }
                let t = Instant::now();
                let value = call(i).await?;
                done.push((i, value, t.elapsed()));
            }
        });
    }
    let mut all = Vec::with_capacity(n);
    while let Some(joined) = callers.join_next().await {
        all.extend(joined.map_err(|e| format!("caller task: {e}"))??);
    }
    let wall = start.elapsed();
    all.sort_by_key(|(i, _, _)| *i);
    let mut latencies = Samples::with_capacity(n);
    let values = all
        .into_iter()
        .map(|(_, value, latency)| {
            latencies.push(latency);
            value
        })
        .collect();
    Ok((values, latencies, wall))
}

/// Item 2: NodePublishVolume and NodeUnpublishVolume of one staged volume.
pub async fn publish(counts: Counts) -> Result<Vec<Figure>, String> {
    let rig = NodeRig::start("8G").await;
    let result = publish_on(&rig, counts).await;
    result.map_err(|e| format!("{e}\n{}", rig.log_tails()))
}

async fn publish_on(rig: &NodeRig, counts: Counts) -> Result<Vec<Figure>, String> {
    let volume = rig
        .cluster
        .create_volume("pvc-publish", &[])
        .await
        .map_err(|s| failed("CreateVolume", s))?;
    let staging = rig
        .stage(&volume)
        .await
        .map_err(|s| failed("NodeStageVolume", s))?;
    let pairs = counts.publish_pairs;
    eprintln!("bench: item 2: {pairs} NodePublishVolume + NodeUnpublishVolume");
    let mut publishes = Samples::with_capacity(pairs);
    let mut unpublishes = Samples::with_capacity(pairs);
    for i in 0..WARM_UP + pairs {
        // A few pods in turn: kubelet prepares a fresh target directory for each pod.
        let pod = format!("pod-{}", i % 8);
        let t = Instant::now();
        let target = rig
            .publish(&volume, &staging, &pod)
            .await
            .map_err(|s| failed("NodePublishVolume", s))?;
        let published = t.elapsed();
        if i == 0 && !is_mounted(&target) {
            return Err(format!("{} is not mounted after publish", target.display()));
        }
        let t = Instant::now();
        rig.unpublish(&volume.volume_id, &target)
            .await
            .map_err(|s| failed("NodeUnpublishVolume", s))?;
        if i >= WARM_UP {
            publishes.push(published);
            unpublishes.push(t.elapsed());
        }
    }
    let grpc = grpc_round_trips(rig, pairs).await?;
    let statfs = statfs_calls(&staging, pairs).await?;
    rig.unstage(&volume.volume_id, &staging)
        .await
        .map_err(|s| failed("NodeUnstageVolume", s))?;
    rig.cluster
        .delete_volume(&volume.volume_id)
        .await
        .map_err(|s| failed("DeleteVolume", s))?;
    let one_ms = Target::P50Below(Duration::from_millis(1));
    let threads = thread_round_trips(pairs).await;
    let pooled = pooled_round_trips(pairs).await;
    let (mount_table, mount_lines) = mountinfo_reads(pairs);
    Ok(vec![
        Figure::latency(2, "NodePublishVolume (staged)", &publishes, one_ms.clone()),
        Figure::latency(2, "NodeUnpublishVolume", &unpublishes, one_ms),
        Figure::latency(
            2,
            "calibration: GetPluginInfo on the node socket",
            &grpc,
            Target::None,
        )
        .note("the gRPC round trip every CSI call pays, client included"),
        Figure::latency(
            2,
            "calibration: statfs of the staged dfuse mount",
            &statfs,
            Target::None,
        )
        .note("one FUSE round trip to the emulated dfuse (the node probes the staging mount)"),
        Figure::latency(
            2,
            "calibration: new thread + answer, from async",
            &threads,
            Target::None,
        )
        .note("what a deadline-guarded file system call would pay with a thread of its own"),
        Figure::latency(
            2,
            "calibration: pooled thread + answer, from async",
            &pooled,
            Target::None,
        )
        .note(
            "what the node plugin pays per deadline-guarded file system call \
             (daos_csi::sysmount::with_deadline: an idle thread of its pool)",
        ),
        Figure::latency(
            2,
            "calibration: read /proc/self/mountinfo",
            &mount_table,
            Target::None,
        )
        .note(format!(
            "{mount_lines} mounts on the machine when measured (all of them, other tests' too)"
        )),
    ])
}

/// Latency of the cheapest CSI call on the node plugin's socket.
async fn grpc_round_trips(rig: &NodeRig, n: usize) -> Result<Samples, String> {
    let mut identity = rig.node_identity();
    let mut samples = Samples::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        identity
            .get_plugin_info(csi::GetPluginInfoRequest {})
            .await
            .map_err(|s| failed("GetPluginInfo", s))?;
        samples.push(t.elapsed());
    }
    Ok(samples)
}

/// Latency of statfs(2) on a dfuse mount, from a blocking thread as the driver calls it.
async fn statfs_calls(path: &Path, n: usize) -> Result<Samples, String> {
    let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|e| format!("staging path: {e}"))?;
    tokio::task::spawn_blocking(move || {
        let mut samples = Samples::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            // SAFETY: statfs writes into a zeroed struct we own; `path` is NUL-terminated.
            let rc = unsafe {
                let mut st: libc::statfs = std::mem::zeroed();
                libc::statfs(path.as_ptr(), &mut st)
            };
            if rc != 0 {
                return Err(format!("statfs: {}", std::io::Error::last_os_error()));
            }
            samples.push(t.elapsed());
        }
        Ok(samples)
    })
    .await
    .map_err(|e| format!("statfs task: {e}"))?
}

/// Latency of starting an OS thread from a runtime task and awaiting its answer: the
/// machine's price for each file system call the node plugin runs on a thread of its own.
async fn thread_round_trips(n: usize) -> Samples {
    let mut samples = Samples::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = std::thread::Builder::new().spawn(move || {
            let _ = tx.send(());
        });
        if spawned.is_ok() && rx.await.is_ok() {
            samples.push(t.elapsed());
        }
    }
    samples
}

/// The same through the driver's own deadline-guarded call.
async fn pooled_round_trips(n: usize) -> Samples {
    let mut samples = Samples::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let answered =
            daos_csi::sysmount::with_deadline(Duration::from_secs(5), "bench", || Ok(())).await;
        if answered.is_ok() {
            samples.push(t.elapsed());
        }
    }
    samples
}

/// Latency of reading the mount table once, and its size in lines: the driver reads it
/// once per publish or unpublish (twice when it must look again), and its size is the whole
/// machine's.
fn mountinfo_reads(n: usize) -> (Samples, usize) {
    let mut samples = Samples::with_capacity(n);
    let mut lines = 0;
    for _ in 0..n {
        let t = Instant::now();
        if let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") {
            samples.push(t.elapsed());
            lines = text.lines().count();
        }
    }
    (samples, lines)
}

struct Staged {
    volume: csi::Volume,
    staging: PathBuf,
}

/// Item 3: a node with many volumes staged and five pods per volume.
pub async fn node_at_scale(counts: Counts) -> Result<Vec<Figure>, String> {
    let rig = Arc::new(NodeRig::start("64G").await);
    let result = node_at_scale_on(&rig, counts).await;
    result.map_err(|e| format!("{e}\n{}", rig.log_tails()))
}

/// Runs `call` over `items` with [`NODE_IN_FLIGHT`] in flight; the first error wins.
async fn kubelet_wave<I, T, F, Fut>(items: Vec<I>, call: F) -> Result<Vec<T>, String>
where
    F: Fn(I) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let results: Vec<Result<T, String>> = stream::iter(items)
        .map(call)
        .buffer_unordered(NODE_IN_FLIGHT)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn settle_and_measure(pid: i32) -> Result<Memory, String> {
    // Let freed memory go back and background tasks finish before "idle" is read.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Memory::of(pid).ok_or_else(|| format!("cannot read /proc/{pid}/status"))
}

/// The timed part of item 3, phase by phase, within the bench's time budget.
struct NodeCycle {
    budget: Duration,
    start: Instant,
    /// (phase, calls done, calls wanted, wall time).
    phases: Vec<(&'static str, usize, usize, Duration)>,
}

impl NodeCycle {
    fn new(budget: Duration) -> NodeCycle {
        NodeCycle {
            budget,
            start: Instant::now(),
            phases: Vec::new(),
        }
    }

    /// Runs one wave of calls; `None` when the budget ran out first (the calls still in
    /// flight are abandoned, and what they left is cleaned up with the deployment).
    async fn phase<I, T, F, Fut>(
        &mut self,
        name: &'static str,
        items: Vec<I>,
        call: F,
    ) -> Result<Option<Vec<T>>, String>
    where
        F: Fn(I) -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        let wanted = items.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let counted = |item| {
            let call = call(item);
            let done = &done;
            async move {
                let value = call.await?;
                done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(value)
            }
        };
        let left = self.budget.saturating_sub(self.start.elapsed());
        let t = Instant::now();
        let outcome = tokio::time::timeout(left, kubelet_wave(items, counted)).await;
        let done = done.load(std::sync::atomic::Ordering::Relaxed);
        self.phases.push((name, done, wanted, t.elapsed()));
        match outcome {
            Ok(result) => result.map(Some),
            Err(_) => Ok(None),
        }
    }

    fn finished(&self) -> bool {
        self.phases
            .iter()
            .all(|(_, done, wanted, _)| done == wanted)
    }

    fn describe(&self) -> String {
        self.phases
            .iter()
            .map(|(name, done, wanted, wall)| {
                if done == wanted {
                    format!("{name} {:.2} s", wall.as_secs_f64())
                } else {
                    format!(
                        "{name}: only {done} of {wanted} in {:.0} s",
                        wall.as_secs_f64()
                    )
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn node_at_scale_on(rig: &Arc<NodeRig>, counts: Counts) -> Result<Vec<Figure>, String> {
    let (node, mounter) = (rig.node_pid(), rig.mounter_pid());
    let node_idle = settle_and_measure(node).await?;
    let mounter_idle = settle_and_measure(mounter).await?;

    let volumes = counts.node_volumes;
    let publishes = volumes * PODS_PER_VOLUME;
    eprintln!(
        "bench: item 3: {volumes} volumes staged, {publishes} publishes (budget {:?})",
        counts.node_budget
    );
    let created = kubelet_wave((0..volumes).collect(), |i| async move {
        rig.cluster
            .create_volume(&format!("pvc-node-{i:03}"), &[])
            .await
            .map_err(|s| failed("CreateVolume", s))
    })
    .await?;

    let mut cycle = NodeCycle::new(counts.node_budget);
    let mut dfuse_rss = 0.0;
    let mut peak_mounts = 0;
    let staged = cycle
        .phase("stage", created, |volume| async move {
            let staging = rig
                .stage(&volume)
                .await
                .map_err(|s| failed("NodeStageVolume", s))?;
            Ok(Staged { volume, staging })
        })
        .await?;
    if let Some(staged) = &staged {
        dfuse_rss = dfuse_rss_mib(&rig.cluster.daos.agent_dir);
        let pods: Vec<(usize, usize)> = (0..volumes)
            .flat_map(|v| (0..PODS_PER_VOLUME).map(move |p| (v, p)))
            .collect();
        let targets = cycle
            .phase("publish", pods, |(v, p)| async move {
                let s = &staged[v];
                rig.publish(&s.volume, &s.staging, &format!("pod-{v:03}-{p}"))
                    .await
                    .map(|target| (v, target))
                    .map_err(|s| failed("NodePublishVolume", s))
            })
            .await?;
        peak_mounts = mounts_under_count(&rig.cluster.kubelet.root);
        if let Some(targets) = targets {
            if peak_mounts != volumes + publishes {
                return Err(format!(
                    "expected {} mounts under the kubelet root with everything published, saw {peak_mounts}",
                    volumes + publishes
                ));
            }
            let unpublished = cycle
                .phase("unpublish", targets, |(v, target)| async move {
                    rig.unpublish(&staged[v].volume.volume_id, &target)
                        .await
                        .map_err(|s| failed("NodeUnpublishVolume", s))
                })
                .await?;
            if unpublished.is_some() {
                cycle
                    .phase("unstage", staged.iter().collect(), |s| async move {
                        rig.unstage(&s.volume.volume_id, &s.staging)
                            .await
                            .map_err(|e| failed("NodeUnstageVolume", e))
                    })
                    .await?;
            }
        }
    }
    let cycle_wall = cycle.start.elapsed();
    let finished = cycle.finished();

    let node_after = settle_and_measure(node).await?;
    let mounter_after = settle_and_measure(mounter).await?;
    if finished && let Some(staged) = staged {
        kubelet_wave(staged, |s| async move {
            rig.cluster
                .delete_volume(&s.volume.volume_id)
                .await
                .map_err(|e| failed("DeleteVolume", e))
        })
        .await?;
    }

    let cycle_name = format!("node cycle: {volumes} staged, {publishes} published, all undone");
    let cycle_figure = if finished {
        Figure::value(
            3,
            &cycle_name,
            volumes + publishes,
            cycle_wall.as_secs_f64(),
            "s",
            Target::None,
        )
    } else {
        Figure::value(
            3,
            &format!("{cycle_name}: DID NOT FINISH"),
            volumes + publishes,
            cycle_wall.as_secs_f64(),
            "s",
            Target::Failed,
        )
    };
    let after = |m: &Memory| {
        if finished {
            format!("RSS {:.2} MiB idle again after the cycle", m.rss_mib())
        } else {
            format!("RSS {:.2} MiB when the cycle was abandoned", m.rss_mib())
        }
    };
    Ok(vec![
        cycle_figure.note(format!(
            "{NODE_IN_FLIGHT} calls in flight; {}; {peak_mounts} mounts at the peak",
            cycle.describe()
        )),
        Figure::value(
            3,
            "node plugin RSS, idle",
            1,
            node_idle.rss_mib(),
            "MiB",
            Target::Below(8.0),
        ),
        Figure::value(
            3,
            "node plugin RSS, peak (VmHWM)",
            1,
            node_after.peak_mib(),
            "MiB",
            Target::Below(30.0),
        )
        .note(after(&node_after)),
        Figure::value(
            3,
            "mounter RSS, idle",
            1,
            mounter_idle.rss_mib(),
            "MiB",
            Target::None,
        ),
        Figure::value(
            3,
            "mounter RSS, peak (VmHWM)",
            1,
            mounter_after.peak_mib(),
            "MiB",
            Target::None,
        )
        .note(after(&mounter_after)),
        Figure::value(
            3,
            &format!("emulated dfuse RSS, sum of {volumes}"),
            volumes,
            dfuse_rss,
            "MiB",
            Target::None,
        )
        .note("the emulator's dfuse, not DAOS's: says nothing about real dfuse"),
    ])
}

/// Total resident memory of the dfuse processes serving the DAOS system in `agent_dir`.
fn dfuse_rss_mib(agent_dir: &Path) -> f64 {
    daos_csi_e2e::procs::dfuse_of_system(agent_dir)
        .into_iter()
        .filter_map(|p| Memory::of(p.pid))
        .map(|m| m.rss_mib())
        .sum()
}

fn mounts_under_count(root: &Path) -> usize {
    daos_csi_e2e::mounts::mounts_under(root).len()
}

/// Item 6: `dd` through the published bind mount against dd on the dfuse mount itself.
pub async fn data_path(counts: Counts) -> Result<Vec<Figure>, String> {
    let rig = NodeRig::start("64G").await;
    let result = data_path_on(&rig, counts).await;
    result.map_err(|e| format!("{e}\n{}", rig.log_tails()))
}

async fn data_path_on(rig: &NodeRig, counts: Counts) -> Result<Vec<Figure>, String> {
    let volume = rig
        .cluster
        .create_volume("pvc-dd", &[])
        .await
        .map_err(|s| failed("CreateVolume", s))?;
    let staging = rig
        .stage(&volume)
        .await
        .map_err(|s| failed("NodeStageVolume", s))?;
    let target = rig
        .publish(&volume, &staging, "pod-dd")
        .await
        .map_err(|s| failed("NodePublishVolume", s))?;
    for path in [&staging, &target] {
        if !is_mounted(path) {
            return Err(format!("{} is not mounted", path.display()));
        }
    }
    let mib = counts.dd_mib;
    eprintln!(
        "bench: item 6: dd of {mib} MiB, {} rounds of (dfuse mount, published target)",
        counts.dd_rounds
    );
    // A short write first, so neither side pays for dfuse's first file.
    dd(&staging.join("warm-up"), 16).await?;
    let mut direct = Vec::new();
    let mut published = Vec::new();
    for round in 0..counts.dd_rounds {
        // Alternate which goes first, so a drift in the machine's load hits both sides.
        let order = if round % 2 == 0 {
            [(&staging, false), (&target, true)]
        } else {
            [(&target, true), (&staging, false)]
        };
        for (dir, is_published) in order {
            let seconds = dd(&dir.join(format!("dd-{round}")), mib).await?;
            let throughput = mib as f64 / seconds;
            if is_published {
                published.push(throughput);
            } else {
                direct.push(throughput);
            }
        }
    }
    rig.unpublish(&volume.volume_id, &target)
        .await
        .map_err(|s| failed("NodeUnpublishVolume", s))?;
    rig.unstage(&volume.volume_id, &staging)
        .await
        .map_err(|s| failed("NodeUnstageVolume", s))?;
    rig.cluster
        .delete_volume(&volume.volume_id)
        .await
        .map_err(|s| failed("DeleteVolume", s))?;

    let (direct_median, published_median) = (median(&mut direct), median(&mut published));
    let runs = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(vec![
        Figure::value(
            6,
            &format!("dd {mib} MiB write, dfuse mount"),
            direct.len(),
            direct_median,
            "MiB/s",
            Target::None,
        )
        .note(format!("runs: {} MiB/s (median reported)", runs(&direct))),
        Figure::value(
            6,
            &format!("dd {mib} MiB write, published target"),
            published.len(),
            published_median,
            "MiB/s",
            Target::None,
        )
        .note(format!(
            "runs: {} MiB/s (median reported)",
            runs(&published)
        )),
        Figure::value(
            6,
            "published / dfuse mount throughput",
            direct.len() + published.len(),
            published_median / direct_median,
            "x",
            Target::RatioWithin(0.05),
        ),
    ])
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Writes `mib` MiB of zeros to `file` with dd (fsync'd before dd exits), removes the file,
/// and returns dd's run time in seconds.
async fn dd(file: &Path, mib: u64) -> Result<f64, String> {
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let output = std::process::Command::new("dd")
            .arg("if=/dev/zero")
            .arg(format!("of={}", file.display()))
            .arg(format!("bs={MIB}"))
            .arg(format!("count={mib}"))
            .arg("conv=fsync")
            .arg("status=none")
            .output()
            .map_err(|e| format!("running dd: {e}"))?;
        let seconds = start.elapsed().as_secs_f64();
        if !output.status.success() {
            return Err(format!(
                "dd of={} failed ({}): {}",
                file.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let written = std::fs::metadata(&file)
            .map_err(|e| format!("stat {}: {e}", file.display()))?
            .len();
        if written != mib * MIB {
            return Err(format!(
                "dd wrote {written} bytes to {}, not {}",
                file.display(),
                mib * MIB
            ));
        }
        std::fs::remove_file(&file).map_err(|e| format!("rm {}: {e}", file.display()))?;
        Ok(seconds)
    })
    .await
    .map_err(|e| format!("dd task: {e}"))?
}

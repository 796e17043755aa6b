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
    /// Item 3: volumes staged on the node.
    pub node_volumes: usize,
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
                dd_mib: 256,
                dd_rounds: 1,
            }
        } else {
            Counts {
                controller_pairs: 1_000,
                throughput_volumes: 2_048,
                publish_pairs: 1_000,
                node_volumes: 200,
                dd_mib: 1_024,
                dd_rounds: 3,
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
    rig.unstage(&volume.volume_id, &staging)
        .await
        .map_err(|s| failed("NodeUnstageVolume", s))?;
    rig.cluster
        .delete_volume(&volume.volume_id)
        .await
        .map_err(|s| failed("DeleteVolume", s))?;
    let one_ms = Target::P50Below(Duration::from_millis(1));
    Ok(vec![
        Figure::latency(2, "NodePublishVolume (staged)", &publishes, one_ms.clone()),
        Figure::latency(2, "NodeUnpublishVolume", &unpublishes, one_ms),
    ])
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

async fn node_at_scale_on(rig: &Arc<NodeRig>, counts: Counts) -> Result<Vec<Figure>, String> {
    let (node, mounter) = (rig.node_pid(), rig.mounter_pid());
    let node_idle = settle_and_measure(node).await?;
    let mounter_idle = settle_and_measure(mounter).await?;

    let volumes = counts.node_volumes;
    let publishes = volumes * PODS_PER_VOLUME;
    eprintln!("bench: item 3: {volumes} volumes staged, {publishes} publishes");
    let created = kubelet_wave((0..volumes).collect(), |i| async move {
        rig.cluster
            .create_volume(&format!("pvc-node-{i:03}"), &[])
            .await
            .map_err(|s| failed("CreateVolume", s))
    })
    .await?;

    let cycle = Instant::now();
    let staged: Vec<Staged> = kubelet_wave(created, |volume| async move {
        let staging = rig
            .stage(&volume)
            .await
            .map_err(|s| failed("NodeStageVolume", s))?;
        Ok(Staged { volume, staging })
    })
    .await?;
    let stage_wall = cycle.elapsed();
    let dfuse_rss_mib = dfuse_rss_mib(&rig.cluster.daos.agent_dir);

    let t = Instant::now();
    let pods: Vec<(usize, usize)> = (0..volumes)
        .flat_map(|v| (0..PODS_PER_VOLUME).map(move |p| (v, p)))
        .collect();
    let staged_ref = &staged;
    let targets: Vec<(usize, PathBuf)> = kubelet_wave(pods, |(v, p)| async move {
        let s = &staged_ref[v];
        rig.publish(&s.volume, &s.staging, &format!("pod-{v:03}-{p}"))
            .await
            .map(|target| (v, target))
            .map_err(|s| failed("NodePublishVolume", s))
    })
    .await?;
    let publish_wall = t.elapsed();
    let mounts = mounts_under_count(&rig.cluster.kubelet.root);

    let t = Instant::now();
    kubelet_wave(targets, |(v, target)| async move {
        rig.unpublish(&staged_ref[v].volume.volume_id, &target)
            .await
            .map_err(|s| failed("NodeUnpublishVolume", s))
    })
    .await?;
    let unpublish_wall = t.elapsed();
    let t = Instant::now();
    kubelet_wave(staged.iter().collect(), |s| async move {
        rig.unstage(&s.volume.volume_id, &s.staging)
            .await
            .map_err(|e| failed("NodeUnstageVolume", e))
    })
    .await?;
    let unstage_wall = t.elapsed();
    let cycle_wall = cycle.elapsed();

    let node_after = settle_and_measure(node).await?;
    let mounter_after = settle_and_measure(mounter).await?;
    kubelet_wave(staged, |s| async move {
        rig.cluster
            .delete_volume(&s.volume.volume_id)
            .await
            .map_err(|e| failed("DeleteVolume", e))
    })
    .await?;
    if mounts != volumes + publishes {
        return Err(format!(
            "expected {} mounts under the kubelet root with everything published, saw {mounts}",
            volumes + publishes
        ));
    }

    Ok(vec![
        Figure::value(
            3,
            &format!("node cycle: {volumes} staged, {publishes} published, all undone"),
            volumes + publishes,
            cycle_wall.as_secs_f64(),
            "s",
            Target::None,
        )
        .note(format!(
            "{NODE_IN_FLIGHT} calls in flight; stage {:.2} s, publish {:.2} s, unpublish {:.2} s, \
             unstage {:.2} s; {mounts} mounts at the peak",
            stage_wall.as_secs_f64(),
            publish_wall.as_secs_f64(),
            unpublish_wall.as_secs_f64(),
            unstage_wall.as_secs_f64()
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
        .note(format!(
            "RSS {:.2} MiB idle again after the cycle",
            node_after.rss_mib()
        )),
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
        .note(format!(
            "RSS {:.2} MiB idle again after the cycle",
            mounter_after.rss_mib()
        )),
        Figure::value(
            3,
            &format!("emulated dfuse RSS, sum of {volumes}"),
            volumes,
            dfuse_rss_mib,
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
        .note(format!("runs: {} MiB/s (median reported)", runs(&published))),
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

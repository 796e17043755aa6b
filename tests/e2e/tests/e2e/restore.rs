//! Volumes made from a snapshot (restore) or from another volume (clone): the content and
//! metadata of the source at one point in time, copied in process; crash safe, and never a
//! partial copy handed out.

use daos_csi_e2e::csi::volume_content_source::{SnapshotSource, Type, VolumeSource};
use daos_csi_e2e::csi::{CreateSnapshotRequest, DeleteSnapshotRequest, VolumeContentSource};
use daos_csi_e2e::tree::{Entry, describe, differences, write_sample};
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A volume with a published target, for writing or reading its files.
struct Mounted {
    volume: csi::Volume,
    staging: PathBuf,
    target: PathBuf,
}

async fn mount(cluster: &Cluster, volume: csi::Volume, pod: &str) -> Mounted {
    let staging = cluster.stage(&volume).await.must("NodeStageVolume");
    let target = cluster
        .publish(&volume, &staging, pod, false)
        .await
        .must("NodePublishVolume");
    Mounted {
        volume,
        staging,
        target,
    }
}

async fn unmount(cluster: &Cluster, m: &Mounted) {
    cluster
        .unpublish(&m.volume.volume_id, &m.target)
        .await
        .must("NodeUnpublishVolume");
    cluster
        .unstage(&m.volume.volume_id, &m.staging)
        .await
        .must("NodeUnstageVolume");
}

/// Whether `route`'s variant of test `name` runs here: it needs root and /dev/fuse, and the
/// emulator when it injects faults (each says so when it does not run).
fn runs(name: &str, route: Route, injects_faults: bool) -> bool {
    (!injects_faults || emulator_only_or_skip(name))
        && privileged_or_skip(&format!("{name}_{}_route", route.name()))
}

/// Publishes `volume` for `pod-r` and asserts that it holds exactly `want`.
async fn mount_holding(
    cluster: &Cluster,
    volume: csi::Volume,
    want: &BTreeMap<PathBuf, Entry>,
    what: &str,
) -> Mounted {
    let copy = mount(cluster, volume, "pod-r").await;
    let got = describe(&copy.target).expect("describing the copy");
    let diff = differences(want, &got);
    assert!(diff.is_empty(), "{what} differs:\n{}", diff.join("\n"));
    copy
}

async fn snapshot(cluster: &Cluster, name: &str, source: &str) -> csi::Snapshot {
    cluster
        .controller()
        .create_snapshot(CreateSnapshotRequest {
            source_volume_id: source.to_string(),
            name: name.to_string(),
            ..Default::default()
        })
        .await
        .must("CreateSnapshot")
        .into_inner()
        .snapshot
        .expect("a snapshot")
}

fn from_snapshot(id: &str) -> VolumeContentSource {
    VolumeContentSource {
        r#type: Some(Type::Snapshot(SnapshotSource {
            snapshot_id: id.to_string(),
        })),
    }
}

fn from_volume(id: &str) -> VolumeContentSource {
    VolumeContentSource {
        r#type: Some(Type::Volume(VolumeSource {
            volume_id: id.to_string(),
        })),
    }
}

/// A source volume holding the sample tree, published for `pod-w`, and a snapshot of it.
struct Source {
    volume: csi::Volume,
    mounted: Mounted,
    /// What the snapshot holds.
    tree: BTreeMap<PathBuf, Entry>,
    snap: csi::Snapshot,
}

async fn snapshotted_source(cluster: &Cluster, seed: u64) -> Source {
    let volume = cluster
        .create_volume(&format!("pvc-{}", unique_label("src")), &[])
        .await
        .must("CreateVolume");
    let mounted = mount(cluster, volume.clone(), "pod-w").await;
    write_sample(&mounted.target, seed).expect("writing the sample tree");
    let tree = describe(&mounted.target).expect("describing the source");
    let snap = snapshot(
        cluster,
        &format!("snap-{}", unique_label("s")),
        &volume.volume_id,
    )
    .await;
    Source {
        volume,
        mounted,
        tree,
        snap,
    }
}

/// Starts a restore of `snap` whose every write takes 2 s, and checks that CreateVolume
/// answers ABORTED while it copies; returns the new volume's name. The caller clears the
/// fault.
async fn start_slow_restore(cluster: &Cluster, route: Route, snap: &csi::Snapshot) -> String {
    assert!(
        cluster
            .daos
            .inject_fault(route.write_op(), None, None, Some(2000))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let name = format!("pvc-{}", unique_label("restore"));
    let mut request = create_request(&name, cluster.storage_class(&[]));
    request.volume_content_source = Some(from_snapshot(&snap.snapshot_id));
    let first = cluster.controller().create_volume(request).await;
    assert_status(
        first,
        Code::Aborted,
        &["being copied"],
        "CreateVolume while copying",
    );
    name
}

/// How the driver under test copies (`--copy-route`): every test runs both ways.
#[derive(Clone, Copy, Debug)]
enum Route {
    Dfs,
    Objects,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Dfs => "dfs",
            Route::Objects => "objects",
        }
    }

    /// The call each write of a copy makes.
    fn write_op(self) -> &'static str {
        match self {
            Route::Dfs => "dfs_write",
            Route::Objects => "daos_obj_update",
        }
    }

    /// The driver's arguments: `--copy-route` and `more`.
    fn args<const N: usize>(self, more: [String; N]) -> Vec<String> {
        let mut args = vec!["--copy-route".to_string(), self.name().to_string()];
        args.extend(more);
        args
    }
}

/// CreateVolume of `name` from `source`, retried while the driver answers ABORTED (a copy
/// in progress), as the provisioner does.
async fn create_from(
    cluster: &Cluster,
    name: &str,
    source: VolumeContentSource,
    bytes: i64,
    limit: Duration,
) -> Result<csi::Volume, Status> {
    let mut request = create_request(name, cluster.storage_class(&[]));
    request.capacity_range = Some(csi::CapacityRange {
        required_bytes: bytes,
        limit_bytes: 0,
    });
    request.volume_content_source = Some(source);
    let in_progress = |s: &Status| s.code() == Code::Aborted;
    retry_while(limit, Duration::from_millis(200), in_progress, || {
        let (mut controller, request) = (cluster.controller(), request.clone());
        async move { controller.create_volume(request).await }
    })
    .await
    .map(|r| r.into_inner().volume.expect("a volume"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_from_a_snapshot_is_that_snapshot_dfs_route() {
    restore_from_a_snapshot_is_that_snapshot(Route::Dfs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_from_a_snapshot_is_that_snapshot_objects_route() {
    restore_from_a_snapshot_is_that_snapshot(Route::Objects).await
}

async fn restore_from_a_snapshot_is_that_snapshot(route: Route) {
    if !runs("restore_from_a_snapshot_is_that_snapshot", route, false) {
        return;
    }
    within(Duration::from_secs(180), "restore", async {
        let metrics = crate::metrics::free_port();
        let cluster = Cluster::start(ClusterConfig {
            extra_args: route.args(["--metrics-addr".into(), metrics.to_string()]),
            ..Default::default()
        })
        .await;
        let Source {
            volume: source,
            mounted: original,
            tree: at_snapshot,
            snap,
        } = snapshotted_source(&cluster, 1).await;
        // The source moves on after the snapshot.
        std::fs::write(original.target.join("a/small.txt"), b"changed after").expect("change");
        std::fs::remove_file(original.target.join("owned.txt")).expect("remove");
        std::fs::write(original.target.join("new.txt"), b"new after").expect("add");

        // Smaller than the source: refused.
        let small = create_from(
            &cluster,
            &format!("pvc-{}", unique_label("small")),
            from_snapshot(&snap.snapshot_id),
            source.capacity_bytes / 2,
            Duration::from_secs(60),
        )
        .await;
        assert_status(
            small,
            Code::OutOfRange,
            &["at least"],
            "a restore smaller than its source",
        );

        // Larger than the source: fine.
        let restored_name = format!("pvc-{}", unique_label("restored"));
        let restored = create_from(
            &cluster,
            &restored_name,
            from_snapshot(&snap.snapshot_id),
            2 * source.capacity_bytes,
            Duration::from_secs(120),
        )
        .await
        .must("CreateVolume from the snapshot");
        assert_eq!(restored.capacity_bytes, 2 * source.capacity_bytes);
        assert_eq!(
            restored.content_source,
            Some(from_snapshot(&snap.snapshot_id)),
            "the response names its content source"
        );
        // Idempotent: the same request again is the same volume.
        let again = create_from(
            &cluster,
            &restored_name,
            from_snapshot(&snap.snapshot_id),
            2 * source.capacity_bytes,
            Duration::from_secs(60),
        )
        .await
        .must("CreateVolume from the snapshot, repeated");
        assert_eq!(again.volume_id, restored.volume_id);
        // The same name from another source is another volume: refused.
        assert_status(
            create_from(
                &cluster,
                &restored_name,
                from_volume(&source.volume_id),
                2 * source.capacity_bytes,
                Duration::from_secs(60),
            )
            .await,
            Code::AlreadyExists,
            &["content source"],
            "the same name from another source",
        );

        // The copy is counted: every byte of data of the snapshot's files (a hole need not
        // be), every entry.
        let scraped = crate::metrics::scrape(metrics).await;
        let files_bytes: u64 = at_snapshot
            .iter()
            .filter(|(path, e)| e.kind == "file" && !path.ends_with("sparse.bin"))
            .map(|(_, e)| e.size)
            .sum();
        assert!(
            scraped.count("daos_csi_copy_bytes_total", &[]) >= files_bytes,
            "daos_csi_copy_bytes_total below the {files_bytes} bytes copied"
        );
        assert!(
            scraped.count("daos_csi_copy_entries_total", &[]) >= at_snapshot.len() as u64 - 1,
            "daos_csi_copy_entries_total below the {} entries copied",
            at_snapshot.len() - 1
        );
        let copy = mount_holding(&cluster, restored.clone(), &at_snapshot, "the restore").await;

        // A restored volume is a volume like any other: written, snapshotted, deleted.
        std::fs::write(copy.target.join("after-restore.txt"), b"mine").expect("write");
        let second = snapshot(
            &cluster,
            &format!("snap-{}", unique_label("r")),
            &restored.volume_id,
        )
        .await;
        assert_eq!(second.source_volume_id, restored.volume_id);
        unmount(&cluster, &copy).await;
        unmount(&cluster, &original).await;
        for s in [&second, &snap] {
            cluster
                .controller()
                .delete_snapshot(DeleteSnapshotRequest {
                    snapshot_id: s.snapshot_id.clone(),
                    ..Default::default()
                })
                .await
                .must("DeleteSnapshot");
        }
        // Once made, the volume is itself: repeating its CreateVolume after the snapshot is
        // gone gives it back.
        let repeated = create_from(
            &cluster,
            &restored_name,
            from_snapshot(&snap.snapshot_id),
            2 * source.capacity_bytes,
            Duration::from_secs(30),
        )
        .await
        .must("CreateVolume repeated after its snapshot was deleted");
        assert_eq!(repeated.volume_id, restored.volume_id);
        for v in [&restored, &source] {
            cluster
                .delete_volume(&v.volume_id)
                .await
                .must("DeleteVolume");
        }
    })
    .await;
}

/// A clone copies one point in time of a volume that is being written: a writer adds
/// numbered files (each written in full, then renamed into place); the clone holds files
/// 0..n, every one complete, and no later write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_of_a_volume_being_written_is_one_point_in_time_dfs_route() {
    clone_of_a_volume_being_written_is_one_point_in_time(Route::Dfs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_of_a_volume_being_written_is_one_point_in_time_objects_route() {
    clone_of_a_volume_being_written_is_one_point_in_time(Route::Objects).await
}

async fn clone_of_a_volume_being_written_is_one_point_in_time(route: Route) {
    if !runs(
        "clone_of_a_volume_being_written_is_one_point_in_time",
        route,
        false,
    ) {
        return;
    }
    within(Duration::from_secs(180), "clone", async {
        let cluster = Cluster::start(ClusterConfig {
            extra_args: route.args([]),
            ..Default::default()
        })
        .await;
        let source = cluster
            .create_volume(&format!("pvc-{}", unique_label("src")), &[])
            .await
            .must("CreateVolume");
        let original = mount(&cluster, source.clone(), "pod-w").await;
        write_sample(&original.target, 2).expect("writing the sample tree");
        let before = describe(&original.target).expect("describing the source");

        let dir = original.target.join("stream");
        std::fs::create_dir(&dir).expect("mkdir");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (dir, stop) = (dir.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let tmp = dir.join(format!("{n}.tmp"));
                    std::fs::write(&tmp, n.to_string().repeat(1000)).expect("write");
                    std::fs::rename(&tmp, dir.join(n.to_string())).expect("rename");
                    n += 1;
                }
                n
            })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let clone = create_from(
            &cluster,
            &format!("pvc-{}", unique_label("clone")),
            from_volume(&source.volume_id),
            0,
            Duration::from_secs(120),
        )
        .await
        .must("CreateVolume from the volume");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = writer.join().expect("writer");
        assert_eq!(clone.content_source, Some(from_volume(&source.volume_id)));
        assert_eq!(
            clone.capacity_bytes, source.capacity_bytes,
            "the source's size by default"
        );

        let copy = mount(&cluster, clone.clone(), "pod-c").await;
        let mut numbers: Vec<u64> = std::fs::read_dir(copy.target.join("stream"))
            .expect("the stream directory was cloned")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        numbers.sort_unstable();
        assert!(
            numbers.iter().enumerate().all(|(i, n)| *n == i as u64),
            "the clone holds files 0..n without a gap: {numbers:?}"
        );
        assert!(
            (numbers.len() as u64) < written,
            "the clone is a point in time: {} files, the writer went on to {written}",
            numbers.len()
        );
        for n in &numbers {
            let content = std::fs::read_to_string(copy.target.join("stream").join(n.to_string()))
                .expect("read");
            assert_eq!(content, n.to_string().repeat(1000), "file {n} is complete");
        }
        // Everything written before the writer started is there, as it was.
        std::fs::remove_dir_all(copy.target.join("stream")).expect("remove the stream");
        let mut got = describe(&copy.target).expect("describing the clone");
        // The root's mtime moved with the stream directory, in both.
        got.remove(Path::new(""));
        let mut want = before;
        want.remove(Path::new(""));
        let diff = differences(&want, &got);
        assert!(diff.is_empty(), "the clone differs:\n{}", diff.join("\n"));
        // The clone's temporary snapshot is gone, and no CSI snapshot appeared.
        let listed = cluster
            .controller()
            .list_snapshots(csi::ListSnapshotsRequest::default())
            .await
            .must("ListSnapshots")
            .into_inner()
            .entries;
        assert!(listed.is_empty(), "snapshots left: {listed:?}");

        unmount(&cluster, &copy).await;
        unmount(&cluster, &original).await;
        cluster
            .delete_volume(&clone.volume_id)
            .await
            .must("DeleteVolume clone");
        cluster
            .delete_volume(&source.volume_id)
            .await
            .must("DeleteVolume source (no snapshot left behind)");
    })
    .await;
}

/// The controller dies in the middle of a copy: the provisioner's retry, to the next
/// controller, makes exactly one complete volume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_interrupted_by_a_controller_crash_is_finished_by_the_retry_dfs_route() {
    a_copy_interrupted_by_a_controller_crash_is_finished_by_the_retry(Route::Dfs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_interrupted_by_a_controller_crash_is_finished_by_the_retry_objects_route() {
    a_copy_interrupted_by_a_controller_crash_is_finished_by_the_retry(Route::Objects).await
}

async fn a_copy_interrupted_by_a_controller_crash_is_finished_by_the_retry(route: Route) {
    if !runs(
        "a_copy_interrupted_by_a_controller_crash_is_finished_by_the_retry",
        route,
        true,
    ) {
        return;
    }
    within(Duration::from_secs(180), "copy and crash", async {
        // CreateVolume answers at once while the copy runs; the mounter lives apart, so the
        // controller dies alone.
        let mut cluster = Cluster::start(ClusterConfig {
            layout: Layout::SplitMounter,
            extra_args: route.args(["--copy-wait".into(), "10ms".into()]),
            ..Default::default()
        })
        .await;
        let Source {
            mounted: original,
            tree: want,
            snap,
            ..
        } = snapshotted_source(&cluster, 3).await;
        let containers_before = cluster.container_count();

        // The copy is still running when the controller is killed.
        let name = start_slow_restore(&cluster, route, &snap).await;
        cluster.kill_csi_process();
        cluster.daos.clear_faults();
        cluster.start_csi_process().await;

        let restored = create_from(
            &cluster,
            &name,
            from_snapshot(&snap.snapshot_id),
            0,
            Duration::from_secs(120),
        )
        .await
        .must("CreateVolume retried after the crash");
        assert_eq!(
            cluster.container_count(),
            containers_before + 1,
            "one new container: the partial copy is gone"
        );
        let copy = mount_holding(&cluster, restored, &want, "the restore after a crash").await;
        unmount(&cluster, &copy).await;
        unmount(&cluster, &original).await;
    })
    .await;
}

/// The snapshot being copied is deleted in the middle: the CreateVolume fails saying so, and
/// nothing of the copy is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_deleted_during_the_copy_fails_it_cleanly_dfs_route() {
    a_source_deleted_during_the_copy_fails_it_cleanly(Route::Dfs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_deleted_during_the_copy_fails_it_cleanly_objects_route() {
    a_source_deleted_during_the_copy_fails_it_cleanly(Route::Objects).await
}

async fn a_source_deleted_during_the_copy_fails_it_cleanly(route: Route) {
    if !runs(
        "a_source_deleted_during_the_copy_fails_it_cleanly",
        route,
        true,
    ) {
        return;
    }
    within(Duration::from_secs(180), "source deleted", async {
        let cluster = Cluster::start(ClusterConfig {
            extra_args: route.args(["--copy-wait".into(), "10ms".into()]),
            ..Default::default()
        })
        .await;
        let Source {
            mounted: original,
            snap,
            ..
        } = snapshotted_source(&cluster, 4).await;
        let containers_before = cluster.container_count();

        let name = start_slow_restore(&cluster, route, &snap).await;
        cluster
            .controller()
            .delete_snapshot(DeleteSnapshotRequest {
                snapshot_id: snap.snapshot_id.clone(),
                ..Default::default()
            })
            .await
            .must("DeleteSnapshot during the copy");
        cluster.daos.clear_faults();

        // The retry is refused: the snapshot is gone (and the copy that was reading it fails).
        assert_status(
            create_from(
                &cluster,
                &name,
                from_snapshot(&snap.snapshot_id),
                0,
                Duration::from_secs(30),
            )
            .await,
            Code::NotFound,
            &["does not exist"],
            "CreateVolume from the deleted snapshot",
        );
        // The copy cleans up after itself: its container goes once its reads fail.
        let cleaned = {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let count = cluster.container_count();
                if count == containers_before || Instant::now() > deadline {
                    break count;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        assert_eq!(cleaned, containers_before, "nothing of the copy is left");
        unmount(&cluster, &original).await;
    })
    .await;
}

/// A DAOS error half-way through a copy (the pool runs out of space for one write) fails
/// the CreateVolume with the error's status, leaves nothing behind, and the next attempt
/// copies everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_failing_half_way_leaves_nothing_and_a_retry_succeeds_dfs_route() {
    a_copy_failing_half_way_leaves_nothing_and_a_retry_succeeds(Route::Dfs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_failing_half_way_leaves_nothing_and_a_retry_succeeds_objects_route() {
    a_copy_failing_half_way_leaves_nothing_and_a_retry_succeeds(Route::Objects).await
}

async fn a_copy_failing_half_way_leaves_nothing_and_a_retry_succeeds(route: Route) {
    if !runs(
        "a_copy_failing_half_way_leaves_nothing_and_a_retry_succeeds",
        route,
        true,
    ) {
        return;
    }
    within(Duration::from_secs(180), "copy failure", async {
        let cluster = Cluster::start(ClusterConfig {
            extra_args: route.args([]),
            ..Default::default()
        })
        .await;
        let Source {
            mounted: original,
            tree: want,
            snap,
            ..
        } = snapshotted_source(&cluster, 5).await;
        let containers_before = cluster.container_count();

        // The copy's first write finds the pool full (-DER_NOSPACE; ENOSPC through DFS): by
        // then its container exists and, on the DFS route, its directories and links.
        const DER_NOSPACE: i32 = -1007;
        assert!(
            cluster
                .daos
                .inject_fault(route.write_op(), Some(DER_NOSPACE), Some(1), None)
        );
        let name = format!("pvc-{}", unique_label("restore"));
        let failed = create_from(
            &cluster,
            &name,
            from_snapshot(&snap.snapshot_id),
            0,
            Duration::from_secs(60),
        )
        .await;
        assert_status(
            failed,
            Code::ResourceExhausted,
            &[&name],
            "CreateVolume whose copy ran out of space",
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while cluster.container_count() != containers_before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            cluster.container_count(),
            containers_before,
            "the partial copy is gone"
        );

        cluster.daos.clear_faults();
        let restored = create_from(
            &cluster,
            &name,
            from_snapshot(&snap.snapshot_id),
            0,
            Duration::from_secs(120),
        )
        .await
        .must("CreateVolume after the failed copy");
        let copy = mount_holding(&cluster, restored, &want, "the retried copy").await;
        unmount(&cluster, &copy).await;
        unmount(&cluster, &original).await;
    })
    .await;
}

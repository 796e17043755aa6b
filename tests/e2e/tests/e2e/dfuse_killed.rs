//! dfuse dies under a staged, published volume: the driver reports it, brings the volume back
//! for new pods, and cleans it up.

use daos_csi_e2e::data::{sha256_file, write_pattern_file};
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_dfuse_is_reported_and_cleaned_up() {
    if !privileged_or_skip("killed_dfuse_is_reported_and_cleaned_up") {
        return;
    }
    within(Duration::from_secs(120), "dfuse killed", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let name = format!("pvc-{}", unique_label("kill"));
        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");
        let id = volume.volume_id.clone();
        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        let target = cluster
            .publish(&volume, &staging, "pod-k", false)
            .await
            .must("publish");
        let written = write_pattern_file(&target.join("before.bin"), 3, 4 << 20)
            .expect("writing before the kill");

        let dfuse = cluster
            .dfuse_for(&staging, &id)
            .expect("dfuse for the volume");
        kill(Pid::from_raw(dfuse.pid), Signal::SIGKILL).expect("killing dfuse");
        let broken = eventually(Duration::from_secs(10), || {
            std::fs::metadata(&target)
                .err()
                .and_then(|e| e.raw_os_error())
                == Some(nix::libc::ENOTCONN)
        })
        .await;
        assert!(
            broken,
            "the target should answer ENOTCONN once dfuse is dead"
        );

        for path in [&target, &staging] {
            let stats = cluster
                .stats(&id, path, Some(&staging))
                .await
                .must("NodeGetVolumeStats on a dead mount");
            let condition = stats
                .volume_condition
                .unwrap_or_else(|| panic!("no volume_condition for {}", path.display()));
            assert!(
                condition.abnormal,
                "dead dfuse reported normal at {}",
                path.display()
            );
            assert!(!condition.message.is_empty(), "say what is wrong");
        }

        // kubelet stages a volume once per node: a new pod only gets NodePublishVolume, which
        // must bring the volume back by itself, with the data written before the crash.
        let fresh = cluster
            .publish(&volume, &staging, "pod-k1", false)
            .await
            .must("publish to a new pod while the staged dfuse is dead");
        let (read, len) =
            sha256_file(&fresh.join("before.bin")).expect("reading through the new pod's mount");
        assert_eq!((read, len), (written, 4 << 20), "data after the restage");
        let replacement = cluster
            .dfuse_for(&staging, &id)
            .expect("a new dfuse for the volume");
        assert_ne!(
            replacement.pid, dfuse.pid,
            "the dead dfuse cannot serve again"
        );
        // The old pod's bind still holds the dead connection: it stays reported as abnormal.
        let stale = cluster
            .stats(&id, &target, Some(&staging))
            .await
            .must("NodeGetVolumeStats on the old pod's mount");
        assert!(
            stale.volume_condition.is_some_and(|c| c.abnormal),
            "the old pod's dead bind must stay reported as abnormal"
        );
        cluster
            .unpublish(&id, &fresh)
            .await
            .must("unpublish the new pod");

        cluster
            .unpublish(&id, &target)
            .await
            .must("unpublish a dead mount");
        cluster
            .unstage(&id, &staging)
            .await
            .must("unstage a dead mount");
        assert!(!is_mounted(&target), "target still in mountinfo");
        assert!(!is_mounted(&staging), "staging path still in mountinfo");
        assert!(
            cluster.kubelet_mounts().is_empty(),
            "{:?}",
            cluster.kubelet_mounts()
        );

        let staging = cluster.stage(&volume).await.must("stage after the crash");
        let target = cluster
            .publish(&volume, &staging, "pod-k2", false)
            .await
            .must("publish again");
        let (read, len) = sha256_file(&target.join("before.bin")).expect("reading after the crash");
        assert_eq!(len, 4 << 20);
        assert_eq!(
            read, written,
            "data written before dfuse died is still there"
        );
        cluster.unpublish(&id, &target).await.must("unpublish");
        cluster.unstage(&id, &staging).await.must("unstage");
        cluster
            .delete_volume_after_a_kill(&id)
            .await
            .must("DeleteVolume");
    })
    .await;
}

/// The worst case for a new pod: the mounter lost its state file and the volume's dfuse died
/// while the mounter was down, so nobody remembers how the volume was staged. kubelet only
/// publishes (it staged once); the publish request carries what the stage request did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_restages_from_the_request_when_the_mounter_forgot() {
    if !privileged_or_skip("publish_restages_from_the_request_when_the_mounter_forgot") {
        return;
    }
    within(
        Duration::from_secs(120),
        "dfuse and mounter state lost",
        async {
            let mut cluster = Cluster::start(ClusterConfig {
                layout: Layout::SplitMounter,
                ..Default::default()
            })
            .await;
            let name = format!("pvc-{}", unique_label("forgot"));
            let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");
            let id = volume.volume_id.clone();
            let staging = cluster.stage(&volume).await.must("NodeStageVolume");
            let first = cluster
                .publish(&volume, &staging, "pod-f1", false)
                .await
                .must("publish");
            let written = write_pattern_file(&first.join("kept.bin"), 5, 1 << 20).expect("write");
            let dfuse = cluster
                .dfuse_for(&staging, &id)
                .expect("dfuse for the volume");

            cluster.stop_mounter(Signal::SIGKILL, Duration::from_secs(5));
            kill(Pid::from_raw(dfuse.pid), Signal::SIGKILL).expect("killing dfuse");
            assert!(
                eventually(Duration::from_secs(10), || !dfuse.is_alive()).await,
                "dfuse survived SIGKILL"
            );
            std::fs::remove_file(cluster.state_dir.join("mounter-state.json"))
                .expect("removing the mounter state file");
            cluster.start_mounter().await;

            let second = cluster
                .publish(&volume, &staging, "pod-f2", false)
                .await
                .must("publish to a new pod with the dfuse and the mounter's record gone");
            let (read, len) =
                sha256_file(&second.join("kept.bin")).expect("reading through pod-f2");
            assert_eq!((read, len), (written, 1 << 20));

            // A staging path with nothing mounted was never staged: that is still refused.
            let other = cluster
                .create_volume(&format!("pvc-{}", unique_label("never")), &[])
                .await
                .must("CreateVolume");
            let never = cluster.kubelet.prepare_staging_path(&other.volume_id);
            assert_status(
                cluster.publish(&other, &never, "pod-f3", false).await,
                Code::FailedPrecondition,
                &["not staged"],
                "publish of a volume that was never staged",
            );

            for target in [&first, &second] {
                cluster.unpublish(&id, target).await.must("unpublish");
            }
            cluster.unstage(&id, &staging).await.must("unstage");
            assert!(
                cluster.kubelet_mounts().is_empty(),
                "mounts left: {:?}",
                cluster.kubelet_mounts()
            );
            cluster
                .delete_volume_after_a_kill(&id)
                .await
                .must("DeleteVolume");
            cluster
                .delete_volume(&other.volume_id)
                .await
                .must("DeleteVolume of the unstaged volume");
        },
    )
    .await;
}

/// A staging dfuse that is slow (DAOS busy, rebuild) is not a dead one: a publish must not
/// replace it, which would cut off every pod already bound to it for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_staging_mount_is_never_replaced() {
    if !emulator_only_or_skip("a_slow_staging_mount_is_never_replaced")
        || !privileged_or_skip("a_slow_staging_mount_is_never_replaced")
    {
        return;
    }
    within(Duration::from_secs(120), "slow staging mount", async {
        let cluster = Cluster::start(ClusterConfig {
            extra_args: vec!["--stats-timeout".into(), "1s".into()],
            ..Default::default()
        })
        .await;
        let name = format!("pvc-{}", unique_label("slow"));
        // No attribute caching: every lookup of the mount's root asks dfuse.
        let volume = cluster
            .create_volume(&name, &[("dfuseCaching", "false")])
            .await
            .must("CreateVolume");
        let id = volume.volume_id.clone();
        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        let first = cluster
            .publish(&volume, &staging, "pod-s1", false)
            .await
            .must("publish");
        std::fs::write(first.join("f"), b"still served").expect("write");
        let dfuse = cluster
            .dfuse_for(&staging, &id)
            .expect("dfuse for the volume");

        // dfuse answers statfs with a pool query: the next one takes 3 s, past the node's
        // 1 s deadline.
        assert!(
            cluster
                .daos
                .inject_fault("daos_pool_query", None, Some(1), Some(3_000)),
            "fault injection"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        // Something else (another pod's df) takes the slow statfs first, so dfuse is busy.
        let busy = staging.clone();
        let other = std::thread::spawn(move || nix::sys::statvfs::statvfs(&busy).is_ok());
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Nothing on the way to the probe waits for dfuse (the path checks use the kernel's
        // cached attributes): the answer is the probe's, UNAVAILABLE, within its deadline.
        let asked = std::time::Instant::now();
        assert_status(
            cluster.publish(&volume, &staging, "pod-s2", false).await,
            Code::Unavailable,
            &["did not answer"],
            "publish while the staging mount is slow",
        );
        assert!(
            asked.elapsed() < Duration::from_millis(2_500),
            "the publish waited {:?} for a slow dfuse",
            asked.elapsed()
        );
        // dfuse runs min(cores, 16) - 1 FUSE threads (one on a 2-core machine, like real
        // dfuse), so while the slow statfs runs, other requests to it can time out too.
        let retryable = [Code::Unavailable, Code::DeadlineExceeded];
        assert!(
            other.join().expect("the other statfs"),
            "the slow statfs failed"
        );
        assert!(dfuse.is_alive(), "a slow dfuse was stopped");
        assert_eq!(
            cluster.dfuse_for(&staging, &id).map(|p| p.pid),
            Some(dfuse.pid),
            "a slow dfuse was replaced"
        );

        // Retried as kubelet does, the publish goes through once the mount answers again;
        // the dfuse is the same one and the first pod never lost its mount.
        let retrying = std::time::Instant::now();
        let second = loop {
            match cluster.publish(&volume, &staging, "pod-s2", false).await {
                Ok(target) => break target,
                Err(status) => {
                    assert!(
                        retryable.contains(&status.code()),
                        "{:?} {}",
                        status.code(),
                        status.message()
                    );
                    assert!(
                        retrying.elapsed() < Duration::from_secs(20),
                        "the publish kept failing: {}",
                        status.message()
                    );
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        assert_eq!(
            cluster.dfuse_for(&staging, &id).map(|p| p.pid),
            Some(dfuse.pid),
            "a slow dfuse was replaced"
        );
        for target in [&first, &second] {
            assert_eq!(
                std::fs::read(target.join("f")).expect("read"),
                b"still served"
            );
            cluster.unpublish(&id, target).await.must("unpublish");
        }
        cluster.unstage(&id, &staging).await.must("unstage");
        cluster
            .delete_volume_after_a_kill(&id)
            .await
            .must("DeleteVolume");
    })
    .await;
}

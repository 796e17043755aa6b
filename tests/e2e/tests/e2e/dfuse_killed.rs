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
        cluster.delete_volume(&id).await.must("DeleteVolume");
    })
    .await;
}

//! Orderly stops (SIGTERM, as `kubectl rollout restart` or a node drain sends) of the node
//! plugin and of the mounter leave every mount in place, and a mounter that lost its state
//! file finds its dfuse processes again.

use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use nix::sys::signal::Signal;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_leaves_mounts_and_a_stateless_mounter_adopts_them() {
    if !privileged_or_skip("sigterm_leaves_mounts_and_a_stateless_mounter_adopts_them") {
        return;
    }
    within(Duration::from_secs(150), "graceful stops", async {
        let mut cluster = Cluster::start(ClusterConfig {
            layout: Layout::SplitMounter,
            ..Default::default()
        })
        .await;
        let name = format!("pvc-{}", unique_label("term"));
        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");
        let id = volume.volume_id.clone();
        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        let first = cluster
            .publish(&volume, &staging, "pod-a", false)
            .await
            .must("publish to pod-a");
        std::fs::write(first.join("kept"), b"before the stops").expect("write");
        let dfuse = cluster
            .dfuse_for(&staging, &id)
            .expect("dfuse for the volume");

        // The node plugin holds an idle connection to the mounter now; an orderly mounter
        // stop must not wait for it (it waits only for requests in flight).
        let (status, took) = cluster.stop_mounter(Signal::SIGTERM, Duration::from_secs(30));
        let status = status.expect("mounter exit status");
        assert!(status.success(), "mounter exit on SIGTERM: {status}");
        assert!(
            took < Duration::from_secs(5),
            "the mounter took {took:?} to stop on SIGTERM (an idle client connection held it?)"
        );
        assert!(dfuse.is_alive(), "SIGTERM of the mounter killed dfuse");
        assert_eq!(
            mounts_at(&staging).len(),
            1,
            "staging mount after mounter stop"
        );
        assert_eq!(mounts_at(&first).len(), 1, "pod mount after mounter stop");

        // Lost state (a wiped state directory): the restarted mounter must find the dfuse
        // by looking at the processes themselves.
        let state_file = cluster.state_dir.join("mounter-state.json");
        std::fs::remove_file(&state_file).expect("removing the mounter state file");
        cluster.start_mounter().await;

        // The node plugin's kept connection died with the old mounter: it reconnects, and
        // the adopted dfuse is recognised as this volume's staging mount.
        let second = cluster
            .publish(&volume, &staging, "pod-b", false)
            .await
            .must("publish to pod-b through the restarted mounter");
        assert_eq!(
            std::fs::read(second.join("kept")).expect("read through pod-b"),
            b"before the stops"
        );

        let status = cluster
            .stop_csi_process(Signal::SIGTERM, Duration::from_secs(30))
            .expect("node plugin exit status");
        assert!(status.success(), "node plugin exit on SIGTERM: {status}");
        assert!(dfuse.is_alive(), "SIGTERM of the node plugin killed dfuse");
        for target in [&staging, &first, &second] {
            assert_eq!(
                mounts_at(target).len(),
                1,
                "{} after the node plugin stopped",
                target.display()
            );
        }
        assert_eq!(
            std::fs::read(first.join("kept")).expect("read through pod-a with the plugin down"),
            b"before the stops"
        );

        cluster.start_csi_process().await;
        for target in [&first, &second] {
            cluster.unpublish(&id, target).await.must("unpublish");
        }
        cluster.unstage(&id, &staging).await.must("unstage");
        assert!(
            cluster.kubelet_mounts().is_empty(),
            "mounts left: {:?}",
            cluster.kubelet_mounts()
        );
        assert!(
            eventually(Duration::from_secs(10), || !dfuse.is_alive()).await,
            "the adopted dfuse still runs after unstage"
        );
        cluster.delete_volume(&id).await.must("DeleteVolume");
    })
    .await;
}

//! The DAOS agent is down when the driver starts, and comes back.

use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::time::Duration;

async fn probe_ready(cluster: &Cluster) -> Option<bool> {
    match cluster.identity().probe(csi::ProbeRequest {}).await {
        Ok(response) => response.into_inner().ready,
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_down_means_unavailable_and_nothing_half_made() {
    if !emulator_only_or_skip("agent_down_means_unavailable_and_nothing_half_made")
        || !privileged_or_skip("agent_down_means_unavailable_and_nothing_half_made")
    {
        return;
    }
    within(Duration::from_secs(120), "agent down", async {
        let cluster = Cluster::start(ClusterConfig {
            agent_down_at_start: true,
            ..Default::default()
        })
        .await;
        // Not ready: either ready=false or an error, never ready=true.
        let ready = probe_ready(&cluster).await;
        assert_ne!(ready, Some(true), "Probe says ready with the agent down");

        let name = format!("pvc-{}", unique_label("agent"));
        let answer = cluster.create_volume(&name, &[]).await;
        assert_status(
            answer,
            Code::Unavailable,
            &[],
            "CreateVolume with the agent down",
        );

        cluster.daos.start_agent();
        assert!(
            {
                let mut ready = false;
                for _ in 0..100 {
                    if probe_ready(&cluster).await == Some(true) {
                        ready = true;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                ready
            },
            "Probe did not become ready within 20 s of the agent coming back"
        );
        cluster
            .assert_volumes_not_listed(&[], "after CreateVolume failed with the agent down")
            .await;

        let volume = cluster
            .create_volume(&name, &[])
            .await
            .must("CreateVolume, agent back");
        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        let target = cluster
            .publish(&volume, &staging, "pod-g", false)
            .await
            .must("publish");
        std::fs::write(target.join("f"), b"agent is back").expect("write");
        assert_eq!(
            std::fs::read(target.join("f")).expect("read"),
            b"agent is back"
        );
        cluster
            .unpublish(&volume.volume_id, &target)
            .await
            .must("unpublish");
        cluster
            .unstage(&volume.volume_id, &staging)
            .await
            .must("unstage");
        cluster
            .delete_volume(&volume.volume_id)
            .await
            .must("DeleteVolume");
        cluster
            .assert_volumes_not_listed(&[&volume.volume_id], "after DeleteVolume")
            .await;
    })
    .await;
}

/// The agent restarts under a running driver (an upgrade): a stopping agent evicts the pool
/// handles of local processes, so the driver's cached connections die with it. Probe must
/// say so while the agent is away, and calls must work again once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_restart_under_a_running_driver_is_survived() {
    if !emulator_only_or_skip("agent_restart_under_a_running_driver_is_survived")
        || !privileged_or_skip("agent_restart_under_a_running_driver_is_survived")
    {
        return;
    }
    within(Duration::from_secs(90), "agent restart", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let first = cluster
            .create_volume(&format!("pvc-{}", unique_label("before")), &[])
            .await
            .must("CreateVolume with the agent up");
        cluster.daos.stop_agent(true);
        assert_ne!(
            probe_ready(&cluster).await,
            Some(true),
            "Probe ready while the agent is stopped"
        );
        // dfuse cannot start without the agent and prints nothing about it:
        // the mounter must tell the agent apart, as a retryable condition
        // (never NOT_FOUND, which would say the volume is gone).
        assert_status(
            cluster.stage(&first).await,
            Code::Unavailable,
            &["daos_agent", "agent socket"],
            "NodeStageVolume with the agent stopped",
        );

        cluster.daos.start_agent();
        let mut ready = false;
        for _ in 0..100 {
            if probe_ready(&cluster).await == Some(true) {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            ready,
            "Probe did not recover within 20 s of the agent's restart"
        );

        // The provisioner retries; a retryable code is acceptable once, success must follow.
        let name = format!("pvc-{}", unique_label("after"));
        let mut second = None;
        for attempt in 0..3 {
            match cluster.create_volume(&name, &[]).await {
                Ok(volume) => {
                    second = Some(volume);
                    break;
                }
                Err(status) => assert!(
                    status.code() == Code::Unavailable,
                    "attempt {attempt} after the agent restart: {:?} is not retryable: {}",
                    status.code(),
                    status.message()
                ),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let second = second.expect("CreateVolume never succeeded after the agent restart");
        let staging = cluster
            .stage(&second)
            .await
            .must("NodeStageVolume after agent restart");
        let target = cluster
            .publish(&second, &staging, "pod-r", false)
            .await
            .must("publish");
        std::fs::write(target.join("f"), b"x").expect("write after the agent restart");
        cluster
            .unpublish(&second.volume_id, &target)
            .await
            .must("unpublish");
        cluster
            .unstage(&second.volume_id, &staging)
            .await
            .must("unstage");
        cluster
            .assert_volumes_listed(&[&first.volume_id, &second.volume_id], "agent back")
            .await;
        for id in [&first.volume_id, &second.volume_id] {
            cluster
                .delete_volume(id)
                .await
                .must("DeleteVolume after the agent restart");
        }
    })
    .await;
}

/// CreateVolume failing after the container exists (tagging it fails) must undo the
/// container: the provisioner's retry then succeeds instead of finding a half-made volume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_volume_failing_half_way_leaves_nothing_behind() {
    if !emulator_only_or_skip("create_volume_failing_half_way_leaves_nothing_behind") {
        return;
    }
    within(Duration::from_secs(60), "half-made volume", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        const DER_UNREACH: i32 = -1006;
        assert!(
            cluster
                .daos
                .inject_fault("daos_cont_set_attr", Some(DER_UNREACH), None, None)
        );
        // Every call fails (the driver retries an unreachable service once by itself).
        // Faults reach every process of the system within ~100 ms.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let name = format!("pvc-{}", unique_label("half"));
        let answer = cluster.create_volume(&name, &[]).await;
        assert_status(
            answer,
            Code::Unavailable,
            &[],
            "CreateVolume whose tagging fails",
        );
        cluster.daos.clear_faults();
        tokio::time::sleep(Duration::from_millis(300)).await;
        cluster
            .assert_volumes_not_listed(&[], "after the failed CreateVolume")
            .await;

        let volume = cluster
            .create_volume(&name, &[])
            .await
            .must("retried CreateVolume");
        cluster
            .assert_volumes_listed(&[&volume.volume_id], "after the retry")
            .await;
        cluster
            .delete_volume(&volume.volume_id)
            .await
            .must("DeleteVolume");
    })
    .await;
}

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

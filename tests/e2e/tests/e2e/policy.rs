//! --allowed-pools: the pools the driver may use at all, named by label or UUID and compared by
//! UUID. Every new use of another pool is refused with PERMISSION_DENIED naming the flag;
//! removing what exists never is.

use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_pools_gate_new_uses_and_never_removal() {
    if !privileged_or_skip("allowed_pools_gate_new_uses_and_never_removal") {
        return;
    }
    within(Duration::from_secs(120), "allowed pools", async {
        let mut cluster = Cluster::start(ClusterConfig {
            ephemeral_test_pool: true,
            ..Default::default()
        })
        .await;
        let first = cluster
            .create_volume(&format!("pvc-{}", unique_label("first")), &[])
            .await
            .must("CreateVolume with no restriction");
        let second = cluster
            .create_volume(&format!("pvc-{}", unique_label("second")), &[])
            .await
            .must("CreateVolume with no restriction");
        let staging = cluster
            .stage(&second)
            .await
            .must("NodeStageVolume with no restriction");
        let pool_uuid = parse_volume_id(&first.volume_id).pool;

        // Only a pool that is not this one.
        cluster
            .restart_csi_process_with(&["--allowed-pools", "elsewhere"])
            .await;
        let denied = ["--allowed-pools", "elsewhere"];
        assert_status(
            cluster
                .create_volume(&format!("pvc-{}", unique_label("denied")), &[])
                .await,
            Code::PermissionDenied,
            &denied,
            "CreateVolume in a pool outside --allowed-pools",
        );
        assert_status(
            cluster.capacity().await,
            Code::PermissionDenied,
            &denied,
            "GetCapacity of a pool outside --allowed-pools",
        );
        assert_status(
            cluster.stage(&first).await,
            Code::PermissionDenied,
            &denied,
            "NodeStageVolume in a pool outside --allowed-pools",
        );
        // Staged before the change, but a new pod is a new use.
        assert_status(
            cluster
                .publish(&second, &staging, "pod-denied", false)
                .await,
            Code::PermissionDenied,
            &denied,
            "NodePublishVolume of a staged volume in a pool outside --allowed-pools",
        );
        assert_status(
            cluster
                .controller()
                .create_snapshot(csi::CreateSnapshotRequest {
                    source_volume_id: second.volume_id.clone(),
                    name: format!("snap-{}", unique_label("denied")),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
            &denied,
            "CreateSnapshot of a volume in a pool outside --allowed-pools",
        );
        assert_status(
            cluster
                .controller()
                .controller_expand_volume(csi::ControllerExpandVolumeRequest {
                    volume_id: second.volume_id.clone(),
                    capacity_range: Some(csi::CapacityRange {
                        required_bytes: 2 * GIB,
                        limit_bytes: 0,
                    }),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
            &denied,
            "ControllerExpandVolume in a pool outside --allowed-pools",
        );
        // Inline volumes need both lists: --ephemeral-pools has the pool, --allowed-pools not.
        let target = cluster.target_for("inline-denied", "pod-inline");
        let inline = inline_publish_request(
            "csi-inline-denied",
            &target,
            params(&[(EPHEMERAL_KEY, "true"), ("poolid", cluster.pool())]),
        );
        assert_status(
            cluster.node().node_publish_volume(inline).await,
            Code::PermissionDenied,
            &denied,
            "an inline volume in a pool outside --allowed-pools",
        );
        // What exists is still removed.
        cluster
            .unstage(&second.volume_id, &staging)
            .await
            .must("NodeUnstageVolume in a pool not allowed");
        cluster
            .delete_volume(&first.volume_id)
            .await
            .must("DeleteVolume in a pool not allowed");

        // Listed by UUID: the pool the StorageClass names by label is that pool.
        cluster
            .restart_csi_process_with(&["--allowed-pools", &pool_uuid])
            .await;
        let third = cluster
            .create_volume(&format!("pvc-{}", unique_label("byuuid")), &[])
            .await
            .must("CreateVolume in a pool allowed by its UUID");
        cluster
            .capacity()
            .await
            .must("GetCapacity of a pool allowed by its UUID");

        // Listed by label, as a site usually writes it: volume ids carry the pool's UUID.
        let label = cluster.pool().to_string();
        cluster
            .restart_csi_process_with(&["--allowed-pools", &label])
            .await;
        let staged = cluster
            .stage(&third)
            .await
            .must("NodeStageVolume (pool by UUID) in a pool allowed by its label");
        let target = cluster
            .publish(&third, &staged, "pod-allowed", false)
            .await
            .must("NodePublishVolume in a pool allowed by its label");
        cluster
            .controller()
            .controller_expand_volume(csi::ControllerExpandVolumeRequest {
                volume_id: third.volume_id.clone(),
                capacity_range: Some(csi::CapacityRange {
                    required_bytes: 2 * GIB,
                    limit_bytes: 0,
                }),
                ..Default::default()
            })
            .await
            .must("ControllerExpandVolume in a pool allowed by its label");
        cluster
            .unpublish(&third.volume_id, &target)
            .await
            .must("unpublish");
        cluster
            .unstage(&third.volume_id, &staged)
            .await
            .must("unstage");
        for volume in [&second, &third] {
            cluster
                .delete_volume(&volume.volume_id)
                .await
                .must("DeleteVolume");
        }
        assert!(cluster.kubelet_mounts().is_empty());
    })
    .await;
}

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

/// A content source is a use of its pool too: a CreateVolume into an allowed pool from a
/// volume in a pool outside --allowed-pools is refused before the driver looks at (or
/// connects to) that pool, so the answer tells nothing about what is in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_source_outside_allowed_pools_is_refused() {
    if !emulator_only_or_skip("a_content_source_outside_allowed_pools_is_refused") {
        return;
    }
    within(Duration::from_secs(60), "content source policy", async {
        let mut cluster = Cluster::start(ClusterConfig::default()).await;
        cluster.daos.create_pool("other", "4G");
        let in_other = create_request(
            &format!("pvc-{}", unique_label("other")),
            params(&[("pool", "other")]),
        );
        let source = cluster
            .controller()
            .create_volume(in_other)
            .await
            .must("CreateVolume in the other pool")
            .into_inner()
            .volume
            .expect("a volume");

        let pool = cluster.pool().to_string();
        cluster
            .restart_csi_process_with(&["--allowed-pools", &pool])
            .await;
        let mut clone = create_request(
            &format!("pvc-{}", unique_label("clone")),
            cluster.storage_class(&[]),
        );
        let no_such = format!("{}/00000000-0000-0000-0000-00000000beef", {
            let parts = parse_volume_id(&source.volume_id);
            format!("{}/{}", parts.system, parts.pool)
        });
        for (id, what) in [
            (source.volume_id.clone(), "a volume that exists"),
            (no_such, "a volume that does not exist"),
        ] {
            clone.volume_content_source = Some(csi::VolumeContentSource {
                r#type: Some(csi::volume_content_source::Type::Volume(
                    csi::volume_content_source::VolumeSource { volume_id: id },
                )),
            });
            assert_status(
                cluster.controller().create_volume(clone.clone()).await,
                Code::PermissionDenied,
                &["--allowed-pools"],
                &format!("CreateVolume from {what} in a pool outside --allowed-pools"),
            );
        }
        // Removing it is never refused.
        cluster
            .delete_volume(&source.volume_id)
            .await
            .must("DeleteVolume in a pool not allowed");
    })
    .await;
}

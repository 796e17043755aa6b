//! Every call repeated: the provisioner and kubelet retry everything.

use daos_csi_e2e::mounts::is_read_only;
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_calls_are_idempotent() {
    within(Duration::from_secs(90), "controller idempotency", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let name = format!("pvc-{}", unique_label("idem"));
        let first = cluster.create_volume(&name, &[]).await.must("CreateVolume");
        let again = cluster
            .create_volume(&name, &[])
            .await
            .must("repeated CreateVolume");
        assert_eq!(
            again.volume_id, first.volume_id,
            "same name and parameters, same volume"
        );
        assert_eq!(again.volume_context, first.volume_context);
        assert_eq!(again.capacity_bytes, first.capacity_bytes);

        let mut bigger = create_request(&name, cluster.storage_class(&[]));
        bigger.capacity_range = Some(csi::CapacityRange {
            required_bytes: 2 * GIB,
            limit_bytes: 2 * GIB,
        });
        let answer = cluster.controller().create_volume(bigger).await;
        assert_status(
            answer,
            Code::AlreadyExists,
            &[],
            "same name, other capacity",
        );

        let answer = cluster.create_volume(&name, &[("rootMode", "0700")]).await;
        assert_status(
            answer,
            Code::AlreadyExists,
            &[],
            "same name, other parameters",
        );

        cluster
            .assert_volumes_listed(&[&first.volume_id], "the repeats made no other volume")
            .await;

        cluster
            .delete_volume(&first.volume_id)
            .await
            .must("DeleteVolume");
        cluster
            .delete_volume(&first.volume_id)
            .await
            .must("repeated DeleteVolume");
        // A well-formed id of a container that never existed is also "already gone".
        let parts = parse_volume_id(&first.volume_id);
        let never = format!(
            "{}/{}/00000000-0000-4000-8000-000000000001",
            parts.system, parts.pool
        );
        cluster
            .delete_volume(&never)
            .await
            .must("DeleteVolume of a never-made volume");
        cluster
            .assert_volumes_not_listed(&[&first.volume_id], "after DeleteVolume")
            .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_calls_are_idempotent() {
    if !privileged_or_skip("node_calls_are_idempotent") {
        return;
    }
    within(Duration::from_secs(120), "node idempotency", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let name = format!("pvc-{}", unique_label("idem"));
        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");
        let id = volume.volume_id.clone();

        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        cluster
            .stage(&volume)
            .await
            .must("repeated NodeStageVolume");
        assert_eq!(
            mounts_at(&staging).len(),
            1,
            "a repeated stage must not stack mounts"
        );
        assert!(
            cluster.dfuse_for(&staging, &id).is_some(),
            "exactly one dfuse for the volume"
        );

        let target = cluster
            .publish(&volume, &staging, "pod-a", false)
            .await
            .must("publish");
        cluster
            .publish(&volume, &staging, "pod-a", false)
            .await
            .must("repeated publish, same arguments");
        assert_eq!(
            mounts_at(&target).len(),
            1,
            "a repeated publish must not stack mounts"
        );

        let answer = cluster.publish(&volume, &staging, "pod-a", true).await;
        assert_status(
            answer,
            Code::AlreadyExists,
            &[],
            "same target, now read-only",
        );
        let still = mounts_at(&target);
        assert_eq!(still.len(), 1);
        assert!(
            !is_read_only(&still[0]),
            "the refused call changed the mount: {still:?}"
        );

        // Read-only publish to another pod is a read-only bind of the same volume.
        std::fs::write(target.join("hello"), b"from pod a").expect("write through pod a");
        let ro = cluster
            .publish(&volume, &staging, "pod-ro", true)
            .await
            .must("read-only publish");
        let ro_mounts = mounts_at(&ro);
        assert_eq!(ro_mounts.len(), 1);
        assert!(
            is_read_only(&ro_mounts[0]),
            "read-only publish mounted rw: {ro_mounts:?}"
        );
        assert_eq!(
            std::fs::read(ro.join("hello")).expect("read via ro"),
            b"from pod a"
        );
        let err = std::fs::write(ro.join("nope"), b"x").expect_err("writing through a ro target");
        assert_eq!(err.raw_os_error(), Some(nix::libc::EROFS), "{err}");

        for t in [&target, &ro] {
            cluster.unpublish(&id, t).await.must("NodeUnpublishVolume");
            cluster
                .unpublish(&id, t)
                .await
                .must("repeated NodeUnpublishVolume");
            assert!(!is_mounted(t));
        }
        cluster
            .unstage(&id, &staging)
            .await
            .must("NodeUnstageVolume");
        cluster
            .unstage(&id, &staging)
            .await
            .must("repeated NodeUnstageVolume");
        assert!(
            cluster.kubelet_mounts().is_empty(),
            "{:?}",
            cluster.kubelet_mounts()
        );
        cluster.delete_volume(&id).await.must("DeleteVolume");
    })
    .await;
}

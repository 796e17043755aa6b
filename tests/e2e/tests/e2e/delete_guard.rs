//! DeleteVolume never destroys what it must not: a container the driver did not make, or a
//! volume still staged somewhere.

use daos_csi_e2e::data::{sha256_file, write_pattern_file};
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_leaves_foreign_containers_intact() {
    if !privileged_or_skip("delete_leaves_foreign_containers_intact") {
        return;
    }
    within(
        Duration::from_secs(120),
        "delete of a foreign container",
        async {
            let cluster = Cluster::start(ClusterConfig::default()).await;
            let label = unique_label("static");
            let container_uuid = cluster.create_foreign_container(&label);
            let handle = format!("{}/{}", cluster.pool(), label);
            let volume = static_volume(&handle);

            let staging = cluster
                .stage(&volume)
                .await
                .must("NodeStageVolume of a static volume");
            let target = cluster
                .publish(&volume, &staging, "pod-s", false)
                .await
                .must("publish");
            let written = write_pattern_file(&target.join("keep.bin"), 11, 1 << 20).expect("write");
            cluster.unpublish(&handle, &target).await.must("unpublish");
            cluster.unstage(&handle, &staging).await.must("unstage");

            // Neither the static handle nor a driver-shaped id of the container may destroy it.
            let answer = cluster.delete_volume(&handle).await;
            assert_status(
                answer,
                Code::FailedPrecondition,
                &[],
                "DeleteVolume of a static handle",
            );
            if let Some(uuid) = &container_uuid {
                let ours = cluster
                    .create_volume(&format!("pvc-{label}"), &[])
                    .await
                    .must("CreateVolume");
                let parts = parse_volume_id(&ours.volume_id);
                let shaped = format!("{}/{}/{}", parts.system, parts.pool, uuid);
                let answer = cluster.delete_volume(&shaped).await;
                assert_status(
                    answer,
                    Code::FailedPrecondition,
                    &[],
                    "DeleteVolume of a foreign container",
                );
                cluster
                    .delete_volume(&ours.volume_id)
                    .await
                    .must("DeleteVolume of our volume");
            } else {
                println!(
                    "note: the container tool printed no UUID; only the static handle was tried"
                );
            }

            let staging = cluster
                .stage(&volume)
                .await
                .must("stage after the refused deletes");
            let target = cluster
                .publish(&volume, &staging, "pod-s2", false)
                .await
                .must("publish");
            let (read, _) = sha256_file(&target.join("keep.bin")).expect("data still readable");
            assert_eq!(read, written, "the foreign container's data is intact");
            cluster.unpublish(&handle, &target).await.must("unpublish");
            cluster.unstage(&handle, &staging).await.must("unstage");
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_of_a_staged_volume_is_refused() {
    if !privileged_or_skip("delete_of_a_staged_volume_is_refused") {
        return;
    }
    within(Duration::from_secs(120), "delete while staged", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let name = format!("pvc-{}", unique_label("busy"));
        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");
        let id = volume.volume_id.clone();
        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        let target = cluster
            .publish(&volume, &staging, "pod-b", false)
            .await
            .must("publish");
        std::fs::write(target.join("busy.txt"), b"still in use").expect("write");

        let answer = cluster.delete_volume(&id).await;
        assert_status(
            answer,
            Code::FailedPrecondition,
            &[],
            "DeleteVolume while staged",
        );
        assert_eq!(
            std::fs::read(target.join("busy.txt")).expect("read after the refused delete"),
            b"still in use"
        );
        assert!(
            cluster
                .list_volume_ids()
                .await
                .must("ListVolumes")
                .contains(&id)
        );

        cluster.unpublish(&id, &target).await.must("unpublish");
        // Staged but not published is still in use.
        let answer = cluster.delete_volume(&id).await;
        assert_status(
            answer,
            Code::FailedPrecondition,
            &[],
            "DeleteVolume while staged only",
        );
        cluster.unstage(&id, &staging).await.must("unstage");
        cluster
            .delete_volume(&id)
            .await
            .must("DeleteVolume once unstaged");
        let staging = cluster.kubelet.prepare_staging_path(&id);
        let answer = cluster
            .node()
            .node_stage_volume(stage_request(&static_volume(&id), &staging))
            .await;
        assert_status(answer, Code::NotFound, &[], "stage after delete");
    })
    .await;
}

/// A DeleteVolume must not destroy a volume that a CreateVolume of the same name (a retry)
/// is handing out at that moment: the provisioner would get an id whose container is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_is_aborted_while_a_create_of_that_name_runs() {
    if !emulator_only_or_skip("delete_is_aborted_while_a_create_of_that_name_runs") {
        return;
    }
    within(Duration::from_secs(60), "create/delete race", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let name = format!("pvc-{}", unique_label("race"));
        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");

        // The retried CreateVolume's container lookup (the next container open) stalls,
        // holding the name for three seconds.
        assert!(
            cluster
                .daos
                .inject_fault("daos_cont_open", None, Some(1), Some(3_000)),
            "fault injection"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        let mut controller = cluster.controller();
        let request = create_request(&name, cluster.storage_class(&[]));
        let retry = tokio::spawn(async move { controller.create_volume(request).await });
        tokio::time::sleep(Duration::from_millis(500)).await;

        assert_status(
            cluster.delete_volume(&volume.volume_id).await,
            Code::Aborted,
            &[&name],
            "DeleteVolume while a CreateVolume of its name runs",
        );
        let retried = retry
            .await
            .expect("CreateVolume task")
            .must("the retried CreateVolume")
            .into_inner()
            .volume
            .expect("a volume");
        assert_eq!(retried.volume_id, volume.volume_id, "the same volume");
        cluster
            .assert_volumes_listed(&[&volume.volume_id], "after the aborted delete")
            .await;

        cluster
            .delete_volume(&volume.volume_id)
            .await
            .must("DeleteVolume once the create is done");
        cluster
            .assert_volumes_not_listed(&[&volume.volume_id], "after DeleteVolume")
            .await;
    })
    .await;
}

/// The other order: a DeleteVolume is destroying the container when a CreateVolume of its
/// name arrives (a retry that finds the container still there). The create must not hand
/// out the container being destroyed; once the delete is done it makes a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_is_aborted_while_a_delete_of_that_volume_runs() {
    if !emulator_only_or_skip("create_is_aborted_while_a_delete_of_that_volume_runs") {
        return;
    }
    within(Duration::from_secs(60), "delete/create race", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let name = format!("pvc-{}", unique_label("race2"));
        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");

        // The delete's look at the container (its first container open) stalls for three
        // seconds: it holds the volume but has not learnt the volume's name yet, so only the
        // volume's lock can stop the create.
        assert!(
            cluster
                .daos
                .inject_fault("daos_cont_open", None, Some(1), Some(3_000)),
            "fault injection"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        let mut controller = cluster.controller();
        let id = volume.volume_id.clone();
        let delete =
            tokio::spawn(async move { controller.delete_volume(delete_request(&id)).await });
        tokio::time::sleep(Duration::from_millis(500)).await;

        assert_status(
            cluster.create_volume(&name, &[]).await,
            Code::Aborted,
            &[&volume.volume_id],
            "CreateVolume while a DeleteVolume of that volume runs",
        );
        delete
            .await
            .expect("DeleteVolume task")
            .must("the stalled DeleteVolume");
        let fresh = cluster
            .create_volume(&name, &[])
            .await
            .must("CreateVolume once the delete is done");
        assert_ne!(fresh.volume_id, volume.volume_id, "a new container");
        cluster
            .assert_volumes_listed(&[&fresh.volume_id], "the new volume")
            .await;
        cluster
            .delete_volume(&fresh.volume_id)
            .await
            .must("DeleteVolume of the new volume");
    })
    .await;
}

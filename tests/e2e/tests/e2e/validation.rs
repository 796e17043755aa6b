//! Malformed and misplaced calls get the spec's status codes, with messages naming the field.

use daos_csi_e2e::csi::volume_capability::access_mode::Mode;
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::path::Path;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_rejects_bad_requests() {
    within(Duration::from_secs(90), "controller validation", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let mut controller = cluster.controller();
        let name = format!("pvc-{}", unique_label("val"));
        let good = || create_request(&name, cluster.storage_class(&[]));

        let mut r = good();
        r.name.clear();
        let answer = controller.create_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["name"],
            "CreateVolume without name",
        );

        // An object class that cannot tolerate the redundancy factor: libdfs says only
        // EINVAL; the driver says which parameters clash, and nothing is left behind.
        let clash = create_request(
            &name,
            cluster.storage_class(&[("oclass", "S1"), ("redundancyFactor", "1")]),
        );
        let answer = controller.create_volume(clash).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["oclass=S1", "redundancy factor 1"],
            "CreateVolume with an object class below the redundancy factor",
        );
        assert_eq!(
            cluster.list_volume_ids().await.expect("ListVolumes"),
            Vec::<String>::new(),
            "a refused CreateVolume left a volume"
        );

        let mut r = good();
        r.volume_capabilities.clear();
        let answer = controller.create_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_capabilities"],
            "CreateVolume without volume_capabilities",
        );

        let mut r = good();
        r.parameters.remove("pool");
        let answer = controller.create_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["pool"],
            "CreateVolume without pool",
        );

        let mut r = good();
        r.parameters.insert("bogusParameter".into(), "1".into());
        let answer = controller.create_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["bogusParameter"],
            "unknown StorageClass parameter",
        );

        let mut r = good();
        r.parameters.insert("chunkSize".into(), "lots".into());
        let answer = controller.create_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["chunkSize"],
            "unparsable chunkSize",
        );

        let mut r = good();
        r.capacity_range = Some(csi::CapacityRange {
            required_bytes: 1 << 50,
            limit_bytes: 0,
        });
        let answer = controller.create_volume(r).await;
        assert_status(answer, Code::OutOfRange, &[], "1 PiB from a smaller pool");

        let answer = controller.delete_volume(delete_request("")).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_id"],
            "DeleteVolume without id",
        );

        let answer = controller
            .list_volumes(csi::ListVolumesRequest {
                max_entries: 0,
                starting_token: "not-a-token-this-driver-made".into(),
            })
            .await;
        assert_status(
            answer,
            Code::Aborted,
            &[],
            "ListVolumes with a bad starting_token",
        );

        // None of the refused calls left a volume behind; a good one still works.
        cluster
            .assert_volumes_not_listed(&[], "after refused CreateVolume calls")
            .await;
        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");

        let validate =
            |caps: Vec<csi::VolumeCapability>, id: &str| csi::ValidateVolumeCapabilitiesRequest {
                volume_id: id.to_string(),
                volume_context: volume.volume_context.clone(),
                volume_capabilities: caps,
                parameters: cluster.storage_class(&[]),
                ..Default::default()
            };
        let answer = controller
            .validate_volume_capabilities(validate(vec![rwx()], ""))
            .await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_id"],
            "Validate without id",
        );
        let answer = controller
            .validate_volume_capabilities(validate(vec![], &volume.volume_id))
            .await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_capabilities"],
            "Validate without capabilities",
        );
        let confirmed = ok(
            controller
                .validate_volume_capabilities(validate(vec![rwx()], &volume.volume_id))
                .await,
            "Validate mount RWX",
        );
        assert!(
            confirmed.confirmed.is_some(),
            "a mount RWX volume is supported: {confirmed:?}"
        );
        let block = ok(
            controller
                .validate_volume_capabilities(validate(
                    vec![block_capability(Mode::SingleNodeWriter)],
                    &volume.volume_id,
                ))
                .await,
            "Validate block",
        );
        assert!(
            block.confirmed.is_none(),
            "block access must not be confirmed: {block:?}"
        );
        assert!(!block.message.is_empty(), "say why block is not confirmed");
        let parts = parse_volume_id(&volume.volume_id);
        let missing = format!(
            "{}/{}/00000000-0000-4000-8000-00000000abcd",
            parts.system, parts.pool
        );
        let answer = controller
            .validate_volume_capabilities(validate(vec![rwx()], &missing))
            .await;
        assert_status(
            answer,
            Code::NotFound,
            &[],
            "Validate of a volume that does not exist",
        );

        // Pagination: two pages for three volumes with max_entries 2.
        let mut ids = vec![volume.volume_id.clone()];
        for i in 0..2 {
            let v = cluster
                .create_volume(&format!("{name}-{i}"), &[])
                .await
                .must("CreateVolume");
            ids.push(v.volume_id);
        }
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut token = String::new();
        loop {
            let page = ok(
                controller
                    .list_volumes(csi::ListVolumesRequest {
                        max_entries: 2,
                        starting_token: token.clone(),
                    })
                    .await,
                "ListVolumes with max_entries 2",
            );
            pages += 1;
            assert!(page.entries.len() <= 2, "max_entries 2 ignored: {page:?}");
            seen.extend(
                page.entries
                    .iter()
                    .filter_map(|e| e.volume.as_ref().map(|v| v.volume_id.clone())),
            );
            if page.next_token.is_empty() {
                break;
            }
            assert!(pages < 1000, "ListVolumes pages without end");
            token = page.next_token;
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "a volume listed twice: {seen:?}");
        for id in &ids {
            assert!(seen.contains(id), "{id} missing from the pages: {seen:?}");
        }
        if cluster.daos.is_emulated() {
            assert_eq!(seen.len(), 3, "only this test's volumes: {seen:?}");
            assert_eq!(pages, 2, "three volumes, two per page");
        }
        for id in &ids {
            cluster.delete_volume(id).await.must("DeleteVolume");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_rejects_bad_requests() {
    if !privileged_or_skip("node_rejects_bad_requests") {
        return;
    }
    within(Duration::from_secs(90), "node validation", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let mut node = cluster.node();
        let name = format!("pvc-{}", unique_label("val"));
        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");
        let id = volume.volume_id.clone();
        let staging = cluster.kubelet.prepare_staging_path(&id);
        let target = cluster.target_for(&id, "pod-v");

        // NodeStageVolume
        let stage = || stage_request(&volume, &staging);
        let mut r = stage();
        r.volume_id.clear();
        let answer = node.node_stage_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_id"],
            "stage without volume_id",
        );
        let mut r = stage();
        r.staging_target_path.clear();
        let answer = node.node_stage_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["staging_target_path"],
            "stage without staging_target_path",
        );
        let mut r = stage();
        r.volume_capability = None;
        let answer = node.node_stage_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_capability"],
            "stage without volume_capability",
        );
        let outside = cluster.base.join("not-kubelet/globalmount");
        std::fs::create_dir_all(&outside).expect("outside dir");
        let answer = node
            .node_stage_volume(stage_request(&volume, &outside))
            .await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &[],
            "staging outside the kubelet root",
        );
        assert!(!is_mounted(&outside));

        // NodePublishVolume before NodeStageVolume
        let answer = node
            .node_publish_volume(publish_request(&volume, &staging, &target, false))
            .await;
        assert_status(
            answer,
            Code::FailedPrecondition,
            &[],
            "publish before stage",
        );
        assert!(!is_mounted(&target));

        // Stats of a path nothing is mounted on.
        let answer = cluster.stats(&id, &staging, Some(&staging)).await;
        assert_status(answer, Code::NotFound, &[], "stats on a path not mounted");

        cluster.stage(&volume).await.must("NodeStageVolume");
        let publish = || publish_request(&volume, &staging, &target, false);
        let mut r = publish();
        r.volume_id.clear();
        let answer = node.node_publish_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_id"],
            "publish without volume_id",
        );
        let mut r = publish();
        r.target_path.clear();
        let answer = node.node_publish_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["target_path"],
            "publish without target_path",
        );
        let mut r = publish();
        r.volume_capability = None;
        let answer = node.node_publish_volume(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_capability"],
            "publish without volume_capability",
        );
        let mut r = publish();
        r.staging_target_path.clear();
        let answer = node.node_publish_volume(r).await;
        // spec.md, NodePublishVolume Errors: "Staging target path not set".
        assert_status(
            answer,
            Code::FailedPrecondition,
            &[],
            "publish without staging_target_path",
        );
        let outside_target = cluster.base.join("elsewhere/mount");
        std::fs::create_dir_all(outside_target.parent().expect("parent")).expect("parent dir");
        let answer = node
            .node_publish_volume(publish_request(&volume, &staging, &outside_target, false))
            .await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &[],
            "target outside the kubelet root",
        );
        assert!(!is_mounted(&outside_target));
        assert!(
            !is_mounted(&target),
            "no refused publish may mount anything"
        );

        // Unpublish / unstage / stats without their required fields.
        let answer = node
            .node_unpublish_volume(unpublish_request("", &target))
            .await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_id"],
            "unpublish without volume_id",
        );
        let answer = node
            .node_unpublish_volume(unpublish_request(&id, Path::new("")))
            .await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["target_path"],
            "unpublish without target_path",
        );
        let answer = node
            .node_unstage_volume(unstage_request("", &staging))
            .await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_id"],
            "unstage without volume_id",
        );
        let answer = node
            .node_unstage_volume(unstage_request(&id, Path::new("")))
            .await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["staging_target_path"],
            "unstage without staging_target_path",
        );
        let answer = cluster.stats("", &staging, None).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_id"],
            "stats without volume_id",
        );
        let answer = cluster.stats(&id, Path::new(""), None).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["volume_path"],
            "stats without volume_path",
        );
        // A path that holds no volume of ours is NOT_FOUND (spec.md), whatever is wrong
        // with it: relative, outside the kubelet directory, missing, or not a mount.
        let missing = cluster.kubelet.root.join("pods/nobody/volumes/none");
        for (path, why) in [
            (Path::new("relative/path"), "a relative volume_path"),
            (
                Path::new("/etc"),
                "a volume_path outside the kubelet directory",
            ),
            (missing.as_path(), "a volume_path that does not exist"),
            (
                cluster.kubelet.root.as_path(),
                "a volume_path with nothing mounted",
            ),
        ] {
            let answer = cluster.stats(&id, path, None).await;
            assert_status(answer, Code::NotFound, &[], why);
        }

        // The volume is still staged and usable after all that.
        let target = cluster
            .publish(&volume, &staging, "pod-v", false)
            .await
            .must("publish");
        std::fs::write(target.join("ok"), b"ok").expect("write after the refused calls");
        cluster.unpublish(&id, &target).await.must("unpublish");
        cluster.unstage(&id, &staging).await.must("unstage");
        assert!(
            cluster.kubelet_mounts().is_empty(),
            "{:?}",
            cluster.kubelet_mounts()
        );
        cluster.delete_volume(&id).await.must("DeleteVolume");
    })
    .await;
}

//! ControllerExpandVolume, as external-resizer sends it when a PVC's request grows: the
//! recorded capacity grows (DAOS has no per-container size), within the pool's free space,
//! online, never shrinking, and only for the driver's own volumes.

use daos_csi_e2e::csi::{self, plugin_capability};
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::time::Duration;

fn expand_request(
    volume_id: &str,
    required: i64,
    limit: i64,
) -> csi::ControllerExpandVolumeRequest {
    csi::ControllerExpandVolumeRequest {
        volume_id: volume_id.to_string(),
        capacity_range: Some(csi::CapacityRange {
            required_bytes: required,
            limit_bytes: limit,
        }),
        volume_capability: Some(rwx()),
        ..Default::default()
    }
}

async fn expand(
    cluster: &Cluster,
    volume_id: &str,
    required: i64,
    limit: i64,
) -> Result<csi::ControllerExpandVolumeResponse, Status> {
    cluster
        .controller()
        .controller_expand_volume(expand_request(volume_id, required, limit))
        .await
        .map(|r| r.into_inner())
}

async fn listed_capacity(cluster: &Cluster, volume_id: &str) -> Option<i64> {
    let page = cluster
        .controller()
        .list_volumes(csi::ListVolumesRequest::default())
        .await
        .must("ListVolumes");
    page.into_inner()
        .entries
        .into_iter()
        .filter_map(|e| e.volume)
        .find(|v| v.volume_id == volume_id)
        .map(|v| v.capacity_bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expansion_grows_the_record_online_and_never_shrinks() {
    if !privileged_or_skip("expansion_grows_the_record_online_and_never_shrinks") {
        return;
    }
    within(Duration::from_secs(120), "expand", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let caps = cluster
            .identity()
            .get_plugin_capabilities(csi::GetPluginCapabilitiesRequest {})
            .await
            .must("GetPluginCapabilities")
            .into_inner();
        let online = caps.capabilities.iter().any(|c| {
            matches!(&c.r#type, Some(plugin_capability::Type::VolumeExpansion(e))
                if e.r#type == plugin_capability::volume_expansion::Type::Online as i32)
        });
        assert!(online, "VolumeExpansion ONLINE is not advertised: {caps:?}");

        let name = format!("pvc-{}", unique_label("grow"));
        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");
        let id = volume.volume_id.clone();
        assert_eq!(volume.capacity_bytes, GIB);

        // Online: the volume is mounted in a pod while it grows.
        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        let target = cluster
            .publish(&volume, &staging, "pod-x", false)
            .await
            .must("publish");
        std::fs::write(target.join("f"), b"before growth").expect("write");

        let grown = expand(&cluster, &id, 2 * GIB, 0)
            .await
            .must("expand to 2 GiB");
        assert_eq!(grown.capacity_bytes, 2 * GIB);
        assert!(
            !grown.node_expansion_required,
            "nothing on the node changes for a DAOS volume"
        );
        let again = expand(&cluster, &id, 2 * GIB, 0)
            .await
            .must("repeated expand");
        assert_eq!(again.capacity_bytes, 2 * GIB);
        let smaller = expand(&cluster, &id, GIB, 0).await.must("expand to less");
        assert_eq!(smaller.capacity_bytes, 2 * GIB, "a volume never shrinks");
        assert_status(
            expand(&cluster, &id, GIB, GIB + GIB / 2).await,
            Code::OutOfRange,
            &["limit_bytes"],
            "expand with a limit below the current capacity",
        );
        assert_eq!(listed_capacity(&cluster, &id).await, Some(2 * GIB));
        assert_eq!(
            std::fs::read(target.join("f")).expect("read after growth"),
            b"before growth"
        );

        // external-provisioner may repeat its original CreateVolume: still the same volume.
        let repeated = cluster
            .create_volume(&name, &[])
            .await
            .must("repeated CreateVolume after expansion");
        assert_eq!(repeated.volume_id, id);
        assert_eq!(repeated.capacity_bytes, 2 * GIB);

        // More than any pool has free: refused, and the record is unchanged.
        assert_status(
            expand(&cluster, &id, 1 << 60, 0).await,
            Code::OutOfRange,
            &["free"],
            "expand beyond the pool's free space",
        );
        assert_eq!(listed_capacity(&cluster, &id).await, Some(2 * GIB));

        cluster.unpublish(&id, &target).await.must("unpublish");
        cluster.unstage(&id, &staging).await.must("unstage");
        cluster.delete_volume(&id).await.must("DeleteVolume");
        assert_status(
            expand(&cluster, &id, 4 * GIB, 0).await,
            Code::NotFound,
            &[],
            "expand of a deleted volume",
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expansion_refuses_bad_requests_and_foreign_containers() {
    if !privileged_or_skip("expansion_refuses_bad_requests_and_foreign_containers") {
        return;
    }
    within(Duration::from_secs(120), "expand refusals", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let mut no_id = expand_request("", GIB, 0);
        no_id.volume_id.clear();
        assert_status(
            cluster.controller().controller_expand_volume(no_id).await,
            Code::InvalidArgument,
            &["volume_id"],
            "expand without volume_id",
        );
        let mut no_range = expand_request("x/y/z", GIB, 0);
        no_range.capacity_range = None;
        assert_status(
            cluster
                .controller()
                .controller_expand_volume(no_range)
                .await,
            Code::InvalidArgument,
            &["capacity_range"],
            "expand without capacity_range",
        );
        assert_status(
            expand(&cluster, "x/y/z", 0, 0).await,
            Code::InvalidArgument,
            &["capacity_range"],
            "expand with an empty capacity_range",
        );
        assert_status(
            expand(&cluster, "x/y/z", -1, 0).await,
            Code::InvalidArgument,
            &["negative"],
            "expand with a negative size",
        );
        assert_status(
            expand(&cluster, "not an id", GIB, 0).await,
            Code::NotFound,
            &[],
            "expand of an id the driver never issued",
        );

        let ours = cluster
            .create_volume(&format!("pvc-{}", unique_label("own")), &[])
            .await
            .must("CreateVolume");
        let parts = parse_volume_id(&ours.volume_id);
        let missing = format!(
            "{}/{}/{}",
            parts.system, parts.pool, "0b8f3d4e-1c2a-4e5f-8a9b-0c1d2e3f4a5b"
        );
        assert_status(
            expand(&cluster, &missing, 2 * GIB, 0).await,
            Code::NotFound,
            &[],
            "expand of a container that does not exist",
        );

        let label = unique_label("foreign");
        let foreign = cluster.create_foreign_container(&label);
        for handle in [
            Some(format!("{}/{}", cluster.pool(), label)),
            foreign.map(|uuid| format!("{}/{}/{}", parts.system, parts.pool, uuid)),
        ]
        .into_iter()
        .flatten()
        {
            assert_status(
                expand(&cluster, &handle, 2 * GIB, 0).await,
                Code::FailedPrecondition,
                &["not provisioned"],
                "expand of a container the driver did not create",
            );
        }
        cluster
            .delete_volume(&ours.volume_id)
            .await
            .must("DeleteVolume");
    })
    .await;
}

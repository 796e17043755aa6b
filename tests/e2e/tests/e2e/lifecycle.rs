//! The life of a PVC-backed volume, from CreateVolume to DeleteVolume.

use daos_csi_e2e::csi::volume_usage::Unit;
use daos_csi_e2e::data::{hex, sha256_file, write_pattern_file};
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::time::Duration;

const DATA_LEN: usize = 64 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_pvc_lifecycle() {
    if !privileged_or_skip("full_pvc_lifecycle") {
        return;
    }
    within(Duration::from_secs(180), "full PVC lifecycle", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let name = format!("pvc-{}", unique_label("life"));

        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");
        let id = volume.volume_id.clone();
        parse_volume_id(&id);
        assert!(
            volume.capacity_bytes >= GIB,
            "capacity {} < the 1 GiB asked for",
            volume.capacity_bytes
        );
        cluster
            .assert_volumes_listed(&[&id], "after one CreateVolume")
            .await;

        // Stage: one dfuse mount at the staging path.
        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        let staged = mounts_at(&staging);
        assert_eq!(staged.len(), 1, "one mount at the staging path: {staged:?}");
        assert_eq!(staged[0].fs_type, "fuse.daos", "{staged:?}");
        let first_dfuse = cluster
            .dfuse_for(&staging, &id)
            .expect("a dfuse process serves the staging path");

        // Two pods share it.
        let a = cluster
            .publish(&volume, &staging, "pod-a", false)
            .await
            .must("publish a");
        let b = cluster
            .publish(&volume, &staging, "pod-b", false)
            .await
            .must("publish b");
        assert!(is_mounted(&a) && is_mounted(&b), "both targets mounted");

        let stats = cluster
            .stats(&id, &a, Some(&staging))
            .await
            .must("NodeGetVolumeStats");
        let bytes = stats
            .usage
            .iter()
            .find(|u| u.unit == Unit::Bytes as i32)
            .expect("byte usage reported");
        assert!(
            bytes.total > 0 && bytes.available <= bytes.total,
            "{bytes:?}"
        );
        if let Some(condition) = &stats.volume_condition {
            assert!(
                !condition.abnormal,
                "healthy volume reported abnormal: {condition:?}"
            );
        }

        let written = {
            let file = a.join("data.bin");
            tokio::task::spawn_blocking(move || write_pattern_file(&file, 42, DATA_LEN))
                .await
                .expect("writer task")
                .expect("writing 64 MiB through pod a's target")
        };
        let (read, len) = sha256_file(&b.join("data.bin")).expect("reading through pod b");
        assert_eq!(len, DATA_LEN as u64);
        assert_eq!(hex(&read), hex(&written), "pod b reads what pod a wrote");

        for target in [&a, &b] {
            cluster
                .unpublish(&id, target)
                .await
                .must("NodeUnpublishVolume");
            assert!(!is_mounted(target), "{} still mounted", target.display());
            assert!(
                !target.exists(),
                "the driver must remove the target it created"
            );
        }
        cluster
            .unstage(&id, &staging)
            .await
            .must("NodeUnstageVolume");
        assert!(
            !is_mounted(&staging),
            "staging path still mounted after unstage"
        );
        assert!(
            eventually(Duration::from_secs(10), || !first_dfuse.is_alive()).await,
            "dfuse {} still running after unstage",
            first_dfuse.pid
        );

        // Stage again: a fresh dfuse, and the bytes come from DAOS, not a page cache.
        let staging = cluster.stage(&volume).await.must("second NodeStageVolume");
        let second_dfuse = cluster
            .dfuse_for(&staging, &id)
            .expect("a dfuse serves the second stage");
        assert_ne!(
            second_dfuse.pid, first_dfuse.pid,
            "second stage must start a new dfuse"
        );
        let c = cluster
            .publish(&volume, &staging, "pod-c", false)
            .await
            .must("publish c");
        let (again, len) = sha256_file(&c.join("data.bin")).expect("reading after re-stage");
        assert_eq!(len, DATA_LEN as u64);
        assert_eq!(
            hex(&again),
            hex(&written),
            "data survives unstage and re-stage"
        );
        cluster.unpublish(&id, &c).await.must("unpublish c");
        cluster.unstage(&id, &staging).await.must("second unstage");
        assert!(
            cluster.kubelet_mounts().is_empty(),
            "mounts left: {:?}",
            cluster.kubelet_mounts()
        );

        cluster.delete_volume(&id).await.must("DeleteVolume");
        cluster
            .assert_volumes_not_listed(&[&id], "after DeleteVolume")
            .await;
        // The container itself is gone: staging its id as a static volume finds nothing.
        let staging = cluster.kubelet.prepare_staging_path(&id);
        let stage_deleted = cluster
            .node()
            .node_stage_volume(stage_request(&static_volume(&id), &staging))
            .await;
        assert_status(
            stage_deleted,
            Code::NotFound,
            &["container does not exist"],
            "staging a deleted volume",
        );
        assert!(!is_mounted(&staging));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_capacity_is_the_pools_free_space() {
    within(Duration::from_secs(60), "GetCapacity", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let capacity = cluster.capacity().await.must("GetCapacity");
        assert!(capacity.available_capacity > 0, "{capacity:?}");
        if cluster.daos.is_emulated() {
            assert!(
                capacity.available_capacity <= 8 * GIB,
                "more than the 8 GiB pool: {capacity:?}"
            );
        }
    })
    .await;
}

/// What a StorageClass says ends up on the container and on dfuse's command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_class_parameters_reach_the_volume() {
    if !privileged_or_skip("storage_class_parameters_reach_the_volume") {
        return;
    }
    within(Duration::from_secs(60), "StorageClass parameters", async {
        use std::os::unix::fs::MetadataExt;
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let name = format!("pvc-{}", unique_label("params"));
        let volume = cluster
            .create_volume(
                &name,
                &[
                    ("rootUid", "1001"),
                    ("rootGid", "1002"),
                    ("rootMode", "0750"),
                    ("chunkSize", "2MiB"),
                    ("oclass", "SX"),
                    ("dfuseThreadCount", "3"),
                    ("dfuseEqCount", "1"),
                    ("dfuseCaching", "false"),
                    ("dfuseWriteBackCache", "false"),
                ],
            )
            .await
            .must("CreateVolume with parameters");
        let id = volume.volume_id.clone();
        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        let root = std::fs::metadata(&staging).expect("stat of the volume root");
        assert_eq!((root.uid(), root.gid()), (1001, 1002), "rootUid/rootGid");
        assert_eq!(root.mode() & 0o7777, 0o750, "rootMode");

        let dfuse = cluster
            .dfuse_for(&staging, &id)
            .expect("dfuse for the volume");
        let command = dfuse.dfuse_command();
        assert_eq!(
            command.option_value(&["-t", "--thread-count"]).as_deref(),
            Some("3"),
            "dfuseThreadCount: {:?}",
            dfuse.argv
        );
        assert_eq!(
            command.option_value(&["-e", "--eq-count"]).as_deref(),
            Some("1"),
            "dfuseEqCount: {:?}",
            dfuse.argv
        );
        assert!(
            command.has_option("--disable-caching"),
            "dfuseCaching: {:?}",
            dfuse.argv
        );
        assert!(
            command.has_option("--disable-wb-cache"),
            "dfuseWriteBackCache: {:?}",
            dfuse.argv
        );
        assert!(
            command.has_option("--multi-user"),
            "multi-user by default: {:?}",
            dfuse.argv
        );

        cluster
            .unstage(&id, &staging)
            .await
            .must("NodeUnstageVolume");
        cluster.delete_volume(&id).await.must("DeleteVolume");
    })
    .await;
}

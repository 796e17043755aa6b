//! CSI ephemeral inline volumes in the first DAOS driver's form (`poolid`, `uid`).

use daos_csi_e2e::data::{sha256_file, write_pattern_file};
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

const POD_UID: &str = "6b3f0c8e-5a7d-4f7e-9d1c-0e2a9b8c7d61";

fn inline_context(pool: &str, uid: &str) -> HashMap<String, String> {
    params(&[
        (EPHEMERAL_KEY, "true"),
        ("poolid", pool),
        ("uid", uid),
        ("csi.storage.k8s.io/pod.name", "inline-app"),
        ("csi.storage.k8s.io/pod.namespace", "default"),
        ("csi.storage.k8s.io/pod.uid", POD_UID),
        ("csi.storage.k8s.io/serviceAccount.name", "default"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_volume_lives_and_dies_with_the_pod() {
    if !privileged_or_skip("ephemeral_volume_lives_and_dies_with_the_pod") {
        return;
    }
    within(Duration::from_secs(120), "ephemeral lifecycle", async {
        let cluster = Cluster::start(ClusterConfig {
            ephemeral_test_pool: true,
            ..Default::default()
        })
        .await;
        let volume_id = format!("csi-{}", sha256_hex(unique_label("inline").as_bytes()));
        let target = cluster.kubelet.prepare_target_path(POD_UID, "scratch");
        let request =
            inline_publish_request(&volume_id, &target, inline_context(cluster.pool(), "1234"));

        ok(
            cluster.node().node_publish_volume(request.clone()).await,
            "NodePublishVolume (inline)",
        );
        let mounted = mounts_at(&target);
        assert_eq!(mounted.len(), 1, "one mount at the target: {mounted:?}");
        let root = std::fs::metadata(&target).expect("stat of the volume root");
        assert_eq!(root.uid(), 1234, "the root must belong to the pod's uid");

        let file = target.join("scratch.bin");
        let written = write_pattern_file(&file, 7, 1 << 20).expect("writing to the inline volume");
        assert_eq!(sha256_file(&file).expect("reading it back").0, written);

        let dfuse = cluster
            .dfuse_serving(&target)
            .expect("a dfuse serves the inline volume");
        let container = dfuse
            .dfuse_command()
            .container
            .unwrap_or_else(|| panic!("no container on dfuse's command line: {:?}", dfuse.argv));

        // kubelet repeats publishes after its own restarts.
        ok(
            cluster.node().node_publish_volume(request).await,
            "repeated NodePublishVolume (inline)",
        );
        assert_eq!(
            mounts_at(&target).len(),
            1,
            "a repeated publish must not stack mounts"
        );

        cluster
            .unpublish(&volume_id, &target)
            .await
            .must("NodeUnpublishVolume (inline)");
        assert!(!is_mounted(&target), "target still mounted");
        assert!(
            !target.exists(),
            "the driver must remove the target it created"
        );
        assert!(
            eventually(Duration::from_secs(10), || !dfuse.is_alive()).await,
            "dfuse {} outlived the inline volume",
            dfuse.pid
        );
        // The container went with the pod.
        let handle = format!("{}/{}", cluster.pool(), container);
        let staging = cluster.kubelet.prepare_staging_path(&handle);
        let stage = cluster
            .node()
            .node_stage_volume(stage_request(&static_volume(&handle), &staging))
            .await;
        assert_status(
            stage,
            Code::NotFound,
            &[],
            "staging the destroyed inline container",
        );
        cluster
            .unpublish(&volume_id, &target)
            .await
            .must("repeated NodeUnpublishVolume");
        assert!(
            cluster.kubelet_mounts().is_empty(),
            "{:?}",
            cluster.kubelet_mounts()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_volume_in_a_pool_not_allowed_is_refused() {
    if !privileged_or_skip("ephemeral_volume_in_a_pool_not_allowed_is_refused") {
        return;
    }
    within(Duration::from_secs(60), "ephemeral refusal", async {
        let cluster = Cluster::start(ClusterConfig {
            ephemeral_test_pool: true,
            ..Default::default()
        })
        .await;
        // The pool exists (on the emulator), so only the admin's allow-list can refuse it.
        let other = if cluster.daos.is_emulated() {
            cluster.daos.create_pool("other", "1G");
            "other".to_string()
        } else {
            format!("{}-not-allowed", cluster.pool())
        };
        let volume_id = format!("csi-{}", sha256_hex(unique_label("refused").as_bytes()));
        let target = cluster.kubelet.prepare_target_path(POD_UID, "refused");
        let answer = cluster
            .node()
            .node_publish_volume(inline_publish_request(
                &volume_id,
                &target,
                inline_context(&other, "0"),
            ))
            .await;
        let status = answer.expect_err("an inline volume in a pool not allowed must be refused");
        assert!(
            matches!(
                status.code(),
                Code::InvalidArgument | Code::PermissionDenied
            ),
            "refusal code {:?}: {}",
            status.code(),
            status.message()
        );
        assert!(
            status.message().contains("ephemeral-pools"),
            "the refusal must name the --ephemeral-pools flag: {}",
            status.message()
        );
        assert!(!is_mounted(&target), "a refused inline volume got mounted");
        assert!(
            cluster.my_dfuse_processes().is_empty(),
            "a refused inline volume started dfuse"
        );

        // Without the annotation nothing ephemeral happens either: a publish of an unknown,
        // unstaged volume is not turned into a container.
        let no_annotation = {
            let mut ctx = inline_context(cluster.pool(), "0");
            ctx.remove(EPHEMERAL_KEY);
            inline_publish_request(&volume_id, &target, ctx)
        };
        let answer = cluster.node().node_publish_volume(no_annotation).await;
        assert!(
            answer.is_err(),
            "publish without staging or the ephemeral annotation succeeded"
        );
        assert!(!is_mounted(&target));
    })
    .await;
}

//! CreateVolume survives a failure or a crash at any step of making a container: it creates
//! under a staging label (`csi-creating-<hash of driver and name>`), tags, then renames to the
//! final label. Whatever a failed attempt leaves, a retry finishes with exactly one container;
//! a staging-labelled container that holds data is never destroyed.

use daos_csi_e2e::data::{sha256_file, write_pattern_file};
use daos_csi_e2e::kubelet::DRIVER_NAME;
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::time::Duration;

/// DER_UNREACH: a transient network failure.
const DER_UNREACH: i32 = -1006;

/// The label the driver gives a volume's container while creating it.
fn staging_label(name: &str) -> String {
    let digest = sha256_hex(format!("{DRIVER_NAME}\0{name}").as_bytes());
    format!("csi-creating-{}", &digest[..32])
}

/// Removes the injected faults and waits until every process has seen that (they reload the
/// fault file within about 100 ms).
async fn clear_faults(cluster: &Cluster) {
    cluster.daos.clear_faults();
    tokio::time::sleep(Duration::from_millis(400)).await;
}

/// Injects a fault and waits until the driver has seen it.
async fn inject(
    cluster: &Cluster,
    op: &str,
    der: Option<i32>,
    count: Option<u32>,
    delay: Option<u64>,
) {
    assert!(
        cluster.daos.inject_fault(op, der, count, delay),
        "fault injection"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
}

/// Asserts that no container has `label`: a destroy of it must fail with DER_NONEXIST (used
/// only where its absence is the point, since it would destroy one that exists).
fn assert_label_gone(cluster: &Cluster, label: &str) {
    let out = std::process::Command::new(cluster.daos.bin("daos-emu-cli"))
        .args(["container", "destroy", cluster.pool(), label])
        .envs(cluster.daos.env())
        .output()
        .expect("running daos-emu-cli");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success() && text.contains("NONEXIST"),
        "container {label:?} should not exist: {text}"
    );
}

/// Creates the volume and checks the result: one container in the pool, listed once, and a
/// repeated call answering the same volume.
async fn create_and_check(cluster: &Cluster, name: &str) -> csi::Volume {
    let volume = cluster
        .create_volume(name, &[])
        .await
        .must("CreateVolume retry");
    parse_volume_id(&volume.volume_id);
    assert_eq!(cluster.container_count(), 1, "exactly one container");
    cluster
        .assert_volumes_listed(&[&volume.volume_id], "after the retry")
        .await;
    let again = cluster
        .create_volume(name, &[])
        .await
        .must("CreateVolume again");
    assert_eq!(again.volume_id, volume.volume_id, "same volume on a repeat");
    assert_eq!(cluster.container_count(), 1);
    assert_eq!(
        volume.volume_context.get("container").map(String::as_str),
        Some(name),
        "the volume context names the final label: {:?}",
        volume.volume_context
    );
    volume
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_tagging_leaves_nothing_and_a_retry_succeeds() {
    if !privileged_or_skip("failed_tagging_leaves_nothing_and_a_retry_succeeds")
        || !emulator_only_or_skip("failed_tagging_leaves_nothing_and_a_retry_succeeds")
    {
        return;
    }
    within(Duration::from_secs(120), "failed tagging", async {
        let cluster = Cluster::start(ClusterConfig {
            layout: Layout::Roles("controller"),
            ..ClusterConfig::default()
        })
        .await;
        let name = format!("pvc-{}", unique_label("tagfail"));

        // Tagging fails: the driver removes what it made.
        inject(
            &cluster,
            "daos_cont_set_attr",
            Some(DER_UNREACH),
            None,
            None,
        )
        .await;
        assert_status(
            cluster.create_volume(&name, &[]).await,
            Code::Unavailable,
            &[],
            "CreateVolume while tagging fails",
        );
        assert_eq!(
            cluster.container_count(),
            0,
            "the untagged container is removed"
        );

        // Tagging fails and so does the clean-up: an untagged, empty container is left at the
        // staging label (what a crash between create and tag leaves too).
        inject(&cluster, "daos_cont_destroy", Some(DER_UNREACH), None, None).await;
        assert_status(
            cluster.create_volume(&name, &[]).await,
            Code::Unavailable,
            &[],
            "CreateVolume while tagging and destroy fail",
        );
        assert_eq!(cluster.container_count(), 1, "the leftover");
        cluster
            .assert_volumes_not_listed(&[], "a leftover is no volume")
            .await;

        clear_faults(&cluster).await;
        create_and_check(&cluster, &name).await;
        assert_label_gone(&cluster, &staging_label(&name));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_rename_is_finished_by_the_retry() {
    if !privileged_or_skip("failed_rename_is_finished_by_the_retry")
        || !emulator_only_or_skip("failed_rename_is_finished_by_the_retry")
    {
        return;
    }
    within(Duration::from_secs(120), "failed rename", async {
        let cluster = Cluster::start(ClusterConfig {
            layout: Layout::Roles("controller"),
            ..ClusterConfig::default()
        })
        .await;
        let name = format!("pvc-{}", unique_label("renamefail"));
        // Twice: the driver retries an UNAVAILABLE operation once on a fresh connection.
        inject(
            &cluster,
            "daos_cont_set_prop",
            Some(DER_UNREACH),
            Some(2),
            None,
        )
        .await;
        assert_status(
            cluster.create_volume(&name, &[]).await,
            Code::Unavailable,
            &[],
            "CreateVolume whose rename fails",
        );
        // A complete, tagged container is left at the staging label: not yet a volume.
        assert_eq!(cluster.container_count(), 1);
        cluster
            .assert_volumes_not_listed(&[], "a staged container is no volume")
            .await;

        let volume = create_and_check(&cluster, &name).await;
        assert_label_gone(&cluster, &staging_label(&name));

        // Other parameters for a half-made volume: it was never answered, so it is replaced.
        cluster
            .delete_volume(&volume.volume_id)
            .await
            .must("DeleteVolume");
        // A new rule set restarts the counts of every rule in it: drop the spent one first.
        clear_faults(&cluster).await;
        let other = format!("pvc-{}", unique_label("reparam"));
        // Twice: the driver retries an UNAVAILABLE operation once on a fresh connection.
        inject(
            &cluster,
            "daos_cont_set_prop",
            Some(DER_UNREACH),
            Some(2),
            None,
        )
        .await;
        assert_status(
            cluster.create_volume(&other, &[("rootMode", "0700")]).await,
            Code::Unavailable,
            &[],
            "CreateVolume whose rename fails",
        );
        assert_eq!(cluster.container_count(), 1);
        create_and_check(&cluster, &other).await;
        assert_label_gone(&cluster, &staging_label(&other));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_killed_while_creating_then_retry_makes_one_volume() {
    if !privileged_or_skip("controller_killed_while_creating_then_retry_makes_one_volume")
        || !emulator_only_or_skip("controller_killed_while_creating_then_retry_makes_one_volume")
    {
        return;
    }
    within(
        Duration::from_secs(120),
        "controller killed mid-create",
        async {
            let mut cluster = Cluster::start(ClusterConfig {
                layout: Layout::Roles("controller"),
                ..ClusterConfig::default()
            })
            .await;
            let name = format!("pvc-{}", unique_label("killed"));
            // The rename (a blocking set_prop) waits 30 s before it runs: the controller is killed
            // inside it, with the container created and tagged under its staging label.
            inject(&cluster, "daos_cont_set_prop", None, None, Some(30_000)).await;
            let mut controller = cluster.controller();
            let request = create_request(&name, cluster.storage_class(&[]));
            let first = tokio::spawn(async move { controller.create_volume(request).await });
            let staged =
                eventually(Duration::from_secs(20), || cluster.container_count() == 1).await;
            assert!(staged, "the first attempt never created its container");
            // Give it time to tag and enter the rename.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            cluster.kill_csi_process();
            let answer = first.await.expect("the first call's task");
            assert!(
                answer.is_err(),
                "the killed controller cannot have answered: {answer:?}"
            );
            assert_eq!(cluster.container_count(), 1, "the leftover");

            clear_faults(&cluster).await;
            cluster.start_csi_process().await;
            create_and_check(&cluster, &name).await;
            assert_label_gone(&cluster, &staging_label(&name));
            // The restarted controller finished the tagged container rather than make another.
            assert!(
                cluster
                    .csi_process
                    .log()
                    .contains("finishing a container an earlier attempt created"),
                "the retry should have finished the staged container"
            );
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_untagged_staging_container_is_replaced() {
    if !privileged_or_skip("empty_untagged_staging_container_is_replaced") {
        return;
    }
    within(Duration::from_secs(120), "untagged leftover", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let name = format!("pvc-{}", unique_label("leftover"));
        let staging = staging_label(&name);
        cluster.create_foreign_container(&staging);
        if cluster.daos.is_emulated() {
            assert_eq!(cluster.container_count(), 1);
            create_and_check(&cluster, &name).await;
            assert_label_gone(&cluster, &staging);
            assert!(
                cluster
                    .csi_process
                    .log()
                    .contains("removing the empty, untagged container"),
                "the leftover should have been recognised"
            );
        } else {
            cluster.create_volume(&name, &[]).await.must("CreateVolume");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_container_with_data_is_never_destroyed() {
    if !privileged_or_skip("staging_container_with_data_is_never_destroyed") {
        return;
    }
    within(
        Duration::from_secs(120),
        "staging container with data",
        async {
            let cluster = Cluster::start(ClusterConfig::default()).await;
            let name = format!("pvc-{}", unique_label("hasdata"));
            let staging = staging_label(&name);
            cluster.create_foreign_container(&staging);

            // Someone mounts it (as a static volume) and writes into it.
            let handle = format!("{}/{}", cluster.pool(), staging);
            let foreign = static_volume(&handle);
            let path = cluster.stage(&foreign).await.must("stage the container");
            let target = cluster
                .publish(&foreign, &path, "pod-w", false)
                .await
                .must("publish the container");
            let written =
                write_pattern_file(&target.join("precious.bin"), 5, 1 << 20).expect("write");
            cluster.unpublish(&handle, &target).await.must("unpublish");
            cluster.unstage(&handle, &path).await.must("unstage");

            let message = assert_status(
                cluster.create_volume(&name, &[]).await,
                Code::AlreadyExists,
                &[&staging],
                "CreateVolume over a staging container with data",
            );
            assert!(message.contains("data"), "say why: {message}");

            // Still there, data intact.
            let path = cluster.stage(&foreign).await.must("stage it again");
            let target = cluster
                .publish(&foreign, &path, "pod-r", true)
                .await
                .must("publish it again");
            let (read, _) = sha256_file(&target.join("precious.bin")).expect("read back");
            assert_eq!(read, written, "the data survived");
            cluster.unpublish(&handle, &target).await.must("unpublish");
            cluster.unstage(&handle, &path).await.must("unstage");
            if cluster.daos.is_emulated() {
                assert_eq!(cluster.container_count(), 1);
            }
        },
    )
    .await;
}

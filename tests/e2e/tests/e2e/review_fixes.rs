//! Review findings, each pinned by a test that fails without its fix: a stopped agent is
//! UNAVAILABLE (never "volume gone"), inline volumes may name their pool by UUID, DeleteVolume
//! leaves inline containers alone, a staging container without a DFS superblock is blank, and
//! unpublish leaves a dfuse mount that is not the driver's alone.

use daos_csi_e2e::kubelet::DRIVER_NAME;
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::collections::HashMap;
use std::time::Duration;

const POD_UID: &str = "0d5c7e1a-2b3f-4c5d-8e9f-a0b1c2d3e4f5";

/// The UUID of pool `label`, from `dmg pool query --json`.
fn pool_uuid(cluster: &Cluster, label: &str) -> String {
    let out = cluster
        .daos
        .dmg(&["pool".into(), "query".into(), "-j".into(), label.into()]);
    out.split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == ':')
        .find(|word| is_uuid(word))
        .unwrap_or_else(|| panic!("no UUID in {out}"))
        .to_string()
}

async fn probe_ready(cluster: &Cluster) -> bool {
    match cluster.identity().probe(csi::ProbeRequest {}).await {
        Ok(response) => response.into_inner().ready == Some(true),
        Err(_) => false,
    }
}

async fn start_agent_and_wait(cluster: &Cluster) {
    cluster.daos.start_agent();
    for _ in 0..100 {
        if probe_ready(cluster).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("Probe did not become ready within 20 s of the agent coming back");
}

/// DeleteVolume until it stops answering UNAVAILABLE (the provisioner retries those).
async fn delete_with_retries(cluster: &Cluster, volume_id: &str) {
    for attempt in 0..5 {
        match cluster.delete_volume(volume_id).await {
            Ok(()) => return,
            Err(status) => assert_eq!(
                status.code(),
                Code::Unavailable,
                "DeleteVolume attempt {attempt}: {}",
                status.message()
            ),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("DeleteVolume of {volume_id} never succeeded");
}

/// With the agent stopped, DeleteVolume and CreateVolume must be UNAVAILABLE, never OK with
/// the container left behind (a cleanly stopped agent evicts the driver's pool handles and
/// the reconnect sees -DER_NONEXIST, which is not "the pool is gone").
async fn agent_stopped_case(graceful: bool) {
    let cluster = Cluster::start(ClusterConfig {
        layout: Layout::Roles("controller"),
        ..ClusterConfig::default()
    })
    .await;
    let volume = cluster
        .create_volume(&format!("pvc-{}", unique_label("keep")), &[])
        .await
        .must("CreateVolume with the agent up");
    assert_eq!(cluster.container_count(), 1);

    cluster.daos.stop_agent(graceful);
    let deleted = cluster.delete_volume(&volume.volume_id).await;
    let created = cluster
        .create_volume(&format!("pvc-{}", unique_label("down")), &[])
        .await;
    let how = if graceful { "SIGTERM" } else { "SIGKILL" };
    let deleted_while_down = match deleted {
        // A driver still holding a valid pool handle may reach the servers without the
        // agent (real DAOS does after an agent crash); then the container must be gone.
        Ok(()) if !graceful => true,
        other => {
            assert_status(
                other,
                Code::Unavailable,
                &[],
                &format!("DeleteVolume with the agent stopped ({how})"),
            );
            false
        }
    };
    let created_while_down = match created {
        Ok(volume) if !graceful => Some(volume),
        other => {
            assert_status(
                other,
                Code::Unavailable,
                &[],
                &format!("CreateVolume with the agent stopped ({how})"),
            );
            None
        }
    };

    start_agent_and_wait(&cluster).await;
    let expected = usize::from(!deleted_while_down) + usize::from(created_while_down.is_some());
    assert_eq!(
        cluster.container_count() as usize,
        expected,
        "containers after the agent came back ({how}; deleted while down: {deleted_while_down})"
    );
    delete_with_retries(&cluster, &volume.volume_id).await;
    if let Some(created) = created_while_down {
        delete_with_retries(&cluster, &created.volume_id).await;
    }
    assert_eq!(
        cluster.container_count(),
        0,
        "DeleteVolume answered OK: the container must really be gone"
    );
    cluster
        .assert_volumes_not_listed(&[&volume.volume_id], "after DeleteVolume")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_stopped_cleanly_is_unavailable_not_volume_gone() {
    if !emulator_only_or_skip("agent_stopped_cleanly_is_unavailable_not_volume_gone") {
        return;
    }
    within(Duration::from_secs(120), "agent stopped (SIGTERM)", async {
        agent_stopped_case(true).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_killed_is_unavailable_not_volume_gone() {
    if !emulator_only_or_skip("agent_killed_is_unavailable_not_volume_gone") {
        return;
    }
    within(Duration::from_secs(120), "agent killed (SIGKILL)", async {
        agent_stopped_case(false).await;
    })
    .await;
}

fn inline_context(pool_uuid: &str) -> HashMap<String, String> {
    params(&[
        (EPHEMERAL_KEY, "true"),
        ("poolid", pool_uuid),
        ("csi.storage.k8s.io/pod.name", "inline-app"),
        ("csi.storage.k8s.io/pod.namespace", "default"),
        ("csi.storage.k8s.io/pod.uid", POD_UID),
    ])
}

/// `--ephemeral-pools` names the pool by label; a pod names it by UUID (`poolid`, as the
/// first DAOS driver's pods do). Same pool: allowed. Another pool's UUID: refused. And the
/// inline volume's container is not DeleteVolume's to destroy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_volume_by_pool_uuid_and_not_deletable_by_delete_volume() {
    if !privileged_or_skip("inline_volume_by_pool_uuid_and_not_deletable_by_delete_volume")
        || !emulator_only_or_skip("inline_volume_by_pool_uuid_and_not_deletable_by_delete_volume")
    {
        return;
    }
    within(Duration::from_secs(120), "inline by pool UUID", async {
        let cluster = Cluster::start(ClusterConfig {
            ephemeral_test_pool: true,
            ..Default::default()
        })
        .await;
        let tank = pool_uuid(&cluster, cluster.pool());
        cluster.daos.create_pool("other", "1G");
        let other = pool_uuid(&cluster, "other");
        assert_ne!(tank, other);

        // Another pool's UUID is refused, naming the flag.
        let refused_id = format!("csi-{}", sha256_hex(unique_label("other").as_bytes()));
        let refused_target = cluster.kubelet.prepare_target_path(POD_UID, "other");
        assert_status(
            cluster
                .node()
                .node_publish_volume(inline_publish_request(
                    &refused_id,
                    &refused_target,
                    inline_context(&other),
                ))
                .await,
            Code::PermissionDenied,
            &["--ephemeral-pools"],
            "inline volume in another pool, by UUID",
        );
        assert!(!is_mounted(&refused_target));

        // The allowed pool by UUID works.
        let volume_id = format!("csi-{}", sha256_hex(unique_label("byuuid").as_bytes()));
        let target = cluster.kubelet.prepare_target_path(POD_UID, "byuuid");
        ok(
            cluster
                .node()
                .node_publish_volume(inline_publish_request(
                    &volume_id,
                    &target,
                    inline_context(&tank),
                ))
                .await,
            "NodePublishVolume (inline, poolid=<uuid of an allowed label>)",
        );
        std::fs::write(target.join("f"), b"inline").expect("write to the inline volume");
        assert_eq!(cluster.container_count(), 1);

        // DeleteVolume naming the inline container must not destroy it.
        let container = cluster
            .dfuse_serving(&target)
            .unwrap_or_else(|| panic!("expected one dfuse for {}", target.display()))
            .dfuse_command()
            .container
            .expect("container on dfuse's command line");
        let handle = format!("daos_server/{tank}/{container}");
        assert_status(
            cluster.delete_volume(&handle).await,
            Code::FailedPrecondition,
            &["inline"],
            "DeleteVolume of an inline volume's container",
        );
        assert_eq!(
            cluster.container_count(),
            1,
            "the inline container survives"
        );
        assert_eq!(
            std::fs::read(target.join("f")).expect("read back"),
            b"inline"
        );

        cluster
            .unpublish(&volume_id, &target)
            .await
            .must("NodeUnpublishVolume (inline)");
        assert!(!is_mounted(&target));
        assert!(
            eventually(Duration::from_secs(10), || cluster.container_count() == 0).await,
            "the inline container goes with the pod"
        );
    })
    .await;
}

/// The label the driver gives a volume's container while creating it.
fn staging_label(name: &str) -> String {
    let digest = sha256_hex(format!("{DRIVER_NAME}\0{name}").as_bytes());
    format!("csi-creating-{}", &digest[..32])
}

/// A crash inside dfs_cont_create leaves a POSIX container without a superblock, which
/// dfs_mount answers with ENOENT: it holds nothing, so CreateVolume replaces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_container_without_superblock_is_replaced() {
    if !emulator_only_or_skip("staging_container_without_superblock_is_replaced") {
        return;
    }
    within(
        Duration::from_secs(120),
        "staging without superblock",
        async {
            let cluster = Cluster::start(ClusterConfig {
                layout: Layout::Roles("controller"),
                ..ClusterConfig::default()
            })
            .await;
            let name = format!("pvc-{}", unique_label("nosb"));
            cluster.create_foreign_container(&staging_label(&name));
            assert_eq!(cluster.container_count(), 1);
            // The blank check's dfs_mount finds no superblock (libdfs: ENOENT).
            assert!(
                cluster
                    .daos
                    .inject_fault("dfs_mount", Some(libc_enoent()), Some(1), None)
            );
            tokio::time::sleep(Duration::from_millis(400)).await;
            let volume = cluster
                .create_volume(&name, &[])
                .await
                .must("CreateVolume over a staging container without a superblock");
            cluster.daos.clear_faults();
            assert_eq!(cluster.container_count(), 1, "the leftover was replaced");
            cluster
                .assert_volumes_listed(&[&volume.volume_id], "after CreateVolume")
                .await;
            assert!(
                cluster
                    .csi_process
                    .log()
                    .contains("removing the empty, untagged container"),
                "the leftover should have been recognised as blank"
            );
        },
    )
    .await;
}

fn libc_enoent() -> i32 {
    nix::errno::Errno::ENOENT as i32
}

/// A dfuse mount at a target path that this driver did not make (another driver's, an
/// admin's) is left alone by NodeUnpublishVolume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpublish_leaves_a_foreign_dfuse_mount_alone() {
    if !privileged_or_skip("unpublish_leaves_a_foreign_dfuse_mount_alone")
        || !emulator_only_or_skip("unpublish_leaves_a_foreign_dfuse_mount_alone")
    {
        return;
    }
    within(
        Duration::from_secs(120),
        "foreign dfuse at a target",
        async {
            let cluster = Cluster::start(ClusterConfig::default()).await;
            let label = unique_label("foreign");
            cluster.create_foreign_container(&label);
            let handle = format!("{}/{}", cluster.pool(), label);
            let target = cluster.target_for(&handle, "pod-foreign");
            std::fs::create_dir_all(&target).expect("target dir");
            let started = std::process::Command::new(cluster.daos.dfuse_path())
                .arg(&target)
                .arg(cluster.pool())
                .arg(&label)
                .envs(cluster.daos.env())
                .output()
                .expect("running dfuse");
            assert!(
                started.status.success(),
                "dfuse failed: {}",
                String::from_utf8_lossy(&started.stderr)
            );
            assert!(is_mounted(&target), "the foreign dfuse is mounted");

            // Also a staged and published volume of the driver, so the mounter has mounts to
            // compare with.
            let volume = cluster
                .create_volume(&format!("pvc-{}", unique_label("mine")), &[])
                .await
                .must("CreateVolume");
            let staging = cluster.stage(&volume).await.must("NodeStageVolume");
            let mine = cluster
                .publish(&volume, &staging, "pod-mine", false)
                .await
                .must("NodePublishVolume");

            assert_status(
                cluster.unpublish(&handle, &target).await,
                Code::FailedPrecondition,
                &["not one of this driver"],
                "NodeUnpublishVolume over a foreign dfuse mount",
            );
            assert!(is_mounted(&target), "the foreign dfuse mount was removed");
            std::fs::write(target.join("still"), b"here").expect("the foreign mount still works");

            // The driver's own bind is still unpublished as before.
            cluster
                .unpublish(&volume.volume_id, &mine)
                .await
                .must("NodeUnpublishVolume of the driver's bind");
            assert!(!is_mounted(&mine));
            cluster
                .unstage(&volume.volume_id, &staging)
                .await
                .must("NodeUnstageVolume");

            let fusermount = std::process::Command::new("fusermount3")
                .arg("-u")
                .arg(&target)
                .status();
            if !matches!(fusermount, Ok(s) if s.success()) {
                let _ = nix::mount::umount2(&target, nix::mount::MntFlags::MNT_DETACH);
            }
        },
    )
    .await;
}

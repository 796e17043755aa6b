//! CSI snapshots over DAOS container snapshots: create (idempotent by name), list (filters,
//! pages), delete (idempotent), and the guard that keeps DeleteVolume from destroying them.

use daos_csi_e2e::csi::{
    CreateSnapshotRequest, DeleteSnapshotRequest, ListSnapshotsRequest, Snapshot,
    VolumeContentSource, volume_content_source,
};
use daos_csi_e2e::data::{sha256_file, write_pattern_file};
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NO_SUCH_CONTAINER: &str = "00000000-0000-0000-0000-00000000beef";

fn snapshot_request(name: &str, source: &str) -> CreateSnapshotRequest {
    CreateSnapshotRequest {
        source_volume_id: source.to_string(),
        name: name.to_string(),
        // What external-snapshotter adds with --extra-create-metadata.
        parameters: params(&[
            ("csi.storage.k8s.io/volumesnapshot/name", "snap"),
            ("csi.storage.k8s.io/volumesnapshot/namespace", "default"),
        ]),
        ..Default::default()
    }
}

async fn create_snapshot(cluster: &Cluster, name: &str, source: &str) -> Result<Snapshot, Status> {
    let response = cluster
        .controller()
        .create_snapshot(snapshot_request(name, source))
        .await?
        .into_inner();
    Ok(response
        .snapshot
        .expect("CreateSnapshotResponse carries a snapshot"))
}

async fn delete_snapshot(cluster: &Cluster, id: &str) -> Result<(), Status> {
    cluster
        .controller()
        .delete_snapshot(DeleteSnapshotRequest {
            snapshot_id: id.to_string(),
            ..Default::default()
        })
        .await
        .map(|_| ())
}

async fn list(
    cluster: &Cluster,
    snapshot_id: &str,
    source_volume_id: &str,
) -> Result<Vec<Snapshot>, Status> {
    let page = cluster
        .controller()
        .list_snapshots(ListSnapshotsRequest {
            snapshot_id: snapshot_id.to_string(),
            source_volume_id: source_volume_id.to_string(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert!(page.next_token.is_empty(), "no max_entries, one page");
    Ok(page
        .entries
        .into_iter()
        .filter_map(|e| e.snapshot)
        .collect())
}

fn ids(snapshots: &[Snapshot]) -> Vec<String> {
    let mut ids: Vec<String> = snapshots.iter().map(|s| s.snapshot_id.clone()).collect();
    ids.sort();
    ids
}

fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs() as i64
}

/// The id is `<volume id>@<epoch>`, the snapshot is ready and was taken between `before` and
/// `after` (DAOS epochs are HLC timestamps of the server clock: the same host here).
#[track_caller]
fn assert_snapshot_of(s: &Snapshot, volume_id: &str, before: SystemTime, after: SystemTime) {
    let (volume, epoch) = s
        .snapshot_id
        .rsplit_once('@')
        .unwrap_or_else(|| panic!("snapshot id {:?} has no '@'", s.snapshot_id));
    assert_eq!(volume, volume_id, "snapshot id names its volume");
    assert!(
        !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) && epoch != "0",
        "snapshot id ends in an epoch: {:?}",
        s.snapshot_id
    );
    assert!(s.snapshot_id.len() <= 128, "CSI ids are at most 128 bytes");
    assert_eq!(s.source_volume_id, volume_id);
    assert!(s.ready_to_use, "a DAOS snapshot is ready at once");
    assert_eq!(s.size_bytes, 0, "DAOS reports no snapshot size");
    let created = s.creation_time.as_ref().expect("creation_time is set");
    assert!(
        created.seconds >= unix_seconds(before) - 2 && created.seconds <= unix_seconds(after) + 2,
        "creation time {created:?} is not between {before:?} and {after:?}"
    );
}

/// Mounts snapshot `epoch` of the volume read-only with the emulated dfuse (`--snap-epoch`) and
/// returns the digest of `file` in it.
fn read_in_snapshot(cluster: &Cluster, volume: &csi::Volume, epoch: &str, file: &str) -> [u8; 32] {
    let mount = cluster.base.join(format!("snap-{epoch}"));
    std::fs::create_dir_all(&mount).expect("snapshot mount point");
    let ctx = &volume.volume_context;
    let status = std::process::Command::new(cluster.daos.dfuse_path())
        .arg(format!("--snap-epoch={epoch}"))
        .arg(&mount)
        .arg(&ctx["poolUUID"])
        .arg(&ctx["containerUUID"])
        .envs(cluster.daos.env())
        .status()
        .expect("running dfuse");
    assert!(status.success(), "dfuse --snap-epoch failed: {status}");
    let digest = sha256_file(&mount.join(file)).map(|(d, _)| d);
    let unmounted = std::process::Command::new("fusermount3")
        .arg("-u")
        .arg(&mount)
        .status()
        .is_ok_and(|s| s.success());
    assert!(unmounted, "unmounting the snapshot at {}", mount.display());
    digest.expect("the file is in the snapshot")
}

async fn stage_and_publish(
    cluster: &Cluster,
    volume: &csi::Volume,
    pod: &str,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let staging = cluster.stage(volume).await.must("NodeStageVolume");
    let target = cluster
        .publish(volume, &staging, pod, false)
        .await
        .must("NodePublishVolume");
    (staging, target)
}

async fn unpublish_and_unstage(cluster: &Cluster, volume_id: &str, staging: &Path, target: &Path) {
    cluster
        .unpublish(volume_id, target)
        .await
        .must("NodeUnpublishVolume");
    cluster
        .unstage(volume_id, staging)
        .await
        .must("NodeUnstageVolume");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_lifecycle_and_delete_guard() {
    if !privileged_or_skip("snapshot_lifecycle_and_delete_guard") {
        return;
    }
    within(Duration::from_secs(180), "snapshot lifecycle", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let volume = cluster
            .create_volume(&format!("pvc-{}", unique_label("snap")), &[])
            .await
            .must("CreateVolume");
        let vid = volume.volume_id.clone();
        let (staging, target) = stage_and_publish(&cluster, &volume, "pod-a").await;
        let before_data = write_pattern_file(&target.join("data.bin"), 1, 1 << 20).expect("write");

        let name = format!("snapshot-{}", unique_label("uid"));
        let before = SystemTime::now();
        let snap = create_snapshot(&cluster, &name, &vid)
            .await
            .must("CreateSnapshot");
        let after = SystemTime::now();
        assert_snapshot_of(&snap, &vid, before, after);

        // The snapshotter retries: same name and source, same snapshot.
        let again = create_snapshot(&cluster, &name, &vid)
            .await
            .must("CreateSnapshot again");
        assert_eq!(again.snapshot_id, snap.snapshot_id, "idempotent by name");
        assert_eq!(again.creation_time, snap.creation_time);

        let listed = list(&cluster, &snap.snapshot_id, "")
            .await
            .must("ListSnapshots by id");
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_snapshot_of(&listed[0], &vid, before, after);
        assert_eq!(listed[0].creation_time, snap.creation_time);

        // Writes after the snapshot change the volume, not the snapshot.
        let after_data = write_pattern_file(&target.join("data.bin"), 2, 1 << 20).expect("rewrite");
        assert_ne!(before_data, after_data);
        if cluster.daos.is_emulated() {
            let epoch = snap.snapshot_id.rsplit('@').next().unwrap_or_default();
            assert_eq!(
                read_in_snapshot(&cluster, &volume, epoch, "data.bin"),
                before_data,
                "the snapshot keeps the data of its time"
            );
        } else {
            println!("note: reading a snapshot through dfuse is checked on the emulator only");
        }

        // The same name on another volume is another snapshot: refused.
        let other = cluster
            .create_volume(&format!("pvc-{}", unique_label("snap2")), &[])
            .await
            .must("CreateVolume of a second volume");
        let answer = create_snapshot(&cluster, &name, &other.volume_id).await;
        assert_status(
            answer,
            Code::AlreadyExists,
            &[&name],
            "CreateSnapshot with a name used on another volume",
        );
        assert!(
            list(&cluster, "", &other.volume_id)
                .await
                .must("list")
                .is_empty(),
            "the refused snapshot was not taken"
        );

        // A volume with snapshots is not deleted (that would destroy them).
        unpublish_and_unstage(&cluster, &vid, &staging, &target).await;
        let answer = cluster.delete_volume(&vid).await;
        assert_status(
            answer,
            Code::FailedPrecondition,
            &["1 snapshot", "VolumeSnapshot"],
            "DeleteVolume of a volume with a snapshot",
        );
        assert_eq!(
            list(&cluster, &snap.snapshot_id, "")
                .await
                .must("list")
                .len(),
            1,
            "the snapshot survives the refused delete"
        );
        let (staging, target) = stage_and_publish(&cluster, &volume, "pod-b").await;
        let (read, _) = sha256_file(&target.join("data.bin")).expect("the volume still works");
        assert_eq!(read, after_data, "the volume keeps its current data");
        unpublish_and_unstage(&cluster, &vid, &staging, &target).await;

        delete_snapshot(&cluster, &snap.snapshot_id)
            .await
            .must("DeleteSnapshot");
        delete_snapshot(&cluster, &snap.snapshot_id)
            .await
            .must("DeleteSnapshot of a deleted snapshot");
        assert!(
            list(&cluster, &snap.snapshot_id, "")
                .await
                .must("list")
                .is_empty(),
            "a deleted snapshot is not listed"
        );
        // The name is free again, on any volume.
        let moved = create_snapshot(&cluster, &name, &other.volume_id)
            .await
            .must("CreateSnapshot of a freed name on the other volume");
        delete_snapshot(&cluster, &moved.snapshot_id)
            .await
            .must("DeleteSnapshot");

        cluster
            .delete_volume(&vid)
            .await
            .must("DeleteVolume once its snapshots are gone");
        cluster
            .delete_volume(&other.volume_id)
            .await
            .must("DeleteVolume of the second volume");
        cluster
            .assert_volumes_not_listed(&[&vid], "after the deletes")
            .await;
        delete_snapshot(&cluster, &snap.snapshot_id)
            .await
            .must("DeleteSnapshot of a snapshot whose volume is gone");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_snapshots_filters_and_pages() {
    within(Duration::from_secs(120), "ListSnapshots", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;
        let a = cluster
            .create_volume(&format!("pvc-{}", unique_label("la")), &[])
            .await
            .must("CreateVolume a");
        let b = cluster
            .create_volume(&format!("pvc-{}", unique_label("lb")), &[])
            .await
            .must("CreateVolume b");
        let mut made = Vec::new();
        for (i, source) in [&a, &a, &b].iter().enumerate() {
            let name = format!("snapshot-{}-{i}", unique_label("l"));
            made.push(
                create_snapshot(&cluster, &name, &source.volume_id)
                    .await
                    .must("CreateSnapshot"),
            );
        }
        let mut all_ids = ids(&made);
        all_ids.dedup();
        assert_eq!(all_ids.len(), 3, "three distinct snapshots: {all_ids:?}");

        let everything = ids(&list(&cluster, "", "").await.must("ListSnapshots"));
        if cluster.daos.is_emulated() {
            assert_eq!(everything, all_ids);
        } else {
            assert!(all_ids.iter().all(|id| everything.contains(id)));
        }
        assert_eq!(
            ids(&list(&cluster, "", &a.volume_id).await.must("by source a")),
            ids(&made[..2])
        );
        assert_eq!(
            ids(&list(&cluster, "", &b.volume_id).await.must("by source b")),
            ids(&made[2..])
        );
        let one = list(&cluster, &made[2].snapshot_id, "").await.must("by id");
        assert_eq!(ids(&one), ids(&made[2..]));
        assert_eq!(one[0].source_volume_id, b.volume_id);
        // Both filters: they must agree.
        assert!(
            list(&cluster, &made[2].snapshot_id, &a.volume_id)
                .await
                .must("id of b, source a")
                .is_empty()
        );
        assert_eq!(
            list(&cluster, &made[2].snapshot_id, &b.volume_id)
                .await
                .must("id of b, source b")
                .len(),
            1
        );

        // Unknown or malformed: an empty list, not an error.
        let parts = parse_volume_id(&a.volume_id);
        let gone_volume = format!("{}/{}/{NO_SUCH_CONTAINER}", parts.system, parts.pool);
        for (id, source) in [
            (format!("{}@1", a.volume_id), String::new()),
            (format!("{gone_volume}@1"), String::new()),
            ("not-a-snapshot-id".to_string(), String::new()),
            (String::new(), gone_volume.clone()),
            (String::new(), "not/a/volume/id".to_string()),
        ] {
            assert!(
                list(&cluster, &id, &source)
                    .await
                    .must("list unknown")
                    .is_empty(),
                "nothing for snapshot_id {id:?} source {source:?}"
            );
        }

        // Pages of one, following next_token, give each snapshot once.
        let mut paged = Vec::new();
        let mut token = String::new();
        for _ in 0..10 {
            let page = cluster
                .controller()
                .list_snapshots(ListSnapshotsRequest {
                    max_entries: 1,
                    starting_token: token.clone(),
                    ..Default::default()
                })
                .await
                .must("ListSnapshots page")
                .into_inner();
            assert!(page.entries.len() <= 1, "max_entries 1: {page:?}");
            paged.extend(page.entries.into_iter().filter_map(|e| e.snapshot));
            if page.next_token.is_empty() {
                break;
            }
            token = page.next_token;
        }
        let paged_ids: Vec<String> = paged.iter().map(|s| s.snapshot_id.clone()).collect();
        assert_eq!(ids(&paged), paged_ids, "pages come in id order");
        assert_eq!(paged_ids, everything, "pages cover the list exactly once");

        for bad in ["garbage", "v1.00", "s1.zz"] {
            let answer = cluster
                .controller()
                .list_snapshots(ListSnapshotsRequest {
                    starting_token: bad.to_string(),
                    ..Default::default()
                })
                .await;
            assert_status(answer, Code::Aborted, &["starting_token"], "bad token");
        }
        let answer = cluster
            .controller()
            .list_snapshots(ListSnapshotsRequest {
                max_entries: -1,
                ..Default::default()
            })
            .await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["max_entries"],
            "negative max_entries",
        );

        for s in &made {
            delete_snapshot(&cluster, &s.snapshot_id)
                .await
                .must("DeleteSnapshot");
        }
        assert!(
            list(&cluster, "", &a.volume_id)
                .await
                .must("list")
                .is_empty()
        );
        cluster
            .delete_volume(&a.volume_id)
            .await
            .must("DeleteVolume a");
        cluster
            .delete_volume(&b.volume_id)
            .await
            .must("DeleteVolume b");
    })
    .await;
}

async fn advertised(cluster: &Cluster) -> Vec<i32> {
    use csi::controller_service_capability::Type;
    cluster
        .controller()
        .controller_get_capabilities(csi::ControllerGetCapabilitiesRequest {})
        .await
        .must("ControllerGetCapabilities")
        .into_inner()
        .capabilities
        .iter()
        .filter_map(|c| c.r#type.as_ref().map(|Type::Rpc(r)| r.r#type))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_advertised_only_when_asked_for() {
    use csi::controller_service_capability::rpc::Type as Rpc;
    within(Duration::from_secs(60), "snapshot capabilities", async {
        // Snapshots need the VolumeSnapshot CRDs and csi-snapshotter: not advertised unless
        // asked for.
        let mut cluster = Cluster::start(ClusterConfig::default()).await;
        let by_default = advertised(&cluster).await;
        for not_offered in [
            Rpc::CreateDeleteSnapshot,
            Rpc::ListSnapshots,
            Rpc::GetSnapshot,
        ] {
            assert!(
                !by_default.contains(&(not_offered as i32)),
                "{not_offered:?} advertised by default"
            );
        }
        // Clones need no sidecar: advertised by a build that can copy (DAOS 2.8).
        assert!(
            by_default.contains(&(Rpc::CloneVolume as i32)),
            "CLONE_VOLUME advertised"
        );
        cluster.restart_csi_process_with(&["--snapshots"]).await;
        let asked = advertised(&cluster).await;
        for wanted in [Rpc::CreateDeleteSnapshot, Rpc::ListSnapshots] {
            assert!(
                asked.contains(&(wanted as i32)),
                "{wanted:?} advertised with --snapshots"
            );
        }
        assert!(
            !asked.contains(&(Rpc::GetSnapshot as i32)),
            "GET_SNAPSHOT advertised with --snapshots"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_requests_are_validated() {
    within(Duration::from_secs(120), "snapshot validation", async {
        let cluster = Cluster::start(ClusterConfig::default()).await;

        let volume = cluster
            .create_volume(&format!("pvc-{}", unique_label("v")), &[])
            .await
            .must("CreateVolume");
        let vid = volume.volume_id.clone();
        let mut controller = cluster.controller();

        let mut r = snapshot_request("snapshot-x", &vid);
        r.name.clear();
        let answer = controller.create_snapshot(r).await;
        assert_status(answer, Code::InvalidArgument, &["name"], "no name");
        let mut r = snapshot_request("snapshot-x", &vid);
        r.source_volume_id.clear();
        let answer = controller.create_snapshot(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["source_volume_id"],
            "no source_volume_id",
        );
        let mut r = snapshot_request("snapshot-x", &vid);
        r.parameters.insert("bogusParameter".into(), "1".into());
        let answer = controller.create_snapshot(r).await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["bogusParameter"],
            "unknown parameter",
        );

        let parts = parse_volume_id(&vid);
        for missing in [
            format!("{}/{}/{NO_SUCH_CONTAINER}", parts.system, parts.pool),
            format!("{}/{}/{}", parts.system, NO_SUCH_CONTAINER, parts.container),
            "not a volume id".to_string(),
        ] {
            let answer = create_snapshot(&cluster, "snapshot-x", &missing).await;
            assert_status(answer, Code::NotFound, &[], "snapshot of a missing volume");
        }

        // A static volume (a container the driver did not make) is not snapshotted.
        let label = unique_label("static");
        cluster.create_foreign_container(&label);
        let answer = create_snapshot(
            &cluster,
            "snapshot-x",
            &format!("{}/{label}", cluster.pool()),
        )
        .await;
        assert_status(
            answer,
            Code::FailedPrecondition,
            &["not a volume"],
            "snapshot of a static volume",
        );
        assert!(
            list(&cluster, "", "").await.must("list").is_empty(),
            "none of the refused calls took a snapshot"
        );

        let answer = controller
            .delete_snapshot(DeleteSnapshotRequest::default())
            .await;
        assert_status(
            answer,
            Code::InvalidArgument,
            &["snapshot_id"],
            "no snapshot_id",
        );
        for gone in [
            "not-a-snapshot-id".to_string(),
            format!("{vid}@0"),
            format!("{vid}@12345"),
            format!("{}/{}/{NO_SUCH_CONTAINER}@1", parts.system, parts.pool),
            format!("{}/{NO_SUCH_CONTAINER}/{}@1", parts.system, parts.container),
        ] {
            delete_snapshot(&cluster, &gone)
                .await
                .must(&format!("DeleteSnapshot of {gone:?}"));
        }

        // Content sources that name nothing, or not a volume of ours.
        let snap = create_snapshot(&cluster, "snapshot-restore", &vid)
            .await
            .must("CreateSnapshot");
        let mut restore = create_request(
            &format!("pvc-{}", unique_label("r")),
            cluster.storage_class(&[]),
        );
        restore.volume_content_source = Some(VolumeContentSource {
            r#type: Some(volume_content_source::Type::Snapshot(
                volume_content_source::SnapshotSource {
                    snapshot_id: snap.snapshot_id.clone(),
                },
            )),
        });
        // A source that names nothing is NOT_FOUND (spec.md, CreateVolume errors), before
        // any other refusal: a snapshot id or volume id of no container, of no epoch, or
        // not an id this driver issues.
        let from = |source: volume_content_source::Type| {
            let mut request = restore.clone();
            request.volume_content_source = Some(VolumeContentSource {
                r#type: Some(source),
            });
            request
        };
        let snapshot = |id: String| {
            from(volume_content_source::Type::Snapshot(
                volume_content_source::SnapshotSource { snapshot_id: id },
            ))
        };
        let volume = |id: String| {
            from(volume_content_source::Type::Volume(
                volume_content_source::VolumeSource { volume_id: id },
            ))
        };
        let no_container = format!("{}/{}/{NO_SUCH_CONTAINER}", parts.system, parts.pool);
        for (request, what) in [
            (
                snapshot(format!("{vid}@12345")),
                "a snapshot epoch that does not exist",
            ),
            (
                snapshot(format!("{no_container}@1")),
                "a snapshot of a missing container",
            ),
            (
                snapshot("not-a-snapshot-id".into()),
                "a snapshot id never issued",
            ),
            (volume(no_container.clone()), "a volume that does not exist"),
            (volume("not/a/volume/id".into()), "a volume id never issued"),
        ] {
            assert_status(
                controller.create_volume(request).await,
                Code::NotFound,
                &["does not exist"],
                &format!("CreateVolume from {what}"),
            );
        }
        assert_status(
            controller.create_volume(snapshot(String::new())).await,
            Code::InvalidArgument,
            &["snapshot_id"],
            "CreateVolume from a snapshot without an id",
        );
        // A container the driver did not make is no source, and the answer says why.
        let label = unique_label("foreign");
        if let Some(uuid) = cluster.create_foreign_container(&label) {
            let foreign = format!("{}/{}/{uuid}", parts.system, parts.pool);
            assert_status(
                controller.create_volume(volume(foreign)).await,
                Code::InvalidArgument,
                &["did not create"],
                "CreateVolume from a foreign container",
            );
        }
        delete_snapshot(&cluster, &snap.snapshot_id)
            .await
            .must("DeleteSnapshot");
        cluster.delete_volume(&vid).await.must("DeleteVolume");
    })
    .await;
}

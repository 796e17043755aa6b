//! Many volumes at once on one node, as a busy node sees them after a rollout.

use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use futures::stream::{self, StreamExt};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Volumes on the emulator, whose dfuse costs a few MiB and mounts in milliseconds.
const EMULATED_VOLUMES: usize = 200;
/// Volumes on a real DAOS pool by default: each real dfuse takes about 0.5 s to mount and
/// tens of MiB of memory, and a test pool may be small. `DAOS_TEST_SCALE_VOLUMES` asks for
/// more (or fewer).
const REAL_VOLUMES: usize = 16;
const IN_FLIGHT: usize = 32;
/// Time allowed per volume (create, stage, publish, write, read, tear down) on top of a
/// fixed minute, so a run that is slow is reported as such instead of running on.
const PER_VOLUME: Duration = Duration::from_secs(2);

/// How many volumes this run places, and why that many.
fn volume_count(cluster: &Cluster) -> (usize, String) {
    if let Ok(asked) = std::env::var("DAOS_TEST_SCALE_VOLUMES") {
        match asked.parse::<usize>() {
            Ok(n) if n > 0 => return (n, "DAOS_TEST_SCALE_VOLUMES".to_string()),
            _ => panic!("DAOS_TEST_SCALE_VOLUMES={asked:?}: expected a positive count"),
        }
    }
    if cluster.daos.is_emulated() {
        (EMULATED_VOLUMES, "the emulator".to_string())
    } else {
        (
            REAL_VOLUMES,
            "a real DAOS pool (set DAOS_TEST_SCALE_VOLUMES for more)".to_string(),
        )
    }
}

struct Placed {
    id: String,
    staging: PathBuf,
    target: PathBuf,
    index: usize,
}

async fn bring_up(cluster: Arc<Cluster>, prefix: String, index: usize) -> Result<Placed, String> {
    let fail =
        |step: &str, s: Status| format!("volume {index}: {step}: {:?}: {}", s.code(), s.message());
    // Small, so that any test pool has room for each (the size is only recorded).
    let mut request = create_request(&format!("{prefix}-{index:03}"), cluster.storage_class(&[]));
    request.capacity_range = Some(csi::CapacityRange {
        required_bytes: 16 << 20,
        limit_bytes: 0,
    });
    let volume = cluster
        .controller()
        .create_volume(request)
        .await
        .map_err(|s| fail("CreateVolume", s))?
        .into_inner()
        .volume
        .ok_or_else(|| format!("volume {index}: CreateVolume answered no volume"))?;
    let staging = cluster
        .stage(&volume)
        .await
        .map_err(|s| fail("NodeStageVolume", s))?;
    let target = cluster
        .publish(&volume, &staging, &format!("pod-{index:03}"), false)
        .await
        .map_err(|s| fail("NodePublishVolume", s))?;
    let file = target.join("index");
    tokio::task::spawn_blocking(move || std::fs::write(file, index.to_string()))
        .await
        .map_err(|e| format!("volume {index}: writer task: {e}"))?
        .map_err(|e| format!("volume {index}: write: {e}"))?;
    Ok(Placed {
        id: volume.volume_id,
        staging,
        target,
        index,
    })
}

async fn tear_down(cluster: Arc<Cluster>, placed: Placed) -> Result<(), String> {
    let index = placed.index;
    let fail =
        |step: &str, s: Status| format!("volume {index}: {step}: {:?}: {}", s.code(), s.message());
    let file = placed.target.join("index");
    let content = tokio::task::spawn_blocking(move || std::fs::read_to_string(file))
        .await
        .map_err(|e| format!("volume {index}: reader task: {e}"))?
        .map_err(|e| format!("volume {index}: read: {e}"))?;
    if content != index.to_string() {
        return Err(format!(
            "volume {index} holds another volume's data: {content:?}"
        ));
    }
    cluster
        .unpublish(&placed.id, &placed.target)
        .await
        .map_err(|s| fail("unpublish", s))?;
    cluster
        .unstage(&placed.id, &placed.staging)
        .await
        .map_err(|s| fail("unstage", s))?;
    cluster
        .delete_volume(&placed.id)
        .await
        .map_err(|s| fail("DeleteVolume", s))?;
    Ok(())
}

fn check_all(results: Vec<Result<(), String>>, volumes: usize, phase: &str) {
    let errors: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        errors.is_empty(),
        "{} of {volumes} volumes failed to {phase}; first ones: {:#?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_volumes_concurrently_on_one_node() {
    if !privileged_or_skip("two_hundred_volumes_concurrently_on_one_node") {
        return;
    }
    let cluster = Arc::new(
        Cluster::start(ClusterConfig {
            pool_size: "64G".to_string(),
            ..Default::default()
        })
        .await,
    );
    let (volumes, why) = volume_count(&cluster);
    println!("e2e: {volumes} volumes, for {why}");
    let limit = Duration::from_secs(60) + PER_VOLUME * volumes as u32;
    within(limit, &format!("{volumes} volumes"), async {
        let prefix = format!("pvc-{}", unique_label("scale"));
        let start = Instant::now();
        let up: Vec<Result<Placed, String>> = stream::iter(0..volumes)
            .map(|i| bring_up(cluster.clone(), prefix.clone(), i))
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        let mut placed = Vec::new();
        let mut errors = Vec::new();
        for result in up {
            match result {
                Ok(p) => placed.push(p),
                Err(e) => errors.push(Err(e)),
            }
        }
        println!("e2e: {} volumes up in {:?}", placed.len(), start.elapsed());
        check_all(errors, volumes, "come up");

        let ids: BTreeSet<String> = placed.iter().map(|p| p.id.clone()).collect();
        assert_eq!(ids.len(), volumes, "every volume got its own id");
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        cluster
            .assert_volumes_listed(&id_refs, &format!("with {volumes} volumes"))
            .await;
        let mounts = cluster.kubelet_mounts();
        assert_eq!(
            mounts.len(),
            2 * volumes,
            "one staging and one target mount per volume"
        );

        let start = Instant::now();
        let down: Vec<Result<(), String>> = stream::iter(placed)
            .map(|p| tear_down(cluster.clone(), p))
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        println!("e2e: torn down in {:?}", start.elapsed());
        check_all(down, volumes, "tear down");
        cluster
            .assert_volumes_not_listed(&id_refs, "after tearing all down")
            .await;
        assert!(
            cluster.kubelet_mounts().is_empty(),
            "{} mounts left",
            cluster.kubelet_mounts().len()
        );
        let cluster_ref = cluster.clone();
        assert!(
            eventually(Duration::from_secs(20), move || cluster_ref
                .my_dfuse_processes()
                .is_empty())
            .await,
            "dfuse processes outlived their volumes"
        );
    })
    .await;
}

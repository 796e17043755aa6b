//! The node plugin dies (SIGKILL) while a pod writes; the mounter and dfuse live on.

use daos_csi_e2e::data::{RECORD_SIZE, verify_records};
use daos_csi_e2e::*;
use daos_test_harness::unique_label;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn records_in(file: &Path) -> u64 {
    std::fs::metadata(file)
        .map(|m| m.len() / RECORD_SIZE as u64)
        .unwrap_or(0)
}

/// How far the workload got, or why its file cannot be looked at.
fn progress(file: &Path) -> String {
    match std::fs::metadata(file) {
        Ok(m) => format!("{} records", m.len() / RECORD_SIZE as u64),
        Err(e) => format!("the file cannot be stat'ed: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_plugin_restart_does_not_disturb_a_writing_pod() {
    if !privileged_or_skip("node_plugin_restart_does_not_disturb_a_writing_pod") {
        return;
    }
    within(Duration::from_secs(150), "node plugin restart", async {
        let mut cluster = Cluster::start(ClusterConfig {
            layout: Layout::SplitMounter,
            ..Default::default()
        })
        .await;
        let name = format!("pvc-{}", unique_label("restart"));
        let volume = cluster.create_volume(&name, &[]).await.must("CreateVolume");
        let id = volume.volume_id.clone();
        let staging = cluster.stage(&volume).await.must("NodeStageVolume");
        let target = cluster
            .publish(&volume, &staging, "pod-w", false)
            .await
            .must("publish");
        let dfuse = cluster
            .dfuse_for(&staging, &id)
            .expect("dfuse for the volume");
        let node_pid = cluster.csi_process.pid();
        assert!(
            dfuse.pid != node_pid.unwrap_or(0),
            "dfuse must not be the node plugin process"
        );

        let file = target.join("records");
        let stop = cluster.base.join("stop-writer");
        let writer = Command::new(env!("CARGO_BIN_EXE_e2e-writer"))
            .arg(&file)
            .arg(&stop)
            .arg("2")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting the workload");
        let writer = tokio::task::spawn_blocking(move || writer.wait_with_output());

        assert!(
            eventually(Duration::from_secs(20), || records_in(&file) >= 100).await,
            "the workload did not get going: {}",
            progress(&file)
        );
        cluster.kill_csi_process();
        let at_kill = records_in(&file);
        assert!(
            eventually(Duration::from_secs(10), || records_in(&file)
                >= at_kill + 50)
            .await,
            "writes stalled while the node plugin was down ({at_kill} records at the kill; now {})",
            progress(&file)
        );
        assert!(dfuse.is_alive(), "dfuse died with the node plugin");

        cluster.start_csi_process().await;
        let stats = cluster
            .stats(&id, &target, Some(&staging))
            .await
            .must("NodeGetVolumeStats after restart");
        if let Some(condition) = &stats.volume_condition {
            assert!(
                !condition.abnormal,
                "volume abnormal after restart: {condition:?}"
            );
        }
        let at_restart = records_in(&file);
        assert!(
            eventually(Duration::from_secs(20), || records_in(&file)
                >= at_restart + 100)
            .await,
            "writes stalled after the restart: {}",
            progress(&file)
        );
        std::fs::write(&stop, b"").expect("stop file");
        let output = writer
            .await
            .expect("writer task")
            .expect("waiting for the workload");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "a write failed across the restart: {} {}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        );
        let wrote: u64 = stdout
            .trim()
            .strip_prefix("wrote ")
            .and_then(|s| s.strip_suffix(" records"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected workload output {stdout:?}"));
        let found = verify_records(&file).expect("records intact");
        assert_eq!(found, wrote, "every acknowledged record is there, in order");
        assert!(dfuse.is_alive(), "the same dfuse still serves the volume");

        // The restarted plugin knows what is published and staged.
        cluster
            .publish(&volume, &staging, "pod-w", false)
            .await
            .must("repeated publish after restart");
        assert_eq!(mounts_at(&target).len(), 1);
        cluster
            .unpublish(&id, &target)
            .await
            .must("unpublish after restart");
        cluster
            .unstage(&id, &staging)
            .await
            .must("unstage after restart");
        assert!(
            cluster.kubelet_mounts().is_empty(),
            "{:?}",
            cluster.kubelet_mounts()
        );
        assert!(
            eventually(Duration::from_secs(10), || !dfuse.is_alive()).await,
            "dfuse still running after unstage"
        );
        cluster.delete_volume(&id).await.must("DeleteVolume");
    })
    .await;
}

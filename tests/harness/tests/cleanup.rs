//! The harness leaves no emulated system behind: the static one of `system()` is removed when
//! its process exits, and those of processes that died without exiting are swept by the next.
//!
//! The exit test runs `harness-static-system` (this crate's program) as a child: the static
//! system is per process. It needs the workspace's programs built, as every emulated test does
//! (`cargo build --workspace --features emulator --bins`).

use std::path::PathBuf;
use std::process::Command;

use daos_test_harness::{fresh_dir, sweep_dead_emulated_systems, workspace_bin};

#[test]
fn static_system_is_removed_when_its_process_exits() {
    if std::env::var("DAOS_TEST_POOL").is_ok_and(|p| !p.is_empty()) {
        eprintln!("SKIP: DAOS_TEST_POOL names a real system; the harness creates no directory");
        return;
    }
    let out = Command::new(workspace_bin("harness-static-system"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = stdout
        .lines()
        .find_map(|l| l.split_once("AGENT_DIR=").map(|(_, dir)| dir.trim()))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("the child did not say where its system was:\n{stdout}"));
    assert!(
        dir.starts_with(std::env::temp_dir()),
        "{} is not a temporary directory",
        dir.display()
    );
    assert!(
        !dir.exists(),
        "{} is still there after its process exited",
        dir.display()
    );
}

#[test]
fn systems_of_dead_processes_are_swept_and_live_ones_kept() {
    let tmp = fresh_dir("harness-sweep");
    // A pid that existed and is gone: a child we started and reaped.
    let mut child = Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let dead_dir = tmp.join(format!("daos-emu-{dead}-0-1"));
    std::fs::create_dir_all(dead_dir.join("emulated-system/pools")).unwrap();
    let live_dir = tmp.join(format!("daos-emu-{}-0-1", std::process::id()));
    std::fs::create_dir_all(&live_dir).unwrap();
    let other_dir = tmp.join(format!("something-{dead}-0-1"));
    std::fs::create_dir_all(&other_dir).unwrap();
    // A dead-looking pid whose agent still answers: a run in another PID namespace.
    let mut elsewhere = Command::new("true").spawn().unwrap();
    let elsewhere_pid = elsewhere.id();
    elsewhere.wait().unwrap();
    let answering_dir = tmp.join(format!("daos-emu-{elsewhere_pid}-0-2"));
    std::fs::create_dir_all(&answering_dir).unwrap();
    let _agent =
        std::os::unix::net::UnixListener::bind(answering_dir.join("daos_agent.sock")).unwrap();

    let removed = sweep_dead_emulated_systems(&tmp);

    assert_eq!(removed, vec![dead_dir.clone()]);
    assert!(
        answering_dir.exists(),
        "a system whose agent answers was removed"
    );
    assert!(!dead_dir.exists());
    assert!(
        live_dir.exists(),
        "the system of a live process was removed"
    );
    assert!(
        other_dir.exists(),
        "a directory of another kind was removed"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

//! The mounter against a DAOS system (emulated unless DAOS_TEST_POOL names a
//! real pool) and a real dfuse: mount, idempotency, conflicts, adoption by a
//! restarted mounter, replacement of a killed dfuse, unmount.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use daos::{Daos, Pool, PoolAccess, PosixContainerSpec};
use daos_csi::mounter::MountSpec;
use daos_csi::mounter::server::{Mounter, MounterConfig};
use daos_csi::mountinfo;
use tonic::Code;

struct Fixture {
    _daos: Arc<Daos>,
    pool: Pool,
    container: String,
    kubelet: tempfile::TempDir,
    state: tempfile::TempDir,
    dfuse: PathBuf,
    agent_socket: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        daos_test_harness::detach_mounts_under(self.kubelet.path());
        let _ = self.pool.destroy_container(&self.container, true);
    }
}

fn fixture() -> Fixture {
    fixture_in(&daos_test_harness::system().pool)
}

fn fixture_in(pool_label: &str) -> Fixture {
    let sys = daos_test_harness::system();
    let daos = Daos::init().expect("daos_init");
    let pool = Pool::connect(&daos, pool_label, None, PoolAccess::ReadWrite).expect("pool connect");
    let container = daos_test_harness::unique_label("mnt");
    pool.create_posix_container(&PosixContainerSpec::new(container.clone()))
        .expect("create container");
    let kubelet = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(kubelet.path().join("plugins/v1/globalmount")).expect("mkdir");
    Fixture {
        _daos: daos,
        pool,
        container,
        kubelet,
        state: tempfile::tempdir().expect("tempdir"),
        dfuse: sys.dfuse_path(),
        agent_socket: sys.agent_socket(),
    }
}

impl Fixture {
    fn config(&self) -> MounterConfig {
        MounterConfig {
            dfuse_path: self.dfuse.clone(),
            state_dir: self.state.path().to_path_buf(),
            kubelet_root: self.kubelet.path().canonicalize().expect("canonical root"),
            ready_timeout: Duration::from_secs(20),
            fs_timeout: Duration::from_secs(5),
            stop_timeout: Duration::from_secs(5),
            agent_socket: self.agent_socket.clone(),
        }
    }

    fn mountpoint(&self) -> PathBuf {
        self.kubelet
            .path()
            .canonicalize()
            .expect("canonical root")
            .join("plugins/v1/globalmount")
    }

    fn spec(&self) -> MountSpec {
        MountSpec {
            volume_id: format!("{}/{}", self.pool.uuid(), self.container),
            mountpoint: self.mountpoint(),
            pool: self.pool.uuid().to_string(),
            container: self.container.clone(),
            system: None,
            read_only: false,
            multi_user: true,
            caching: None,
            wb_cache: None,
            thread_count: None,
            eq_count: None,
            ephemeral: false,
        }
    }
}

fn dfuse_mounted(path: &Path) -> bool {
    mountinfo::lookup(path)
        .expect("mountinfo")
        .is_some_and(|m| m.is_dfuse())
}

#[tokio::test(flavor = "multi_thread")]
async fn mount_adopt_replace_unmount() {
    if !daos_test_harness::can_mount() {
        return;
    }
    let fx = fixture();
    let mp = fx.mountpoint();
    let mounter = Mounter::start(fx.config()).await.expect("mounter start");

    mounter.mount(fx.spec()).await.expect("mount");
    assert!(dfuse_mounted(&mp));
    std::fs::write(mp.join("hello"), b"world").expect("write through dfuse");

    // The same request again is a no-op; another volume on the same path is refused.
    mounter.mount(fx.spec()).await.expect("idempotent mount");
    let other = MountSpec {
        volume_id: "someone/else".into(),
        ..fx.spec()
    };
    assert_eq!(
        mounter.mount(other).await.unwrap_err().code(),
        Code::AlreadyExists
    );

    // A new mounter on the same state directory adopts the running dfuse.
    drop(mounter);
    let mounter = Mounter::start(fx.config()).await.expect("mounter restart");
    let listed = mounter.list().await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].healthy(), "{listed:?}");
    let pid = listed[0].pid;

    // dfuse killed: the mount is dead, the status says so, a new mount replaces it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill dfuse");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let st = mounter
        .status(&mp)
        .await
        .expect("status")
        .expect("known mount");
    assert!(!st.alive);
    mounter.mount(fx.spec()).await.expect("remount after kill");
    let st = mounter
        .status(&mp)
        .await
        .expect("status")
        .expect("known mount");
    assert!(st.healthy() && st.pid != pid);
    assert_eq!(
        std::fs::read(mp.join("hello")).expect("read back"),
        b"world"
    );

    // Unmount stops dfuse and forgets the mount; twice is fine.
    mounter.unmount(&mp).await.expect("unmount");
    assert!(!dfuse_mounted(&mp));
    assert!(mounter.list().await.is_empty());
    mounter.unmount(&mp).await.expect("second unmount");
    assert!(
        !Path::new(&format!("/proc/{}", st.pid)).exists() || {
            // The pid may have been reused by an unrelated process; it must not be dfuse.
            let cmd =
                std::fs::read_to_string(format!("/proc/{}/cmdline", st.pid)).unwrap_or_default();
            !cmd.contains(&*mp.to_string_lossy())
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dfuse_error_text_reaches_the_caller() {
    if !daos_test_harness::can_mount() {
        return;
    }
    let fx = fixture();
    let mounter = Mounter::start(fx.config()).await.expect("mounter start");
    let missing = MountSpec {
        container: "no-such-container".into(),
        ..fx.spec()
    };
    let err = mounter.mount(missing).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{}", err.message());
    assert!(err.message().contains("dfuse"), "{}", err.message());
    assert!(!dfuse_mounted(&fx.mountpoint()));
    assert!(mounter.list().await.is_empty());
}

/// A dfuse that is slow to answer (DAOS busy) is still serving its pods: a repeated Mount
/// (NodeStageVolume after a kubelet restart, or a publish that found it slow) must leave it
/// running, never replace it. Emulator only: the slowness is an injected fault, on a pool of
/// this test's own so that no other test's dfuse sees it.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_dfuse_is_not_replaced() {
    let sys = daos_test_harness::system();
    if !daos_test_harness::can_mount() || !sys.emulated {
        return;
    }
    let pool_label = daos_test_harness::unique_label("slow");
    sys.create_pool(&pool_label, "1G");
    let fx = fixture_in(&pool_label);
    let mp = fx.mountpoint();
    let config = MounterConfig {
        fs_timeout: Duration::from_secs(1),
        ..fx.config()
    };
    let mounter = Mounter::start(config).await.expect("mounter start");
    mounter.mount(fx.spec()).await.expect("mount");
    let pid = mounter
        .status(&mp)
        .await
        .expect("status")
        .expect("record")
        .pid;

    // dfuse answers statfs with a pool query; the next one takes 3 s, past the 1 s deadline.
    sys.dmg(&[
        "fault".into(),
        "set".into(),
        "--op".into(),
        "daos_pool_query".into(),
        "--pool".into(),
        pool_label.clone(),
        "--count".into(),
        "1".into(),
        "--delay-ms".into(),
        "3000".into(),
    ]);
    mounter
        .mount(fx.spec())
        .await
        .expect("a repeated mount of a slow dfuse is already done");
    // dfuse runs min(cores, 16) - 1 FUSE threads, one on a 2-core machine: let the slow
    // request finish before looking at the mount again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = mounter.status(&mp).await.expect("status").expect("record");
    assert_eq!(after.pid, pid, "a slow dfuse was replaced");
    assert!(after.healthy(), "{after:?}");
    std::fs::write(mp.join("after"), b"still served").expect("write through the same dfuse");
    mounter.unmount(&mp).await.expect("unmount");
}

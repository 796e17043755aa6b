//! Helpers shared by the integration tests: one DAOS system per test binary (emulated, or the
//! real pool named by DAOS_TEST_POOL), a read-write pool connection, and containers with
//! unique labels that are destroyed when the guard drops.

#![allow(dead_code)]

use std::sync::{Arc, OnceLock};

use daos::{
    Container, ContainerAccess, Daos, Destroy, Dfs, Pool, PoolAccess, PosixContainerSpec,
    Properties, SetAttributes, Uuid,
};
use daos_test_harness::{TestSystem, system, unique_label};

/// The test system, with libdaos initialised against it.
pub fn daos() -> (&'static TestSystem, Arc<Daos>) {
    let sys = system();
    (
        sys,
        Daos::init().expect("daos_init against the test system"),
    )
}

/// A read-write connection to the test pool, shared by the tests of one binary.
pub fn pool() -> Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let (sys, daos) = daos();
        Pool::connect(&daos, &sys.pool, None, PoolAccess::ReadWrite)
            .expect("connect to the test pool")
    })
    .clone()
}

/// A container that is force-destroyed when dropped.
pub struct TempContainer {
    pub pool: Pool,
    pub label: String,
    pub uuid: Uuid,
}

impl TempContainer {
    /// A new plain container.
    pub fn plain(prefix: &str) -> TempContainer {
        let pool = pool();
        let label = unique_label(prefix);
        let uuid = pool
            .create_container(&label, &Properties::new())
            .expect("create container");
        TempContainer { pool, label, uuid }
    }

    /// A new POSIX container.
    pub fn posix(prefix: &str) -> TempContainer {
        TempContainer::posix_with(PosixContainerSpec::new(unique_label(prefix)))
    }

    /// A new POSIX container from a spec.
    pub fn posix_with(spec: PosixContainerSpec) -> TempContainer {
        let pool = pool();
        let uuid = pool
            .create_posix_container(&spec)
            .expect("create POSIX container");
        TempContainer {
            pool,
            label: spec.label,
            uuid,
        }
    }

    /// Opens it read-write.
    pub fn open(&self) -> Container {
        self.pool
            .open_container(&self.label, ContainerAccess::ReadWrite)
            .expect("open container")
    }
}

impl Drop for TempContainer {
    fn drop(&mut self) {
        match self.pool.destroy_container(self.uuid, Destroy::Force) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => eprintln!("cleanup: cannot destroy {}: {e}", self.label),
        }
    }
}

/// Clears injected faults when dropped, so a failing test does not poison the next one.
pub struct FaultGuard(pub &'static TestSystem);

impl Drop for FaultGuard {
    fn drop(&mut self) {
        self.0.clear_faults();
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// Serialises the tests of one binary that inject faults (faults are system-wide).
pub fn fault_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Injects a fault for the guard's lifetime; None (with a note printed by the harness) on a
/// real DAOS system.
pub fn inject(
    sys: &'static TestSystem,
    op: &str,
    der: Option<i32>,
    count: Option<u32>,
    delay_ms: Option<u64>,
) -> Option<FaultGuard> {
    if sys.inject_fault(op, der, count, delay_ms) {
        // The emulator's processes reload the fault file within ~100 ms.
        std::thread::sleep(std::time::Duration::from_millis(250));
        Some(FaultGuard(sys))
    } else {
        None
    }
}

/// A new POSIX container, mounted read-write.
pub fn rw_mount(prefix: &str) -> (TempContainer, Dfs) {
    let c = TempContainer::posix(prefix);
    let fs = c
        .open()
        .mount_dfs(ContainerAccess::ReadWrite)
        .expect("mount");
    (c, fs)
}

/// Every entry under `path` of `fs` with what a copy must keep: type and mode, owner, size,
/// mtime, and the content of files and targets of links.
pub fn listing(fs: &Dfs, path: &str, out: &mut Vec<(String, String)>) {
    let st = fs.stat(path).unwrap();
    let kind = st.mode & libc::S_IFMT;
    let content = if kind == libc::S_IFLNK {
        fs.read_link(path).unwrap()
    } else if kind == libc::S_IFREG {
        // A digest keeps a failure's message readable for large files.
        let data = fs.read_file(path).unwrap();
        let digest = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        format!("fnv1a:{digest:016x}")
    } else {
        String::new()
    };
    let size = if kind == libc::S_IFDIR { 0 } else { st.size };
    out.push((
        path.to_string(),
        format!(
            "{:o} {}:{} {size} {:?} {content}",
            st.mode, st.uid, st.gid, st.mtime
        ),
    ));
    if kind == libc::S_IFDIR {
        let mut names: Vec<String> = fs
            .read_dir(path)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        names.sort();
        for name in names {
            let child = if path == "/" {
                format!("/{name}")
            } else {
                format!("{path}/{name}")
            };
            listing(fs, &child, out);
        }
    }
}

/// Writes the tree the copy tests copy: 3 directories (one empty), 3 files (empty, small, and
/// several chunks with a tail), a link and a dangling link, a file with its own mode and
/// owner, and old modification times on the directories (the root included) and that file.
/// Returns the bytes of file data.
pub fn write_copy_sample(fs: &Dfs) -> u64 {
    fs.mkdir("/a", 0o755).unwrap();
    fs.mkdir("/a/b", 0o750).unwrap();
    fs.mkdir("/empty", 0o700).unwrap();
    fs.write_file("/empty-file", b"").unwrap();
    fs.write_file("/a/small", b"small").unwrap();
    let big: Vec<u8> = (0..(3 << 20) + 4321).map(|i| (i * 7 % 251) as u8).collect();
    fs.write_file("/a/b/big", &big).unwrap();
    fs.symlink("/link", "a/small").unwrap();
    fs.symlink("/dangling", "nowhere").unwrap();
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    fs.set_attributes(
        "/a/small",
        &SetAttributes {
            mode: Some(0o640),
            uid: Some(1234),
            gid: Some(5678),
            mtime: Some(old),
        },
    )
    .unwrap();
    for dir in ["/a/b", "/a", "/empty", "/"] {
        fs.set_attributes(
            dir,
            &SetAttributes {
                mtime: Some(old),
                ..Default::default()
            },
        )
        .unwrap();
    }
    big.len() as u64 + 5
}

//! Test harness: one DAOS system for the tests of a process.
//!
//! With `DAOS_TEST_POOL` set, tests run against that pool of a real DAOS system, reached through
//! the agent socket in `DAOS_AGENT_DRPC_DIR` (default `/var/run/daos_agent`) exactly as libdaos
//! finds it. Otherwise the harness starts the emulated `daos_agent` in a fresh directory and
//! creates an 8 GB pool `tank` (`dmg pool create --size 8G`: 8·10⁹ bytes) with the emulated
//! `dmg`. Either way it prints which one it uses, so a test log always says what the tests ran
//! against.
//!
//! An emulated system lives in `<temp dir>/daos-emu-<pid>-…`. The shared one of [`system`] is a
//! static, never dropped, so it is removed when the process exits (`atexit`); the directories of
//! processes that died without exiting (killed, aborted) are removed by the next process that
//! starts an emulated system.
//!
//! The emulator programs are found beside the test executable in the cargo target directory
//! (`cargo test --workspace` builds every workspace binary).

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

const AGENT_SOCKET: &str = "daos_agent.sock";
const DEFAULT_AGENT_DIR: &str = "/var/run/daos_agent";
const EMULATED_STATE_DIR: &str = "emulated-system";
const DEFAULT_POOL: &str = "tank";
const EMULATED_DIR_PREFIX: &str = "daos-emu";

/// A DAOS system the tests talk to: emulated (owned by this process) or real (configured).
pub struct TestSystem {
    /// Directory holding `daos_agent.sock`; what `DAOS_AGENT_DRPC_DIR` must name.
    pub agent_dir: PathBuf,
    /// Label (or UUID) of the pool the tests may create containers in.
    pub pool: String,
    /// True when the system is the emulator.
    pub emulated: bool,
    agent: Mutex<Option<Child>>,
    owns_dir: bool,
}

static SYSTEM: OnceLock<TestSystem> = OnceLock::new();
static LABEL_COUNTER: AtomicU64 = AtomicU64::new(0);
/// The process that registered the exit hook: a forked child that calls exit(3) runs the
/// parent's hooks too, and must not remove the parent's system.
static SYSTEM_OWNER: AtomicI32 = AtomicI32::new(0);

/// The system shared by every test of this process, started on first use.
///
/// It also sets `DAOS_AGENT_DRPC_DIR` for this process so that in-process libdaos calls (the
/// `daos` crate's tests) reach the same system.
pub fn system() -> &'static TestSystem {
    SYSTEM.get_or_init(|| {
        let system = match std::env::var("DAOS_TEST_POOL") {
            Ok(pool) if !pool.is_empty() => TestSystem::configured(pool),
            _ => {
                let system = private_system("8G");
                remove_at_exit();
                system
            }
        };
        // SAFETY: this runs once, inside OnceLock initialisation, before the test calls any
        // libdaos function (libdaos reads the variable at its first daos_init). Rust's own env
        // accesses are serialised by std; the emulator reads the environment only through std.
        unsafe { std::env::set_var("DAOS_AGENT_DRPC_DIR", &system.agent_dir) };
        system
    })
}

/// A fresh emulated system with its own directory, agent and pool `tank` of `pool_size`.
///
/// It leaves this process's environment alone: pass [`TestSystem::env`] to the processes that
/// should use it. Dropping it stops the agent and removes its directory.
pub fn private_system(pool_size: &str) -> TestSystem {
    static SWEPT: Once = Once::new();
    SWEPT.call_once(|| {
        sweep_dead_emulated_systems(&std::env::temp_dir());
    });
    let dir = fresh_dir(EMULATED_DIR_PREFIX);
    let system = TestSystem {
        agent_dir: dir,
        pool: DEFAULT_POOL.to_string(),
        emulated: true,
        agent: Mutex::new(None),
        owns_dir: true,
    };
    system.start_agent();
    system.create_pool(DEFAULT_POOL, pool_size);
    eprintln!(
        "daos-test-harness: running against the DAOS EMULATOR (agent dir {}, pool {})",
        system.agent_dir.display(),
        system.pool
    );
    system
}

/// A label unique to this test run, valid under DAOS label rules.
pub fn unique_label(prefix: &str) -> String {
    let n = LABEL_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

impl TestSystem {
    fn configured(pool: String) -> TestSystem {
        let agent_dir = std::env::var_os("DAOS_AGENT_DRPC_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_AGENT_DIR));
        // An emulated system started outside the tests (the quickstart, a developer's shell)
        // is configured the same way as a real one; its state directory gives it away.
        let emulated = agent_dir.join(EMULATED_STATE_DIR).is_dir();
        eprintln!(
            "daos-test-harness: running against {} pool {pool} (agent dir {})",
            if emulated {
                "an externally started DAOS EMULATOR"
            } else {
                "a REAL DAOS system"
            },
            agent_dir.display()
        );
        TestSystem {
            agent_dir,
            pool,
            emulated,
            agent: Mutex::new(None),
            owns_dir: false,
        }
    }

    /// Environment a child process needs to reach this system.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![(
            "DAOS_AGENT_DRPC_DIR".to_string(),
            self.agent_dir.display().to_string(),
        )]
    }

    /// Path of the agent socket.
    pub fn agent_socket(&self) -> PathBuf {
        self.agent_dir.join(AGENT_SOCKET)
    }

    /// Path of an emulator program (`daos_agent`, `dmg`, `dfuse`, `daos-emu-cli`).
    pub fn bin(&self, name: &str) -> PathBuf {
        emulator_bin(name)
    }

    /// The dfuse the driver should run: the emulated one, or `dfuse` from PATH on real DAOS.
    pub fn dfuse_path(&self) -> PathBuf {
        if self.emulated {
            emulator_bin("dfuse")
        } else {
            find_on_path("dfuse").unwrap_or_else(|| PathBuf::from("dfuse"))
        }
    }

    /// Makes `op` fail with `der` and/or complete `delay_ms` later, for the first `count`
    /// calls (every call when `None`). Returns false, and says so, on a real DAOS system.
    pub fn inject_fault(
        &self,
        op: &str,
        der: Option<i32>,
        count: Option<u32>,
        delay_ms: Option<u64>,
    ) -> bool {
        if !self.emulated {
            eprintln!(
                "daos-test-harness: fault injection ({op}) is not possible on real DAOS; that part was not run"
            );
            return false;
        }
        let mut args = vec!["fault".to_string(), "set".into(), "--op".into(), op.into()];
        if let Some(der) = der {
            args.push(format!("--der={der}"));
        }
        if let Some(count) = count {
            args.extend(["--count".into(), count.to_string()]);
        }
        if let Some(delay) = delay_ms {
            args.extend(["--delay-ms".into(), delay.to_string()]);
        }
        self.dmg(&args);
        true
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        if self.emulated {
            self.dmg(&["fault".into(), "clear".into()]);
        }
    }

    /// Creates a pool (emulator only).
    pub fn create_pool(&self, label: &str, size: &str) {
        assert!(self.emulated, "pools can only be created on the emulator");
        self.dmg(&[
            "pool".into(),
            "create".into(),
            "--size".into(),
            size.into(),
            label.into(),
        ]);
    }

    /// Runs the emulated `dmg` against this system and returns its standard output.
    pub fn dmg(&self, args: &[String]) -> String {
        let out = Command::new(emulator_bin("dmg"))
            .args(args)
            .env("DAOS_AGENT_DRPC_DIR", &self.agent_dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run dmg: {e}"));
        assert!(
            out.status.success(),
            "dmg {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Stops the emulated agent: SIGTERM (it removes its socket) or SIGKILL (a dead socket
    /// stays behind, as when a real agent crashes).
    pub fn stop_agent(&self, graceful: bool) {
        assert!(
            self.emulated,
            "the agent of a real DAOS system is not ours to stop"
        );
        let mut guard = self.agent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = guard.take() {
            let signal = if graceful {
                libc::SIGTERM
            } else {
                libc::SIGKILL
            };
            // SAFETY: kill(2) on the pid of a child we spawned and have not reaped yet.
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
            let _ = child.wait();
        }
    }

    /// Starts the emulated agent and waits until its socket accepts connections.
    pub fn start_agent(&self) {
        assert!(
            self.emulated,
            "the agent of a real DAOS system is not ours to start"
        );
        let mut guard = self.agent.lock().unwrap_or_else(|e| e.into_inner());
        assert!(guard.is_none(), "the agent is already running");
        let mut child = Command::new(emulator_bin("daos_agent"))
            .arg("--runtime-dir")
            .arg(&self.agent_dir)
            .arg("--exit-with-parent")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the emulated daos_agent: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        // Drain the agent's output on a thread so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("daos_agent: {line}");
            }
        });
        let socket = self.agent_socket();
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&socket).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the emulated daos_agent exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "the emulated daos_agent did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        *guard = Some(child);
    }
}

impl TestSystem {
    /// Stops the agent and removes the directory, when this system owns them.
    fn remove(&self) {
        if !self.owns_dir {
            return;
        }
        // try_lock: at exit a thread that died holding the lock must not hang the process;
        // the agent (started with --exit-with-parent) then stops by itself.
        let agent = match self.agent.try_lock() {
            Ok(mut guard) => guard.take(),
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner().take(),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        if let Some(mut child) = agent {
            // SAFETY: kill(2) on the pid of a child we spawned and have not reaped yet.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let _ = child.wait();
        }
        detach_mounts_under(&self.agent_dir);
        let _ = std::fs::remove_dir_all(&self.agent_dir);
    }
}

impl Drop for TestSystem {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Registers the removal of the static system (never dropped) for when the process exits.
fn remove_at_exit() {
    // SAFETY: getpid has no preconditions.
    SYSTEM_OWNER.store(unsafe { libc::getpid() }, Ordering::SeqCst);
    // SAFETY: atexit with a function that has the C ABI, takes nothing and cannot unwind
    // (remove_static_system catches every panic).
    if unsafe { libc::atexit(remove_static_system) } != 0 {
        eprintln!("daos-test-harness: atexit failed; the emulated system's directory will stay");
    }
}

extern "C" fn remove_static_system() {
    // No panic may unwind into the C library that runs exit handlers.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: getpid has no preconditions.
        if SYSTEM_OWNER.load(Ordering::SeqCst) != unsafe { libc::getpid() } {
            return;
        }
        if let Some(system) = SYSTEM.get() {
            system.remove();
        }
    });
}

/// Removes the emulated systems (`<dir>/daos-emu-<pid>-…`) of processes that no longer exist:
/// a test process that was killed or aborted ran no exit handler. Systems of live processes
/// (other test runs in parallel) are left alone. Returns the directories removed.
pub fn sweep_dead_emulated_systems(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(emulated_system_pid) else {
            continue;
        };
        if process_exists(pid) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        // A pid is only a pid in its own namespace: a run in another PID namespace sharing
        // this temp dir looks dead from here. Its agent still answers.
        if std::os::unix::net::UnixStream::connect(path.join(AGENT_SOCKET)).is_ok() {
            continue;
        }
        detach_mounts_under(&path);
        if std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// The pid in an emulated system's directory name (`daos-emu-<pid>-<n>-<nanos>`).
fn emulated_system_pid(name: &str) -> Option<libc::pid_t> {
    let rest = name.strip_prefix(EMULATED_DIR_PREFIX)?.strip_prefix('-')?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok().filter(|p| *p > 0)
}

fn process_exists(pid: libc::pid_t) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists; it sends nothing.
    let rc = unsafe { libc::kill(pid, 0) };
    // EPERM: it exists, owned by someone else.
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// The cargo target profile directory (`target/debug`) of the running test executable.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// A binary built by this workspace, found beside the test executable.
pub fn workspace_bin(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the workspace binaries first (cargo build --workspace --features emulator)",
        path.display()
    );
    path
}

fn emulator_bin(name: &str) -> PathBuf {
    workspace_bin(name)
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A new, empty directory under the system temp dir.
pub fn fresh_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_label(prefix));
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Lazily unmounts every mount below `dir` (deepest first): a test's own temporary tree only.
/// Returns the mount points it detached.
pub fn detach_mounts_under(dir: &Path) -> Vec<String> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .filter(|p| Path::new(p).starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in &points {
        if let Ok(c) = std::ffi::CString::new(p.as_str()) {
            // SAFETY: umount2 with a valid NUL-terminated path; MNT_DETACH never blocks on a
            // dead FUSE daemon.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
    points
}

/// Decodes the octal escapes (`\040` for a space) the kernel writes into mountinfo paths.
pub fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let oct = &field[i + 1..i + 4];
            if let Ok(v) = u8::from_str_radix(oct, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True when the tests may mount (root with /dev/fuse). Under CI a missing capability is a
/// failure, not a skip: CI promises both.
pub fn can_mount() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let fuse = Path::new("/dev/fuse").exists();
    if root && fuse {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the mount tests: root={root}, /dev/fuse present={fuse}"
    );
    eprintln!("SKIP: mount tests need root and /dev/fuse (root={root}, fuse={fuse})");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_decoded() {
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
        assert_eq!(unescape_mountinfo("/tab\\011x\\134y"), "/tab\tx\\y");
        assert_eq!(unescape_mountinfo("/short\\04"), "/short\\04");
    }

    #[test]
    fn emulated_system_names_give_their_pid() {
        assert_eq!(emulated_system_pid("daos-emu-4242-0-1f"), Some(4242));
        assert_eq!(emulated_system_pid("daos-emu-x-0-1f"), None);
        assert_eq!(emulated_system_pid("daos-emulator-1-0-1f"), None);
        assert_eq!(emulated_system_pid("other-4242-0-1f"), None);
        let dir = fresh_dir(EMULATED_DIR_PREFIX);
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap()
            .to_string();
        std::fs::remove_dir(&dir).unwrap();
        assert_eq!(
            emulated_system_pid(&name),
            Some(std::process::id() as libc::pid_t)
        );
    }

    #[test]
    fn unique_labels_differ_and_follow_label_rules() {
        let a = unique_label("t");
        let b = unique_label("t");
        assert_ne!(a, b);
        for l in [a, b] {
            assert!(l.len() <= 127);
            assert!(
                l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c)),
                "{l}"
            );
        }
    }
}

//! An emulated system for one test binary: an agent in a temp dir and its programs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::ptr::null_mut;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use daos_emulator::capi::{
    daos_cont_create_with_label, daos_cont_open2, daos_init, dfs_cont_create_with_label, dfs_init,
    dfs_open,
};
use daos_emulator::ffi::{daos_handle_t, daos_prop_t, dfs_obj_t, dfs_t, uuid_t};

pub fn bin(name: &str) -> PathBuf {
    let p = match name {
        "daos_agent" => env!("CARGO_BIN_EXE_daos_agent"),
        "dmg" => env!("CARGO_BIN_EXE_dmg"),
        "dfuse" => env!("CARGO_BIN_EXE_dfuse"),
        "daos-emu-cli" => env!("CARGO_BIN_EXE_daos-emu-cli"),
        "daos-emu-helper" => env!("CARGO_BIN_EXE_daos-emu-helper"),
        other => panic!("unknown program {other}"),
    };
    PathBuf::from(p)
}

pub struct Emu {
    pub dir: PathBuf,
    agent: Option<Child>,
}

impl Emu {
    /// A fresh system with an agent and a pool `tank` of `size`.
    pub fn start(size: &str) -> Emu {
        let dir = std::env::temp_dir().join(format!("emu-test-{}-{}", std::process::id(), nanos()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut e = Emu { dir, agent: None };
        e.start_agent();
        e.dmg(&["pool", "create", "--size", size, "tank"]);
        e
    }

    pub fn start_agent(&mut self) {
        let mut child = Command::new(bin("daos_agent"))
            .arg("--runtime-dir")
            .arg(&self.dir)
            .arg("--exit-with-parent")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("daos_agent listening on "), "{line}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(self.dir.join("daos_agent.sock")).is_err() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(5));
        }
        self.agent = Some(child);
    }

    /// Stops the agent: SIGTERM (clean, evicts handles) or SIGKILL (stale socket).
    pub fn stop_agent(&mut self, graceful: bool) {
        if let Some(mut c) = self.agent.take() {
            let sig = if graceful {
                libc::SIGTERM
            } else {
                libc::SIGKILL
            };
            // SAFETY: signalling our own child.
            unsafe { libc::kill(c.id() as i32, sig) };
            let status = c.wait().unwrap();
            if graceful {
                assert!(status.success(), "agent exit {status}");
            }
        }
    }

    pub fn dmg(&self, args: &[&str]) -> String {
        let out = Command::new(bin("dmg"))
            .args(args)
            .env("DAOS_AGENT_DRPC_DIR", &self.dir)
            .output()
            .unwrap();
        assert_exited_0(&out, format_args!("dmg {args:?}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn dmg_status(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(bin("dmg"))
            .args(args)
            .env("DAOS_AGENT_DRPC_DIR", &self.dir)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    pub fn cmd(&self, name: &str) -> Command {
        let mut c = Command::new(bin(name));
        c.env("DAOS_AGENT_DRPC_DIR", &self.dir);
        c
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        self.stop_agent(true);
        detach_mounts_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Panics with the program's stderr unless it exited 0.
pub fn assert_exited_0(out: &Output, what: impl std::fmt::Display) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

static SHARED: OnceLock<Emu> = OnceLock::new();

/// A static is never dropped: the shared system's directory goes at exit.
extern "C" fn remove_shared_system() {
    if let Some(e) = SHARED.get() {
        detach_mounts_under(&e.dir);
        let _ = std::fs::remove_dir_all(&e.dir);
    }
}

/// The one system of this test binary, started by the first caller: pool `tank` of `size`,
/// what `prepare` adds (pools of their own for tests that set system-wide fault rules), then
/// libdaos and libdfs initialised against it. One a binary, because libdaos reads
/// DAOS_AGENT_DRPC_DIR once, at its first init; later callers' arguments go unused.
pub fn shared_system(size: &str, prepare: impl FnOnce(&Emu)) -> &'static Emu {
    SHARED.get_or_init(|| {
        let e = Emu::start(size);
        prepare(&e);
        // SAFETY: set once before any daos_init of this process; tests only read it afterwards.
        unsafe { std::env::set_var("DAOS_AGENT_DRPC_DIR", &e.dir) };
        // SAFETY: plain init calls; atexit with a function that lives for the whole program.
        unsafe {
            assert_eq!(daos_init(), 0);
            assert_eq!(dfs_init(), 0);
            libc::atexit(remove_shared_system);
        }
        e
    })
}

/// A POSIX container just made by `dfs_cont_create_with_label`, open read-write and
/// mounted; the caller releases the handles (or leaves them to the end of the process).
pub struct NewPosix {
    pub poh: daos_handle_t,
    pub coh: daos_handle_t,
    pub dfs: *mut dfs_t,
    pub label: String,
}

/// A new POSIX container labelled `prefix-…` in `pool` (libdaos initialised by the caller).
pub fn create_posix_mounted(pool: &str, prefix: &str) -> NewPosix {
    let poh = pool_connect(pool);
    let label = label(prefix);
    let mut uuid: uuid_t = [0; 16];
    let mut coh = daos_handle_t::default();
    let mut dfs: *mut dfs_t = null_mut();
    // SAFETY: valid arguments; the out-pointers are filled on success.
    let rc = unsafe {
        dfs_cont_create_with_label(
            poh,
            c(&label).as_ptr(),
            null_mut(),
            &mut uuid,
            &mut coh,
            &mut dfs,
        )
    };
    assert_eq!(rc, 0, "create {label}");
    NewPosix {
        poh,
        coh,
        dfs,
        label,
    }
}

/// A new container `label` in the pool `poh` with the properties `prop` (NULL: none), by
/// `daos_cont_create_with_label`; its UUID.
pub fn create_container(poh: daos_handle_t, label: &str, prop: *mut daos_prop_t) -> uuid_t {
    let mut uuid: uuid_t = [0; 16];
    // SAFETY: valid arguments; `prop` is NULL or the caller's live property list.
    let rc =
        unsafe { daos_cont_create_with_label(poh, c(label).as_ptr(), prop, &mut uuid, null_mut()) };
    assert_eq!(rc, 0, "create {label}");
    uuid
}

/// The container `label` of the pool `poh`, opened with `flags` (`DAOS_COO_*`).
pub fn open_container(poh: daos_handle_t, label: &str, flags: u32) -> daos_handle_t {
    let mut coh = daos_handle_t::default();
    // SAFETY: valid arguments; blocking call.
    let rc = unsafe {
        daos_cont_open2(
            poh,
            c(label).as_ptr(),
            flags,
            &mut coh,
            null_mut(),
            null_mut(),
        )
    };
    assert_eq!(rc, 0, "open {label}");
    coh
}

/// A new entry `name` of the root of `dfs` (`dfs_open` with O_CREAT | O_EXCL), open
/// read-write; `value` is a symbolic link's target. The caller releases it.
pub fn dfs_create(dfs: *mut dfs_t, name: &str, mode: u32, value: Option<&str>) -> *mut dfs_obj_t {
    let mut obj: *mut dfs_obj_t = null_mut();
    let value = value.map(c);
    // SAFETY: a live mount (the caller's); valid strings and out-pointer.
    let rc = unsafe {
        dfs_open(
            dfs,
            null_mut(),
            c(name).as_ptr(),
            mode,
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
            0,
            0,
            value.as_ref().map_or(std::ptr::null(), |v| v.as_ptr()),
            &mut obj,
        )
    };
    assert_eq!(rc, 0, "create {name}");
    obj
}

pub fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

pub fn detach_mounts_under(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    for line in info.lines() {
        if let Some(p) = line.split(' ').nth(4)
            && Path::new(p).starts_with(dir)
        {
            let c = std::ffi::CString::new(p).unwrap();
            // SAFETY: lazy unmount of a path below our own test directory.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Root with /dev/fuse, or a SKIP line (a failure under CI=true).
pub fn can_mount() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let fuse = Path::new("/dev/fuse").exists();
    if root && fuse {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the mount tests (root={root}, /dev/fuse={fuse})"
    );
    eprintln!("SKIP: FUSE mount tests need root and /dev/fuse (root={root}, /dev/fuse={fuse})");
    false
}

/// A C string for the C API (test strings never hold a NUL).
pub fn c(s: &str) -> std::ffi::CString {
    std::ffi::CString::new(s).expect("no NUL in a test string")
}

/// A label unique in this process: `prefix-<pid>-<n>`.
pub fn label(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// A read-write connection to `pool`, through the C API (libdaos initialised
/// by the caller); panics when it fails.
pub fn pool_connect(pool: &str) -> daos_emulator::ffi::daos_handle_t {
    let mut poh = daos_emulator::ffi::daos_handle_t::default();
    // SAFETY: valid arguments; blocking call.
    let rc = unsafe {
        daos_emulator::capi::daos_pool_connect2(
            c(pool).as_ptr(),
            std::ptr::null(),
            daos_emulator::ffi::DAOS_PC_RW,
            &mut poh,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "connect {pool}");
    poh
}

//! The `daos-csi` processes a test starts: where the binary is, how it is spawned with its log
//! captured to a file, and how it is killed or restarted.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The driver binary: `$DAOS_CSI_BIN`, else `daos-csi` in the cargo target dir this test
/// executable was built into (`target/debug/deps/e2e-*` → `target/debug/daos-csi`).
pub fn driver_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DAOS_CSI_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut candidates = Vec::new();
    let mut dir = exe.parent();
    while let Some(d) = dir {
        candidates.push(d.join("daos-csi"));
        if d.file_name()
            .is_some_and(|name| name == "debug" || name == "release")
        {
            break;
        }
        dir = d.parent();
    }
    for candidate in &candidates {
        if candidate.is_file() {
            return candidate.clone();
        }
    }
    panic!(
        "the daos-csi binary was not found (looked at {candidates:?}); build it into the same \
         target dir first: `cargo build -p daos-csi --features emulator` (or set DAOS_CSI_BIN)"
    );
}

/// One running (or stopped) driver process. Its stdout and stderr go to `log_path`, appended
/// across restarts, so a failing test can print the whole story.
pub struct DriverProcess {
    pub name: String,
    binary: PathBuf,
    args: Vec<OsString>,
    /// How many of `args` the process was spawned with.
    base_args: usize,
    env: Vec<(String, String)>,
    pub log_path: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl DriverProcess {
    pub fn spawn(
        name: &str,
        binary: &Path,
        args: Vec<OsString>,
        env: Vec<(String, String)>,
        log_path: &Path,
    ) -> DriverProcess {
        let mut process = DriverProcess {
            name: name.to_string(),
            binary: binary.to_path_buf(),
            base_args: args.len(),
            args,
            env,
            log_path: log_path.to_path_buf(),
            child: None,
            starts: 0,
        };
        process.start();
        process
    }

    /// Sets the flags added to the original ones for the next start (a restart with a
    /// changed configuration); those of an earlier call are replaced.
    pub fn set_extra_args(&mut self, extra: &[&str]) {
        self.args.truncate(self.base_args);
        self.args.extend(extra.iter().map(OsString::from));
    }

    /// Starts the process again with the same flags and environment.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        self.starts += 1;
        let mut log = File::options()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .expect("driver log file");
        let _ = writeln!(
            log,
            "===== e2e: start #{} of {}: {} {}",
            self.starts,
            self.name,
            self.binary.display(),
            self.args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let stderr = log.try_clone().expect("driver log file");
        let mut command = Command::new(&self.binary);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr));
        // Plain text in the log files that failures print.
        command.env("NO_COLOR", "1");
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "info");
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {} ({}): {e}", self.name, self.binary.display()));
        self.child = Some(child);
    }

    pub fn pid(&self) -> Option<i32> {
        self.child.as_ref().map(|child| child.id() as i32)
    }

    /// `Some(status)` once the process has exited (it is then reaped).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status)
            }
            _ => None,
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.exited().is_none() && self.child.is_some()
    }

    /// Sends `signal` and waits up to `grace` for the exit; SIGKILL after that.
    pub fn stop(&mut self, signal: Signal, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let pid = Pid::from_raw(child.id() as i32);
        let _ = kill(pid, signal);
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => break,
            }
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// SIGKILL of the process alone.
    pub fn kill9(&mut self) {
        self.stop(Signal::SIGKILL, Duration::from_secs(5));
    }

    /// SIGKILL of the process and every process it started, as a container restart kills
    /// everything in the container's cgroup: whatever the process ran itself dies with it.
    pub fn kill9_with_descendants(&mut self) {
        let Some(pid) = self.pid() else { return };
        let tree = crate::procs::process_tree(pid);
        for member in tree.iter().skip(1) {
            let _ = kill(Pid::from_raw(*member), Signal::SIGKILL);
        }
        self.kill9();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        self.stop(Signal::SIGTERM, Duration::from_secs(5));
    }
}

//! The machine the figures come from, and the memory of the processes measured.

use serde::Serialize;

/// What the README prints next to the figures.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub memory_total_gib: f64,
    pub kernel: String,
    /// 1-minute load average when the run started: other work on a shared machine skews the
    /// figures, so the report says how busy it was.
    pub load_average_at_start: String,
    /// File system of the temp dir, where the emulated DAOS system keeps its state and the
    /// kubelet directories live (the emulator's cost depends on it).
    pub temp_dir: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, model)| model.trim().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_total_gib = status_kib(&meminfo, "MemTotal").unwrap_or(0) as f64 / 1048576.0;
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let load_average_at_start = load_average();
        Machine {
            nproc: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            cpu_model,
            memory_total_gib,
            kernel,
            load_average_at_start,
            temp_dir: describe_dir(&std::env::temp_dir()),
        }
    }

    pub fn one_line(&self) -> String {
        format!(
            "{} CPUs ({}), {:.1} GiB RAM, Linux {}, load average {} at start, temp dir {}",
            self.nproc,
            self.cpu_model,
            self.memory_total_gib,
            self.kernel,
            self.load_average_at_start,
            self.temp_dir
        )
    }
}

/// The 1-minute load average.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

/// `/path (tmpfs)`: the file system type from statfs(2).
fn describe_dir(dir: &std::path::Path) -> String {
    let kind = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .ok()
        .and_then(|path| {
            // SAFETY: statfs writes into a zeroed struct we own; `path` is NUL-terminated.
            unsafe {
                let mut st: libc::statfs = std::mem::zeroed();
                (libc::statfs(path.as_ptr(), &mut st) == 0).then_some(st.f_type)
            }
        });
    let name = match kind {
        Some(0x0102_1994) => "tmpfs".to_string(),
        Some(0xEF53) => "ext4".to_string(),
        Some(0x5846_5342) => "xfs".to_string(),
        Some(0x9123_683E) => "btrfs".to_string(),
        Some(0x794C_7630) => "overlayfs".to_string(),
        Some(other) => format!("fs type {other:#x}"),
        None => "unknown fs".to_string(),
    };
    format!("{} ({name})", dir.display())
}

/// A `Name:   1234 kB` field of `/proc/<pid>/status` or /proc/meminfo, in KiB.
fn status_kib(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Memory {
    /// VmRSS: resident now.
    pub rss_kib: u64,
    /// VmHWM: the most that was ever resident.
    pub peak_kib: u64,
}

impl Memory {
    pub fn of(pid: i32) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        Some(Memory {
            rss_kib: status_kib(&status, "VmRSS")?,
            peak_kib: status_kib(&status, "VmHWM")?,
        })
    }

    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }

    pub fn peak_mib(&self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_kib() {
        let text = "Name:\tdaos-csi\nVmHWM:\t    9120 kB\nVmRSS:\t    6144 kB\n";
        assert_eq!(status_kib(text, "VmRSS"), Some(6144));
        assert_eq!(status_kib(text, "VmHWM"), Some(9120));
        assert_eq!(status_kib(text, "VmSwap"), None);
        // A field whose name is a prefix of another must not match it.
        assert_eq!(status_kib("VmRSSx: 1 kB\n", "VmRSS"), None);
    }

    #[test]
    fn this_process_has_resident_memory() {
        let me = Memory::of(std::process::id() as i32).expect("own status");
        assert!(me.rss_kib > 0);
        assert!(me.peak_kib >= me.rss_kib);
    }
}

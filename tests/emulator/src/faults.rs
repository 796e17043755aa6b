//! Fault injection (an emulator extension, set with `dmg fault set` or [`set`]).
//!
//! Rules live in `faults.json` of the system's state directory. Every process reloads them
//! when the file changes (looking at most every 50 ms). A rule matches an operation by its C
//! function name (or `*`) and optionally a pool; it makes the first `count` matching calls
//! (every call without a count) fail with `der` and/or complete `delay_ms` later. Consumption
//! of counted rules is shared by all processes through a small counter file under flock.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, FileLock};
use crate::state::System;

/// One fault rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// C function name (`daos_cont_create`, `dfs_mount`, ...) or `*`.
    pub op: String,
    /// Only operations on this pool (label or UUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// Error to return: a negative DER code (DAOS calls) or an errno (DFS/DUNS calls); either
    /// form is converted to what the called function returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub der: Option<i32>,
    /// Only the first N matching calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Delay before the operation completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct FaultFile {
    /// Changes on every write, so counters of older rule sets are never reused.
    generation: String,
    rules: Vec<FaultRule>,
}

/// Adds a rule to the system whose agent directory is `agent_dir`.
pub fn set(agent_dir: &Path, rule: FaultRule) -> io::Result<()> {
    let sys = System::new(agent_dir);
    fsutil::ensure_dir(sys.root())?;
    let _lock = FileLock::acquire(&sys.root().join("faults.lock"), true)?;
    let mut file: FaultFile = crate::state::read_json(&sys.faults_path()).unwrap_or_default();
    file.rules.push(rule);
    file.generation = format!("{:x}", fsutil::unix_nanos());
    fsutil::write_atomic(
        &sys.faults_path(),
        &serde_json::to_vec_pretty(&file).map_err(io::Error::other)?,
    )
}

/// Removes every rule.
pub fn clear(agent_dir: &Path) -> io::Result<()> {
    let sys = System::new(agent_dir);
    fsutil::ensure_dir(sys.root())?;
    let _lock = FileLock::acquire(&sys.root().join("faults.lock"), true)?;
    let file = FaultFile {
        generation: format!("{:x}", fsutil::unix_nanos()),
        rules: Vec::new(),
    };
    fsutil::write_atomic(
        &sys.faults_path(),
        &serde_json::to_vec_pretty(&file).map_err(io::Error::other)?,
    )?;
    let dir = sys.faults_count_dir();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let _ = std::fs::remove_file(e.path());
    }
    Ok(())
}

/// The rules currently set.
pub fn list(agent_dir: &Path) -> Vec<FaultRule> {
    let sys = System::new(agent_dir);
    crate::state::read_json::<FaultFile>(&sys.faults_path())
        .map(|f| f.rules)
        .unwrap_or_default()
}

/// What a matching rule does to one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultAction {
    /// Fail with this code (as written in the rule).
    pub code: Option<i32>,
    /// Complete this much later.
    pub delay: Option<Duration>,
}

impl FaultAction {
    /// The code for a DAOS call: negative DER (an errno in the rule is converted).
    pub fn der(&self) -> Option<i32> {
        self.code
            .map(|c| if c > 0 { crate::der::errno2der(c).0 } else { c })
    }

    /// The code for a DFS/DUNS call: positive errno (a DER in the rule is converted).
    pub fn errno(&self) -> Option<i32> {
        self.code
            .map(|c| if c < 0 { crate::der::der2errno(c) } else { c })
    }
}

struct Cache {
    path: std::path::PathBuf,
    stamp: Option<(SystemTime, u64, u64)>,
    checked: Option<Instant>,
    file: Arc<FaultFile>,
}

static CACHE: parking_lot::Mutex<Option<Cache>> = parking_lot::Mutex::new(None);
const RECHECK: Duration = Duration::from_millis(50);

fn current_rules(sys: &System) -> Arc<FaultFile> {
    let mut guard = CACHE.lock();
    let path = sys.faults_path();
    if guard.as_ref().is_some_and(|c| c.path != path) {
        *guard = None;
    }
    let cache = guard.get_or_insert_with(|| Cache {
        path: path.clone(),
        stamp: None,
        checked: None,
        file: Arc::default(),
    });
    let now = Instant::now();
    if cache
        .checked
        .is_some_and(|t| now.duration_since(t) < RECHECK)
    {
        return cache.file.clone();
    }
    cache.checked = Some(now);
    let stamp = std::fs::metadata(&path).ok().map(|m| {
        use std::os::unix::fs::MetadataExt;
        (
            m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            m.ino(),
            m.len(),
        )
    });
    if stamp != cache.stamp {
        cache.stamp = stamp;
        cache.file = Arc::new(crate::state::read_json(&path).unwrap_or_default());
    }
    cache.file.clone()
}

/// Canonical op name: the `...2` exports answer to their macro names too.
fn canonical(op: &str) -> &str {
    match op {
        "daos_pool_connect2" => "daos_pool_connect",
        "daos_cont_open2" => "daos_cont_open",
        "daos_cont_create2" => "daos_cont_create",
        "daos_cont_destroy2" => "daos_cont_destroy",
        other => other,
    }
}

/// The fault to apply to a call of `op` on `pool` (label and/or UUID), consuming one use of a
/// counted rule.
pub fn check(sys: &System, op: &str, pool: &[&str]) -> FaultAction {
    let file = current_rules(sys);
    if file.rules.is_empty() {
        return FaultAction::default();
    }
    let op = canonical(op);
    for (i, rule) in file.rules.iter().enumerate() {
        if rule.op != "*" && canonical(&rule.op) != op {
            continue;
        }
        if let Some(p) = &rule.pool
            && !pool.contains(&p.as_str())
        {
            continue;
        }
        if let Some(limit) = rule.count
            && !consume(sys, &file.generation, i, limit)
        {
            continue;
        }
        return FaultAction {
            code: rule.der,
            delay: rule.delay_ms.map(Duration::from_millis),
        };
    }
    FaultAction::default()
}

/// Takes one use of rule `index`; false once `limit` uses are gone.
fn consume(sys: &System, generation: &str, index: usize, limit: u32) -> bool {
    let path = sys.faults_count_dir().join(format!("{generation}.{index}"));
    let Ok(lock) = FileLock::acquire(&path, true) else {
        return false;
    };
    use std::io::{Read, Seek, Write};
    let mut f = lock.file();
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    let used: u32 = s.trim().parse().unwrap_or(0);
    if used >= limit {
        return false;
    }
    f.seek(io::SeekFrom::Start(0)).is_ok()
        && f.set_len(0).is_ok()
        && write!(f, "{}", used + 1).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_cache() {
        *CACHE.lock() = None;
    }

    #[test]
    fn counted_rules_run_out_and_names_match_their_exports() {
        let dir = tempfile::tempdir().unwrap();
        let sys = System::new(dir.path());
        sys.create_layout().unwrap();
        set(
            dir.path(),
            FaultRule {
                op: "daos_cont_create".into(),
                der: Some(-1007),
                count: Some(2),
                ..Default::default()
            },
        )
        .unwrap();
        set(
            dir.path(),
            FaultRule {
                op: "*".into(),
                pool: Some("tank".into()),
                delay_ms: Some(5),
                ..Default::default()
            },
        )
        .unwrap();
        fresh_cache();
        let a = check(&sys, "daos_cont_create2", &["tank"]);
        assert_eq!(a.der(), Some(-1007));
        assert_eq!(a.errno(), Some(libc::ENOSPC));
        assert_eq!(check(&sys, "daos_cont_create", &[]).der(), Some(-1007));
        // Both uses gone: the wildcard rule applies now, but only to pool tank.
        assert_eq!(check(&sys, "daos_cont_create", &[]), FaultAction::default());
        assert_eq!(
            check(&sys, "daos_cont_create", &["uuid", "tank"]).delay,
            Some(Duration::from_millis(5))
        );
        clear(dir.path()).unwrap();
        fresh_cache();
        assert_eq!(
            check(&sys, "daos_cont_create", &["tank"]),
            FaultAction::default()
        );
        assert!(list(dir.path()).is_empty());
    }
}

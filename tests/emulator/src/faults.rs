//! Fault injection (an emulator extension, set with `dmg fault set` or [`set`]).
//!
//! Rules live in `faults.json` of the system's state directory. A rule matches an operation by
//! its C function name (or `*`) and optionally a pool; it makes the first `count` matching calls
//! (every call without a count) fail with `der` and/or complete `delay_ms` later.
//!
//! Visibility: [`set`], [`remove`] and [`clear`] replace `faults.json` and then bump a counter
//! in `faults.gen`, a file every process maps shared. Each faultable operation reads that
//! counter (one atomic load) and rereads the rules when it moved, so a change is in effect for
//! every operation any process starts after the call that made it has returned.
//!
//! Counts: every rule gets an id when it is added; its uses are counted in
//! `faults.count/<id>` (a shared mapped counter), so adding or removing other rules leaves
//! them alone and only [`clear`] (which drops every rule) starts over.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, FileLock, SharedCounter};
use crate::state::System;

/// One fault rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Assigned by [`set`] (any value given is replaced); names the rule's use counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
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
    rules: Vec<FaultRule>,
}

fn gen_path(sys: &System) -> PathBuf {
    sys.root().join("faults.gen")
}

/// Replaces the rule set under the rules lock, then announces it through `faults.gen`.
fn update(agent_dir: &Path, change: impl FnOnce(&mut FaultFile)) -> io::Result<()> {
    let sys = System::new(agent_dir);
    fsutil::ensure_dir(&sys.faults_count_dir())?;
    let _lock = FileLock::acquire(&sys.root().join("faults.lock"), true)?;
    let mut file: FaultFile = crate::state::read_json(&sys.faults_path()).unwrap_or_default();
    change(&mut file);
    fsutil::write_atomic(
        &sys.faults_path(),
        &serde_json::to_vec_pretty(&file).map_err(io::Error::other)?,
    )?;
    // Bumped only once the new file is in place: a reader that sees the new value is sure to
    // read the new rules.
    SharedCounter::open(&gen_path(&sys))?.add(1);
    Ok(())
}

fn new_rule_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:x}-{}-{}",
        fsutil::unix_nanos(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Adds a rule to the system whose agent directory is `agent_dir`; returns the rule's id. In
/// effect for every operation started after this returns.
pub fn set(agent_dir: &Path, mut rule: FaultRule) -> io::Result<String> {
    let id = new_rule_id();
    rule.id = Some(id.clone());
    update(agent_dir, |f| f.rules.push(rule))?;
    Ok(id)
}

/// Removes the rule `id` (the uses of the others are kept); `NotFound` if there is none.
pub fn remove(agent_dir: &Path, id: &str) -> io::Result<()> {
    let mut found = false;
    update(agent_dir, |f| {
        let before = f.rules.len();
        f.rules.retain(|r| r.id.as_deref() != Some(id));
        found = f.rules.len() != before;
    })?;
    if !found {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no fault rule {id}"),
        ));
    }
    let _ = std::fs::remove_file(System::new(agent_dir).faults_count_dir().join(id));
    Ok(())
}

/// Removes every rule and forgets every use count.
pub fn clear(agent_dir: &Path) -> io::Result<()> {
    let dir = System::new(agent_dir).faults_count_dir();
    // Under the rules lock, so a rule added right after keeps its counter.
    update(agent_dir, |f| {
        f.rules.clear();
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    })
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

/// How a process learns that the rules changed.
enum Version {
    /// The shared generation counter (the normal case).
    Generation(u64),
    /// `faults.gen` could not be mapped (no state directory yet): the file's identity,
    /// looked at on every call.
    Stamp(Option<(SystemTime, u64, u64)>),
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        match (self, other) {
            (Version::Generation(a), Version::Generation(b)) => a == b,
            (Version::Stamp(a), Version::Stamp(b)) => a == b,
            _ => false,
        }
    }
}

struct Cache {
    /// State directory of the system these rules belong to.
    root: PathBuf,
    path: PathBuf,
    generation: Option<SharedCounter>,
    version: Option<Version>,
    rules: Arc<Vec<FaultRule>>,
    /// Use counters of counted rules, by rule id (mapped once per process).
    counters: HashMap<String, Arc<SharedCounter>>,
}

static CACHE: parking_lot::Mutex<Option<Cache>> = parking_lot::Mutex::new(None);

fn stamp(path: &Path) -> Option<(SystemTime, u64, u64)> {
    std::fs::metadata(path).ok().map(|m| {
        use std::os::unix::fs::MetadataExt;
        (
            m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            m.ino(),
            m.len(),
        )
    })
}

impl Cache {
    fn new(sys: &System) -> Cache {
        Cache {
            root: sys.root().to_path_buf(),
            path: sys.faults_path(),
            generation: None,
            version: None,
            rules: Arc::default(),
            counters: HashMap::new(),
        }
    }

    /// Rereads the rules if they changed since the last call.
    fn refresh(&mut self, sys: &System) {
        if self.generation.is_none() && sys.root().is_dir() {
            self.generation = SharedCounter::open(&gen_path(sys)).ok();
        }
        // The version is taken before the file is read: a change in between is seen again
        // on the next call instead of being missed.
        let now = match &self.generation {
            Some(g) => Version::Generation(g.get()),
            None => Version::Stamp(stamp(&self.path)),
        };
        if self.version.as_ref() == Some(&now) {
            return;
        }
        self.version = Some(now);
        let rules: Vec<FaultRule> = crate::state::read_json::<FaultFile>(&self.path)
            .map(|f| f.rules)
            .unwrap_or_default();
        self.counters
            .retain(|id, _| rules.iter().any(|r| r.id.as_deref() == Some(id.as_str())));
        self.rules = Arc::new(rules);
    }

    /// Takes one use of a counted rule; false once `limit` uses are gone.
    fn consume(&mut self, sys: &System, index: usize, rule: &FaultRule, limit: u32) -> bool {
        // Rules written without an id (by hand) are counted by position.
        let key = rule.id.clone().unwrap_or_else(|| format!("index-{index}"));
        let counter = match self.counters.get(&key) {
            Some(c) => c.clone(),
            None => {
                let Ok(c) = SharedCounter::open(&sys.faults_count_dir().join(&key)) else {
                    return false;
                };
                let c = Arc::new(c);
                self.counters.insert(key, c.clone());
                c
            }
        };
        counter.try_add(1, u64::from(limit))
    }
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

/// Public functions that run another public function underneath, once, as their whole
/// operation (`wrapper`, `underneath`). A rule naming the function underneath applies to the
/// wrapper too, and one call is one use of the rule however many names it answers to.
///
/// - `daos_cont_create_with_label` merges the label and calls `daos_cont_create`
///   (src/client/api/container.c);
/// - `daos_cont_create_snap` is `daos_cont_create_snap_opt` with `DAOS_SNAP_OPT_CR` (same file);
/// - `dfs_cont_create_with_label` calls `dfs_cont_create` (src/client/dfs/cont.c), which
///   creates the container with `daos_cont_create`.
const BUILT_ON: &[(&str, &str)] = &[
    ("daos_cont_create_with_label", "daos_cont_create"),
    ("daos_cont_create_snap", "daos_cont_create_snap_opt"),
    ("dfs_cont_create_with_label", "dfs_cont_create"),
    ("dfs_cont_create", "daos_cont_create"),
];

/// Whether a call of `op` answers to the (canonical) rule name `name`: its own name, or that of
/// a function it is built on, at any depth.
fn answers_to(op: &str, name: &str) -> bool {
    let mut current = op;
    // The table is acyclic; the bound only guards a mistaken edit of it.
    for _ in 0..=BUILT_ON.len() {
        if current == name {
            return true;
        }
        match BUILT_ON.iter().find(|(wrapper, _)| *wrapper == current) {
            Some((_, underneath)) => current = underneath,
            None => return false,
        }
    }
    false
}

/// The fault to apply to a call of `op` on `pool` (label and/or UUID), consuming one use of a
/// counted rule: the first rule that matches the call under any of the names it answers to
/// (`BUILT_ON`).
pub fn check(sys: &System, op: &str, pool: &[&str]) -> FaultAction {
    let mut guard = CACHE.lock();
    if guard.as_ref().is_some_and(|c| c.root != sys.root()) {
        *guard = None;
    }
    let cache = guard.get_or_insert_with(|| Cache::new(sys));
    cache.refresh(sys);
    if cache.rules.is_empty() {
        return FaultAction::default();
    }
    let rules = cache.rules.clone();
    let op = canonical(op);
    for (i, rule) in rules.iter().enumerate() {
        if rule.op != "*" && !answers_to(op, canonical(&rule.op)) {
            continue;
        }
        if let Some(p) = &rule.pool
            && !pool.contains(&p.as_str())
        {
            continue;
        }
        if let Some(limit) = rule.count
            && !cache.consume(sys, i, rule, limit)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(op: &str, count: u32) -> FaultRule {
        FaultRule {
            op: op.into(),
            der: Some(-1007),
            count: Some(count),
            ..Default::default()
        }
    }

    #[test]
    fn counted_rules_run_out_and_names_match_their_exports() {
        let dir = tempfile::tempdir().unwrap();
        let sys = System::new(dir.path());
        sys.create_layout().unwrap();
        set(dir.path(), counted("daos_cont_create", 2)).unwrap();
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
        assert_eq!(
            check(&sys, "daos_cont_create", &["tank"]),
            FaultAction::default(),
            "cleared rules are gone for the very next call"
        );
        assert!(list(dir.path()).is_empty());
    }

    #[test]
    fn a_rule_applies_to_the_functions_built_on_its_function_once_per_call() {
        let dir = tempfile::tempdir().unwrap();
        let sys = System::new(dir.path());
        sys.create_layout().unwrap();
        set(dir.path(), counted("daos_cont_create2", 3)).unwrap();
        // One use per call, whichever name the call goes by.
        assert_eq!(
            check(&sys, "daos_cont_create_with_label", &[]).der(),
            Some(-1007)
        );
        assert_eq!(
            check(&sys, "dfs_cont_create_with_label", &[]).errno(),
            Some(libc::ENOSPC),
            "two levels down"
        );
        assert_eq!(check(&sys, "daos_cont_create", &[]).der(), Some(-1007));
        assert_eq!(
            check(&sys, "daos_cont_create_with_label", &[]),
            FaultAction::default(),
            "three calls used the three uses"
        );
        // Not the other way round: a rule on the wrapper leaves the function underneath alone.
        set(dir.path(), counted("dfs_cont_create_with_label", 1)).unwrap();
        assert_eq!(check(&sys, "dfs_cont_create", &[]), FaultAction::default());
        assert_eq!(check(&sys, "daos_cont_create", &[]), FaultAction::default());
        assert_eq!(
            check(&sys, "dfs_cont_create_with_label", &[]).der(),
            Some(-1007)
        );
        set(dir.path(), counted("daos_cont_create_snap_opt", 1)).unwrap();
        assert_eq!(check(&sys, "daos_cont_create_snap", &[]).der(), Some(-1007));
        assert_eq!(
            check(&sys, "daos_cont_create_snap_opt", &[]),
            FaultAction::default()
        );
        assert!(!answers_to("daos_cont_query", "daos_cont_create"));
    }

    #[test]
    fn counts_belong_to_their_rule_and_survive_other_changes() {
        let dir = tempfile::tempdir().unwrap();
        let sys = System::new(dir.path());
        sys.create_layout().unwrap();
        let first = set(dir.path(), counted("daos_cont_open", 2)).unwrap();
        assert_eq!(check(&sys, "daos_cont_open", &[]).der(), Some(-1007));
        assert_eq!(check(&sys, "daos_cont_open", &[]).der(), Some(-1007));
        assert_eq!(check(&sys, "daos_cont_open", &[]), FaultAction::default());
        // Adding another rule must not re-arm the used-up one.
        let other = set(dir.path(), counted("daos_cont_query", 1)).unwrap();
        assert_ne!(first, other, "every rule gets its own id");
        assert_eq!(
            check(&sys, "daos_cont_open", &[]),
            FaultAction::default(),
            "a used-up rule stays used up when another is added"
        );
        // A half-used rule keeps its remaining use when another rule is removed.
        let third = set(dir.path(), counted("daos_cont_close", 2)).unwrap();
        assert_eq!(check(&sys, "daos_cont_close", &[]).der(), Some(-1007));
        remove(dir.path(), &other).unwrap();
        assert_eq!(check(&sys, "daos_cont_query", &[]), FaultAction::default());
        assert_eq!(check(&sys, "daos_cont_close", &[]).der(), Some(-1007));
        assert_eq!(check(&sys, "daos_cont_close", &[]), FaultAction::default());
        assert_eq!(
            remove(dir.path(), &other).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        let ids: Vec<_> = list(dir.path()).into_iter().filter_map(|r| r.id).collect();
        assert_eq!(ids, vec![first, third]);
        // Clear forgets every count: the same rule set again is fresh.
        clear(dir.path()).unwrap();
        set(dir.path(), counted("daos_cont_open", 1)).unwrap();
        assert_eq!(check(&sys, "daos_cont_open", &[]).der(), Some(-1007));
        assert_eq!(check(&sys, "daos_cont_open", &[]), FaultAction::default());
        assert_eq!(
            std::fs::read_dir(sys.faults_count_dir()).unwrap().count(),
            1,
            "clear removed the old counters"
        );
    }

    #[test]
    fn a_change_is_seen_by_the_next_call_and_the_check_is_cheap() {
        let dir = tempfile::tempdir().unwrap();
        let sys = System::new(dir.path());
        sys.create_layout().unwrap();
        // Warm the cache with no rules, then change them many times in a row: every change
        // must be seen immediately, with no waiting.
        assert_eq!(check(&sys, "daos_pool_query", &[]), FaultAction::default());
        for i in 0..20 {
            let id = set(
                dir.path(),
                FaultRule {
                    op: "daos_pool_query".into(),
                    der: Some(-1000 - i),
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(check(&sys, "daos_pool_query", &[]).der(), Some(-1000 - i));
            remove(dir.path(), &id).unwrap();
            assert_eq!(check(&sys, "daos_pool_query", &[]), FaultAction::default());
        }
        let n = 200_000;
        let time = |what: &str, f: &dyn Fn()| {
            let t = std::time::Instant::now();
            for _ in 0..n {
                f();
            }
            let per_call = t.elapsed() / n;
            println!("{what}: {per_call:?} per call");
            per_call
        };
        let none = time("fault check, no rules", &|| {
            std::hint::black_box(check(&sys, "daos_pool_query", &["tank"]));
        });
        set(dir.path(), counted("daos_cont_create", 1)).unwrap();
        let one = time("fault check, one rule that does not match", &|| {
            std::hint::black_box(check(&sys, "daos_pool_query", &["tank"]));
        });
        // For comparison: what a stat of faults.json on every call would cost.
        time("stat of faults.json (not used)", &|| {
            std::hint::black_box(std::fs::metadata(sys.faults_path()).ok());
        });
        for per_call in [none, one] {
            assert!(
                per_call < Duration::from_micros(20),
                "the check runs on every operation: {per_call:?}"
            );
        }
    }
}

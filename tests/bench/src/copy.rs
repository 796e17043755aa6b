//! Item 8: copying a container's tree with [`daos::copy_tree`], as the driver restores a
//! snapshot into a new volume, against a one-at-a-time copy, the driver's copy by objects and
//! `cp -a` between two dfuse mounts.
//!
//! One POSIX container holds two data sets in turn, each frozen by a snapshot: first one
//! large file (1 GiB, 256 MiB with `--quick`); then, with that file removed, a tree of small
//! files (10,000 of 4 KiB in 100 directories, 1,000 in 10 with `--quick`) and a few symbolic
//! links. Both snapshots are taken with an object index table. Each is copied four ways, each
//! into a new container:
//! - `copy_tree` from a `mount_dfs_snapshot` mount, 16 operations of 1 MiB in flight (the
//!   driver's `CopyOptions::default()`, `csi-driver/src/copies.rs`);
//! - the same with 1 in flight: one read or write at a time;
//! - [`daos::copy_snapshot_objects`], 16 dkeys in flight (`ObjectCopyOptions::default()`), into
//!   a container without objects: the driver's route where DFS cannot mount a snapshot;
//! - `cp -a` from a dfuse mount of the snapshot (`--snap-epoch`) into a dfuse mount of the
//!   new container, both with caching off so that every byte goes through DAOS.
//!
//! On the emulator the in-process copies run once more with 1 ms injected into every DAOS
//! call, as a network round trip would add. Only the copy is timed. Each copy is then checked through the crate before its figure
//! counts: the same entries, kinds, sizes and link targets as the source, and the content of
//! every file against what was written, so a copy that loses or misplaces data cannot report
//! a fast number.

use crate::fileio::Dfuse;
use crate::report::{Figure, Target, format_number};
use daos::{
    ContainerAccess, CopyOptions, CopyProgress, Daos, Dfs, Epoch, EventQueue, FileType,
    ObjectCopyOptions, Pool, PoolAccess, PosixContainerSpec, Properties, Uuid,
};
use daos_test_harness::TestSystem;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ITEM: u8 = 8;
const CHUNK: usize = 1 << 20;
const SMALL_FILE: u64 = 4 << 10;
const FILES_PER_DIRECTORY: usize = 100;
const BIG_FILE: &str = "/big.bin";
/// What [`Method::all`] adds to every DAOS call for its delayed copies: a round trip.
const INJECTED_DELAY_MS: u64 = 1;
/// The emulator rereads its fault rules at most every 50 ms.
const FAULT_RELOAD: Duration = Duration::from_millis(200);

/// The sizes of the two data sets (full run, `--quick`).
#[derive(Clone, Copy, Debug)]
struct Layout {
    small_files: usize,
    big_file: u64,
}

impl Layout {
    fn new(quick: bool) -> Layout {
        if quick {
            Layout {
                small_files: 1_000,
                big_file: 256 << 20,
            }
        } else {
            Layout {
                small_files: 10_000,
                big_file: 1 << 30,
            }
        }
    }
}

/// An entry a copy must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Directory,
    /// `size` bytes of [`expected_byte`] of `seed`.
    File {
        size: u64,
        seed: u64,
    },
    Link(String),
}

/// An entry as a listing of a copy found it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Found {
    Directory,
    File {
        size: u64,
    },
    Link(String),
    /// Neither file, directory nor link: the mode.
    Other(u32),
}

impl Entry {
    fn matches(&self, found: &Found) -> bool {
        match (self, found) {
            (Entry::Directory, Found::Directory) => true,
            (Entry::File { size, .. }, Found::File { size: got }) => size == got,
            (Entry::Link(target), Found::Link(got)) => target == got,
            _ => false,
        }
    }
}

/// What a source snapshot holds, and so what every copy of it must hold.
#[derive(Clone, Debug, Default)]
struct Manifest {
    /// By absolute path; a directory sorts before everything in it.
    entries: BTreeMap<String, Entry>,
}

impl Manifest {
    /// `files` files of [`SMALL_FILE`] bytes, [`FILES_PER_DIRECTORY`] to a directory, and
    /// links: one to a file in every tenth directory (relative), one absolute, one dangling.
    fn tree(files: usize) -> Manifest {
        let mut entries = BTreeMap::new();
        for i in 0..files {
            let dir = format!("/dir-{:03}", i / FILES_PER_DIRECTORY);
            let name = format!("file-{i:05}");
            if i.is_multiple_of(FILES_PER_DIRECTORY) {
                entries.insert(dir.clone(), Entry::Directory);
                if (i / FILES_PER_DIRECTORY).is_multiple_of(10) {
                    entries.insert(format!("{dir}/link"), Entry::Link(name.clone()));
                }
            }
            let seed = i as u64 + 1;
            let size = SMALL_FILE;
            entries.insert(format!("{dir}/{name}"), Entry::File { size, seed });
        }
        entries.insert(
            "/link-absolute".to_string(),
            Entry::Link("/dir-000/file-00000".to_string()),
        );
        entries.insert(
            "/link-dangling".to_string(),
            Entry::Link("no/such/file".to_string()),
        );
        Manifest { entries }
    }

    /// One file of `size` bytes at the root.
    fn big_file(size: u64) -> Manifest {
        let entry = Entry::File { size, seed: 0 };
        Manifest {
            entries: BTreeMap::from([(BIG_FILE.to_string(), entry)]),
        }
    }

    /// Path, size and seed of every regular file.
    fn files(&self) -> impl Iterator<Item = (&str, u64, u64)> {
        self.entries.iter().filter_map(|(path, entry)| match entry {
            Entry::File { size, seed } => Some((path.as_str(), *size, *seed)),
            _ => None,
        })
    }

    fn count(&self, kind: fn(&Entry) -> bool) -> u64 {
        self.entries.values().filter(|e| kind(e)).count() as u64
    }

    fn file_count(&self) -> u64 {
        self.count(|e| matches!(e, Entry::File { .. }))
    }

    fn file_bytes(&self) -> u64 {
        self.files().map(|(_, size, _)| size).sum()
    }

    fn describe(&self) -> String {
        let mut parts = vec![format!(
            "{} ({} MB)",
            counted(self.file_count(), "file"),
            format_mb(self.file_bytes())
        )];
        for (n, what) in [
            (self.count(|e| matches!(e, Entry::Directory)), "directory"),
            (self.count(|e| matches!(e, Entry::Link(_))), "link"),
        ] {
            if n > 0 {
                parts.push(counted(n, what));
            }
        }
        parts.join(", ")
    }

    /// Every difference between this and a listing of a copy: entries missing, entries that
    /// should not be there, and entries of the wrong kind, size or link target.
    fn compare(&self, found: &BTreeMap<String, Found>) -> Result<(), String> {
        let mut problems = Vec::new();
        for (path, want) in &self.entries {
            match found.get(path) {
                None => problems.push(format!("{path} is missing")),
                Some(got) if !want.matches(got) => {
                    problems.push(format!("{path} is {got:?}, not {want:?}"));
                }
                Some(_) => {}
            }
        }
        for path in found.keys().filter(|p| !self.entries.contains_key(*p)) {
            problems.push(format!("{path} should not be there"));
        }
        if problems.is_empty() {
            return Ok(());
        }
        let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
        Err(format!(
            "{} difference(s) from the source: {}",
            problems.len(),
            shown.join("; ")
        ))
    }
}

/// Byte `offset` of the file with `seed`: the seed in the first 8 bytes, so no two files hold
/// the same content, then a pattern that varies within and across chunks (and is never a
/// whole chunk of zeros, which a copy could leave as a hole), so data written at the wrong
/// offset or into the wrong file is caught.
fn expected_byte(seed: u64, offset: u64) -> u8 {
    match usize::try_from(offset) {
        Ok(i) if i < 8 => seed.to_le_bytes()[i],
        _ => (offset.wrapping_mul(31) ^ (offset >> 20) ^ seed) as u8,
    }
}

fn fill(buf: &mut [u8], seed: u64, offset: u64) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = expected_byte(seed, offset + i as u64);
    }
}

/// The offset of the first byte of `buf` (read at `offset`) that is not the file's.
fn first_wrong_byte(buf: &[u8], seed: u64, offset: u64) -> Option<u64> {
    buf.iter()
        .zip(offset..)
        .find(|(b, at)| **b != expected_byte(seed, *at))
        .map(|(_, at)| at)
}

fn child_path(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Every entry under `/` of `dfs`, links read.
fn list_tree(dfs: &Dfs) -> Result<BTreeMap<String, Found>, String> {
    let mut found = BTreeMap::new();
    let mut pending = vec!["/".to_string()];
    while let Some(dir) = pending.pop() {
        let listing = dfs
            .entries(&dir)
            .map_err(|e| format!("listing {dir}: {e}"))?;
        for entry in listing {
            let entry = entry.map_err(|e| format!("listing {dir}: {e}"))?;
            let path = child_path(&dir, &entry.name);
            let kind = match entry.file_type {
                FileType::Directory => {
                    pending.push(path.clone());
                    Found::Directory
                }
                FileType::File => Found::File {
                    size: entry.stat.size,
                },
                FileType::Symlink => Found::Link(
                    dfs.read_link(&path)
                        .map_err(|e| format!("reading link {path}: {e}"))?,
                ),
                FileType::Other => Found::Other(entry.stat.mode),
            };
            found.insert(path, kind);
        }
    }
    Ok(found)
}

/// Checks that `dfs` holds exactly `manifest`, every byte of every file included.
fn verify(dfs: &Dfs, eq: &EventQueue, manifest: &Manifest) -> Result<(), String> {
    manifest.compare(&list_tree(dfs)?)?;
    for (path, size, seed) in manifest.files() {
        check_content(dfs, eq, path, size, seed)?;
    }
    Ok(())
}

fn check_content(
    dfs: &Dfs,
    eq: &EventQueue,
    path: &str,
    size: u64,
    seed: u64,
) -> Result<(), String> {
    let wrong = |at: u64| format!("{path}: wrong byte at offset {at}");
    if size <= CHUNK as u64 {
        let data = dfs
            .read_file(path)
            .map_err(|e| format!("reading {path}: {e}"))?;
        if data.len() as u64 != size {
            return Err(format!("{path}: read {} bytes of {size}", data.len()));
        }
        return first_wrong_byte(&data, seed, 0).map_or(Ok(()), |at| Err(wrong(at)));
    }
    let file = dfs
        .open_file(path)
        .map_err(|e| format!("opening {path}: {e}"))?;
    let mut failure = None;
    let read =
        futures::executor::block_on(file.read_chunks(eq, 0..size, CHUNK, 16, |offset, chunk| {
            if let Some(at) = first_wrong_byte(chunk, seed, offset) {
                failure.get_or_insert(wrong(at));
            }
            Ok(())
        }))
        .map_err(|e| format!("reading {path}: {e}"))?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    if read != size {
        return Err(format!("{path}: read {read} bytes of {size}"));
    }
    Ok(())
}

/// Writes `manifest` into `dfs` (which holds none of its paths yet).
fn populate(dfs: &Dfs, eq: &EventQueue, manifest: &Manifest) -> Result<(), String> {
    // Map order puts every directory before what is in it.
    for (path, entry) in &manifest.entries {
        let done = match entry {
            Entry::Directory => dfs.mkdir(path, 0o755).map_err(|e| e.to_string()),
            Entry::Link(target) => dfs.symlink(path, target).map_err(|e| e.to_string()),
            Entry::File { size, seed } => write_file(dfs, eq, path, *size, *seed),
        };
        done.map_err(|e| format!("writing {path} into the source: {e}"))?;
    }
    Ok(())
}

fn write_file(dfs: &Dfs, eq: &EventQueue, path: &str, size: u64, seed: u64) -> Result<(), String> {
    let file = dfs.create_file(path, 0o644).map_err(|e| e.to_string())?;
    let mut next = 0u64;
    let written = futures::executor::block_on(file.write_chunks(eq, 0, CHUNK, 16, |buf| {
        let n = usize::try_from(size - next).map_or(buf.len(), |left| left.min(buf.len()));
        fill(&mut buf[..n], seed, next);
        next += n as u64;
        Ok(n)
    }))
    .map_err(|e| e.to_string())?;
    if written != size {
        return Err(format!("{written} bytes written of {size}"));
    }
    Ok(())
}

/// One snapshot of the source container and what it holds.
struct DataSet {
    /// How the report names it.
    name: String,
    epoch: Epoch,
    /// What a copy by objects is created with, read just after the snapshot.
    object_copy_properties: Properties,
    manifest: Manifest,
    /// Whether its figure is files/s (a tree) or MB/s (one file).
    per_file: bool,
}

/// The ways item 8 copies a snapshot.
#[derive(Clone, Copy, Debug)]
enum Way {
    CopyTree {
        in_flight: usize,
    },
    /// `copy_snapshot_objects` into a container without objects: the driver's route where
    /// DFS cannot mount a snapshot (DAOS 2.6).
    Objects {
        in_flight: usize,
    },
    CpBetweenDfuseMounts,
}

impl Way {
    /// The driver's settings, the DFS route first: the other rows are compared with it.
    fn all() -> [Way; 4] {
        let driver = CopyOptions::default().in_flight;
        [
            Way::CopyTree { in_flight: driver },
            Way::CopyTree { in_flight: 1 },
            Way::Objects {
                in_flight: ObjectCopyOptions::default().in_flight,
            },
            Way::CpBetweenDfuseMounts,
        ]
    }

    fn name(self) -> String {
        match self {
            Way::CopyTree { in_flight: 1 } => "copy_tree, one operation at a time".to_string(),
            Way::CopyTree { in_flight } => format!("copy_tree, {in_flight} operations in flight"),
            Way::Objects { in_flight } => {
                format!("copy_snapshot_objects, {in_flight} dkeys in flight")
            }
            Way::CpBetweenDfuseMounts => "cp -a between two dfuse mounts".to_string(),
        }
    }

    /// Whether `daos` copies (so latency injected into DAOS calls tells something).
    fn in_process(self) -> bool {
        !matches!(self, Way::CpBetweenDfuseMounts)
    }
}

/// A container destroyed when dropped.
struct Scratch<'a> {
    pool: &'a Pool,
    uuid: Uuid,
    label: String,
}

impl<'a> Scratch<'a> {
    fn create(pool: &'a Pool, label: String) -> Result<Scratch<'a>, String> {
        let uuid = pool
            .create_posix_container(&PosixContainerSpec::new(label.clone()))
            .map_err(|e| format!("creating container {label}: {e}"))?;
        Ok(Scratch { pool, uuid, label })
    }

    /// A container with no objects, as [`daos::copy_snapshot_objects`] needs (the copy
    /// brings the superblock and root), with the source's [`daos::object_copy_properties`].
    fn create_without_objects(
        pool: &'a Pool,
        label: String,
        props: &Properties,
    ) -> Result<Scratch<'a>, String> {
        let uuid = pool
            .create_container(&label, props)
            .map_err(|e| format!("creating container {label} without objects: {e}"))?;
        Ok(Scratch { pool, uuid, label })
    }

    fn mount(&self, access: ContainerAccess) -> Result<Dfs, String> {
        self.pool
            .open_container(self.uuid, access)
            .and_then(|cont| cont.mount_dfs(access))
            .map_err(|e| format!("mounting container {}: {e}", self.label))
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.pool.destroy_container(self.uuid, daos::Destroy::Force) {
            eprintln!("bench: item 8: container {} left behind: {e}", self.label);
        }
    }
}

/// What the copies share.
struct Bench<'a> {
    system: &'a TestSystem,
    daos: Arc<Daos>,
    pool: &'a Pool,
    pool_label: String,
    source: Scratch<'a>,
}

/// Item 8.
pub fn copying(system: &TestSystem, quick: bool) -> Result<Vec<Figure>, String> {
    let layout = Layout::new(quick);
    let pool_label = if system.emulated {
        system.create_pool("bench-copy", "8G");
        "bench-copy".to_string()
    } else {
        system.pool.clone()
    };
    let daos = Daos::init().map_err(|e| format!("daos_init: {e}"))?;
    let pool = Pool::connect(&daos, &pool_label, None, PoolAccess::ReadWrite)
        .map_err(|e| format!("connecting to pool {pool_label}: {e}"))?;
    let source = Scratch::create(&pool, format!("bench-copy-{}-source", std::process::id()))?;
    let bench = Bench {
        system,
        daos,
        pool: &pool,
        pool_label,
        source,
    };
    let sets = bench.prepare(layout)?;
    let methods = Method::all(system.emulated);
    let most_rounds = methods.iter().map(|m| m.rounds(quick)).max().unwrap_or(1);
    let mut figures = Vec::new();
    let mut copies = 0;
    for set in &sets {
        let mut rows: Vec<(Method, Vec<Duration>)> =
            methods.iter().map(|m| (*m, Vec::new())).collect();
        // Round by round, so that a busy moment of the machine is spread over every method.
        for round in 0..most_rounds {
            for (method, samples) in rows.iter_mut().filter(|(m, _)| round < m.rounds(quick)) {
                copies += 1;
                eprintln!("bench: item 8: {}: {}", set.name, method.name());
                let label = format!("bench-copy-{}-{copies}", std::process::id());
                samples.push(bench.copy_and_verify(set, *method, label)?);
            }
        }
        figures.extend(set_figures(set, &rows));
    }
    Ok(figures)
}

/// A way of copying, timed with or without latency injected into every DAOS call.
#[derive(Clone, Copy, Debug)]
struct Method {
    way: Way,
    injected_ms: u64,
}

impl Method {
    /// Every way; on the emulator also the in-process ones with [`INJECTED_DELAY_MS`] added
    /// to every DAOS call, as a network round trip would, which the emulator has none of.
    fn all(emulated: bool) -> Vec<Method> {
        let plain = Way::all().map(|way| Method {
            way,
            injected_ms: 0,
        });
        let delayed = Way::all()
            .into_iter()
            .filter(|w| w.in_process() && emulated)
            .map(|way| Method {
                way,
                injected_ms: INJECTED_DELAY_MS,
            });
        plain.into_iter().chain(delayed).collect()
    }

    /// Copies timed: the injected delay dominates a delayed copy, so once is enough.
    fn rounds(self, quick: bool) -> usize {
        if quick || self.injected_ms > 0 { 1 } else { 3 }
    }

    fn name(self) -> String {
        match self.injected_ms {
            0 => self.way.name(),
            ms => format!("{}, +{ms} ms per DAOS call", self.way.name()),
        }
    }
}

/// Latency injected into every DAOS call of the system, removed when dropped.
struct InjectedLatency<'a> {
    system: &'a TestSystem,
}

impl<'a> InjectedLatency<'a> {
    fn new(system: &'a TestSystem, ms: u64) -> Result<InjectedLatency<'a>, String> {
        if !system.inject_fault("*", None, None, Some(ms)) {
            return Err("latency can only be injected into the emulator".to_string());
        }
        std::thread::sleep(FAULT_RELOAD);
        Ok(InjectedLatency { system })
    }
}

impl Drop for InjectedLatency<'_> {
    fn drop(&mut self) {
        self.system.clear_faults();
        std::thread::sleep(FAULT_RELOAD);
    }
}

impl Bench<'_> {
    /// Writes the big file and snapshots it, then replaces it with the tree and snapshots
    /// that: the tree's data set first, as the report lists it.
    fn prepare(&self, layout: Layout) -> Result<Vec<DataSet>, String> {
        let cont = self
            .pool
            .open_container(self.source.uuid, ContainerAccess::ReadWrite)
            .map_err(|e| format!("opening the source container: {e}"))?;
        let dfs = cont
            .mount_dfs(ContainerAccess::ReadWrite)
            .map_err(|e| format!("mounting the source container: {e}"))?;
        let eq = EventQueue::new(&self.daos).map_err(|e| format!("daos_eq_create: {e}"))?;
        // With an object index, which the object route lists; then the properties a copy by
        // objects is created with (its object-id allocator starts past the snapshot's ids).
        let snapshot = || {
            let epoch = cont
                .create_snapshot_with_object_index()
                .map_err(|e| format!("snapshot of the source container: {e}"))?;
            let props = daos::object_copy_properties(&cont)
                .map_err(|e| format!("the source's properties for a copy by objects: {e}"))?;
            Ok::<_, String>((epoch, props))
        };

        let big = Manifest::big_file(layout.big_file);
        eprintln!("bench: item 8: writing the source: {}", big.describe());
        populate(&dfs, &eq, &big)?;
        let (big_epoch, big_props) = snapshot()?;
        dfs.remove(BIG_FILE, false)
            .map_err(|e| format!("removing {BIG_FILE} from the source: {e}"))?;

        let tree = Manifest::tree(layout.small_files);
        eprintln!("bench: item 8: writing the source: {}", tree.describe());
        populate(&dfs, &eq, &tree)?;
        let (tree_epoch, tree_props) = snapshot()?;
        eq.close_blocking()
            .map_err(|e| format!("closing the source's event queue: {e}"))?;
        Ok(vec![
            DataSet {
                name: format!("{} x 4 KiB files", layout.small_files),
                epoch: tree_epoch,
                object_copy_properties: tree_props,
                manifest: tree,
                per_file: true,
            },
            DataSet {
                name: format!("one {} MiB file", layout.big_file >> 20),
                epoch: big_epoch,
                object_copy_properties: big_props,
                manifest: big,
                per_file: false,
            },
        ])
    }

    /// Copies `set` into a new container labelled `label` the `way` given, checks the copy
    /// and destroys it; returns how long the copy took.
    fn copy_and_verify(
        &self,
        set: &DataSet,
        method: Method,
        label: String,
    ) -> Result<Duration, String> {
        let target = match method.way {
            Way::Objects { .. } => {
                Scratch::create_without_objects(self.pool, label, &set.object_copy_properties)?
            }
            _ => Scratch::create(self.pool, label)?,
        };
        let latency = match method.injected_ms {
            0 => None,
            ms => Some(InjectedLatency::new(self.system, ms)?),
        };
        let took = match method.way {
            Way::CopyTree { in_flight } => self.copy_tree(set, &target, in_flight)?,
            Way::Objects { in_flight } => self.copy_objects(set, &target, in_flight)?,
            Way::CpBetweenDfuseMounts => self.cp_between_dfuse_mounts(set, &target)?,
        };
        // The check reads everything again: without the delay.
        drop(latency);
        let dfs = target.mount(ContainerAccess::ReadOnly)?;
        let eq = EventQueue::new(&self.daos).map_err(|e| format!("daos_eq_create: {e}"))?;
        verify(&dfs, &eq, &set.manifest)
            .map_err(|e| format!("{} of {}: the copy is wrong: {e}", method.name(), set.name))?;
        Ok(took)
    }

    fn copy_tree(
        &self,
        set: &DataSet,
        target: &Scratch,
        in_flight: usize,
    ) -> Result<Duration, String> {
        let source = self
            .pool
            .open_container(self.source.uuid, ContainerAccess::ReadOnly)
            .and_then(|cont| cont.mount_dfs_snapshot(set.epoch))
            .map_err(|e| format!("mounting snapshot {} of the source: {e}", set.epoch))?;
        let dfs = target.mount(ContainerAccess::ReadWrite)?;
        let options = CopyOptions {
            in_flight,
            ..CopyOptions::default()
        };
        self.timed_copy("copy_tree", set, |eq| {
            daos::copy_tree(&source, &dfs, eq, &options, &mut |_| {})
        })
    }

    fn copy_objects(
        &self,
        set: &DataSet,
        target: &Scratch,
        in_flight: usize,
    ) -> Result<Duration, String> {
        let source = self
            .pool
            .open_container(self.source.uuid, ContainerAccess::ReadOnly)
            .map_err(|e| format!("opening the source: {e}"))?;
        let dst = self
            .pool
            .open_container(target.uuid, ContainerAccess::ReadWrite)
            .map_err(|e| format!("opening container {}: {e}", target.label))?;
        let options = ObjectCopyOptions { in_flight };
        self.timed_copy("copy_snapshot_objects", set, |eq| {
            daos::copy_snapshot_objects(&source, set.epoch, &dst, eq, &options, &mut |_| {})
        })
    }

    /// Times `copy` of `set`, run with an event queue of its own, and checks its totals.
    fn timed_copy(
        &self,
        name: &str,
        set: &DataSet,
        copy: impl FnOnce(&Arc<EventQueue>) -> daos::Result<CopyProgress>,
    ) -> Result<Duration, String> {
        let eq = EventQueue::new(&self.daos).map_err(|e| format!("daos_eq_create: {e}"))?;
        let start = Instant::now();
        let copied = copy(&eq);
        let took = start.elapsed();
        // After a failure, operations still in flight hold the target open.
        if let Err(e) = eq.close_blocking() {
            eprintln!("bench: item 8: closing the copy's event queue: {e}");
        }
        let copied = copied.map_err(|e| format!("{name}: {e}"))?;
        check_totals(name, &copied, &set.manifest)?;
        Ok(took)
    }

    fn cp_between_dfuse_mounts(&self, set: &DataSet, target: &Scratch) -> Result<Duration, String> {
        let base = std::env::temp_dir().join(format!("daos-csi-bench-copy-{}", std::process::id()));
        let (from, to) = (base.join("from"), base.join("to"));
        for dir in [&from, &to] {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        let epoch = set.epoch.to_string();
        let source = self.source.uuid.to_string();
        let from_mount = Dfuse::mount(
            self.system,
            &from,
            &self.pool_label,
            &source,
            &["--snap-epoch", &epoch],
        )?;
        let to_mount = Dfuse::mount(
            self.system,
            &to,
            &self.pool_label,
            &target.uuid.to_string(),
            &[],
        )?;
        let start = Instant::now();
        let output = Command::new("cp")
            .arg("-a")
            .arg(from_mount.path.join("."))
            .arg(&to_mount.path)
            .output();
        let took = start.elapsed();
        drop(to_mount);
        drop(from_mount);
        let _ = std::fs::remove_dir(&from);
        let _ = std::fs::remove_dir(&to);
        let _ = std::fs::remove_dir(&base);
        let output = output.map_err(|e| format!("running cp: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cp -a failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(took)
    }
}

/// "1 file", "2 files", "3 directories".
fn counted(n: u64, what: &str) -> String {
    match (n, what.strip_suffix('y')) {
        (1, _) => format!("1 {what}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {what}s"),
    }
}

/// What a copy routine says it copied must be the source's files and bytes.
fn check_totals(routine: &str, copied: &CopyProgress, manifest: &Manifest) -> Result<(), String> {
    let expected = (manifest.file_count(), manifest.file_bytes());
    if (copied.files, copied.bytes) == expected {
        return Ok(());
    }
    Err(format!(
        "{routine} reports {} files of {} bytes copied, the source has {} of {}",
        copied.files, copied.bytes, expected.0, expected.1
    ))
}

fn format_mb(bytes: u64) -> String {
    format_number(bytes as f64 / 1e6)
}

/// The middle copy time (the slower of the middle two for an even count).
fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// One figure per method, the median of its copies: files/s for a tree, MB/s for one file;
/// the other rate, every copy's rate and how long it took against the driver's setting
/// (under the same injected latency) in its note.
fn set_figures(set: &DataSet, rows: &[(Method, Vec<Duration>)]) -> Vec<Figure> {
    let files = set.manifest.file_count();
    let bytes = set.manifest.file_bytes();
    let per_second = |took: Duration| {
        let secs = took.as_secs_f64();
        (files as f64 / secs, bytes as f64 / 1e6 / secs)
    };
    let rate = |took: Duration| {
        let (files, mb) = per_second(took);
        if set.per_file { files } else { mb }
    };
    let unit = if set.per_file { "files/s" } else { "MB/s" };
    let driver = CopyOptions::default().in_flight;
    let driver_row = |injected_ms: u64| {
        rows.iter().position(|(m, _)| {
            m.injected_ms == injected_ms
                && matches!(m.way, Way::CopyTree { in_flight } if in_flight == driver)
        })
    };
    rows.iter()
        .enumerate()
        .map(|(row, (method, times))| {
            let took = median(times);
            let (files_per_s, mb_per_s) = per_second(took);
            let mut note = format!(
                "{} in {:.2} s: {} files/s, {} MB/s",
                set.manifest.describe(),
                took.as_secs_f64(),
                format_number(files_per_s),
                format_number(mb_per_s),
            );
            if times.len() > 1 {
                let each: Vec<String> = times.iter().map(|t| format_number(rate(*t))).collect();
                note.push_str(&format!(
                    "; median of {} copies ({} {unit})",
                    times.len(),
                    each.join(", ")
                ));
            }
            if let Some(reference) = driver_row(method.injected_ms).filter(|r| *r != row) {
                let ratio = took.as_secs_f64() / median(&rows[reference].1).as_secs_f64();
                note.push_str(&format!(
                    "; {ratio:.2}x the time of {driver} operations in flight"
                ));
            }
            Figure::value(
                ITEM,
                &format!("{}: {}", set.name, method.name()),
                files as usize,
                rate(took),
                unit,
                Target::None,
            )
            .note(note)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_listing(manifest: &Manifest) -> BTreeMap<String, Found> {
        manifest
            .entries
            .iter()
            .map(|(path, entry)| {
                let found = match entry {
                    Entry::Directory => Found::Directory,
                    Entry::File { size, .. } => Found::File { size: *size },
                    Entry::Link(target) => Found::Link(target.clone()),
                };
                (path.clone(), found)
            })
            .collect()
    }

    #[test]
    fn the_tree_has_the_promised_shape() {
        let tree = Manifest::tree(10_000);
        assert_eq!(tree.file_count(), 10_000);
        assert_eq!(tree.file_bytes(), 10_000 * 4096);
        assert_eq!(tree.count(|e| matches!(e, Entry::Directory)), 100);
        assert_eq!(tree.count(|e| matches!(e, Entry::Link(_))), 12);
        // Every file has its own seed, so its own content.
        let seeds: std::collections::HashSet<u64> = tree.files().map(|(_, _, s)| s).collect();
        assert_eq!(seeds.len(), 10_000);
        // Directories come before their content, as populate needs.
        let first_file = tree.entries.keys().position(|p| p.starts_with("/dir-000/"));
        let dir = tree.entries.keys().position(|p| p == "/dir-000");
        assert!(dir < first_file, "{dir:?} {first_file:?}");
        let quick = Manifest::tree(1_000);
        assert_eq!(quick.count(|e| matches!(e, Entry::Directory)), 10);
        assert_eq!(quick.count(|e| matches!(e, Entry::Link(_))), 3);
        assert_eq!(
            tree.describe(),
            "10000 files (41.0 MB), 100 directories, 12 links"
        );
        assert_eq!(Manifest::big_file(1 << 30).describe(), "1 file (1074 MB)");
    }

    #[test]
    fn an_exact_copy_passes() {
        let tree = Manifest::tree(250);
        assert_eq!(tree.compare(&tree_listing(&tree)), Ok(()));
    }

    #[test]
    fn a_copy_that_differs_anywhere_fails() {
        let tree = Manifest::tree(250);
        let exact = tree_listing(&tree);
        let file = "/dir-001/file-00100".to_string();

        let mut missing = exact.clone();
        missing.remove(&file);
        let err = tree.compare(&missing).unwrap_err();
        assert!(err.contains("/dir-001/file-00100 is missing"), "{err}");

        let mut extra = exact.clone();
        extra.insert("/dir-001/stray".to_string(), Found::File { size: 1 });
        let err = tree.compare(&extra).unwrap_err();
        assert!(err.contains("/dir-001/stray should not be there"), "{err}");

        let mut short = exact.clone();
        short.insert(file.clone(), Found::File { size: 4095 });
        assert!(tree.compare(&short).is_err());

        let mut retargeted = exact.clone();
        retargeted.insert(
            "/link-dangling".to_string(),
            Found::Link("no/such/fil".to_string()),
        );
        assert!(tree.compare(&retargeted).is_err());

        // A link copied as what it points to, and a file that is something else.
        let mut followed = exact.clone();
        followed.insert("/dir-000/link".to_string(), Found::File { size: 4096 });
        followed.insert(file, Found::Other(0o010644));
        let err = tree.compare(&followed).unwrap_err();
        assert!(err.starts_with("2 difference(s)"), "{err}");
    }

    #[test]
    fn content_is_checked_byte_by_byte() {
        let mut buf = vec![0u8; 3 * CHUNK];
        fill(&mut buf, 7, 5 * CHUNK as u64);
        assert_eq!(first_wrong_byte(&buf, 7, 5 * CHUNK as u64), None);
        // Read at the wrong offset, or from another file.
        assert!(first_wrong_byte(&buf, 7, 4 * CHUNK as u64).is_some());
        assert!(first_wrong_byte(&buf, 8, 5 * CHUNK as u64).is_some());
        // One byte flipped.
        buf[CHUNK + 3] ^= 1;
        assert_eq!(
            first_wrong_byte(&buf, 7, 5 * CHUNK as u64),
            Some(6 * CHUNK as u64 + 3)
        );
        // Two small files of the same size differ (by their seed, at least).
        let (mut a, mut b) = (vec![0u8; 4096], vec![0u8; 4096]);
        fill(&mut a, 1, 0);
        fill(&mut b, 257, 0);
        assert_ne!(a, b);
        assert_eq!(first_wrong_byte(&b, 1, 0), Some(1));
        // No chunk is all zeros (a copy may leave zeros as a hole).
        assert!(buf.chunks(4096).all(|c| c.iter().any(|&x| x != 0)));
    }
}

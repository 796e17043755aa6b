//! Item 7: streaming a large file through the `daos` crate's [`File`] against dfuse on the
//! same container.
//!
//! One POSIX container, one file of `size` bytes (1 GiB, 256 MiB with `--quick`), written and
//! read back four ways:
//! - the crate, `write_chunks`/`read_chunks` with 16 chunks of 1 MiB in flight through one
//!   [`EventQueue`];
//! - the crate, one blocking 1 MiB `write_at`/`read_at` after another;
//! - dfuse (caching off, so reads come from DAOS, not the page cache), 1 MiB `write`/`read`
//!   calls, with an fsync after the writes.
//!
//! Every read is checked against the pattern that was written, so a fast wrong answer
//! cannot pass for a figure.

use crate::report::{Figure, Target};
use daos::{ContainerAccess, Daos, EventQueue, File, Pool, PoolAccess, PosixContainerSpec};
use daos_test_harness::TestSystem;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CHUNK: usize = 1 << 20;
const IN_FLIGHT: usize = 16;

/// Bytes streamed each way (full run, `--quick`).
pub fn size(quick: bool) -> u64 {
    if quick { 256 << 20 } else { 1 << 30 }
}

/// The byte at `offset` of the test file: varies within and across chunks, so a chunk read
/// from the wrong place is caught.
fn pattern(offset: u64) -> u8 {
    (offset.wrapping_mul(31) ^ (offset >> 20)) as u8
}

fn fill(buf: &mut [u8], offset: u64) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(offset + i as u64);
    }
}

fn check(buf: &[u8], offset: u64, what: &str) -> Result<(), String> {
    match buf
        .iter()
        .enumerate()
        .find(|(i, b)| **b != pattern(offset + *i as u64))
    {
        None => Ok(()),
        Some((i, _)) => Err(format!(
            "{what}: wrong byte at offset {}",
            offset + i as u64
        )),
    }
}

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

/// Item 7.
pub fn streaming(system: &TestSystem, quick: bool) -> Result<Vec<Figure>, String> {
    let size = size(quick);
    let pool_label = if system.emulated {
        system.create_pool("bench-io", "4G");
        "bench-io".to_string()
    } else {
        system.pool.clone()
    };
    let daos = Daos::init().map_err(|e| format!("daos_init: {e}"))?;
    let pool = Pool::connect(&daos, &pool_label, None, PoolAccess::ReadWrite)
        .map_err(|e| format!("connecting to pool {pool_label}: {e}"))?;
    let label = format!("bench-io-{}", std::process::id());
    let uuid = pool
        .create_posix_container(&PosixContainerSpec::new(label.clone()))
        .map_err(|e| format!("creating container {label}: {e}"))?;
    let cont = pool
        .open_container(uuid, ContainerAccess::ReadWrite)
        .map_err(|e| format!("opening container {label}: {e}"))?;
    let dfs = cont
        .mount_dfs(ContainerAccess::ReadWrite)
        .map_err(|e| format!("dfs_mount: {e}"))?;
    let eq = EventQueue::new(&daos).map_err(|e| format!("daos_eq_create: {e}"))?;
    let mib = size >> 20;
    let mut figures = Vec::new();

    eprintln!("bench: item 7: {mib} MiB through the crate, {IN_FLIGHT} chunks in flight");
    let file = dfs
        .create_file("/async.bin", 0o644)
        .map_err(|e| format!("creating /async.bin: {e}"))?;
    let (written, took) = timed(|| {
        let mut next = 0u64;
        futures::executor::block_on(file.write_chunks(&eq, 0, CHUNK, IN_FLIGHT, |buf| {
            let n = usize::try_from(size - next).map_or(buf.len(), |left| left.min(buf.len()));
            fill(&mut buf[..n], next);
            next += n as u64;
            Ok(n)
        }))
    });
    let written = written.map_err(|e| format!("write_chunks: {e}"))?;
    figures.push(throughput(
        "crate write, 16 x 1 MiB in flight",
        written,
        took,
    ));
    let (read, took) = timed(|| {
        let mut failure = None;
        let read = futures::executor::block_on(file.read_chunks(
            &eq,
            0..size,
            CHUNK,
            IN_FLIGHT,
            |offset, chunk| {
                if let Err(e) = check(chunk, offset, "crate read") {
                    failure.get_or_insert(e);
                }
                Ok(())
            },
        ));
        read.map_err(|e| format!("read_chunks: {e}"))
            .and_then(|n| failure.map_or(Ok(n), Err))
    });
    figures.push(throughput("crate read, 16 x 1 MiB in flight", read?, took));

    eprintln!("bench: item 7: {mib} MiB through the crate, one call at a time");
    let file = dfs
        .create_file("/blocking.bin", 0o644)
        .map_err(|e| format!("creating /blocking.bin: {e}"))?;
    let (written, took) = timed(|| one_at_a_time_write(&file, size));
    figures.push(throughput(
        "crate write, one 1 MiB call at a time",
        written?,
        took,
    ));
    let (read, took) = timed(|| one_at_a_time_read(&file, size));
    figures.push(throughput(
        "crate read, one 1 MiB call at a time",
        read?,
        took,
    ));
    drop(file);

    eprintln!("bench: item 7: {mib} MiB through dfuse on the same container");
    let mountpoint = std::env::temp_dir().join(format!("daos-csi-bench-io-{}", std::process::id()));
    std::fs::create_dir_all(&mountpoint)
        .map_err(|e| format!("creating {}: {e}", mountpoint.display()))?;
    let mounted = Dfuse::mount(system, &mountpoint, &pool_label, &uuid.to_string(), &[])?;
    let path = mounted.path.join("dfuse.bin");
    let (written, took) = timed(|| dfuse_write(&path, size));
    figures.push(throughput(
        "dfuse write, 1 MiB calls, fsync",
        written?,
        took,
    ));
    let (read, took) = timed(|| dfuse_read(&path, size));
    figures.push(throughput(
        "dfuse read, 1 MiB calls, caching off",
        read?,
        took,
    ));
    drop(mounted);
    let _ = std::fs::remove_dir(&mountpoint);

    drop(dfs);
    drop(cont);
    if let Err(e) = pool.destroy_container(uuid, daos::Destroy::Force) {
        eprintln!("bench: item 7: container {label} left behind: {e}");
    }
    Ok(figures)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn throughput(name: &str, bytes: u64, took: Duration) -> Figure {
    Figure::value(7, name, 1, mb_per_s(bytes, took), "MB/s", Target::None).note(format!(
        "{} MiB in {:.2} s, every byte checked on read",
        bytes >> 20,
        took.as_secs_f64()
    ))
}

fn one_at_a_time_write(file: &File, size: u64) -> Result<u64, String> {
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    while offset < size {
        let n = usize::try_from(size - offset).map_or(CHUNK, |left| left.min(CHUNK));
        fill(&mut buf[..n], offset);
        file.write_at(&buf[..n], offset)
            .map_err(|e| format!("write_at {offset}: {e}"))?;
        offset += n as u64;
    }
    Ok(offset)
}

fn one_at_a_time_read(file: &File, size: u64) -> Result<u64, String> {
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    while offset < size {
        let n = file
            .read_at(&mut buf, offset)
            .map_err(|e| format!("read_at {offset}: {e}"))?;
        if n == 0 {
            return Err(format!("read_at {offset}: the file ends early"));
        }
        check(&buf[..n], offset, "crate read_at")?;
        offset += n as u64;
    }
    Ok(offset)
}

fn dfuse_write(path: &Path, size: u64) -> Result<u64, String> {
    let mut file =
        std::fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    while offset < size {
        let n = usize::try_from(size - offset).map_or(CHUNK, |left| left.min(CHUNK));
        fill(&mut buf[..n], offset);
        file.write_all(&buf[..n])
            .map_err(|e| format!("writing {} at {offset}: {e}", path.display()))?;
        offset += n as u64;
    }
    file.sync_all()
        .map_err(|e| format!("fsync of {}: {e}", path.display()))?;
    Ok(offset)
}

fn dfuse_read(path: &Path, size: u64) -> Result<u64, String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    while offset < size {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("reading {} at {offset}: {e}", path.display()))?;
        if n == 0 {
            return Err(format!("{} ends at {offset}", path.display()));
        }
        check(&buf[..n], offset, "dfuse read")?;
        offset += n as u64;
    }
    Ok(offset)
}

/// A dfuse mount of a bench container with caching off (so reads and writes reach DAOS),
/// unmounted when dropped.
pub struct Dfuse {
    pub path: PathBuf,
}

impl Dfuse {
    /// Mounts container `cont` of `pool` at `path`, with dfuse `options` besides
    /// `--disable-caching` (e.g. `--snap-epoch`).
    pub fn mount(
        system: &TestSystem,
        path: &Path,
        pool: &str,
        cont: &str,
        options: &[&str],
    ) -> Result<Dfuse, String> {
        let dfuse = system.dfuse_path();
        // Without --foreground dfuse returns once its mount is up (or has failed).
        let output = Command::new(&dfuse)
            .arg("--disable-caching")
            .args(options)
            .arg(path)
            .args([pool, cont])
            .envs(system.env())
            .output()
            .map_err(|e| format!("running {}: {e}", dfuse.display()))?;
        if !output.status.success() {
            return Err(format!(
                "dfuse did not mount {} ({}): {}{}",
                path.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(Dfuse {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for Dfuse {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            eprintln!("bench: could not unmount {}", self.path.display());
        }
    }
}
